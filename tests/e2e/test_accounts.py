"""Accounts, roles and lockout (issue 15) against the real binary: accounts made with the
`wsbmc user` CLI (password on stdin, never argv) in a stopped agent's state dir, then a ReadOnly
user, an Operator and the Administrator through pypsrp/requests; the lockout, with a short
period set on the command line, from several 127.0.0.0/8 source addresses so the per-source
back-off (3 free failures per address) does not hide the account's own lock.
"""

import base64
import http.client
import os
import subprocess
import time
import types
import xml.etree.ElementTree as ET

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import SelectorSet

from conftest import SIM_BOARD, Agent, _binary, sim_board_with_sel
from wsmanlib import (
    ACTION,
    CIM_SCHEMA,
    NS,
    NUMERIC_SENSOR,
    enumerate_all,
    enumerate_body,
    envelope,
    fault_of,
    props,
    pypsrp,
)

COMPUTER_SYSTEM = CIM_SCHEMA + "CIM_ComputerSystem"
ACCOUNT = CIM_SCHEMA + "CIM_Account"
VIEWER, VIEWER_PW = "viewer", "viewer-pass-1"
OPER, OPER_PW = "oper", "operator-pass-1"


def user_cmd(state, *words, password=None):
    """`wsbmc user WORDS --state-dir STATE`, the password (if any) on stdin."""
    return subprocess.run(
        [str(_binary()), "user", *words, "--state-dir", str(state)],
        input=(password + "\n") if password is not None else "",
        capture_output=True,
        text=True,
        timeout=60,
    )


def as_user(agent, name, password):
    """The agent's address with other credentials, for wsmanlib.pypsrp."""
    return types.SimpleNamespace(host=agent.host, port=agent.port, user=name, password=password)


def post_from(source, agent, name, password, body):
    """POSTs `body` from `source` (an address in 127.0.0.0/8) with Basic credentials:
    (status, WWW-Authenticate headers, body)."""
    conn = http.client.HTTPConnection(agent.host, agent.port, timeout=15, source_address=(source, 0))
    try:
        token = base64.b64encode(f"{name}:{password}".encode()).decode()
        conn.request(
            "POST",
            "/wsman",
            body=body.encode(),
            headers={
                "Content-Type": "application/soap+xml;charset=UTF-8",
                "Authorization": f"Basic {token}",
            },
        )
        r = conn.getresponse()
        return r.status, r.headers.get_all("WWW-Authenticate") or [], r.read()
    finally:
        conn.close()


def enumerate_envelope(uri):
    # All of it in the response: no context is left open to count against the user quota.
    body = ET.tostring(enumerate_body(optimize=True, max_elements=500)).decode()
    return envelope(ACTION["enumerate"], uri, body)[0]


def invoke(agent, uri, method, selectors, params=None):
    sel = SelectorSet()
    for k, v in selectors.items():
        sel.add_option(k, v)
    body = ET.Element("{%s}%s_INPUT" % (uri, method))
    for k, v in (params or {}).items():
        ET.SubElement(body, "{%s}%s" % (uri, k)).text = str(v)
    resp = pypsrp(agent).invoke(f"{uri}/{method}", uri, body, selector_set=sel)
    out = resp.find("s:Body/{%s}%s_OUTPUT" % (uri, method), NS)
    assert out is not None, ET.tostring(resp)
    return int(out.findtext("{%s}ReturnValue" % uri))


def host_keys(agent):
    items, _ = enumerate_all(pypsrp(agent), COMPUTER_SYSTEM, optimize=True, max_elements=10)
    host = next(props(i) for i in items if not props(i)["Name"].endswith(":BMC"))
    return {"CreationClassName": "CIM_ComputerSystem", "Name": host["Name"]}


def assert_access_denied(call):
    with pytest.raises(WSManFaultError) as e:
        call()
    # WSManFault Code 5 is Windows' ERROR_ACCESS_DENIED, which wsman:AccessDenied carries.
    assert e.value.code == 5, e.value
    assert "lacks" in (e.value.reason or ""), e.value.reason


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    """A state dir with a ReadOnly and an Operator account, made while no agent runs."""
    d = tmp_path_factory.mktemp("accounts") / "state"
    for name, role, pw in [(VIEWER, "ReadOnly", VIEWER_PW), (OPER, "Operator", OPER_PW)]:
        r = user_cmd(d, "add", name, "--role", role, password=pw)
        assert r.returncode == 0, r.stderr
    return d


