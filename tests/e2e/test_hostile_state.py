"""Issue 20, findings 2, 5 (XML), 6 and 8 against the real binary.

- Finding 6: the state directory's files are corrupted between runs (sel.flash deleted, zeroed,
  random, emptied or with 1,000 flipped bits; map.flash with flipped bits or deleted; sel.flash
  truncated). A lost SEL is a warning in the agent's log and a "log area reset/cleared" record
  (Event Logging Disabled, 10h/02h) in the SEL, read back through pypsrp, with RecordIDs that
  continue; a lost account or a store that does not mount stops the agent with an error naming
  the way back (--reset-state, --user/--password), never the development password.
- Finding 8: a full, wrapping SEL enumerated a few records per Pull while records are appended
  returns every record once, in order.
- Findings 2 and 5: the namespace and attribute floods are refused fast, and malformed envelopes
  are faults, not 200.
"""

import functools
import os
import random
import signal
import subprocess
import time

import pytest

from conftest import SIM_BOARD, Agent, _binary, sim_board_with_sel, write_password_file
from wsmanlib import (
    CIM_SCHEMA,
    NS,
    enumerate_all,
    enumerate_body,
    envelope,
    fault_of,
    post,
    props,
    pull_body,
    pypsrp,
    body_of,
    wait_until,
)

LOG_RECORD = CIM_SCHEMA + "CIM_LogRecord"
RECORD_LOG = CIM_SCHEMA + "CIM_RecordLog"
WAIT_S = 20
LOST = "records lost from"


def _records(agent):
    items, _ = enumerate_all(pypsrp(agent), LOG_RECORD, optimize=True, max_elements=500)
    out = []
    for i in items:
        p = props(i)
        f = p["RecordData"].split("*")[1:-1]
        out.append(
            {
                "id": int(p["RecordID"]),
                "sensor_type": int(f[6], 16) if len(f) > 12 else None,
                "data1": int(f[10], 16) if len(f) > 12 else None,
            }
        )
    return out


def _log_count(agent) -> int:
    items, _ = enumerate_all(pypsrp(agent), RECORD_LOG, optimize=True)
    return int(props(items[0])["CurrentNumberOfRecords"])


_wait = functools.partial(wait_until, within=WAIT_S)


def _stderr(agent) -> str:
    """The agent's log, after it stopped."""
    agent.stop()
    return agent.proc.stderr.read().decode(errors="replace")


def _is_log_reset(r) -> bool:
    # Event Logging Disabled (10h), offset 02h "Log Area Reset/Cleared".
    return r["sensor_type"] == 0x10 and r["data1"] is not None and r["data1"] & 0x0F == 0x02


def _first_run(tmp_path, fill=100):
    """A provisioned state directory whose SEL holds the start record and `fill` more."""
    state = tmp_path / "state"
    a = Agent(args=["--state-dir", str(state)], control=tmp_path / "ctl.sock")
    try:
        a.sim("sel", "fill", str(fill))
        _wait(lambda: _log_count(a) >= fill + 1, f"{fill} records")
        ids = [r["id"] for r in _records(a)]
        assert not any(_is_log_reset(r) for r in _records(a)), "a new device has no reset record"
    finally:
        err = _stderr(a)
    assert a.proc.returncode == 0, err
    assert LOST not in err, err
    return state, max(ids)


def _flip_bits(path, n, seed):
    b = bytearray(path.read_bytes())
    r = random.Random(seed)
    for _ in range(n):
        i = r.randrange(len(b) * 8)
        b[i // 8] ^= 1 << (i % 8)
    path.write_bytes(bytes(b))


def _corrupt(sel, how):
    size = sel.stat().st_size
    if how == "deleted":
        sel.unlink()
    elif how == "zeroed":
        sel.write_bytes(b"\0" * size)
    elif how == "random":
        sel.write_bytes(random.Random(7).randbytes(size))
    elif how == "emptied":
        sel.write_bytes(b"")
    elif how == "flipped":
        _flip_bits(sel, 1000, 11)
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["deleted", "zeroed", "random", "emptied", "flipped"])
def test_a_lost_sel_is_warned_and_recorded_and_ids_continue(tmp_path, how):
    state, newest = _first_run(tmp_path)
    _corrupt(state / "sel.flash", how)
    b = Agent(args=["--state-dir", str(state)])
    try:
        records = _wait(
            lambda: [r for r in _records(b) if _is_log_reset(r)] and _records(b),
            "the log area reset record",
        )
        resets = [r for r in records if _is_log_reset(r)]
        assert len(resets) == 1, records
        # RecordIDs continue after the newest the log knew at its last mark (written after
        # mount and every 16 records): never back at 1.
        assert resets[0]["id"] > newest - 16, (resets, newest)
        ids = [r["id"] for r in records]
        assert len(ids) == len(set(ids)), ids
    finally:
        err = _stderr(b)
    assert b.proc.returncode == 0, err
    assert LOST in err and "WARN" in err, err
    # Reported once: the next start finds the log as the last one left it.
    c = Agent(args=["--state-dir", str(state)])
    try:
        assert len([r for r in _records(c) if _is_log_reset(r)]) == 1
    finally:
        err = _stderr(c)
    assert LOST not in err, err


