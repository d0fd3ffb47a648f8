"""HTTPS figures for BENCHMARKS.md: the cost of a full TLS 1.3 handshake, and Identify, Get and
Enumerate over one keep-alive connection on HTTPS beside the same on plain HTTP.

argv: host http_port https_port user password_file cafile server_pid seconds_per_figure
(the password is read from a file, never argv)
Prints one JSON object. Sequential requests on one connection (latency, and the server CPU each
costs from /proc/PID/stat), not a load test: scripts/bench's loadgen measures throughput.
"""

import base64
import http.client
import json
import os
import socket
import ssl
import statistics
import sys
import time

host, http_port, https_port, user, password_file, cafile, pid, seconds = sys.argv[1:9]
password = open(password_file).read().rstrip("\r\n")
http_port, https_port, pid, seconds = int(http_port), int(https_port), int(pid), float(seconds)
TICK = os.sysconf("SC_CLK_TCK")
AUTH = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
NS = (
    'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"'
)
SENSOR = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor"
IDENTIFY = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
    "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"
)


def envelope(action, body="", selectors=""):
    return (
        f"<s:Envelope {NS}><s:Header><a:To>http://{host}/wsman</a:To>"
        f'<w:ResourceURI s:mustUnderstand="true">{SENSOR}</w:ResourceURI>'
        '<a:ReplyTo><a:Address s:mustUnderstand="true">'
        "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>"
        f'<a:Action s:mustUnderstand="true">{action}</a:Action>'
        "<a:MessageID>uuid:00000000-0000-0000-0000-000000000001</a:MessageID>"
        f"{selectors}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )


ENUMERATE = envelope(
    "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
    "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>32</w:MaxElements></n:Enumerate>",
)


def pull(context):
    return envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull",
        f"<n:Pull><n:EnumerationContext>{context}</n:EnumerationContext>"
        "<n:MaxElements>32</n:MaxElements></n:Pull>",
    )


def context_of(text):
    """The EnumerationContext of a response that has no EndOfSequence, else None."""
    if "EndOfSequence" in text:
        return None
    start = text.index("EnumerationContext>") + len("EnumerationContext>")
    return text[start : text.index("<", start)]


def cpu_ticks():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def idle_rate():
    """Server CPU ticks per second with no request in flight (the poller's own work), to take
    out of the per-operation figures: sequential requests leave the server mostly idle."""
    c0, t0 = cpu_ticks(), time.monotonic()
    time.sleep(seconds)
    return (cpu_ticks() - c0) / (time.monotonic() - t0)


IDLE = None


def server_cpu_us(c0, t0, count):
    busy = cpu_ticks() - c0 - IDLE * (time.monotonic() - t0)
    return round(max(busy, 0) / TICK * 1e6 / count, 1)


def context():
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    return ctx


def handshakes():
    """A new connection, a full handshake (no session resumption) and one Identify each, so the
    client waits for the server to finish every handshake (with TLS 1.3 it could otherwise run
    ahead of the server and leave a queue behind)."""
    ctx = context()
    request = (
        f"POST /wsman HTTP/1.1\r\nHost: {host}\r\nAuthorization: {AUTH}\r\n"
        "Content-Type: application/soap+xml;charset=UTF-8\r\nConnection: close\r\n"
        f"Content-Length: {len(IDENTIFY)}\r\n\r\n{IDENTIFY}"
    ).encode()
    times = []
    t0, c0 = time.monotonic(), cpu_ticks()
    while time.monotonic() - t0 < seconds:
        start = time.perf_counter()
        with socket.create_connection((host, https_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                assert tls.version() == "TLSv1.3"
                tls.sendall(request)
                reply = b""
                while True:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
                assert reply.startswith(b"HTTP/1.1 200"), reply[:100]
        times.append(time.perf_counter() - start)
    return {
        "count": len(times),
        "p50_ms": round(statistics.median(times) * 1000, 3),
        "server_cpu_us": server_cpu_us(c0, t0, len(times)),
    }


def requests_on(conn, body):
    """`body` repeatedly on `conn`; an Enumerate is one operation with the Pulls that end it."""
    headers = {"Content-Type": "application/soap+xml;charset=UTF-8", "Authorization": AUTH}
    for _ in range(20):  # warm-up: the first Basic verification runs PBKDF2
        conn.request("POST", "/wsman", body=IDENTIFY, headers=headers)
        conn.getresponse().read()
    times = []
    t0, c0 = time.monotonic(), cpu_ticks()
    while time.monotonic() - t0 < seconds:
        start = time.perf_counter()
        send = body
        for _ in range(100):
            conn.request("POST", "/wsman", body=send, headers=headers)
            r = conn.getresponse()
            data = r.read()
            assert r.status == 200, (r.status, data[:300])
            if body is not ENUMERATE:
                break
            ctx = context_of(data.decode())
            if ctx is None:
                break
            send = pull(ctx)
        times.append(time.perf_counter() - start)
    cpu_us = server_cpu_us(c0, t0, len(times))
    times.sort()
    return {
        "count": len(times),
        "per_s": round(len(times) / sum(times)),
        "p50_ms": round(statistics.median(times) * 1000, 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1] * 1000, 3),
        "server_cpu_us": cpu_us,
    }


def first_selectors(conn):
    headers = {"Content-Type": "application/soap+xml;charset=UTF-8", "Authorization": AUTH}
    conn.request("POST", "/wsman", body=ENUMERATE, headers=headers)
    text = conn.getresponse().read().decode()

    def field(name):
        start = text.index(f":{name}>") + len(name) + 2
        return text[start : text.index("<", start)]

    keys = {
        "CreationClassName": "CIM_NumericSensor",
        "DeviceID": field("DeviceID"),
        "SystemCreationClassName": "CIM_ComputerSystem",
        "SystemName": field("SystemName"),
    }
    return "<w:SelectorSet>%s</w:SelectorSet>" % "".join(
        f'<w:Selector Name="{k}">{v}</w:Selector>' for k, v in keys.items()
    )


time.sleep(1)  # let start-up work (state directory, first poll) settle
IDLE = idle_rate()
result = {"idle_server_cpu_percent": round(IDLE / TICK * 100, 2)}
for name, make in [
    ("http", lambda: http.client.HTTPConnection(host, http_port, timeout=10)),
    ("https", lambda: http.client.HTTPSConnection(host, https_port, timeout=10, context=context())),
]:
    conn = make()
    get = envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", selectors=first_selectors(conn))
    result[name] = {
        "Identify": requests_on(conn, IDENTIFY),
        "Get": requests_on(conn, get),
        "Enumerate": requests_on(conn, ENUMERATE),
    }
    conn.close()
result["handshake_tls13"] = handshakes()
print(json.dumps(result))