@pytest.fixture(scope="module")
def agent(state):
    a = Agent(args=["--state-dir", str(state), "--lockout-duration-s", "3"])
    try:
        yield a
    finally:
        a.stop()


def test_readonly_enumerates_but_is_denied_put_and_invoke(agent):
    viewer = as_user(agent, VIEWER, VIEWER_PW)
    items, _ = enumerate_all(pypsrp(viewer), NUMERIC_SENSOR, optimize=True, max_elements=100)
    assert items
    inst = pypsrp(viewer).get(NUMERIC_SENSOR, selector_set=_sensor_selectors(items[0]))
    sensor = inst.find("{%s}CIM_NumericSensor" % NUMERIC_SENSOR)
    assert_access_denied(
        lambda: pypsrp(viewer).put(
            NUMERIC_SENSOR, resource=sensor, selector_set=_sensor_selectors(items[0])
        )
    )
    keys = host_keys(viewer)
    assert_access_denied(
        lambda: invoke(viewer, COMPUTER_SYSTEM, "RequestStateChange", keys, {"RequestedState": 2})
    )
    # As Windows answers: HTTP 500 with the wsman:AccessDenied fault, never 403.
    status, _, body = post_from(
        "127.0.0.1", agent, VIEWER, VIEWER_PW, enumerate_envelope(ACCOUNT)
    )
    assert status == 500
    assert fault_of(body.decode())[1] == "w:AccessDenied"


def _sensor_selectors(item):
    p = props(item)
    sel = SelectorSet()
    for k in ("CreationClassName", "DeviceID", "SystemCreationClassName", "SystemName"):
        sel.add_option(k, p[k])
    return sel


def test_operator_power_cycles_but_is_denied_account_management(agent):
    oper = as_user(agent, OPER, OPER_PW)
    keys = host_keys(oper)
    # Power control needs Operator: the request is carried out (0) or refused by the power
    # state machine (4099 busy), never AccessDenied.
    assert invoke(oper, COMPUTER_SYSTEM, "RequestStateChange", keys, {"RequestedState": 2}) in (
        0,
        4099,
    )
    status, _, body = post_from(
        "127.0.0.1", agent, OPER, OPER_PW, enumerate_envelope(ACCOUNT)
    )
    assert status == 500
    assert fault_of(body.decode())[1] == "w:AccessDenied"
    # The Administrator is authorized (the class itself is another branch's work: whatever
    # the answer, it is not AccessDenied).
    status, _, body = post_from(
        "127.0.0.1", agent, agent.user, agent.password, enumerate_envelope(ACCOUNT)
    )
    if status == 500:
        assert fault_of(body.decode())[1] != "w:AccessDenied"


def test_lockout_refuses_the_right_password_then_lifts(agent):
    env = enumerate_envelope(NUMERIC_SENSOR)
    # Unknown user and wrong password: the same answer.
    unknown = post_from("127.0.0.30", agent, "nobody", "whatever-pw", env)
    wrong = post_from("127.0.0.31", agent, VIEWER, "wrong-password", env)
    assert unknown[0] == wrong[0] == 401
    assert unknown[1] == [h for h in wrong[1]] or len(unknown[1]) == len(wrong[1])
    assert unknown[2] == wrong[2]
    # Four more wrong ones (five in all), each from its own address: the account locks.
    for i in range(4):
        assert post_from(f"127.0.0.{32 + i}", agent, VIEWER, "wrong-password", env)[0] == 401
    status, challenges, _ = post_from("127.0.0.40", agent, VIEWER, VIEWER_PW, env)
    assert status == 401 and challenges, "a locked account answers like a wrong password"
    # Other accounts are not affected.
    assert post_from("127.0.0.41", agent, OPER, OPER_PW, env)[0] == 200
    # The SEL has Session Audit (2Ah) records: failed logins (offset 02h) and the lock (03h),
    # both with the account's user ID (slot + 1) in data 2.
    audit = [r for r in session_audit(agent) if r[1] == VIEWER_ID]
    assert {0x02, 0x03} <= {r[0] & 0x0F for r in audit}, audit
    time.sleep(3.5)
    assert post_from("127.0.0.42", agent, VIEWER, VIEWER_PW, env)[0] == 200