def test_an_intact_state_dir_is_silent(tmp_path):
    state, newest = _first_run(tmp_path, fill=20)
    b = Agent(args=["--state-dir", str(state)])
    try:
        records = _records(b)
        assert not any(_is_log_reset(r) for r in records), records
        assert min(r["id"] for r in records) == 1 and max(r["id"] for r in records) > newest
    finally:
        err = _stderr(b)
    assert LOST not in err, err


def _start_fails(args, within=30.0):
    """Runs the agent expecting it to refuse to start; returns its stderr. Stopped by PID if it
    does start."""
    cmd = [str(_binary()), "--listen", "127.0.0.1:0", "--board", str(SIM_BOARD), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSBMC_")}
    env["RUST_LOG"] = "info"
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        _, err = p.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=10)
        pytest.fail(f"{cmd} started; it should have refused")
    assert p.returncode == 2, err
    return err.decode(errors="replace")


def test_a_lost_account_refuses_to_start_and_reset_state_recovers(tmp_path):
    state, _ = _first_run(tmp_path, fill=5)
    _flip_bits(state / "map.flash", 1000, 3)
    err = _start_fails(["--state-dir", str(state)])
    assert "--reset-state" in err and "--user NAME --password PASSWORD" in err, err
    assert "development password" not in err, err
    # The way back the error names.
    c = Agent(args=["--state-dir", str(state), "--reset-state"])
    try:
        assert _log_count(c) >= 1
    finally:
        err = _stderr(c)
    assert c.proc.returncode == 0 and "--reset-state" in err, err


@pytest.mark.parametrize("how", ["map deleted", "sel truncated"])
def test_a_store_that_does_not_mount_names_the_way_back(tmp_path, how):
    state, _ = _first_run(tmp_path, fill=5)
    if how == "map deleted":
        (state / "map.flash").unlink()
    else:
        with open(state / "sel.flash", "r+b") as f:
            f.truncate(1000)
    pw = write_password_file(tmp_path / "pw", "pw-0123456789")
    err = _start_fails(["--state-dir", str(state), "--user", "admin", "--password-file", pw])
    assert "To recover, start with --reset-state --user NAME --password PASSWORD" in err, err
    c = Agent(args=["--state-dir", str(state), "--reset-state"])
    try:
        assert _log_count(c) >= 1
    finally:
        c.stop()
    assert c.proc.returncode == 0


def test_a_wrapping_sel_is_pulled_without_gaps_or_repeats(tmp_path):
    """Finding 8: a full log that wraps while a console Pulls five records at a time; three
    records arrive between Pulls and overwrite three the console has already read."""
    board = sim_board_with_sel(tmp_path / "board.toml", 50, "wrap")
    a = Agent(board=board, control=tmp_path / "ctl.sock")
    try:
        a.sim("sel", "fill", "60")
        _wait(lambda: max(r["id"] for r in _records(a)) >= 61, "a full, wrapped log")
        w = pypsrp(a)
        resp = w.enumerate(LOG_RECORD, enumerate_body(optimize=True, max_elements=5))
        er = body_of(resp).find("n:EnumerateResponse", NS)
        got = [int(props(i)["RecordID"]) for i in er.find("w:Items", NS)]
        ctx = er.findtext("n:EnumerationContext", default="", namespaces=NS)
        done = er.find("w:EndOfSequence", NS) is not None
        target = None
        for step in range(200):
            if done:
                break
            if step < 20:
                want = max(r["id"] for r in _records(a)) + 3
                a.sim("sel", "fill", "3")
                _wait(lambda: max(r["id"] for r in _records(a)) >= want, f"record {want}")
            resp = w.pull(LOG_RECORD, pull_body(ctx, 5))
            pr = body_of(resp).find("n:PullResponse", NS)
            got += [int(props(i)["RecordID"]) for i in pr.find("n:Items", NS)]
            done = pr.find("n:EndOfSequence", NS) is not None
            ctx = pr.findtext("n:EnumerationContext", default="", namespaces=NS)
        assert done
        target = max(r["id"] for r in _records(a))
        assert got == list(range(got[0], target + 1)), got
        # The log had wrapped before the enumeration began, and wrapped 60 records more
        # during it.
        assert got[0] > 1 and len(got) >= 50 + 60, got
    finally:
        a.stop()


