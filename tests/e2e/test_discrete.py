"""Discrete sensors through the real endpoint and pypsrp: a PSU set to failed (and to input lost)
and back, the chassis opened and closed, the SEL filled, each seen as CIM_Sensor CurrentState and
HealthState and as SEL records with the right sensor number, offset and direction. Enumerate of
CIM_Sensor lists the board's discrete sensors and the BMC's own."""

import functools

import pytest

from conftest import Agent
from wsmanlib import CIM_SCHEMA, enumerate_all, props, pypsrp, wait_until

SENSOR = CIM_SCHEMA + "CIM_Sensor"
LOG_RECORD = CIM_SCHEMA + "CIM_LogRecord"
WAIT_S = 15

# (DeviceID, sensor type) of the sim board's discrete sensors and the BMC's own.
BOARD = {
    "PSU0 Status(160.0.32)": 0x08,
    "PSU1 Status(161.0.32)": 0x08,
    "PSU2 Status(166.0.96)": 0x08,
    "Intrusion(162.0.32)": 0x05,
    "CPU0 Status(163.0.32)": 0x07,
    "CPU1 Status(164.0.32)": 0x07,
    "CPU0 ThermTrip(165.0.32)": 0x07,
}
BMC = ["BMC(112.0.32)", "Host Power(113.0.32)", "SEL(114.0.32)", "Session Audit(115.0.32)"]


@pytest.fixture(scope="module")
def dagent(tmp_path_factory):
    d = tmp_path_factory.mktemp("discrete")
    a = Agent(control=d / "ctl.sock")
    try:
        yield a
    finally:
        a.stop()


_wait = functools.partial(wait_until, within=WAIT_S)


def _discrete(agent) -> dict:
    """DeviceID → properties of every plain CIM_Sensor (not the numeric subclass)."""
    items, _ = enumerate_all(pypsrp(agent), SENSOR, optimize=True, max_elements=100)
    return {
        props(i)["DeviceID"]: props(i)
        for i in items
        if i.tag == "{%s}CIM_Sensor" % SENSOR
    }


def _state(agent, device_id, want):
    def check():
        s = _discrete(agent).get(device_id)
        return s if s and s["CurrentState"] == want else None

    return _wait(check, f"{device_id} CurrentState {want!r}")


def _records(agent):
    items, _ = enumerate_all(pypsrp(agent), LOG_RECORD, optimize=True, max_elements=500)
    out = []
    for i in items:
        p = props(i)
        f = p["RecordData"].split("*")[1:-1]
        if len(f) <= 12:
            continue
        out.append(
            {
                "device": f[0],
                "sensor_type": int(f[6], 16),
                "sensor": int(f[7], 16),
                "asserted": f[8] == "true",
                "event_type": int(f[9], 16),
                "data": [int(x, 16) for x in f[10:13]],
                "description": p.get("Description"),
            }
        )
    return out


def _record(agent, sensor, offset, asserted):
    def find():
        return [
            r
            for r in _records(agent)
            if r["sensor"] == sensor
            and r["data"][0] & 0x0F == offset
            and r["asserted"] == asserted
        ]

    rs = _wait(find, f"SEL record sensor {sensor:#x} offset {offset} asserted={asserted}")
    r = rs[-1]
    # Sensor-specific (6Fh), no event data 2/3.
    assert r["event_type"] == 0x6F and r["data"][1:] == [0xFF, 0xFF], r
    return r


def test_enumerate_lists_discrete_sensors(dagent):
    s = _wait(lambda: (lambda d: d if len(d) >= len(BOARD) + len(BMC) else None)(_discrete(dagent)),
              "every discrete sensor")
    assert set(BOARD) | set(BMC) == set(s), sorted(s)
    for device_id, sensor_type in BOARD.items():
        assert s[device_id]["CreationClassName"] == "CIM_Sensor"
        assert s[device_id]["CurrentState"] in s[device_id]["PossibleStates"], device_id
    # Healthy board: PSUs present, CPUs fitted, chassis closed.
    psu = _state(dagent, "PSU0 Status(160.0.32)", "Presence detected")
    assert psu["HealthState"] == "5" and psu["OperationalStatus"] == "2"
    assert psu["Description"] == "PSU0 Status(160.0.32):Power Supply sensor for Power Supply 1"
    assert psu["PossibleStates"] == [
        "Unknown",
        "Presence detected",
        "Power Supply Failure detected",
        "Predictive Failure",
        "Power Supply input lost (AC/DC)",
        "Deasserted",
    ]
    assert s["CPU0 Status(163.0.32)"]["CurrentState"] == "Processor Presence detected"
    assert s["Intrusion(162.0.32)"]["CurrentState"] == "Deasserted"
    assert s["BMC(112.0.32)"]["CurrentState"] == "OEM System boot event"


