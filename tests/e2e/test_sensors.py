"""Sensors of the simulated board through real clients, checked against the board file."""

import time
import xml.etree.ElementTree as ET

import pytest
from pypsrp.wsman import SelectorSet

from board_expect import THRESHOLDS, expected_sensors, system_name
from wsmanlib import NS, body_of, NUMERIC_SENSOR, enumerate_all, props, pypsrp, selectors

P = "{%s}" % NUMERIC_SENSOR
DEADLINE_S = 15


def _sensors(items):
    return [i for i in items if i.tag == P + "CIM_NumericSensor"]


def _tolerance(exp) -> int:
    # Register quantisation of the parts: 0.0625 °C, PMBus direct-format LSBs (tens of mV/mA,
    # up to a watt or so), 1 RPM. 2% of the range plus a small floor covers every model.
    span = max(abs(exp["sim"]["lo"]), abs(exp["sim"]["hi"]))
    return max(span // 50, 100 if exp["UnitModifier"] < 0 else 20)


@pytest.fixture(scope="module")
def readings(agent):
    """Every sensor instance, once all of them have a first reading (bounded wait)."""
    wsman = pypsrp(agent)
    deadline = time.monotonic() + DEADLINE_S
    while True:
        items, _ = enumerate_all(wsman, NUMERIC_SENSOR, optimize=True, max_elements=100)
        sensors = [props(i) for i in _sensors(items)]
        if sensors and all(s["CurrentReading"] is not None for s in sensors):
            return sensors
        assert time.monotonic() < deadline, "sensors still without readings"
        time.sleep(0.5)


def test_every_board_sensor_is_enumerated_with_board_values(agent, readings):
    board = agent.board()
    expected = expected_sensors(board)
    got = {s["DeviceID"]: s for s in readings}
    assert set(got) == set(expected)
    assert len(got) == len(board["sensor"]) >= 12
    for device_id, exp in expected.items():
        s = got[device_id]
        assert s["ElementName"] == exp["name"]
        assert s["CreationClassName"] == "CIM_NumericSensor"
        assert s["SystemCreationClassName"] == "CIM_ComputerSystem"
        assert s["SystemName"] == system_name(board)
        assert int(s["SensorType"]) == exp["SensorType"], device_id
        assert int(s["BaseUnits"]) == exp["BaseUnits"], device_id
        assert int(s["UnitModifier"]) == exp["UnitModifier"], device_id
        for cim in THRESHOLDS.values():
            want = exp["thresholds"].get(cim)
            have = s.get(cim)
            assert (None if have is None else int(have)) == want, (device_id, cim)
        reading = int(s["CurrentReading"])
        tol = _tolerance(exp)
        assert exp["sim"]["lo"] - tol <= reading <= exp["sim"]["hi"] + tol, (device_id, reading, exp)
        assert s["CurrentState"] == "Normal", device_id
        assert int(s["HealthState"]) == 5, device_id


def test_readings_move_over_time(agent, readings):
    """The sim is not a table of constants: within a few poll periods some readings change."""
    wsman = pypsrp(agent)
    before = {s["DeviceID"]: s["CurrentReading"] for s in readings}
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        time.sleep(1.0)
        items, _ = enumerate_all(wsman, NUMERIC_SENSOR, optimize=True, max_elements=100)
        now = {p["DeviceID"]: p["CurrentReading"] for p in map(props, _sensors(items))}
        changed = [k for k in now if now[k] != before.get(k)]
        if len(changed) >= 3:
            return
    pytest.fail("no reading changed within %ss" % DEADLINE_S)


@pytest.mark.parametrize("max_elements", [1, 7, 1000])
def test_plain_enumerate_then_pull(agent, max_elements):
    items, trips = enumerate_all(pypsrp(agent), NUMERIC_SENSOR, max_elements=max_elements)
    n = len(agent.board()["sensor"])
    assert len(_sensors(items)) == n
    # A plain Enumerate returns only a context; Pull does the rest in MaxElements-sized batches,
    # and the batch that delivers the last item also says EndOfSequence.
    assert trips == 1 + -(-n // max_elements)


def test_optimized_enumerate_pages_by_max_elements(agent):
    n = len(agent.board()["sensor"])
    items, trips = enumerate_all(pypsrp(agent), NUMERIC_SENSOR, optimize=True, max_elements=5)
    ids = [props(i)["DeviceID"] for i in _sensors(items)]
    assert len(ids) == n and len(set(ids)) == n
    assert trips >= -(-n // 5)


def test_enumerate_epr_mode(agent):
    board = agent.board()
    items, _ = enumerate_all(
        pypsrp(agent), NUMERIC_SENSOR, optimize=True, max_elements=100, mode="EnumerateEPR"
    )
    eprs = [i for i in items if i.tag == "{%s}EndpointReference" % NS["a"]]
    assert len(eprs) == len(board["sensor"])
    for e in eprs:
        assert e.findtext("a:ReferenceParameters/w:ResourceURI", namespaces=NS) == NUMERIC_SENSOR
        sel = selectors(e)
        assert sel["CreationClassName"] == "CIM_NumericSensor"
        assert sel["SystemName"] == system_name(board)
        assert sel["__cimnamespace"] == "root/cimv2"
    assert {selectors(e)["DeviceID"] for e in eprs} == set(expected_sensors(board))


def test_enumerate_object_and_epr_mode(agent):
    items, _ = enumerate_all(
        pypsrp(agent), NUMERIC_SENSOR, optimize=True, max_elements=100, mode="EnumerateObjectAndEPR"
    )
    wrapped = [i for i in items if i.tag == "{%s}Item" % NS["w"]]
    assert len(wrapped) == len(agent.board()["sensor"])
    for item in wrapped:
        obj = item.find(P + "CIM_NumericSensor")
        epr = item.find("a:EndpointReference", NS)
        assert obj is not None and epr is not None
        assert selectors(epr)["DeviceID"] == props(obj)["DeviceID"]


def test_get_by_selectors_matches_enumeration(agent, readings):
    wsman = pypsrp(agent)
    board = agent.board()
    for s in readings[:: max(1, len(readings) // 6)]:
        sel = SelectorSet()
        sel.add_option("CreationClassName", "CIM_NumericSensor")
        sel.add_option("DeviceID", s["DeviceID"])
        sel.add_option("SystemCreationClassName", "CIM_ComputerSystem")
        sel.add_option("SystemName", system_name(board))
        resp = wsman.get(NUMERIC_SENSOR, selector_set=sel)
        inst = body_of(resp).find(P + "CIM_NumericSensor")
        assert inst is not None, ET.tostring(resp)
        got = props(inst)
        for k in ("DeviceID", "ElementName", "BaseUnits", "UnitModifier", "UpperThresholdCritical"):
            assert got.get(k) == s.get(k), k


def test_get_unknown_instance_is_invalid_selectors(agent):
    from pypsrp.exceptions import WSManFaultError

    sel = SelectorSet()
    sel.add_option("CreationClassName", "CIM_NumericSensor")
    sel.add_option("DeviceID", "No Such Sensor(250.0.32)")
    sel.add_option("SystemCreationClassName", "CIM_ComputerSystem")
    sel.add_option("SystemName", system_name(agent.board()))
    with pytest.raises(WSManFaultError) as e:
        pypsrp(agent).get(NUMERIC_SENSOR, selector_set=sel)
    # pypsrp surfaces f:WSManFault/@Code: ERROR_WSMAN_INVALID_SELECTORS, as Windows sends it.
    assert e.value.code == 0x8033805B
    assert "invalid selectors" in e.value.reason