def test_board_file_sets_the_lockout_and_flags_override_it(tmp_path):
    """`[accounts]` in the board file: two failures lock for 600 s; `--lockout-threshold 4`
    overrides its threshold (and keeps its duration)."""
    text = SIM_BOARD.read_text()
    board = tmp_path / "board.toml"
    board.write_text(text + "\n[accounts]\nlockout-threshold = 2\nlockout-duration-s = 600\n")
    env = enumerate_envelope(NUMERIC_SENSOR)
    a = Agent(board=board)
    try:
        for i in range(2):
            assert post_from(f"127.0.0.{50 + i}", a, a.user, "wrong-password", env)[0] == 401
        assert post_from("127.0.0.52", a, a.user, a.password, env)[0] == 401, "not locked"
    finally:
        a.stop()
    b = Agent(board=board, args=["--lockout-threshold", "4"])
    try:
        for i in range(3):
            assert post_from(f"127.0.0.{60 + i}", b, b.user, "wrong-password", env)[0] == 401
        assert post_from("127.0.0.63", b, b.user, b.password, env)[0] == 200, "locked at 3"
        settings, _ = enumerate_all(pypsrp(b), CIM_SCHEMA + "CIM_AccountSettingData", optimize=True)
        p = props(settings[0])
        assert p["MaximumSuccessiveLoginFailures"] == "4", p
    finally:
        b.stop()


# The viewer is the first account the fixture adds: slot 0, IPMI user ID 1.
VIEWER_ID = 1


def session_audit(agent):
    """(data1, data2) of the SEL's Session Audit records, read as the Administrator."""
    items, _ = enumerate_all(
        pypsrp(agent), CIM_SCHEMA + "CIM_LogRecord", optimize=True, max_elements=500
    )
    out = []
    for i in items:
        f = props(i)["RecordData"].split("*")[1:-1]
        if len(f) > 12 and int(f[6], 16) == 0x2A:
            out.append((int(f[10], 16), int(f[11], 16)))
    return out


def test_the_cli_changes_a_running_agent_at_once(tmp_path):
    """`wsbmc user` on a running agent's state dir goes through the agent's account socket
    (the agent alone writes its store): each change applies to the next login, is audited in
    the SEL as Session Audit, and is stored (it survives a restart)."""
    state = tmp_path / "state"
    a = Agent(args=["--state-dir", str(state)])
    try:
        # The socket is abstract: nothing on the state disk besides the store and the lock.
        assert not any(p.is_socket() for p in state.iterdir())
        env = enumerate_envelope(NUMERIC_SENSOR)
        audits = len(session_audit(a))
        r = user_cmd(state, "list")
        assert r.returncode == 0, r.stderr
        assert r.stdout.split("\t")[1:3] == ["admin", "Administrator"], r.stdout
        assert post_from("127.0.0.2", a, "late", "late-pass-1", env)[0] == 401
        r = user_cmd(state, "add", "late", "--role", "Operator", password="late-pass-1")
        assert r.returncode == 0 and "Created: late" in r.stderr, r.stderr
        assert post_from("127.0.0.1", a, "late", "late-pass-1", env)[0] == 200
        r = user_cmd(state, "passwd", "late", password="late-pass-2")
        assert r.returncode == 0, r.stderr
        assert post_from("127.0.0.3", a, "late", "late-pass-1", env)[0] == 401
        assert post_from("127.0.0.1", a, "late", "late-pass-2", env)[0] == 200
        # The agent's own rules answer: a duplicate, a weak password, the last Administrator.
        r = user_cmd(state, "add", "LATE", "--role", "ReadOnly", password="late-pass-3")
        assert r.returncode == 2 and "exists" in r.stderr, r.stderr
        r = user_cmd(state, "passwd", "late", password="late")
        assert r.returncode == 2 and "password refused" in r.stderr, r.stderr
        r = user_cmd(state, "del", "admin")
        assert r.returncode == 2 and "last enabled Administrator" in r.stderr, r.stderr
        r = user_cmd(state, "add", "gone", "--role", "ReadOnly", password="gone-pass-1")
        assert r.returncode == 0, r.stderr
        r = user_cmd(state, "del", "gone")
        assert r.returncode == 0, r.stderr
        assert post_from("127.0.0.4", a, "gone", "gone-pass-1", env)[0] == 401
        # Session Audit (2Ah) records for the four changes, besides the failed logins.
        assert len(session_audit(a)) >= audits + 4
    finally:
        a.stop()
    # Stored by the agent: a restart (no credentials given) keeps them.
    b = Agent(args=["--state-dir", str(state)], defaults=True)
    try:
        assert post_from("127.0.0.1", b, "late", "late-pass-2", enumerate_envelope(NUMERIC_SENSOR))[0] == 200
        r = user_cmd(state, "list")
        assert [l.split("\t")[1] for l in r.stdout.splitlines()] == ["admin", "late"], r.stdout
    finally:
        b.stop()


