"""The SEL and host power through the real endpoint: a threshold crossing pushed with the sim
control channel is logged with the right bytes and rendered as CIM_LogRecord, the log survives
a restart, ClearLog empties it and logs the clear, and power requests through Invoke change the
host's state (with a second request refused while the first is in progress)."""

import functools
import time
import xml.etree.ElementTree as ET

import pytest
from pypsrp.wsman import SelectorSet

from conftest import Agent, sim_board_with_sel
from wsmanlib import CIM_SCHEMA, NS, NUMERIC_SENSOR, enumerate_all, props, pypsrp, wait_until

LOG_RECORD = CIM_SCHEMA + "CIM_LogRecord"
RECORD_LOG = CIM_SCHEMA + "CIM_RecordLog"
COMPUTER_SYSTEM = CIM_SCHEMA + "CIM_ComputerSystem"
WAIT_S = 15


def _records(agent):
    items, _ = enumerate_all(pypsrp(agent), LOG_RECORD, optimize=True, max_elements=500)
    out = []
    for i in items:
        p = props(i)
        # *DeviceID*RecordID*Type*Timestamp*Generator*EvMRev*SensorType*SensorNumber*
        # Assertion*EventType*Data1*Data2*Data3*
        f = p["RecordData"].split("*")[1:-1]
        out.append(
            {
                "id": int(p["RecordID"]),
                "device": f[0],
                "sensor_type": int(f[6], 16) if len(f) > 12 else None,
                "sensor": int(f[7], 16) if len(f) > 12 else None,
                "asserted": f[8] == "true" if len(f) > 12 else None,
                "event_type": int(f[9], 16) if len(f) > 12 else None,
                "data": [int(x, 16) for x in f[10:13]] if len(f) > 12 else None,
                "raw": p["RecordData"],
            }
        )
    return out


_wait = functools.partial(wait_until, within=WAIT_S)


def _sensor(agent, key_name):
    items, _ = enumerate_all(pypsrp(agent), NUMERIC_SENSOR, optimize=True, max_elements=100)
    for i in items:
        p = props(i)
        if p["ElementName"] == key_name:
            return p
    raise AssertionError(key_name)


def _invoke(agent, uri, method, selectors, params=None):
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


@pytest.fixture(scope="module")
def sel_agent(tmp_path_factory):
    d = tmp_path_factory.mktemp("sel")
    a = Agent(args=["--state-dir", str(d / "state")], control=d / "ctl.sock")
    a.state_dir = d / "state"
    try:
        yield a
    finally:
        a.stop()


def test_threshold_crossing_is_logged_rendered_and_survives_restart(sel_agent, tmp_path_factory):
    a = sel_agent
    # The BMC logs its own start.
    _wait(lambda: any(r["sensor_type"] == 0x12 for r in _records(a)), "BMC start record")

    a.sim("set", "inlet_temp", "46.0")
    s = _wait(
        lambda: (lambda s: s if s["CurrentState"] == "Upper Critical" else None)(
            _sensor(a, "Inlet Temp")
        ),
        "Upper Critical state",
    )
    assert int(s["HealthState"]) == 25 and s["OperationalStatus"] == "6"

    def crossing():
        rs = [r for r in _records(a) if r["sensor"] == 0x01 and r["asserted"]]
        return rs if len(rs) >= 2 else None

    rs = crossing() or _wait(crossing, "UNC and UC assertion records")
    uc = next(r for r in rs if r["data"][0] & 0x0F == 0x09)  # upper critical going high
    unc = next(r for r in rs if r["data"][0] & 0x0F == 0x07)  # upper non-critical going high
    assert uc["device"] == "Inlet Temp(1.0.32)"
    assert uc["sensor_type"] == 0x01 and uc["event_type"] == 0x01
    # Event data 1: trigger reading and threshold in bytes 2 and 3 (0x50) | offset.
    assert uc["data"] == [0x59, 46, 45], uc["raw"]
    assert unc["data"] == [0x57, 46, 40], unc["raw"]

    a.sim("clear", "inlet_temp")

    def deasserted():
        rs = [r for r in _records(a) if r["sensor"] == 0x01 and r["asserted"] is False]
        return rs if len(rs) >= 2 else None

    _wait(deasserted, "deassertion records")
    _wait(lambda: _sensor(a, "Inlet Temp")["CurrentState"] == "Normal", "back to Normal")
    before = {(r["id"], r["raw"]) for r in _records(a)}

    # Restart on the same state directory: every record is still there, with its RecordID.
    a.stop()
    b = Agent(args=["--state-dir", str(a.state_dir)])
    try:
        after = _wait(
            lambda: (lambda rs: rs if len(rs) > len(before) else None)(_records(b)),
            "log after restart",
        )
        assert before <= {(r["id"], r["raw"]) for r in after}
        # The new start record continues the RecordIDs.
        assert max(r["id"] for r in after) > max(i for i, _ in before)
    finally:
        b.stop()


