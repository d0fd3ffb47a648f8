"""Times a full pypsrp enumeration of a 3000-record SEL (issue 6), paged by MaxEnvelopeSize.

argv: host port user password_file runs (the password is read from a file, never argv). Prints one JSON line: records, round trips, and the median
and best wall time over `runs` enumerations.
"""

import json
import statistics
import sys
import time

sys.path.insert(0, "tests/e2e")
from wsmanlib import CIM_SCHEMA, enumerate_all  # noqa: E402
from pypsrp.wsman import WSMan  # noqa: E402

host, port, user, password_file, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
password = open(password_file).read().rstrip("\r\n")
w = WSMan(host, port=port, username=user, password=password, ssl=False, auth="basic",
          encryption="never", max_envelope_size=153600)
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    items, trips = enumerate_all(w, CIM_SCHEMA + "CIM_LogRecord", optimize=True, max_elements=32000)
    times.append(time.perf_counter() - t0)
print(json.dumps({"records": len(items), "round_trips": trips,
                  "median_s": round(statistics.median(times), 3), "best_s": round(min(times), 3)}))