def test_accounts_and_a_lock_survive_a_restart(tmp_path):
    state = tmp_path / "state"
    assert user_cmd(state, "add", VIEWER, "--role", "ReadOnly", password=VIEWER_PW).returncode == 0
    a = Agent(args=["--state-dir", str(state), "--lockout-duration-s", "600"])
    try:
        env = enumerate_envelope(NUMERIC_SENSOR)
        assert post_from("127.0.0.1", a, VIEWER, VIEWER_PW, env)[0] == 200
        for i in range(5):
            assert post_from(f"127.0.0.{50 + i}", a, VIEWER, "wrong-password", env)[0] == 401
        time.sleep(0.5)  # the log task writes the lock
    finally:
        a.stop()
    listed = user_cmd(state, "list")
    assert listed.returncode == 0, listed.stderr
    row = next(l.split("\t") for l in listed.stdout.splitlines() if l.split("\t")[1] == VIEWER)
    assert row[2:] == ["ReadOnly", "enabled", "locked"], listed.stdout
    # Restarted without --user/--password: the stored accounts, lock and settings apply.
    b = Agent(args=["--state-dir", str(state)])
    try:
        assert post_from("127.0.0.60", b, VIEWER, VIEWER_PW, enumerate_envelope(NUMERIC_SENSOR))[0] == 401
        assert post_from("127.0.0.61", b, b.user, b.password, enumerate_envelope(NUMERIC_SENSOR))[0] == 200
    finally:
        b.stop()


def test_user_cli_add_list_passwd_del_and_the_last_administrator(tmp_path):
    state = tmp_path / "state"
    assert user_cmd(state, "add", "root", "--role", "Administrator", password="root-pass-1").returncode == 0
    assert user_cmd(state, "add", "ro", "--role", "readonly", password="ro-pass-123").returncode == 0
    # The policy is enforced: too short, and a bad role.
    r = user_cmd(state, "add", "x1", "--role", "ReadOnly", password="short")
    assert r.returncode != 0 and "TooShort" in r.stderr
    r = user_cmd(state, "add", "x2", "--role", "root", password="long-enough-1")
    assert r.returncode != 0 and "--role" in r.stderr
    listed = user_cmd(state, "list").stdout.splitlines()
    assert [l.split("\t")[1:3] for l in listed] == [["root", "Administrator"], ["ro", "ReadOnly"]]
    # No password anywhere in the listing or the map in clear.
    assert "ro-pass-123" not in "\n".join(listed)
    assert b"ro-pass-123" not in (state / "map.flash").read_bytes()
    assert oct((state / "map.flash").stat().st_mode & 0o777) == "0o600"
    assert user_cmd(state, "passwd", "ro", password="ro-pass-456").returncode == 0
    r = user_cmd(state, "del", "root")
    assert r.returncode != 0 and "last enabled Administrator" in r.stderr
    assert user_cmd(state, "del", "ro").returncode == 0
    assert [l.split("\t")[1] for l in user_cmd(state, "list").stdout.splitlines()] == ["root"]
    # The agent starts on these accounts alone, and the changed password is the one in force.
    assert user_cmd(state, "add", "ro", "--role", "ReadOnly", password="ro-pass-123").returncode == 0
    assert user_cmd(state, "passwd", "ro", password="ro-pass-456").returncode == 0
    a = Agent(args=["--state-dir", str(state)])
    try:
        env = enumerate_envelope(NUMERIC_SENSOR)
        assert post_from("127.0.0.70", a, "ro", "ro-pass-456", env)[0] == 200
        assert post_from("127.0.0.71", a, "ro", "ro-pass-123", env)[0] == 401
        assert post_from("127.0.0.72", a, "root", "root-pass-1", env)[0] == 200
    finally:
        a.stop()