def test_psu_failed_and_back(dagent):
    dagent.sim("psu", "psu0_hsc", "failed")
    s = _state(dagent, "PSU0 Status(160.0.32)", "Presence detected.,Power Supply Failure detected")
    assert s["HealthState"] == "25" and s["OperationalStatus"] == "6"  # a failed PSU is Critical
    r = _record(dagent, 0xA0, 1, True)
    assert r["sensor_type"] == 0x08 and r["device"] == "PSU0 Status(160.0.32)"
    assert r["description"] == "PSU0 Status: Power Supply Failure detected (Asserted)"
    # The other supply is untouched.
    assert _discrete(dagent)["PSU1 Status(161.0.32)"]["HealthState"] == "5"

    # Failure clears as the input is lost: the end of one, the start of the other.
    dagent.sim("psu", "psu0_hsc", "input-lost")
    s = _state(dagent, "PSU0 Status(160.0.32)", "Presence detected.,Power Supply input lost (AC/DC)")
    assert s["HealthState"] == "25"
    _record(dagent, 0xA0, 1, False)
    _record(dagent, 0xA0, 3, True)

    dagent.sim("psu", "psu0_hsc", "ok")
    s = _state(dagent, "PSU0 Status(160.0.32)", "Presence detected")
    assert s["HealthState"] == "5"
    _record(dagent, 0xA0, 3, False)
    # Presence is masked for assertions: never logged as asserted.
    assert not [r for r in _records(dagent) if r["sensor"] == 0xA0 and r["data"][0] == 0 and r["asserted"]]


def test_satellite_psu_status_over_ipmb(dagent):
    """PSU2's state comes from its management controller's Get Sensor Reading state bits."""
    _state(dagent, "PSU2 Status(166.0.96)", "Presence detected")
    dagent.sim("psu", "psu2", "failed")
    s = _state(dagent, "PSU2 Status(166.0.96)", "Presence detected.,Power Supply Failure detected")
    assert s["HealthState"] == "25"
    r = _record(dagent, 0xA6, 1, True)
    assert r["device"] == "PSU2 Status(166.0.96)"
    dagent.sim("psu", "psu2", "ok")
    _state(dagent, "PSU2 Status(166.0.96)", "Presence detected")
    _record(dagent, 0xA6, 1, False)


def test_pulled_psu_reads_unknown_and_logs_presence_gone(dagent):
    dagent.sim("fault", "psu1_hsc", "nack")
    s = _state(dagent, "PSU1 Status(161.0.32)", "Unknown")
    assert s["HealthState"] == "0"
    _record(dagent, 0xA1, 0, False)
    dagent.sim("fault", "psu1_hsc", "none")
    _state(dagent, "PSU1 Status(161.0.32)", "Presence detected")


def test_chassis_open_and_close(dagent):
    dagent.sim("gpio", "CHASSIS_INTRUSION_N", "low")  # active low: opened
    s = _state(dagent, "Intrusion(162.0.32)", "General Chassis Intrusion")
    assert s["HealthState"] == "10" and s["OperationalStatus"] == "3"
    r = _record(dagent, 0xA2, 0, True)
    assert r["sensor_type"] == 0x05

    dagent.sim("gpio", "CHASSIS_INTRUSION_N", "high")
    s = _state(dagent, "Intrusion(162.0.32)", "Deasserted")
    assert s["HealthState"] == "5"
    _record(dagent, 0xA2, 0, False)

    # A broken GPIO read has no reading, as a numeric sensor's bus error.
    dagent.sim("gpio", "CHASSIS_INTRUSION_N", "fault", "nack")
    _state(dagent, "Intrusion(162.0.32)", "Unknown")
    dagent.sim("gpio", "CHASSIS_INTRUSION_N", "fault", "none")
    _state(dagent, "Intrusion(162.0.32)", "Deasserted")


def test_sel_full_is_the_sel_sensors_state(dagent):
    dagent.sim("sel", "fill", "600")  # the sim board's SEL holds 512
    s = _state(dagent, "SEL(114.0.32)", "SEL Full", )
    assert s["HealthState"] == "10"
    _record(dagent, 0x72, 5, True)  # almost full on the way
    r = _record(dagent, 0x72, 4, True)
    assert r["sensor_type"] == 0x10 and r["device"] == "SEL(114.0.32)"


def test_host_power_unit_follows_the_host(dagent):
    dagent.sim("host", "off")
    _state(dagent, "Host Power(113.0.32)", "Power off/down")
    # The thermal trip line is host-powered: no reading with the host off, and quiet.
    trip = _state(dagent, "CPU0 ThermTrip(165.0.32)", "Unknown")
    assert trip["HealthState"] == "5"
    dagent.sim("host", "on")
    _state(dagent, "Host Power(113.0.32)", "Deasserted")
    _state(dagent, "CPU0 ThermTrip(165.0.32)", "Deasserted")


def test_discrete_sensors_are_in_the_host_s_associations(dagent):
    """Consoles reach sensors from the host (CIM_SystemDevice) and their collection
    (CIM_MemberOfCollection): the discrete ones must be there as the numeric ones are."""
    from board_expect import system_name
    from test_cim_walks import _associated, _enumerate_body, _items

    hosts = _items(dagent, CIM_SCHEMA + "CIM_ComputerSystem", _enumerate_body())
    _, _, host_epr = next(x for x in hosts if x[1]["Name"] == system_name(dagent.board()))
    found = _associated(dagent, host_epr, "CIM_SystemDevice", "CIM_Sensor")
    discrete = {p["DeviceID"] for cls, p, _ in found if cls == "CIM_Sensor"}
    assert set(BOARD) | set(BMC) == discrete
    assert any(cls == "CIM_NumericSensor" for cls, _, _ in found)
    # And back: from a discrete sensor to its system.
    _, _, psu_epr = next(x for x in found if x[1]["DeviceID"] == "PSU0 Status(160.0.32)")
    back = _associated(dagent, psu_epr, "CIM_SystemDevice", "CIM_ComputerSystem")
    assert [p["Name"] for _, p, _ in back] == [system_name(dagent.board())]
