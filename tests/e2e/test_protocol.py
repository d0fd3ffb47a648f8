"""Protocol behaviour of the real binary: Identify, faults, HTTP framing and authentication."""

import socket
import xml.etree.ElementTree as ET

import pytest
import winrm
from pypsrp.exceptions import WSManFaultError
from winrm.exceptions import WSManFaultError as WinrmFaultError

from wsmanlib import (
    body_of,
    ACTION,
    NS,
    NUMERIC_SENSOR,
    CIM_SCHEMA,
    FAULT_DETAIL,
    envelope,
    fault_of,
    post,
    pull_body,
    pypsrp,
)

IDENTIFY_BODY = f'<wsmid:Identify xmlns:wsmid="{NS["wsmid"]}"/>'


def test_identify_authenticated_lists_security_profiles(agent):
    env, _ = envelope(None, body=IDENTIFY_BODY)
    r = post(agent, env)
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.text)
    resp = root.find("s:Body/wsmid:IdentifyResponse", NS)
    assert resp is not None, r.text
    assert resp.findtext("wsmid:ProtocolVersion", namespaces=NS) == NS["w"]
    assert resp.findtext("wsmid:ProductVendor", namespaces=NS)
    assert resp.find("wsmid:SecurityProfiles", NS) is not None


@pytest.mark.parametrize(
    "how", [{"headers": {"WSMANIDENTIFY": "unauthenticated"}}, {"path": "/wsman-anon/identify"}]
)
def test_identify_unauthenticated(agent, how):
    env, _ = envelope(None, body=IDENTIFY_BODY)
    r = post(agent, env, auth=False, **how)
    assert r.status_code == 200, r.text
    resp = ET.fromstring(r.text).find("s:Body/wsmid:IdentifyResponse", NS)
    assert resp is not None
    # Unauthenticated replies say nothing about security profiles.
    assert resp.find("wsmid:SecurityProfiles", NS) is None


def test_unauthenticated_non_identify_is_refused(agent):
    env, _ = envelope(ACTION["enumerate"], NUMERIC_SENSOR, body="<n:Enumerate/>")
    r = post(agent, env, auth=False, headers={"WSMANIDENTIFY": "unauthenticated"})
    assert r.status_code == 401


def test_no_credentials_gets_digest_and_basic_challenges(agent):
    """Digest (SHA-256, then MD5) before Basic: clients take the strongest they know."""
    env, _ = envelope(ACTION["enumerate"], NUMERIC_SENSOR, body="<n:Enumerate/>")
    r = post(agent, env, auth=False)
    assert r.status_code == 401
    # requests joins the three header lines with ", ".
    value = r.headers["WWW-Authenticate"]
    assert value.startswith('Digest realm="WSMAN", qop="auth", algorithm=SHA-256, nonce="'), value
    assert value.endswith(', Basic realm="WSMAN"'), value
    assert value.count("Digest ") == 2 and "algorithm=MD5" in value, value


def test_wrong_password_is_refused(agent):
    import requests

    env, _ = envelope(ACTION["enumerate"], NUMERIC_SENSOR, body="<n:Enumerate/>")
    r = requests.post(
        f"http://{agent.host}:{agent.port}/wsman",
        data=env,
        headers={"Content-Type": "application/soap+xml;charset=UTF-8"},
        auth=(agent.user, agent.password + "x"),
        timeout=10,
    )
    assert r.status_code == 401


def _expect_fault(agent, env, mid, subcode, detail=None, code="s:Sender"):
    r = post(agent, env)
    assert r.status_code == 500, r.text
    got_code, got_sub, got_detail, relates = fault_of(r.text)
    assert got_code.endswith(code.split(":")[1]), r.text
    assert got_sub is not None and got_sub.split(":")[-1] == subcode, r.text
    if detail:
        assert got_detail == FAULT_DETAIL + detail, r.text
    assert relates == mid
    return r


def test_unknown_resource_uri(agent):
    env, mid = envelope(ACTION["enumerate"], CIM_SCHEMA + "CIM_NoSuchClass", body="<n:Enumerate/>")
    _expect_fault(agent, env, mid, "DestinationUnreachable", "InvalidResourceURI")


def test_unknown_action(agent):
    env, mid = envelope("http://example.invalid/NoSuchAction", NUMERIC_SENSOR)
    _expect_fault(agent, env, mid, "ActionNotSupported")


def test_get_with_missing_selectors(agent):
    env, mid = envelope(ACTION["get"], NUMERIC_SENSOR)
    _expect_fault(agent, env, mid, "InvalidSelectors", "InsufficientSelectors")


def test_get_with_unknown_selector(agent):
    sel = (
        "<w:SelectorSet>"
        '<w:Selector Name="CreationClassName">CIM_NumericSensor</w:Selector>'
        '<w:Selector Name="Bogus">1</w:Selector>'
        "</w:SelectorSet>"
    )
    env, mid = envelope(ACTION["get"], NUMERIC_SENSOR, selectors_xml=sel)
    _expect_fault(agent, env, mid, "InvalidSelectors")


def test_pull_with_invalid_context(agent):
    body = '<n:Pull><n:EnumerationContext>uuid:00000000-0000-0000-0000-000000000000</n:EnumerationContext></n:Pull>'
    env, mid = envelope(ACTION["pull"], NUMERIC_SENSOR, body=body)
    _expect_fault(agent, env, mid, "InvalidEnumerationContext", code="s:Receiver")