# ---- findings 2 and 5: hostile XML ----------------------------------------------------------


@pytest.fixture(scope="module")
def roomy(tmp_path_factory):
    """An agent that accepts 1 MiB requests, so the XML caps, not the size cap, refuse floods."""
    d = tmp_path_factory.mktemp("roomy")
    board = d / "board.toml"
    board.write_text(SIM_BOARD.read_text() + "\n[limits]\nmax-request-size = 1048576\n")
    a = Agent(board=board)
    try:
        yield a
    finally:
        a.stop()


def _get(extra_headers=""):
    return envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
        CIM_SCHEMA + "CIM_ComputerSystem",
        extra_headers=extra_headers,
    )[0]


def _enumerate(extra_headers=""):
    return envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
        RECORD_LOG,
        body="<n:Enumerate/>",
        extra_headers=extra_headers,
    )[0]


def test_floods_are_refused_fast(roomy):
    flood = "".join(
        "<e" + "".join(f' xmlns:p{d}="{e}"' for d in range(770)) + ">" for e in range(45)
    ) + "</e>" * 45
    assert len(flood) > 500_000
    attrs = "".join(f' a{i}=""' for i in range(40_000))
    for body in [flood, _get(f'<x:J xmlns:x="urn:x"{attrs}/>')]:
        t = time.monotonic()
        r = post(roomy, body)
        took = time.monotonic() - t
        assert r.status_code == 500, r.text[:300]
        _, sub, detail, _ = fault_of(r.text)
        assert sub.endswith(":EncodingLimit") and detail.endswith("ServiceEnvelopeLimit"), r.text
        assert took < 1.0, took


@pytest.mark.parametrize(
    "name, body, sub",
    [
        ("char ref past U+10FFFF", _get('<x:J xmlns:x="urn:x">&#x110000;</x:J>'), "SchemaValidationError"),
        ("char ref to a surrogate", _get('<x:J xmlns:x="urn:x" v="&#xD800;"/>'), "SchemaValidationError"),
        ("char ref to U+FFFE", _get('<x:J xmlns:x="urn:x">&#xFFFE;</x:J>'), "SchemaValidationError"),
        ("EBCDIC declared", '<?xml version="1.0" encoding="EBCDIC-US"?>' + _get(), "EncodingLimit"),
        ("UTF-16 declared on UTF-8", '<?xml version="1.0" encoding="UTF-16"?>' + _get(), "EncodingLimit"),
        ("doubled BOM", b"\xef\xbb\xbf\xef\xbb\xbf" + _get().encode(), "SchemaValidationError"),
        ("two Bodies", _get().replace("</s:Body>", "</s:Body><s:Body/>"), "SchemaValidationError"),
        ("two Headers", _get().replace("<s:Body>", "<s:Header/><s:Body>"), "SchemaValidationError"),
        (
            "Body before Header",
            _get().replace("<s:Header>", "<s:Body/><s:Header>").replace("<s:Body></s:Body>", ""),
            "SchemaValidationError",
        ),
        (
            'mustUnderstand="maybe"',
            _get().replace('<w:MaxEnvelopeSize s:mustUnderstand="true">', '<w:MaxEnvelopeSize s:mustUnderstand="maybe">'),
            "SchemaValidationError",
        ),
    ],
)
def test_malformed_envelopes_are_faults(roomy, name, body, sub):
    r = post(roomy, body)
    assert r.status_code == 500, (name, r.status_code, r.text[:300])
    code, got, _, _ = fault_of(r.text)
    assert code.endswith(":Sender") and got.endswith(f":{sub}"), (name, r.text)


def test_the_well_formed_twins_still_work(roomy):
    for body in [
        _enumerate(),
        _enumerate('<x:J xmlns:x="urn:x" v="&#xFFFD;">&#x10FFFF;</x:J>'),
        '<?xml version="1.0" encoding="UTF-8"?>' + _enumerate(),
        b"\xef\xbb\xbf" + _enumerate().encode(),
    ]:
        r = post(roomy, body)
        assert r.status_code == 200, r.text[:300]