def test_clear_log_through_invoke_empties_it_and_logs_the_clear(agent):
    _wait(lambda: len(_records(agent)) >= 1, "a first record")
    rv = _invoke(agent, RECORD_LOG, "ClearLog", {"InstanceID": "IPMI:SEL"})
    assert rv == 0
    rs = _wait(
        lambda: (lambda rs: rs if len(rs) == 1 and rs[0]["sensor_type"] == 0x10 else None)(
            _records(agent)
        ),
        "exactly the 'log cleared' record",
    )
    assert rs[0]["data"][0] & 0x0F == 0x02  # Event Logging Disabled: log area reset/cleared
    items, _ = enumerate_all(pypsrp(agent), RECORD_LOG, optimize=True, max_elements=10)
    assert props(items[0])["CurrentNumberOfRecords"] == "1"


def _host(agent):
    items, _ = enumerate_all(pypsrp(agent), COMPUTER_SYSTEM, optimize=True, max_elements=10)
    return next(props(i) for i in items if not props(i)["Name"].endswith(":BMC"))


def test_power_off_and_on_through_invoke(sel_agent):
    a = sel_agent if sel_agent.proc.poll() is None else None
    if a is None:
        a = Agent(control=None)
    try:
        host = _host(a)
        assert host["EnabledState"] == "2"
        keys = {"CreationClassName": "CIM_ComputerSystem", "Name": host["Name"]}

        assert _invoke(a, COMPUTER_SYSTEM, "RequestStateChange", keys, {"RequestedState": 3}) == 0
        # A second request while the first is being carried out is refused as busy.
        assert (
            _invoke(a, COMPUTER_SYSTEM, "RequestStateChange", keys, {"RequestedState": 2}) == 4099
        )
        # 3 is a hard off (forced, not left to the OS): while it is under way the association
        # says so, as Off - Hard (6), not as a soft off.
        assoc = _association(a)
        if assoc["PowerState"] == "2":
            assert assoc["RequestedPowerState"] == "6", assoc
        _wait(lambda: _host(a)["EnabledState"] == "3", "host off")
        assert _power_state(a) != "2", "PowerState still On with the host off"
        cpu = _wait(
            lambda: (lambda s: s if s["OperationalStatus"] == "15" else None)(
                _sensor(a, "CPU0 Temp")
            ),
            "host-powered sensor dormant",
        )
        assert int(cpu["HealthState"]) == 5  # quiet, not an alarm
        _wait(
            lambda: any(r["sensor_type"] == 0x09 and r["asserted"] for r in _records(a)),
            "power-off SEL record",
        )

        assert _invoke(a, COMPUTER_SYSTEM, "RequestStateChange", keys, {"RequestedState": 2}) == 0
        _wait(lambda: _host(a)["EnabledState"] == "2", "host on")
        assert _power_state(a) == "2"
        _wait(lambda: _sensor(a, "CPU0 Temp")["CurrentReading"] is not None, "CPU reading back")
    finally:
        if a is not sel_agent:
            a.stop()


