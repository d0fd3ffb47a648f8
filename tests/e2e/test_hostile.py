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
from wsmanlib import envelope, post, read_response

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
        return read_response(s)


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
        reply = read_response(s)
    # No response at all, or a 400; never the Identify answer.
    assert reply == b"" or _status(reply) == 400, reply[:300]


# Broken chunked framing (the body reader of http body.rs) is 400 and closed: a size that is not
# hex (a sign included), more than 16 digits, data not followed by CRLF, extensions longer than
# the head's room. A trailer section longer than the head's room is refused as a head is (431).
_END = b"\r\n0\r\n\r\n"


@pytest.mark.parametrize(
    "name,framing,status",
    [
        ("not hex", lambda b: b"zz\r\n" + b + _END, 400),
        ("signed size", lambda b: b"+%x\r\n" % len(b) + b + _END, 400),
        ("17 digits", lambda b: b"%017x\r\n" % len(b) + b + _END, 400),
        ("no CRLF after the data", lambda b: b"%x\r\n" % len(b) + b + b"XY0\r\n\r\n", 400),
        ("long extensions", lambda b: b"%x;" % len(b) + b"e" * 3000 + b"\r\n" + b + _END, 400),
        (
            "long trailer",
            lambda b: b"%x\r\n" % len(b) + b + b"\r\n0\r\nX-Pad: " + b"p" * 3000 + b"\r\n\r\n",
            431,
        ),
    ],
)
def test_bad_chunked_framing_is_refused_and_closed(agent, name, framing, status):
    head = _request(agent, b"", head_lines=["Transfer-Encoding: chunked"])
    with _connect(agent) as s:
        s.sendall(head + framing(_identify()))
        reply = read_response(s)
        assert _status(reply) == status, (name, reply[:300])
        assert b"IdentifyResponse" not in reply
        assert _closed(s), name


def test_chunked_request_from_a_real_client(agent):
    """http.client frames the body itself (encode_chunked), in pieces, with extensions-free
    lowercase sizes; the connection is kept for a second, Content-Length request."""
    import http.client

    body = _identify()
    conn = http.client.HTTPConnection(agent.host, agent.port, timeout=10)
    headers = {
        "Authorization": _basic(agent.user, agent.password),
        "Content-Type": "application/soap+xml;charset=UTF-8",
        "Transfer-Encoding": "chunked",
    }
    try:
        pieces = [body[i : i + 100] for i in range(0, len(body), 100)]
        conn.request("POST", "/wsman", body=iter(pieces), headers=headers, encode_chunked=True)
        reply = conn.getresponse()
        assert reply.status == 200
        assert b"IdentifyResponse" in reply.read()
        del headers["Transfer-Encoding"]
        conn.request("POST", "/wsman", body=body, headers=headers)
        reply = conn.getresponse()
        assert reply.status == 200
        assert b"IdentifyResponse" in reply.read()
    finally:
        conn.close()


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


# Finding 3: slots. Idle and unauthenticated sockets cannot lock a console out.
def _unauthenticated_then_idle(agent, source) -> socket.socket:
    s = _connect(agent, source)
    s.sendall(_request(agent, _identify(), auth=None))
    assert _status(read_response(s)) == 401
    return s


def _console_served(agent, times=5) -> list:
    statuses = []
    for _ in range(times):
        statuses.append(_status(_exchange(agent, _request(agent, _identify()))))
    return statuses


def test_idle_unauthenticated_connections_do_not_lock_out_a_console():
    a = Agent(args=["--max-connections", "16", "--max-connections-per-source", "16"])
    held = []
    try:
        held = [_unauthenticated_then_idle(a, "127.0.0.2") for _ in range(16)]
        # Every slot is taken by an idle, unauthenticated connection: a console still gets in,
        # each time by closing one of them.
        assert _console_served(a) == [200] * 5
        closed = sum(_closed(s, timeout=0.5) for s in held)
        assert closed >= 5, closed
    finally:
        for s in held:
            s.close()
        a.stop()


def test_unauthenticated_connection_is_closed_within_the_auth_timeout():
    a = Agent(args=["--auth-timeout-ms", "1000"])
    try:
        s = _unauthenticated_then_idle(a, "127.0.0.2")
        with s:
            # Well before the 60 s idle timeout of an authenticated connection.
            assert _closed(s, timeout=15)
        # An authenticated one stays open past it.
        with _connect(a) as s:
            s.sendall(_request(a, _identify()))
            assert _status(read_response(s)) == 200
            assert not _closed(s, timeout=2.5)
            s.sendall(_request(a, _identify()))
            assert _status(read_response(s)) == 200
    finally:
        a.stop()


def test_one_address_cannot_take_every_slot():
    a = Agent(args=["--max-connections", "16"])  # default per-source cap: 8
    held = []
    try:
        held = [_connect(a, "127.0.0.2") for _ in range(16)]
        refused = 0
        for s in held:
            s.settimeout(1.5)
            try:
                reply = s.recv(4096)
            except socket.timeout:
                continue
            refused += _status(reply) == 503
        assert refused == 8, refused
        # Another address is served at once.
        assert _console_served(a, times=3) == [200] * 3
    finally:
        for s in held:
            s.close()
        a.stop()