def test_released_context_is_invalid(agent):
    wsman = pypsrp(agent)
    resp = wsman.enumerate(NUMERIC_SENSOR, ET.Element("{%s}Enumerate" % NS["n"]))
    ctx = body_of(resp).findtext("n:EnumerateResponse/n:EnumerationContext", namespaces=NS)
    assert ctx
    rel = ET.Element("{%s}Release" % NS["n"])
    ET.SubElement(rel, "{%s}EnumerationContext" % NS["n"]).text = ctx
    wsman.invoke(ACTION["release"], NUMERIC_SENSOR, rel)
    with pytest.raises(WSManFaultError) as e:
        wsman.pull(NUMERIC_SENSOR, pull_body(ctx))
    # ERROR_WSMAN_ENUMERATE_INVALID_ENUMERATION_CONTEXT, as Windows reports it.
    assert e.value.code == 0x8033801B


def test_malformed_xml_is_a_fault_and_the_server_lives_on(agent):
    r = post(agent, "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Header>")
    assert r.status_code == 500
    assert ET.fromstring(r.text).find("s:Body/s:Fault", NS) is not None
    env, _ = envelope(None, body=IDENTIFY_BODY)
    assert post(agent, env).status_code == 200


def test_soap11_envelope_is_version_mismatch(agent):
    body = (
        '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">'
        "<e:Header/><e:Body/></e:Envelope>"
    )
    r = post(agent, body)
    assert r.status_code == 500
    code, _, _, _ = fault_of(r.text)
    assert code.endswith("VersionMismatch")


def test_wrong_content_type(agent):
    env, _ = envelope(None, body=IDENTIFY_BODY)
    r = post(agent, env, content_type="text/plain")
    assert r.status_code == 415


def test_pywinrm_raw_envelope_and_fault_mapping(agent):
    """pywinrm sends raw envelopes (unprefixed mustUnderstand, bogus To) and maps faults."""
    proto = winrm.Protocol(
        endpoint=agent.url,
        transport="basic",
        username=agent.user,
        password=agent.password,
        message_encryption="never",
    )
    env, _ = envelope(ACTION["enumerate"], NUMERIC_SENSOR, body="<n:Enumerate/>")
    text = proto.send_message(env)
    root = ET.fromstring(text)
    assert root.findtext("s:Body/n:EnumerateResponse/n:EnumerationContext", namespaces=NS)

    env, _ = envelope(ACTION["enumerate"], CIM_SCHEMA + "CIM_Nope", body="<n:Enumerate/>")
    with pytest.raises(WinrmFaultError) as e:
        proto.send_message(env)
    assert e.value.code == 500
    assert e.value.fault_subcode.endswith("DestinationUnreachable")


def _raw_http(agent, payload: bytes, reads: int = 1) -> bytes:
    with socket.create_connection((agent.host, agent.port), timeout=10) as s:
        s.sendall(payload)
        data = b""
        s.settimeout(10)
        while data.count(b"HTTP/1.1 ") < reads or not _complete(data, reads):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def _complete(data: bytes, reads: int) -> bool:
    """True when `reads` responses with Content-Length bodies are fully in `data`."""
    rest = data
    for _ in range(reads):
        head, sep, body = rest.partition(b"\r\n\r\n")
        if not sep:
            return False
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        if head.split(b" ")[1] == b"100":
            rest = body
            continue
        if len(body) < length:
            return False
        rest = body[length:]
    return True


def _basic(agent) -> str:
    import base64

    return base64.b64encode(f"{agent.user}:{agent.password}".encode()).decode()


def test_keep_alive_chunked_and_expect_continue(agent):
    env, _ = envelope(None, body=IDENTIFY_BODY)
    b = env.encode()
    auth = _basic(agent)
    first = (
        f"POST /wsman HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: {len(b)}\r\n\r\n"
    ).encode() + b
    chunked = (
        f"POST /wsman HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/soap+xml;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    half = len(b) // 2
    chunked += b"%x\r\n" % half + b[:half] + b"\r\n" + b"%x\r\n" % (len(b) - half) + b[half:] + b"\r\n0\r\n\r\n"
    data = _raw_http(agent, first + chunked, reads=2)
    assert data.count(b"HTTP/1.1 200") == 2, data[:500]
    assert data.count(b"IdentifyResponse") >= 2

    with socket.create_connection((agent.host, agent.port), timeout=10) as s:
        s.sendall(
            (
                f"POST /wsman HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n"
                f"Content-Type: application/soap+xml;charset=UTF-8\r\nExpect: 100-continue\r\n"
                f"Content-Length: {len(b)}\r\n\r\n"
            ).encode()
        )
        interim = s.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100"), interim
        s.sendall(b)
        data = b""
        while b"IdentifyResponse>" not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        assert b"HTTP/1.1 200" in data


def test_oversized_body_is_413(agent):
    auth = _basic(agent)
    req = (
        f"POST /wsman HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: {64 * 1024 * 1024}\r\n\r\n"
    ).encode()
    data = _raw_http(agent, req)
    assert data.startswith(b"HTTP/1.1 413"), data[:200]


def test_garbage_never_kills_the_server(agent):
    for payload in [b"\x00\xff" * 100, b"GET / HTTP/1.1\r\n\r\n", b"POST /wsman HTTP/9.9\r\n\r\n", b"\r\n\r\n"]:
        try:
            _raw_http(agent, payload)
        except (ConnectionResetError, socket.timeout):
            pass
    env, _ = envelope(None, body=IDENTIFY_BODY)
    assert post(agent, env).status_code == 200