def test_a_3000_record_sel_enumerates_paged_by_max_envelope_size(tmp_path):
    """Issue 6: a large SEL through pypsrp, each response within the client's MaxEnvelopeSize."""
    board = sim_board_with_sel(tmp_path / "board.toml", 3000, "stop")
    a = Agent(board=board, control=tmp_path / "ctl.sock")
    try:
        a.sim("sel", "fill", "3000")
        # The start record took one slot; under "stop" the log now holds exactly its capacity.
        _wait(lambda: _log_count(a) == 3000, "3000 records", within=60)
        limit = 153600
        sizes = []
        w = pypsrp(a, max_envelope_size=limit)
        orig = w.transport.send

        def spy(*args, **kw):
            r = orig(*args, **kw)
            sizes.append(len(r))
            return r

        w.transport.send = spy
        items, trips = enumerate_all(w, LOG_RECORD, optimize=True, max_elements=32000)
        ids = [int(props(i)["RecordID"]) for i in items]
        assert len(ids) == 3000 and len(set(ids)) == 3000
        assert trips > 1, "3000 records cannot fit one 150 KiB envelope"
        assert max(sizes) <= limit, max(sizes)
        rl = props(enumerate_all(pypsrp(a), RECORD_LOG, optimize=True)[0][0])
        assert rl["CurrentNumberOfRecords"] == "3000" and rl["MaxNumberOfRecords"] == "3000"
    finally:
        a.stop()


def _log_count(agent) -> int:
    items, _ = enumerate_all(pypsrp(agent), RECORD_LOG, optimize=True)
    return int(props(items[0])["CurrentNumberOfRecords"])


def _association(agent) -> dict:
    items, _ = enumerate_all(
        pypsrp(agent), CIM_SCHEMA + "CIM_AssociatedPowerManagementService", optimize=True
    )
    return props(items[0])


def _power_state(agent) -> str:
    return _association(agent)["PowerState"]


def _sensor_selectors(agent, name):
    s = _sensor(agent, name)
    sel = SelectorSet()
    for k in ("CreationClassName", "DeviceID", "SystemCreationClassName", "SystemName"):
        sel.add_option(k, s[k])
    return sel, s


def test_put_of_a_settable_threshold_is_used_and_persists(tmp_path):
    """Put changes UpperThresholdNonCritical (settable on the sim board): the response carries
    the new value, the sensor's state follows it at once, and it survives a restart;
    RestoreDefaultThresholds puts the board's value back."""
    state = tmp_path / "state"
    a = Agent(args=["--state-dir", str(state)])
    try:
        sel, before = _sensor_selectors(a, "Inlet Temp")
        assert before["UpperThresholdNonCritical"] == "40000"
        body = pypsrp(a).get(NUMERIC_SENSOR, selector_set=sel)
        inst = body.find("{%s}CIM_NumericSensor" % NUMERIC_SENSOR)
        inst.find("{%s}UpperThresholdNonCritical" % NUMERIC_SENSOR).text = "20000"
        resp = pypsrp(a).put(NUMERIC_SENSOR, resource=inst, selector_set=sel)
        out = resp.find("{%s}CIM_NumericSensor" % NUMERIC_SENSOR)
        assert out is not None, ET.tostring(resp)
        assert out.findtext("{%s}UpperThresholdNonCritical" % NUMERIC_SENSOR) == "20000"
        # The inlet reads ~24 °C: over the new 20 °C limit within a poll period.
        _wait(
            lambda: _sensor(a, "Inlet Temp")["CurrentState"] == "Upper Non-Critical",
            "the new threshold in force",
        )
        time.sleep(0.5)  # the log task persists the change right after the Put
    finally:
        a.stop()
    b = Agent(args=["--state-dir", str(state)])
    try:
        sel, after = _sensor_selectors(b, "Inlet Temp")
        assert after["UpperThresholdNonCritical"] == "20000"
        assert _invoke(b, NUMERIC_SENSOR, "RestoreDefaultThresholds", {
            k: after[k] for k in ("CreationClassName", "DeviceID", "SystemCreationClassName", "SystemName")
        }) == 0
        assert _sensor(b, "Inlet Temp")["UpperThresholdNonCritical"] == "40000"
    finally:
        b.stop()
