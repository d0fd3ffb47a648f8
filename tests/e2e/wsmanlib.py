"""Small helpers around the real client libraries, shared by the end-to-end tests."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
import requests
from pypsrp.wsman import NAMESPACES, WSMan

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
CIM_SCHEMA = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
NUMERIC_SENSOR = CIM_SCHEMA + "CIM_NumericSensor"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
ACTION = {
    "get": "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
    "enumerate": "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
    "pull": "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull",
    "release": "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release",
}
FAULT_DETAIL = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"
CONTENT_TYPE = "application/soap+xml;charset=UTF-8"


def pypsrp(agent, **kw) -> WSMan:
    return WSMan(
        agent.host,
        port=agent.port,
        username=agent.user,
        password=agent.password,
        ssl=False,
        auth="basic",
        encryption="never",
        **kw,
    )


def enumerate_body(optimize=False, max_elements=None, mode=None) -> ET.Element:
    body = ET.Element("{%s}Enumerate" % NAMESPACES["wsen"])
    if optimize:
        ET.SubElement(body, "{%s}OptimizeEnumeration" % NAMESPACES["wsman"])
    if max_elements is not None:
        ET.SubElement(body, "{%s}MaxElements" % NAMESPACES["wsman"]).text = str(max_elements)
    if mode is not None:
        ET.SubElement(body, "{%s}EnumerationMode" % NAMESPACES["wsman"]).text = mode
    return body


def pull_body(context: str, max_elements=None) -> ET.Element:
    body = ET.Element("{%s}Pull" % NAMESPACES["wsen"])
    ET.SubElement(body, "{%s}EnumerationContext" % NAMESPACES["wsen"]).text = context
    if max_elements is not None:
        ET.SubElement(body, "{%s}MaxElements" % NAMESPACES["wsen"]).text = str(max_elements)
    return body


def body_of(resp: ET.Element) -> ET.Element:
    """pypsrp's enumerate/pull/get return the s:Body element; invoke returns the envelope."""
    if resp.tag == "{%s}Body" % NS["s"]:
        return resp
    body = resp.find("s:Body", NS)
    assert body is not None, ET.tostring(resp)
    return body


def _items(container):
    return [] if container is None else list(container)


def enumerate_all(wsman, uri, optimize=False, max_elements=None, mode=None, max_round_trips=500,
                  selector_set=None):
    """Enumerate + Pull until EndOfSequence. Returns (items, round_trips). `selector_set`
    (e.g. `__cimnamespace`) goes with the Enumerate and every Pull."""
    resp = wsman.enumerate(uri, enumerate_body(optimize, max_elements, mode), selector_set=selector_set)
    er = body_of(resp).find("n:EnumerateResponse", NS)
    assert er is not None, ET.tostring(resp)
    items = _items(er.find("w:Items", NS))
    ctx = er.findtext("n:EnumerationContext", default="", namespaces=NS)
    done = er.find("w:EndOfSequence", NS) is not None
    trips = 1
    while not done:
        assert ctx, "no context and no EndOfSequence"
        assert trips < max_round_trips, "enumeration did not end"
        resp = wsman.pull(uri, pull_body(ctx, max_elements), selector_set=selector_set)
        pr = body_of(resp).find("n:PullResponse", NS)
        assert pr is not None, ET.tostring(resp)
        items += _items(pr.find("n:Items", NS))
        done = pr.find("n:EndOfSequence", NS) is not None
        ctx = pr.findtext("n:EnumerationContext", default="", namespaces=NS)
        trips += 1
    return items, trips


def props(instance: ET.Element) -> dict:
    """Instance element → {property: str | None | [str...]} (arrays become lists)."""
    out: dict = {}
    nil = "{%s}nil" % NS["xsi"]
    for child in instance:
        name = child.tag.split("}", 1)[1]
        value = None if child.get(nil) == "true" else (child.text or "")
        if name in out:
            prev = out[name]
            out[name] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            out[name] = value
    return out


def selectors(epr: ET.Element) -> dict:
    return {
        s.get("Name"): s.text
        for s in epr.findall("a:ReferenceParameters/w:SelectorSet/w:Selector", NS)
    }