def test_a_state_dir_made_by_the_previous_release_migrates(tmp_path, monkeypatch):
    """The single account an older wsbmc stored (WSBMC_MAIN_BIN: a binary built from main
    before issue 15) becomes an Administrator of the table, keeps its password, and the CLI
    adds accounts beside it. Skipped without that binary."""
    old = os.environ.get("WSBMC_MAIN_BIN")
    if not old or not os.path.exists(old):
        pytest.skip("WSBMC_MAIN_BIN (a wsbmc built before issue 15) not given")
    state = tmp_path / "state"
    with monkeypatch.context() as m:
        m.setenv("WSBMC_BIN", old)
        o = Agent(args=["--state-dir", str(state)])
        user, password = o.user, o.password
        o.stop()
    listed = user_cmd(state, "list")
    assert listed.returncode == 0, listed.stderr
    assert [l.split("\t")[1:4] for l in listed.stdout.splitlines()] == [
        [user, "Administrator", "enabled"]
    ]
    assert user_cmd(state, "add", VIEWER, "--role", "ReadOnly", password=VIEWER_PW).returncode == 0
    # Started without credentials: the migrated account logs in with its old password.
    b = Agent(args=["--state-dir", str(state)], defaults=True)
    try:
        env = enumerate_envelope(NUMERIC_SENSOR)
        assert post_from("127.0.0.80", b, user, password, env)[0] == 200
        assert post_from("127.0.0.81", b, VIEWER, VIEWER_PW, env)[0] == 200
    finally:
        b.stop()


FLOOD = 1000
# More connections than the agent admits from one address (32 by default): the flood meets
# both the per-source slots and the back-off, whose refusals are answered when the source's
# wait ends (the `tarpit` feature), so it paces itself.
FLOOD_THREADS = 40
CONSOLE_REQUESTS = 60
UNLOADED_S = 10.0


def _p99(samples):
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * 0.99))]


