"""What the CIM view of a board must say, computed from the board file alone."""

from decimal import ROUND_HALF_UP, Decimal

# (model, channel) → quantity; mirrors the hal's channel table.
QUANTITY = {
    ("tmp75", "temp"): "temperature",
    ("tmp421", "local"): "temperature",
    ("tmp421", "remote1"): "temperature",
    ("emc1413", "local"): "temperature",
    ("emc1413", "remote1"): "temperature",
    ("emc1413", "remote2"): "temperature",
    ("adm1272", "vin"): "voltage",
    ("adm1272", "vout"): "voltage",
    ("adm1272", "iout"): "current",
    ("adm1272", "pin"): "power",
    ("adm1272", "temp"): "temperature",
}
for i in range(1, 7):
    QUANTITY[("max31785", f"fan{i}")] = "fan"
QUANTITY[("max31785", "temp1")] = "temperature"
QUANTITY[("max31785", "temp2")] = "temperature"
for i in range(1, 7):
    QUANTITY[("max31785", f"temp{i}")] = "temperature"
    QUANTITY[("max31785", f"vsense{i}")] = "voltage"
QUANTITY[("max31785", "internal")] = "temperature"

# A sensor on an IPMB satellite declares its quantity in the board file, by these names.
SATELLITE_QUANTITY = {
    "temperature": "temperature",
    "voltage": "voltage",
    "current": "current",
    "power": "power",
    "fan": "fan",
}


def quantity_of(dev: dict, sensor: dict) -> str:
    if dev["model"] == "ipmb-satellite":
        return SATELLITE_QUANTITY[sensor["quantity"]]
    return QUANTITY[(dev["model"], sensor["channel"])]

# quantity → (CIM SensorType, CIM BaseUnits, UnitModifier). Power is SensorType 1 "Other" with
# BaseUnits Watts, the Windows IPMI provider's convention.
CIM_UNITS = {
    "temperature": (2, 2, -3),
    "voltage": (3, 5, -3),
    "current": (4, 6, -3),
    "power": (1, 7, -3),
    "fan": (5, 19, 0),
}

THRESHOLDS = {
    "lower-non-critical": "LowerThresholdNonCritical",
    "upper-non-critical": "UpperThresholdNonCritical",
    "lower-critical": "LowerThresholdCritical",
    "upper-critical": "UpperThresholdCritical",
    "lower-fatal": "LowerThresholdFatal",
    "upper-fatal": "UpperThresholdFatal",
}


def scaled(value, modifier: int) -> int:
    """A human-unit board value as the integer CIM carries at `modifier`."""
    d = Decimal(str(value)) * (Decimal(10) ** -modifier)
    return int(d.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def expected_sensors(board: dict) -> dict:
    """DeviceID → expectation dict for every sensor of the board."""
    devices = {d["name"]: d for d in board["device"]}
    out = {}
    for s in board["sensor"]:
        dev = devices[s["device"]]
        quantity = quantity_of(dev, s)
        sensor_type, base_units, modifier = CIM_UNITS[quantity]
        owner = s.get("owner", 0x20)
        lun = s.get("lun", 0)
        device_id = f'{s["name"]}({s["number"]}.{lun}.{owner})'
        thresholds = {cim: scaled(s[k], modifier) for k, cim in THRESHOLDS.items() if k in s}
        sim = s.get("sim")
        out[device_id] = {
            "key": s["key"],
            "name": s["name"],
            "quantity": quantity,
            "SensorType": sensor_type,
            "BaseUnits": base_units,
            "UnitModifier": modifier,
            "thresholds": thresholds,
            "sim": None
            if sim is None
            else {
                "lo": scaled(sim["base"] - sim["swing"] - sim.get("noise", 0), modifier),
                "hi": scaled(sim["base"] + sim["swing"] + sim.get("noise", 0), modifier),
            },
        }
    return out


def system_name(board: dict) -> str:
    b = board["board"]
    return b.get("system-name") or b["system-guid"]
