"""Settings keyed by identity (issue 18): a threshold override is stored under the sensor's
board key, so editing the board file (a sensor inserted before it, which moves every index)
cannot move the override to a neighbour across a restart."""

import time
import xml.etree.ElementTree as ET

from pypsrp.wsman import SelectorSet

from conftest import SIM_BOARD, Agent
from wsmanlib import NUMERIC_SENSOR, enumerate_all, props, pypsrp

KEYS = ("CreationClassName", "DeviceID", "SystemCreationClassName", "SystemName")

# A part added after the last device (device indices stay) and a sensor on it inserted before
# every other sensor (every sensor index moves by one). Its own default upper non-critical
# limit (70 °C) differs from the inlet's (40 °C), so an override that moved onto it would show.
DEVICE = """
[[device]]
name = "spare_tmp"
model = "tmp75"
bus = "i2c1"
address = 0x48
description = "added by the test"

"""
INSERTED = """
[[sensor]]
key = "spare_temp"
name = "Spare Temp"
description = "Inserted before the inlet by the test"
number = 0x0f
entity = "7.2"
device = "spare_tmp"
channel = "temp"
upper-non-critical = 70.0
upper-critical = 80.0
hysteresis = 1.0

"""


def _sensors(agent) -> dict:
    items, _ = enumerate_all(pypsrp(agent), NUMERIC_SENSOR, optimize=True, max_elements=100)
    return {p["ElementName"]: p for p in map(props, items)}


def _put_unc(agent, name, value):
    s = _sensors(agent)[name]
    sel = SelectorSet()
    for k in KEYS:
        sel.add_option(k, s[k])
    body = pypsrp(agent).get(NUMERIC_SENSOR, selector_set=sel)
    inst = body.find("{%s}CIM_NumericSensor" % NUMERIC_SENSOR)
    inst.find("{%s}UpperThresholdNonCritical" % NUMERIC_SENSOR).text = str(value)
    resp = pypsrp(agent).put(NUMERIC_SENSOR, resource=inst, selector_set=sel)
    out = resp.find("{%s}CIM_NumericSensor" % NUMERIC_SENSOR)
    assert out is not None, ET.tostring(resp)
    assert out.findtext("{%s}UpperThresholdNonCritical" % NUMERIC_SENSOR) == str(value)


def test_an_override_stays_with_its_sensor_when_the_board_file_gains_a_sensor_before_it(tmp_path):
    state = tmp_path / "state"
    a = Agent(args=["--state-dir", str(state)])
    try:
        before = _sensors(a)
        assert before["Inlet Temp"]["UpperThresholdNonCritical"] == "40000"
        _put_unc(a, "Inlet Temp", 30000)
        _put_unc(a, "Exhaust Temp", 65000)
        time.sleep(0.5)  # the log task stores the change right after the Put
    finally:
        a.stop()

    text = SIM_BOARD.read_text()
    first = text.index("[[sensor]]")
    edited = tmp_path / "board.toml"
    edited.write_text(text[:first] + DEVICE.lstrip() + INSERTED.lstrip() + text[first:])

    b = Agent(args=["--state-dir", str(state)], board=edited)
    try:
        after = _sensors(b)
        assert after["Inlet Temp"]["UpperThresholdNonCritical"] == "30000"
        assert after["Exhaust Temp"]["UpperThresholdNonCritical"] == "65000"
        assert after["Spare Temp"]["UpperThresholdNonCritical"] == "70000", "no override of its own"
        # Every other sensor kept its board value.
        for name, p in after.items():
            if name not in ("Inlet Temp", "Exhaust Temp", "Spare Temp"):
                assert p["UpperThresholdNonCritical"] == before[name]["UpperThresholdNonCritical"], name
    finally:
        b.stop()
