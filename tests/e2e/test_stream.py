"""Streamed responses (issue 17): an Enumerate whose items outgrow what the agent holds for a
response (16 KiB) goes out with `Transfer-Encoding: chunked`, rendered piece by piece, and
every client reads it as it reads a Content-Length reply.

The reference is the same enumeration paged in replies small enough to be held whole (each
with Content-Length); the streamed items must be the same, byte for byte as XML elements.
"""

import base64
import socket
import xml.etree.ElementTree as ET

import pytest
import winrm

from conftest import Agent
from wsmanlib import (
    ACTION,
    NS,
    NUMERIC_SENSOR,
    body_of,
    enumerate_all,
    enumerate_body,
    envelope,
    pypsrp,
)

# What the agent here holds of a response before it streams (`--stream-from`; the default,
# 256 KiB, is more than the simulated board's whole sensor list).
STREAM_FROM = 16 * 1024
# Room the HTTP layer gives each later piece (http server.rs CHUNK_ROOM).
CHUNK_ROOM = 8 * 1024


@pytest.fixture(scope="module")
def agent():
    a = Agent(args=["--stream-from", str(STREAM_FROM)])
    try:
        yield a
    finally:
        a.stop()
        assert a.proc.returncode == 0, a.proc.stderr.read().decode(errors="replace")


