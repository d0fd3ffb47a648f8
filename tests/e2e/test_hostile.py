"""Hostile clients against the real binary (issue 20): malformed HTTP, look-alike passwords,
idle and unauthenticated sockets, and floods of wrong passwords.

Every case sends the hostile input over a real socket on 127.0.0.0/8 and checks the answer.
Counts and ordering are asserted, not timings: the bounds on time are generous (what "still
served" means on a loaded 2-core machine), never benchmarks.
"""

import base64
import hashlib
import socket
import time

import pytest

from conftest import Agent
from wsmanlib import envelope, post

IDENTIFY = '<wsmid:Identify xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"/>'


def _identify() -> bytes:
    env, _ = envelope(None, body=IDENTIFY)
    return env.encode() if isinstance(env, str) else env


def _basic(user: str, password) -> str:
    raw = user.encode() + b":" + (password if isinstance(password, bytes) else password.encode())
    return "Basic " + base64.b64encode(raw).decode()


def _request(agent, body: bytes, auth=True, head_lines=None, method="POST", host=True) -> bytes:
    lines = [f"{method} /wsman HTTP/1.1"]
    if host:
        lines.append(f"Host: {agent.host}:{agent.port}")
    if auth is True:
        lines.append("Authorization: " + _basic(agent.user, agent.password))
    elif auth:
        lines.append("Authorization: " + auth)
    lines.append("Content-Type: application/soap+xml;charset=UTF-8")
    lines += head_lines or []
    if not any(line.lower().startswith("transfer-encoding") for line in head_lines or []):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _connect(agent, source="127.0.0.1", timeout=10.0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect((agent.host, agent.port))
    return s


def _response(sock: socket.socket, timeout=10.0) -> bytes:
    """One whole response (head + Content-Length body), or whatever came before EOF."""
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


def _status(reply: bytes) -> int:
    parts = reply.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _closed(sock: socket.socket, timeout=10.0) -> bool:
    """True when the peer closes (or resets) within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def _exchange(agent, data: bytes, source="127.0.0.1") -> bytes:
    with _connect(agent, source) as s:
        s.sendall(data)
        return _response(s)


@pytest.fixture(scope="module")
def agent():
    a = Agent()
    try:
        yield a
    finally:
        a.stop()


# Finding 5, the HTTP half: each malformed request gets its status and never reaches WS-Man.
@pytest.mark.parametrize(
    "name,kwargs,status",
    [
        ("no Host", {"host": False}, 400),
        ("two Hosts", {"head_lines": ["Host: other"]}, 400),
        ("lower-case method", {"method": "post"}, 501),
        ("unknown expectation", {"head_lines": ["Expect: 200-ok"]}, 417),
        ("gzip on a plain body", {"head_lines": ["Content-Encoding: gzip"]}, 415),
    ],
)
def test_malformed_http_is_refused(agent, name, kwargs, status):
    reply = _exchange(agent, _request(agent, _identify(), **kwargs))
    assert _status(reply) == status, (name, reply[:300])
    assert b"IdentifyResponse" not in reply


def test_well_formed_request_still_served(agent):
    reply = _exchange(agent, _request(agent, _identify()))
    assert _status(reply) == 200 and b"IdentifyResponse" in reply, reply[:300]


def test_chunked_body_missing_its_last_chunk_is_not_processed(agent):
    body = _identify()
    head = _request(agent, b"", head_lines=["Transfer-Encoding: chunked"])
    with _connect(agent) as s:
        s.sendall(head + b"%x\r\n" % len(body) + body + b"\r\n")
        s.shutdown(socket.SHUT_WR)
        reply = _response(s)
    # No response at all, or a 400; never the Identify answer.
    assert reply == b"" or _status(reply) == 400, reply[:300]


# Finding 4: exactly one password authenticates.
def test_password_followed_by_nuls_is_refused(agent):
    good = _exchange(agent, _request(agent, _identify(), auth=_basic(agent.user, agent.password)))
    assert _status(good) == 200
    for nuls in (1, 2, 54):
        padded = agent.password.encode() + b"\0" * nuls
        reply = _exchange(agent, _request(agent, _identify(), auth=_basic(agent.user, padded)))
        assert _status(reply) == 401, (nuls, reply[:200])


def test_sha256_of_a_long_password_is_refused():
    long_password = "x" * 65 + "-long-enough-to-be-hashed-by-hmac"
    a = Agent(defaults=True, env={"WSBMC_PASSWORD": long_password})
    try:
        a.password = long_password
        ok = _exchange(a, _request(a, _identify(), auth=_basic(a.user, long_password)))
        assert _status(ok) == 200, ok[:200]
        digest = hashlib.sha256(long_password.encode()).digest()
        reply = _exchange(a, _request(a, _identify(), auth=_basic(a.user, digest)))
        assert _status(reply) == 401, reply[:200]
    finally:
        a.stop()