def envelope(action, resource_uri=None, body="", selectors_xml="", extra_headers="", message_id=None):
    """A WS-Man envelope as Windows shapes it, as text."""
    mid = message_id or "uuid:%s" % str(uuid.uuid4()).upper()
    ruri = (
        f'<w:ResourceURI s:mustUnderstand="true">{resource_uri}</w:ResourceURI>'
        if resource_uri
        else ""
    )
    act = f'<a:Action s:mustUnderstand="true">{action}</a:Action>' if action else ""
    return (
        f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:n="{NS["n"]}" xmlns:w="{NS["w"]}">'
        f"<s:Header><a:To>http://127.0.0.1/wsman</a:To>{ruri}"
        f'<a:ReplyTo><a:Address s:mustUnderstand="true">{ANONYMOUS}</a:Address></a:ReplyTo>'
        f"{act}<w:MaxEnvelopeSize s:mustUnderstand=\"true\">153600</w:MaxEnvelopeSize>"
        f"<a:MessageID>{mid}</a:MessageID>{selectors_xml}{extra_headers}"
        f"<w:OperationTimeout>PT60.000S</w:OperationTimeout></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ), mid


def post(agent, data, content_type=CONTENT_TYPE, auth=True, headers=None, path="/wsman"):
    h = {"Content-Type": content_type} if content_type else {}
    h.update(headers or {})
    return requests.post(
        f"http://{agent.host}:{agent.port}{path}",
        data=data.encode() if isinstance(data, str) else data,
        headers=h,
        auth=(agent.user, agent.password) if auth else None,
        timeout=10,
    )


def fault_of(text: str):
    """(code, subcode, detail, relates_to) of a fault envelope."""
    root = ET.fromstring(text)
    fault = root.find("s:Body/s:Fault", NS)
    assert fault is not None, text
    code = fault.findtext("s:Code/s:Value", namespaces=NS)
    sub = fault.findtext("s:Code/s:Subcode/s:Value", namespaces=NS)
    detail = fault.findtext("s:Detail/w:FaultDetail", namespaces=NS)
    relates = root.findtext("s:Header/a:RelatesTo", namespaces=NS)
    return code, sub, detail, relates


class Qmp:
    """A minimal QMP client: one command at a time, events skipped."""

    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""
        self._recv()  # greeting
        self.cmd("qmp_capabilities")

    def _recv(self) -> dict:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("QMP closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name: str, **args):
        self.sock.sendall(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        while True:
            msg = self._recv()
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise RuntimeError(f"QMP {name}: {msg['error']}")

    def close(self):
        self.sock.close()


def numeric_sensors(wsman) -> dict:
    """Every CIM_NumericSensor instance, by DeviceID."""
    items, _ = enumerate_all(wsman, NUMERIC_SENSOR, optimize=True, max_elements=32)
    return {
        p["DeviceID"]: p
        for p in map(props, items)
        if p.get("CreationClassName") == "CIM_NumericSensor"
    }


def check_board_sensors(wsman, board: dict, within_s: float) -> None:
    """Every sensor of `board` is served (once all have a first reading, bounded by `within_s`)
    with the board file's name, system, scale and thresholds."""
    from board_expect import expected_sensors, system_name

    expected = expected_sensors(board)
    deadline = time.monotonic() + within_s
    while True:
        got = numeric_sensors(wsman)
        if got and all(s["CurrentReading"] is not None for s in got.values()):
            break
        assert time.monotonic() < deadline, f"sensors without readings: {got}"
        time.sleep(0.2)
    assert set(got) == set(expected)
    for device_id, exp in expected.items():
        s = got[device_id]
        assert s["ElementName"] == exp["name"]
        assert s["SystemName"] == system_name(board)
        assert int(s["UnitModifier"]) == exp["UnitModifier"]
        for cim, want in exp["thresholds"].items():
            assert int(s[cim]) == want, (device_id, cim)


def needs_qemu(env: str, binary: str, install: str):
    """Skip mark for a QEMU test when `binary` (or $env) is missing, except under scripts/test
    (WSBMC_NO_SKIP=1) and in CI, where a missing QEMU must fail the run rather than pass it
    quietly: the test then fails, naming the binary and the script that installs it."""
    strict = os.environ.get("CI") == "true" or os.environ.get("WSBMC_NO_SKIP") == "1"
    return pytest.mark.skipif(
        shutil.which(os.environ.get(env, binary)) is None and not strict,
        reason=f"{binary} not installed ({install} installs it; scripts/test always runs this)",
    )


def key_values(text: str) -> dict:
    """`key=value` words of a launcher script's output → a dict."""
    return dict(line.split("=", 1) for line in text.split() if "=" in line)


def read_response(sock, timeout=10.0) -> bytes:
    """One whole HTTP response off a raw socket (head + Content-Length body), or whatever came
    before EOF: for the tests that speak HTTP by hand."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def wait_until(pred, what, within):
    """Polls `pred` every 0.25 s until it returns something truthy, which it returns; fails the
    test after `within` seconds, naming `what` and the last value seen."""
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.25)
    pytest.fail(f"{what} did not happen within {within}s (last: {last!r})")


def stop_process(proc: subprocess.Popen) -> None:
    """Stops a process this test started, by its PID: TERM, then KILL after 10 s."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
