"""Resource limits of the real binary: connections, slow senders, envelope size, contexts, XML.

Every limit turns a resource a client could hold or exhaust into a refusal the client can read
(DESIGN.md: "each limit has a fault"); these tests hold each one against the running agent.
"""

import base64
import socket
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import SIM_BOARD, Agent
from wsmanlib import (
    ACTION,
    FAULT_DETAIL,
    NS,
    NUMERIC_SENSOR,
    body_of,
    enumerate_all,
    enumerate_body,
    envelope,
    fault_of,
    post,
    read_response,
    props,
    pypsrp,
)

# The agent's header timeout (HttpLimits::DEFAULT.header_timeout_ms); there is no CLI knob yet.
HEADER_TIMEOUT_S = 10.0


def _raw_request(agent, body: str) -> bytes:
    auth = base64.b64encode(f"{agent.user}:{agent.password}".encode()).decode()
    data = body.encode()
    return (
        f"POST /wsman HTTP/1.1\r\nHost: {agent.host}:{agent.port}\r\n"
        f"Authorization: Basic {auth}\r\n"
        "Content-Type: application/soap+xml;charset=UTF-8\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


def _identify():
    env, _ = envelope(None, body=f'<wsmid:Identify xmlns:wsmid="{NS["wsmid"]}"/>')
    return env


@pytest.fixture
def small_agent():
    # Both slots from one address: the per-source cap (default half) is test_hostile.py's.
    a = Agent(args=["--max-connections", "2", "--max-connections-per-source", "2"])
    try:
        yield a
    finally:
        a.stop()


def test_connection_cap_answers_503_and_keeps_serving_the_others(small_agent):
    a = small_agent
    held = [socket.create_connection((a.host, a.port), timeout=5) for _ in range(2)]
    try:
        time.sleep(0.3)  # let the agent accept both and take their slots
        extra = socket.create_connection((a.host, a.port), timeout=5)
        try:
            reply = read_response(extra)
            assert reply.startswith(b"HTTP/1.1 503"), reply[:200]
        finally:
            extra.close()
        # The connections that got in are still served, on the same sockets, repeatedly.
        for s in held + held:
            s.sendall(_raw_request(a, _identify()))
            reply = read_response(s)
            assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
            assert b"IdentifyResponse" in reply
    finally:
        for s in held:
            s.close()
    # Slots come back once the held connections are gone.
    time.sleep(0.3)
    assert post(a, _identify()).status_code == 200


def test_slow_sender_is_closed_within_the_header_timeout(agent):
    s = socket.create_connection((agent.host, agent.port), timeout=5)
    try:
        s.sendall(b"POST /wsman HTTP/1.1\r\nHost: bmc\r\nContent-Type: application/soap")
        start = time.monotonic()
        s.settimeout(HEADER_TIMEOUT_S + 5)
        got = b""
        while True:
            chunk = s.recv(4096)  # a courtesy 408, then EOF
            if not chunk:
                break
            got += chunk
        elapsed = time.monotonic() - start
        assert elapsed <= HEADER_TIMEOUT_S + 3, elapsed
        assert got == b"" or got.startswith(b"HTTP/1.1 408"), got[:200]
    finally:
        s.close()
    # The agent is unaffected.
    assert post(agent, _identify()).status_code == 200


def test_max_envelope_size_pages_every_sensor_through_pypsrp(agent):
    limit = 8192
    wsman = pypsrp(agent, max_envelope_size=limit)
    sizes = []
    send = wsman.transport.send

    def measured(message, **kw):
        reply = send(message, **kw)
        sizes.append(len(reply))
        return reply

    wsman.transport.send = measured
    items, trips = enumerate_all(
        wsman, NUMERIC_SENSOR, optimize=True, max_elements=32000, max_round_trips=200
    )
    ids = [props(i)["DeviceID"] for i in items]
    sensors = [s for s in agent.board().get("sensor", []) if s]
    assert len(ids) == len(set(ids)) == len(sensors)
    assert trips >= 3, trips
    assert sizes and max(sizes) <= limit, sizes


def test_envelope_below_the_minimum_is_encoding_limit(agent):
    wsman = pypsrp(agent, max_envelope_size=4096)
    from pypsrp.exceptions import WSManFaultError

    with pytest.raises(WSManFaultError) as e:
        wsman.enumerate(NUMERIC_SENSOR, enumerate_body())
    # ERROR_WSMAN_... for wsman:EncodingLimit (MinimumEnvelopeLimit has no code of its own).
    assert e.value.code == 2150858805, e.value


@pytest.fixture
def quota_agent(tmp_path):
    board = tmp_path / "board.toml"
    board.write_text(SIM_BOARD.read_text() + "\n[limits]\nmax-enum-contexts = 2\n")
    a = Agent(board=board)
    try:
        yield a
    finally:
        a.stop()


def _open_context(wsman) -> str:
    resp = wsman.enumerate(NUMERIC_SENSOR, enumerate_body())
    ctx = body_of(resp).findtext("n:EnumerateResponse/n:EnumerationContext", namespaces=NS)
    assert ctx
    return ctx


def test_context_quota_then_release_frees_a_slot(quota_agent):
    from pypsrp.exceptions import WSManFaultError

    wsman = pypsrp(quota_agent)
    first = _open_context(wsman)
    _open_context(wsman)
    env, mid = envelope(ACTION["enumerate"], NUMERIC_SENSOR, body="<n:Enumerate/>")
    r = post(quota_agent, env)
    assert r.status_code == 500, r.text
    code, sub, _, relates = fault_of(r.text)
    assert sub.endswith(":QuotaLimit") and code.endswith("Sender") and relates == mid
    with pytest.raises(WSManFaultError):
        _open_context(wsman)
    rel = ET.Element("{%s}Release" % NS["n"])
    ET.SubElement(rel, "{%s}EnumerationContext" % NS["n"]).text = first
    wsman.invoke(ACTION["release"], NUMERIC_SENSOR, rel)
    _open_context(wsman)


@pytest.mark.parametrize(
    "shape",
    [
        "deep",  # element nesting past the depth limit (32)
        "wide",  # more XML nodes than the node limit (4096)
    ],
)
def test_xml_node_and_depth_limits_are_faults(agent, shape):
    if shape == "deep":
        inner = "<x:a xmlns:x='urn:x'>" * 40 + "</x:a>" * 40
    else:
        inner = "<x:a xmlns:x='urn:x'/>" * 5000
    env, _ = envelope(ACTION["enumerate"], NUMERIC_SENSOR, body=f"<n:Enumerate>{inner}</n:Enumerate>")
    r = post(agent, env)
    assert r.status_code == 500, r.text[:300]
    _, sub, detail, _ = fault_of(r.text)
    assert sub.endswith(":EncodingLimit"), r.text[:500]
    assert detail == FAULT_DETAIL + "ServiceEnvelopeLimit"
    # The agent keeps serving.
    assert post(agent, _identify()).status_code == 200
