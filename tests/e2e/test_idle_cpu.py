"""Idle connections cost no CPU (issue 20, finding 1).

With embassy-time's std driver and its 8-slot generic timer queue, 7+ open connections made
scheduling a timer evict and wake another one, which re-armed, and so on: ~150% CPU while idle.
The std images now use our own driver (firmware/time-std), whose queue holds one entry per task.
These tests open keep-alive connections, send one request on each, leave them idle and read the
agent's own CPU time (utime + stime in /proc/PID/stat) over the idle window.
"""

import os
import socket
import time

import pytest

from conftest import Agent
from test_limits import _identify, _raw_request
from wsmanlib import read_response

IDLE_S = 2.0
# Well above what an idle agent costs (a sensor poll or two), far below the spin (~3 s in 2 s).
MAX_IDLE_CPU_S = 0.3


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def _idle_cpu(pid: int) -> float:
    before = _cpu_seconds(pid)
    time.sleep(IDLE_S)
    return _cpu_seconds(pid) - before


@pytest.fixture
def roomy_agent():
    # Room for every connection below, so none is refused with 503.
    a = Agent(args=["--max-connections", "64"])
    try:
        yield a
    finally:
        a.stop()


@pytest.mark.parametrize("count", [8, 32])
def test_idle_keep_alive_connections_do_not_spin(roomy_agent, count):
    a = roomy_agent
    socks = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection((a.host, a.port), timeout=5))
        for s in socks:
            s.sendall(_raw_request(a, _identify()))
            reply = read_response(s)
            assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        time.sleep(0.3)  # let the responses' tails and the first re-armed timers settle
        cpu = _idle_cpu(a.proc.pid)
        print(f"\n{count} idle connections: {cpu:.3f} s CPU over {IDLE_S} s")
        assert cpu < MAX_IDLE_CPU_S, f"{cpu:.2f} s of CPU in {IDLE_S} s idle with {count} open"
        # The timers still work: every idle connection is still served, on the same socket.
        for s in socks:
            s.sendall(_raw_request(a, _identify()))
            reply = read_response(s)
            assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    finally:
        for s in socks:
            s.close()
    # And once they are gone, nothing keeps spinning.
    time.sleep(0.3)
    cpu = _idle_cpu(a.proc.pid)
    print(f"after closing {count}: {cpu:.3f} s CPU over {IDLE_S} s")
    assert cpu < MAX_IDLE_CPU_S, f"{cpu:.2f} s of CPU in {IDLE_S} s after closing {count}"