def _console_latencies(agent, n):
    """Wall time of `n` Enumerates by the Administrator from 127.0.0.1 over one kept-alive
    connection (its credential cached after the first)."""
    conn = http.client.HTTPConnection(agent.host, agent.port, timeout=15, source_address=("127.0.0.1", 0))
    token = base64.b64encode(f"{agent.user}:{agent.password}".encode()).decode()
    body = enumerate_envelope(NUMERIC_SENSOR).encode()
    headers = {
        "Content-Type": "application/soap+xml;charset=UTF-8",
        "Authorization": f"Basic {token}",
    }
    out = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            conn.request("POST", "/wsman", body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            out.append(time.perf_counter() - t0)
            assert r.status == 200
    finally:
        conn.close()
    return out


def _flood_process(host, port, threads, per_thread, deadline, sent):
    """One flooding process: `threads` connections from 127.0.0.2, `per_thread` wrong logins
    each (or until `deadline`, monotonic); adds what it sent to `sent`. In processes of their
    own so the flood does not take the console's interpreter lock and pass for server delay."""
    import threading

    token = base64.b64encode(b"intruder:wrong-password").decode()
    body = enumerate_envelope(NUMERIC_SENSOR).encode()
    headers = {
        "Content-Type": "application/soap+xml;charset=UTF-8",
        "Authorization": f"Basic {token}",
    }
    count = [0]
    lock = threading.Lock()

    def one():
        conn = None
        for _ in range(per_thread):
            if time.monotonic() > deadline:
                break
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(
                        host, port, timeout=10, source_address=("127.0.0.2", 0)
                    )
                conn.request("POST", "/wsman", body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                if r.status not in (401, 503):
                    raise AssertionError(r.status)
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
            with lock:
                count[0] += 1
        if conn is not None:
            conn.close()

    ts = [threading.Thread(target=one) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=max(1.0, deadline - time.monotonic() + 10))
    with sent.get_lock():
        sent.value += count[0]


def test_a_login_flood_from_one_address_does_not_slow_a_console_on_another(tmp_path):
    """1,000 wrong logins from 127.0.0.2 (40 connections at once, from 4 processes) while a
    console on 127.0.0.1 enumerates: the console's p99 stays within 2x its unloaded p99.
    Generous where it must be on a shared 2-core machine: the unloaded p99 is floored at 10 ms
    before doubling. Every attempt is answered 401 or refused (a connection over the source's
    slots)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    a = Agent(args=["--state-dir", str(tmp_path / "state")])
    procs = []
    try:
        _console_latencies(a, 5)  # warm the cache and the connection path
        # Sampled as under the flood (batches of 10, 20 ms apart) for UNLOADED_S, so both
        # p99s see the same share of the shared machine's own noise.
        samples = []
        until = time.monotonic() + UNLOADED_S
        while time.monotonic() < until:
            samples += _console_latencies(a, 10)
            time.sleep(0.02)
        unloaded = _p99(samples)
        sent = ctx.Value("i", 0)
        stop = time.monotonic() + 120
        per_proc = FLOOD_THREADS // 4
        procs = [
            ctx.Process(
                target=_flood_process,
                args=(a.host, a.port, per_proc, FLOOD // FLOOD_THREADS, stop, sent),
            )
            for _ in range(4)
        ]
        for p in procs:
            p.start()
        # The console samples all through the flood (bounded by the flood's own deadline).
        samples = []
        while any(p.is_alive() for p in procs) and time.monotonic() < stop:
            samples += _console_latencies(a, 10)
            time.sleep(0.02)
        for p in procs:
            p.join(timeout=30)
        assert len(samples) >= CONSOLE_REQUESTS, len(samples)
        loaded = _p99(samples)
        print(
            f"console p99: {unloaded * 1000:.1f} ms alone, {loaded * 1000:.1f} ms over "
            f"{len(samples)} requests during {sent.value} wrong logins from 127.0.0.2"
        )
        assert sent.value == FLOOD, sent.value
        assert loaded <= 2 * max(unloaded, 0.010), (
            f"console p99 {loaded * 1000:.1f} ms under the flood, {unloaded * 1000:.1f} ms without"
        )
        # And the console still logs in afresh afterwards (its account was never the target).
        assert post_from("127.0.0.1", a, a.user, a.password, enumerate_envelope(NUMERIC_SENSOR))[0] == 200
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(timeout=10)
        a.stop()


def test_a_flood_of_failed_logins_leaves_the_sel_its_records_and_room(tmp_path):
    """Anybody who reaches the port can cause failed logins. They are logged only while the
    SEL is under three quarters full (and in a full log in place of an older failed login):
    a flood does not push out what was logged before it (the start, the sensors' events) nor
    take the last quarter, and the agent's log says how many were left out. Three wrong logins
    from each of six addresses (each under its source's back-off) meet an 8-record log that
    holds 4."""
    from test_hostile_state import _records

    board = sim_board_with_sel(tmp_path / "board.toml", 8, "wrap")
    a = Agent(board=board, control=tmp_path / "ctl.sock")
    try:
        a.sim("sel", "fill", "3")
        deadline = time.monotonic() + 10
        while len(_records(a)) < 4:
            assert time.monotonic() < deadline, _records(a)
            time.sleep(0.2)
        before = _records(a)
        assert len(before) == 4 and not any(r["sensor_type"] == 0x2A for r in before), before
        env = enumerate_envelope(NUMERIC_SENSOR)
        for source in range(2, 8):
            for i in range(3):
                status, _, _ = post_from(f"127.0.0.{source}", a, f"nobody{i}", "wrong-password", env)
                assert status == 401
        time.sleep(0.5)  # the log task has taken the last one
        after = _records(a)
        kinds = [(r["sensor_type"], r["data1"] & 0x0F) for r in after[4:]]
        # Two failed logins bring the log to six of eight, the SEL sensor's "SEL Almost Full"
        # (10h, offset 05h) is the seventh, and the last place is left to the rest.
        assert after[:4] == before and kinds == [(0x2A, 0x02), (0x2A, 0x02), (0x10, 0x05)], after
    finally:
        a.stop()
    err = a.proc.stderr.read().decode(errors="replace")
    assert "failed logins not logged, to keep its records and room for other events" in err, err[-2000:]


def test_a_failed_login_is_one_line_of_the_agents_log_with_its_source(tmp_path):
    """The connection logs a refused login with its source address; the account table's audit
    of the same failure is not logged a second time (locks and unlocks are)."""
    a = Agent()
    try:
        env = enumerate_envelope(NUMERIC_SENSOR)
        status, _, _ = post_from("127.0.0.77", a, "mallory", "wrong-password-77", env)
        assert status == 401
        time.sleep(0.3)  # the log task has taken the audit
    finally:
        a.stop()
    err = a.proc.stderr.read().decode(errors="replace")
    lines = [line for line in err.splitlines() if "mallory" in line]
    assert len(lines) == 1 and "127.0.0.77" in lines[0], lines
    assert "wrong-password-77" not in err