def _request(agent, body: bytes, content_type: str) -> bytes:
    auth = base64.b64encode(f"{agent.user}:{agent.password}".encode()).decode()
    return (
        f"POST /wsman HTTP/1.1\r\nHost: {agent.host}:{agent.port}\r\n"
        f"Authorization: Basic {auth}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class _Conn:
    """A raw HTTP/1.1 client that checks the framing of what it reads to the byte."""

    def __init__(self, agent):
        self.sock = socket.create_connection((agent.host, agent.port), timeout=10)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        assert data, "connection closed inside a response"
        self.buf += data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def exchange(self, request: bytes):
        """(status, headers, body, chunk sizes or None for a Content-Length body)."""
        self.sock.sendall(request)
        status = int(self._line().split(b" ")[1])
        headers = {}
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.partition(b":")
            key = name.strip().lower().decode()
            assert key not in headers, f"repeated header {key}"
            headers[key] = value.strip().decode()
        if headers.get("transfer-encoding") is None:
            return status, headers, self._take(int(headers["content-length"])), None
        assert headers["transfer-encoding"] == "chunked"
        assert "content-length" not in headers, "chunked and a length"
        body, sizes = b"", []
        while True:
            line = self._line().decode()
            assert line and all(c in "0123456789abcdef" for c in line), f"size line {line!r}"
            assert line == "0" or not line.startswith("0"), f"leading zero {line!r}"
            size = int(line, 16)
            if size == 0:
                assert self._line() == b"", "trailer must be empty"
                return status, headers, body, sizes
            sizes.append(size)
            body += self._take(size)
            assert self._take(2) == b"\r\n", "CRLF after chunk data"

    def close(self):
        self.sock.close()


def _enumerate(max_elements: int) -> str:
    body = (
        "<n:Enumerate><w:OptimizeEnumeration/>"
        f"<w:MaxElements>{max_elements}</w:MaxElements></n:Enumerate>"
    )
    return envelope(ACTION["enumerate"], NUMERIC_SENSOR, body=body)[0]


def _pull(context: str, max_elements: int) -> str:
    body = (
        f"<n:Pull><n:EnumerationContext>{context}</n:EnumerationContext>"
        f"<n:MaxElements>{max_elements}</n:MaxElements></n:Pull>"
    )
    return envelope(ACTION["pull"], NUMERIC_SENSOR, body=body)[0]


def _items(text: str):
    root = ET.fromstring(text)
    resp = root.find("s:Body/n:EnumerateResponse", NS)
    if resp is not None:
        items, context = resp.find("w:Items", NS), resp.findtext("n:EnumerationContext", namespaces=NS)
        end = resp.find("w:EndOfSequence", NS) is not None
    else:
        resp = root.find("s:Body/n:PullResponse", NS)
        assert resp is not None, text[:500]
        items, context = resp.find("n:Items", NS), resp.findtext("n:EnumerationContext", namespaces=NS)
        end = resp.find("n:EndOfSequence", NS) is not None
    return [ET.tostring(i) for i in (items if items is not None else [])], context, end


def _decode(body: bytes, headers: dict) -> str:
    if headers["content-type"].endswith("UTF-16"):
        assert body[:2] == b"\xff\xfe", "UTF-16 replies start with a BOM"
        return body[2:].decode("utf-16-le")
    return body.decode("utf-8")


@pytest.fixture(scope="module")
def held(agent):
    """Every numeric sensor, paged four at a time: replies held whole, with Content-Length."""
    conn = _Conn(agent)
    try:
        status, headers, body, chunks = conn.exchange(
            _request(agent, _enumerate(4).encode(), "application/soap+xml;charset=UTF-8")
        )
        assert status == 200 and chunks is None
        items, context, end = _items(_decode(body, headers))
        while not end:
            status, headers, body, chunks = conn.exchange(
                _request(agent, _pull(context, 4).encode(), "application/soap+xml;charset=UTF-8")
            )
            assert status == 200 and chunks is None, "a small reply keeps its Content-Length"
            assert len(body) < STREAM_FROM
            more, context, end = _items(_decode(body, headers))
            items += more
    finally:
        conn.close()
    total = sum(len(i) for i in items)
    assert total > STREAM_FROM + 2 * CHUNK_ROOM, f"{total} B of items: too few to stream"
    return items


@pytest.mark.parametrize("charset", ["UTF-8", "UTF-16"])
def test_a_large_enumerate_is_chunked_framed_exactly_and_carries_the_same_items(
    agent, held, charset
):
    env = _enumerate(1000)
    data = env.encode() if charset == "UTF-8" else b"\xff\xfe" + env.encode("utf-16-le")
    conn = _Conn(agent)
    try:
        request = _request(agent, data, f"application/soap+xml;charset={charset}")
        status, headers, body, chunks = conn.exchange(request)
        assert status == 200
        assert headers["content-type"] == f"application/soap+xml;charset={charset}"
        assert chunks is not None, "a reply this large is streamed"
        # The held part first, then one piece per chunk: several, none far past its room
        # (one item more at most), so the agent never held the whole reply.
        unit = 2 if charset == "UTF-16" else 1
        assert len(chunks) >= 3, chunks
        # Whole items only: the held part stops short of STREAM_FROM by less than an item.
        assert STREAM_FROM // 2 * unit < chunks[0] <= (STREAM_FROM + 2048) * unit, chunks
        assert all(c <= (CHUNK_ROOM + 4096) * unit for c in chunks[1:]), chunks
        assert len(body) <= 153600, "within the request's MaxEnvelopeSize"
        items, context, end = _items(_decode(body, headers))
        if charset == "UTF-8":
            assert end and not context, "one reply, EndOfSequence, no context left"
        # In UTF-16 the same items take twice the bytes and pass MaxEnvelopeSize (153600):
        # the streamed reply stops where a held one would, and a Pull brings the rest.
        while not end:
            assert context
            request = _pull(context, 1000)
            data = request.encode() if charset == "UTF-8" else b"\xff\xfe" + request.encode("utf-16-le")
            status, headers, body, chunks = conn.exchange(
                _request(agent, data, f"application/soap+xml;charset={charset}")
            )
            assert status == 200 and len(body) <= 153600
            more, context, end = _items(_decode(body, headers))
            items += more
        assert items == held
        # The connection is still good for the next request, and a small reply is whole again.
        status, headers, body, chunks = conn.exchange(
            _request(agent, _enumerate(2).encode(), "application/soap+xml;charset=UTF-8")
        )
        assert status == 200 and chunks is None
        assert _items(_decode(body, headers))[0] == held[:2]
    finally:
        conn.close()


def test_pypsrp_reads_a_streamed_enumerate(agent, held):
    wsman = pypsrp(agent, max_envelope_size=512000)
    items, trips = enumerate_all(wsman, NUMERIC_SENSOR, optimize=True, max_elements=1000)
    assert trips == 1
    assert [ET.tostring(i) for i in items] == held


def test_pywinrm_reads_a_streamed_enumerate(agent, held):
    proto = winrm.Protocol(
        endpoint=agent.url,
        transport="basic",
        username=agent.user,
        password=agent.password,
        message_encryption="never",
    )
    text = proto.send_message(_enumerate(1000))
    items, context, end = _items(text if isinstance(text, str) else text.decode())
    assert end and not context
    assert items == held


def test_a_streamed_pull_carries_the_rest_and_keeps_its_context_rules(agent, held):
    """Enumerate without items, then one Pull for all of them: streamed, and its context ends."""
    wsman = pypsrp(agent, max_envelope_size=512000)
    resp = wsman.enumerate(NUMERIC_SENSOR, enumerate_body())
    context = body_of(resp).findtext("n:EnumerateResponse/n:EnumerationContext", namespaces=NS)
    assert context
    conn = _Conn(agent)
    try:
        status, headers, body, chunks = conn.exchange(
            _request(agent, _pull(context, 1000).encode(), "application/soap+xml;charset=UTF-8")
        )
    finally:
        conn.close()
    assert status == 200 and chunks is not None and len(chunks) >= 3
    items, ctx, end = _items(_decode(body, headers))
    assert end and not ctx
    assert items == held