def test_at_capacity_the_longest_idle_keep_alive_is_closed_for_the_new_one():
    a = Agent(args=["--max-connections", "2", "--max-connections-per-source", "2"])
    try:
        first, second = _connect(a), _connect(a)
        with first, second:
            for s in (first, second):
                s.sendall(_request(a, _identify()))
                assert _status(read_response(s)) == 200
                time.sleep(0.2)
            # Both slots hold idle kept-alive connections; a third client is served, not 503.
            assert _console_served(a, times=1) == [200]
            assert _closed(first, timeout=5)
            # The other one is still open and served.
            second.sendall(_request(a, _identify()))
            assert _status(read_response(second)) == 200
    finally:
        a.stop()


# Finding 3: password guessing. Back-off per source; other sources are not slowed.
def test_wrong_password_flood_backs_off_its_source_only():
    import threading

    a = Agent()
    stop = threading.Event()
    flood_answers = []

    def flood(source):
        # A name no account has: guesses at the console's own account would lock it (issue 15:
        # the lock applies to every account), which test_accounts.py covers.
        wrong = _request(a, _identify(), auth=_basic("intruder", "wrong-" + a.password))
        while not stop.is_set():
            try:
                with _connect(a, source, timeout=5) as s:
                    for _ in range(50):
                        if stop.is_set():
                            break
                        s.sendall(wrong)
                        reply = read_response(s)
                        if not reply:
                            break
                        flood_answers.append(_status(reply))
            except OSError:
                pass

    try:
        unloaded = []
        for _ in range(20):
            t0 = time.monotonic()
            assert _status(_exchange(a, _request(a, _identify()))) == 200
            unloaded.append(time.monotonic() - t0)
        # Sixteen guessing connections, each from its own address (127.0.0.2 to .17).
        sources = [f"127.0.0.{2 + i}" for i in range(16)]
        threads = [threading.Thread(target=flood, args=(src,)) for src in sources]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            loaded = []
            for i in range(40):
                t0 = time.monotonic()
                assert _status(_exchange(a, _request(a, _identify()))) == 200
                loaded.append(time.monotonic() - t0)
            # A correct password from the flooding address is refused while it waits (each
            # header differs in its spacing, so none is a cached verification) ...
            blocked = []
            for spaces in range(2, 6):
                auth = "Basic" + " " * spaces + _basic(a.user, a.password).split(" ", 1)[1]
                reply = _exchange(a, _request(a, _identify(), auth=auth), source="127.0.0.2")
                blocked.append(_status(reply))
            # ... while a fresh one from another address is checked and accepted.
            auth = "Basic" + " " * 7 + _basic(a.user, a.password).split(" ", 1)[1]
            other = _status(_exchange(a, _request(a, _identify(), auth=auth)))
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        # The first is refused unchecked, answered when the address's wait ends (the tarpit);
        # the next ones may come after it ended and be checked like any other.
        assert blocked[0] == 401, blocked
        assert other == 200
        # A waiting source's 401 comes when its wait ends (the agent's tarpit), so each of the
        # sixteen connections gets its free failures and then about one answer per wait.
        assert len(flood_answers) >= 16 * 3 and set(flood_answers) == {401}, len(flood_answers)
        # Generous on a shared 2-core machine: the console stays well within a second.
        loaded.sort()
        p99 = loaded[int(len(loaded) * 0.99) - 1]
        print(f"console p99 unloaded {max(unloaded) * 1000:.1f} ms, during the flood {p99 * 1000:.1f} ms")
        assert p99 < max(2 * max(unloaded), 1.0), (p99, max(unloaded))
    finally:
        a.stop()
    log = a.proc.stderr.read().decode(errors="replace")
    failed = [line for line in log.splitlines() if "failed login" in line]
    # Logged with the address, without the password, and only the checked ones: the back-off
    # spares PBKDF2 all but a few guesses per address (and the tarpit keeps the rest from
    # coming at all).
    assert any("127.0.0.2:" in line or "127.0.0.2 " in line for line in failed), failed[:5]
    assert a.password not in log
    assert len(failed) <= 16 * 8, (len(failed), len(flood_answers))


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_idle_connection_memory_fits_the_default_connection_count():
    """What the Linux images' default of 64 connections rests on (DEFAULT_MAX_CONNECTIONS):
    an idle kept-alive connection's share of the agent's RSS, measured over 200 of them."""
    n = 200
    a = Agent(args=["--max-connections", "1000", "--max-connections-per-source", "1000", "--no-https"])
    socks = []
    try:
        with _connect(a) as s:
            s.sendall(_request(a, _identify()))
            assert _status(read_response(s)) == 200
        time.sleep(0.3)
        before = _rss_kib(a.proc.pid)
        for _ in range(n):
            s = _connect(a)
            socks.append(s)
            s.sendall(_request(a, _identify()))
            assert _status(read_response(s)) == 200
        time.sleep(0.3)
        per = (_rss_kib(a.proc.pid) - before) / n
        print(f"idle kept-alive connection: {per:.1f} KiB of RSS each ({n} connections)")
        assert per < 32, per
    finally:
        for s in socks:
            s.close()
        a.stop()


def test_password_checks_run_on_their_own_thread(agent):
    """PBKDF2 runs on the `wsbmc-kdf` worker, not the executor thread (issue 20)."""
    import pathlib

    wrong = _request(agent, _identify(), auth=_basic(agent.user, "not-" + agent.password))
    assert _status(_exchange(agent, wrong, source="127.0.0.99")) == 401
    names = {p.read_text().strip() for p in pathlib.Path(f"/proc/{agent.proc.pid}/task").glob("*/comm")}
    assert "wsbmc-kdf" in names, names
