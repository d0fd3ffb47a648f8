"""Fault injection through the simulation control channel, seen through a real WS-Man client.

A NACKing part, a part that holds the bus (every transfer times out) and an IPMB satellite pulled
from the board must each show in their sensors' OperationalStatus, HealthState and CurrentState
within a poll period plus margin, while every other sensor keeps reading; once the faults clear,
every sensor reads again. The host's power drives the host-powered sensors the same way.
"""

import os
import stat
import time

import pytest

from board_expect import expected_sensors
from conftest import Agent
from wsmanlib import NUMERIC_SENSOR, enumerate_all, props, pypsrp

P = "{%s}" % NUMERIC_SENSOR
POLL_S = 1.0
# A timed-out read costs the poller its 500 ms bound per sensor before back-off starts, and the
# client's round trip adds a little: the margin covers both.
MARGIN_S = 4.0
RECOVER_S = 25.0

NO_CONTACT = "12"
LOST_COMMUNICATION = "13"
DORMANT = "15"


@pytest.fixture(scope="module")
def ctl_agent(tmp_path_factory):
    sock = tmp_path_factory.mktemp("ctl") / "wsbmc.sock"
    a = Agent(control=sock)
    try:
        yield a
    finally:
        a.stop()
        assert a.proc.returncode == 0, a.proc.stderr.read().decode(errors="replace")


def _ops(s) -> list:
    v = s.get("OperationalStatus")
    return v if isinstance(v, list) else [v]


def _snapshot(agent) -> dict:
    """key → properties of every numeric sensor."""
    by_id = {d: e["key"] for d, e in expected_sensors(agent.board()).items()}
    items, _ = enumerate_all(pypsrp(agent), NUMERIC_SENSOR, optimize=True, max_elements=100)
    out = {}
    for i in items:
        if i.tag == P + "CIM_NumericSensor":
            p = props(i)
            out[by_id[p["DeviceID"]]] = p
    return out


def _wait(agent, pred, within_s, what):
    deadline = time.monotonic() + within_s
    last = None
    while time.monotonic() < deadline:
        last = _snapshot(agent)
        if pred(last):
            return last
        time.sleep(0.25)
    pytest.fail(f"{what} not seen within {within_s}s; last: {last}")


def _reading(s) -> bool:
    return s.get("CurrentReading") is not None


def _healthy(s) -> bool:
    return _reading(s) and s["HealthState"] == "5" and s["CurrentState"] == "Normal"


def _keys_of(agent, device):
    return [s["key"] for s in agent.board()["sensor"] if s["device"] == device]


def test_control_socket_is_private(ctl_agent):
    mode = stat.S_IMODE(os.stat(ctl_agent.control).st_mode)
    assert mode == 0o600, oct(mode)


def test_cli_errors_exit_2(ctl_agent):
    for words in (
        ["fault", "no_such_device", "nack"],
        ["fault", "inlet_tmp", "melt"],
        ["set", "inlet_temp", "warm"],
        ["set", "no_such_sensor", "1"],
        ["clear", "no_such_sensor"],
        ["host", "sideways"],
    ):
        r = ctl_agent.sim(*words, check=False)
        assert r.returncode == 2, (words, r)
        assert r.stderr.startswith("wsbmc sim: "), r.stderr
    r = Agent.__new__(Agent)
    r.control = ctl_agent.control.with_name("absent.sock")
    res = r.sim("status", check=False)
    assert res.returncode == 2 and "cannot reach the agent" in res.stderr


def test_set_and_clear_override(ctl_agent):
    _wait(ctl_agent, lambda s: all(_reading(v) for v in s.values()), 15, "first readings")
    ctl_agent.sim("set", "exhaust_temp", "72.5")
    s = _wait(
        ctl_agent,
        lambda s: s["exhaust_temp"]["CurrentReading"] == "72500",
        POLL_S + MARGIN_S,
        "pinned exhaust temperature",
    )
    assert s["exhaust_temp"]["CurrentState"] == "Upper Non-Critical"
    assert s["exhaust_temp"]["HealthState"] == "10"
    ctl_agent.sim("clear", "exhaust_temp")
    _wait(ctl_agent, lambda s: _healthy(s["exhaust_temp"]), RECOVER_S, "exhaust back to normal")


def test_nack_timeout_and_removed_satellite(ctl_agent):
    _wait(ctl_agent, lambda s: all(_healthy(v) for v in s.values()), 15, "healthy board")
    nack = _keys_of(ctl_agent, "inlet_tmp")
    stuck = _keys_of(ctl_agent, "riser_tmp")
    gone = _keys_of(ctl_agent, "psu2")
    assert nack and stuck and len(gone) >= 4
    faulted = set(nack + stuck + gone)

    ctl_agent.sim("fault", "inlet_tmp", "nack")
    ctl_agent.sim("fault", "riser_tmp", "timeout")
    ctl_agent.sim("remove", "psu2")

    def faults_seen(s):
        return (
            all(NO_CONTACT in _ops(s[k]) for k in nack + gone)
            and all(LOST_COMMUNICATION in _ops(s[k]) for k in stuck)
        )

    s = _wait(ctl_agent, faults_seen, POLL_S + MARGIN_S, "faults")
    for k in faulted:
        assert s[k]["CurrentReading"] is None, k
        assert s[k]["HealthState"] == "0", k
        assert s[k]["CurrentState"] == "Unknown", k
    # Everything else still reads, and fresh values keep coming (not a frozen cache).
    others = [k for k in s if k not in faulted]
    assert others and all(_healthy(s[k]) for k in others), {
        k: (s[k].get("CurrentReading"), s[k]["CurrentState"]) for k in others if not _healthy(s[k])
    }
    before = {k: s[k]["CurrentReading"] for k in others}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = _snapshot(ctl_agent)
        assert all(_healthy(now[k]) for k in others)
        if sum(now[k]["CurrentReading"] != before[k] for k in others) >= 3:
            break
    else:
        pytest.fail("healthy sensors stopped updating while others were faulted")

    ctl_agent.sim("fault", "inlet_tmp", "none")
    ctl_agent.sim("fault", "riser_tmp", "none")
    ctl_agent.sim("insert", "psu2")
    _wait(ctl_agent, lambda s: all(_healthy(v) for v in s.values()), RECOVER_S, "full recovery")


def test_host_off_quiets_host_powered_sensors(ctl_agent):
    board = ctl_agent.board()
    host_on = [s["key"] for s in board["sensor"] if s.get("power") == "host-on"]
    standby = [s["key"] for s in board["sensor"] if s.get("power") != "host-on"]
    assert host_on and standby
    _wait(ctl_agent, lambda s: all(_healthy(v) for v in s.values()), 15, "healthy board")

    ctl_agent.sim("host", "off")
    # Soft off takes about a second, then one poll.
    s = _wait(
        ctl_agent,
        lambda s: all(DORMANT in _ops(s[k]) for k in host_on),
        1.0 + POLL_S + MARGIN_S,
        "host-powered sensors dormant",
    )
    for k in host_on:
        assert s[k]["HealthState"] == "5", k
        assert s[k]["CurrentReading"] is None, k
    assert all(_healthy(s[k]) for k in standby)
    status = ctl_agent.sim("status").stdout
    assert status.splitlines()[0] == "host off"

    ctl_agent.sim("host", "on")
    # A second request while powering on is refused, distinctly.
    r = ctl_agent.sim("host", "off", check=False)
    assert r.returncode == 2 and "powering-on" in r.stderr, r
    _wait(ctl_agent, lambda s: all(_healthy(v) for v in s.values()), 2.0 + RECOVER_S, "host back on")
