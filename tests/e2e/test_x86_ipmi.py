"""A satellite read through the kernel's IPMI message handler, on a real kernel.

scripts/qemu-x86-ipmi boots Debian's amd64 kernel on QEMU q35 with QEMU's ipmi-bmc-sim behind an
ISA KCS interface. In the guest, ipmi_msghandler + ipmi_devintf + ipmi_si expose it as
/dev/ipmi0, and the static x86_64 wsbmc runs `--hal linux` on boards/x86-ipmi/board.toml, whose
one satellite is reached through that device (ipmi-rs's `File`, the kernel's ioctls). The
simulator is loaded with the SDR file firmware/ipmi/examples/bmc-sim-sdrs.rs writes.

The simulator has no Device SDR Repository: Get Device SDR Info answers "invalid command", so
the reading below also proves the satellite driver's fall-back to the Storage commands (Get SDR
Repository Info, Reserve SDR Repository, Get SDR in 16-byte pieces under the reservation).

The test decodes the full sensor record from the SDR file itself and checks, through pypsrp:
- the sensor is a CIM_NumericSensor named as the board file says, which is the SDR's ID string;
- its reading is the SDR's conversion of the simulator's raw reading (0: nothing sets it), i.e.
  `(M*0 + B*10^Bexp) * 10^Rexp` in m°C, with state Normal;
- a second satellite, on the same /dev/ipmi0 but bridged onto the controller's IPMB (Send
  Message, channel 0) to an address where nothing answers, has no reading and says why
  (no contact or lost communication), for longer than the kernel's own retries (about 5 s, after
  which late "timeout" responses land in that handle's queue and must be skipped), while the
  first sensor keeps reading.

What it does not prove: the ipmi-ipmb driver itself (Debian's amd64 kernel does not build it,
and QEMU has no IPMB satellite model), nor a bridged satellite that answers (ipmi-bmc-sim only
answers Get Device ID, at one fixed address, when bridged).

QEMU is always stopped by the PID the script recorded. Skipped only when qemu-system-x86_64 is
missing on a developer machine; under scripts/test and in CI a missing QEMU fails (scripts/test-x86-ipmi
installs it). Set WSBMC_X86_BIN to a built static x86_64 binary to skip the build.
"""

import os
import pathlib
import secrets
import shutil
import subprocess
import time
import tomllib
from fractions import Fraction

import pytest
import requests

from board_expect import expected_sensors, system_name
from test_provisioning import console_secret, provision, return_value
from wsmanlib import key_values, needs_qemu, numeric_sensors, pypsrp

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOARD = ROOT / "boards" / "x86-ipmi" / "board.toml"
SCRIPT = ROOT / "scripts" / "qemu-x86-ipmi"
BOOT_TIMEOUT_S = 180  # TCG on two shared cores: ~6-14 s normally, far more under load
BUILD_TIMEOUT_S = 900  # only when the test builds the binary itself
READ_WAIT_S = 30  # first reading: the SDR walk is a few dozen KCS exchanges
PROVISION_WAIT_S = 60  # the secret is printed once wsbmc has started, after the first answer
KERNEL_RETRIES_S = 8  # the message handler retries a bridged request ~4 times, 1 s apart
NO_CONTACT = "12"
LOST_COMMUNICATION = "13"

pytestmark = needs_qemu("QEMU_SYSTEM_X86", "qemu-system-x86_64", "scripts/install-qemu x86")



def sdr_records(data: bytes) -> list[bytes]:
    """The records of an SDR file, back to back (5-byte header, byte 4 the body length)."""
    out, i = [], 0
    while i + 5 <= len(data):
        n = 5 + data[i + 4]
        assert i + n <= len(data), "truncated SDR file"
        out.append(data[i : i + n])
        i += n
    assert i == len(data)
    return out


def _sext(v: int, bits: int) -> int:
    return v - (1 << bits) if v & (1 << (bits - 1)) else v


def full_sensor(rec: bytes) -> dict:
    """Sensor number, ID string and linear conversion of a full sensor record (type 01h),
    decoded independently of the firmware (IPMI 2.0 table 43-1)."""
    assert rec[3] == 0x01
    id_len = rec[47] & 0x1F
    return {
        "number": rec[7],
        "format": rec[20] >> 6,
        "m": _sext(rec[24] | (rec[25] >> 6) << 8, 10),
        "b": _sext(rec[26] | (rec[27] >> 6) << 8, 10),
        "r_exp": _sext(rec[29] >> 4, 4),
        "b_exp": _sext(rec[29] & 0x0F, 4),
        "name": rec[48 : 48 + id_len].decode("latin-1"),
    }


def millis(conv: dict, raw: int) -> int:
    """The reading of raw byte `raw` in thousandths of the record's unit, exactly:
    `(M*x + B*10^Bexp) * 10^Rexp * 1000`."""
    assert conv["format"] == 0  # unsigned
    ten = Fraction(10)
    v = (conv["m"] * raw + conv["b"] * ten ** conv["b_exp"]) * ten ** conv["r_exp"] * 1000
    assert v.denominator == 1, v
    return int(v)


class Image:
    def __init__(self, state: pathlib.Path):
        self.state = state
        self.host = "127.0.0.1"
        # The account provision() makes from the console's secret (the image has none until then).
        self.user = "console"
        self.password = secrets.token_urlsafe(12)
        self.secret = None
        self.bmc = None
        self.info = {}

    def start(self):
        cmd = [str(SCRIPT), "start", "--dir", str(self.state), "--timeout", str(BOOT_TIMEOUT_S)]
        if os.environ.get("WSBMC_X86_BIN"):
            cmd += ["--bin", os.environ["WSBMC_X86_BIN"]]
        # No credentials: the script and the image take none.
        env = {k: v for k, v in os.environ.items() if not k.startswith("WSBMC_") or k == "WSBMC_X86_BIN"}
        started = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=BOOT_TIMEOUT_S + BUILD_TIMEOUT_S
        )
        if started.returncode != 0:
            pytest.fail(f"image did not boot:\n{started.stderr[-6000:]}")
        self.info = key_values(started.stdout)
        self.port = int(self.info["port"])
        print(f"x86-ipmi: first HTTP answer {self.info['ready_ms']} ms after QEMU start")

    def provision(self):
        """The documented path: the one-time secret and the BMC's name from the serial console,
        then CreateAccount with Basic provision:SECRET (test_provisioning.py checks the refusals
        around it; the AST2600 test does again on its image)."""
        deadline = time.monotonic() + PROVISION_WAIT_S
        while not (found := console_secret(self.console())):
            assert time.monotonic() < deadline, "no provisioning secret on the console:\n" + self.console()[-3000:]
            time.sleep(0.5)
        self.secret, self.bmc = found
        assert requests.post(f"http://{self.host}:{self.port}/wsman", data=b"<x/>",
                             auth=("admin", "wsbmc-dev"), timeout=30).status_code == 401
        status, text = provision(self, self.user, self.password)
        assert status == 200 and return_value(text) == 0, text

    def stop(self):
        subprocess.run([str(SCRIPT), "stop", "--dir", str(self.state)], timeout=30, check=False)

    def console(self) -> str:
        path = self.state / "console.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    if shutil.which(os.environ.get("QEMU_SYSTEM_X86", "qemu-system-x86_64")) is None:
        pytest.fail("qemu-system-x86_64 not installed; run scripts/install-qemu x86")
    img = Image(tmp_path_factory.mktemp("qemu-x86-ipmi"))
    try:
        img.start()
        img.provision()
        yield img
    finally:
        img.stop()
        print(img.console()[-4000:])


@pytest.fixture(scope="module")
def board():
    with open(BOARD, "rb") as f:
        return tomllib.load(f)


def test_kernel_exposed_the_kcs_bmc(image):
    console = image.console()
    assert "ipmi: /dev/ipmi0" in console, console[-3000:]


def test_satellite_sensor_reads_through_dev_ipmi(image, board):
    sdr = pathlib.Path(image.info["sdr"]).read_bytes()
    records = sdr_records(sdr)
    # The simulator needs the compact record to answer for the sensor; wsbmc reads the full one.
    assert sorted(r[3] for r in records) == [0x01, 0x02]
    conv = full_sensor(next(r for r in records if r[3] == 0x01))

    sensor = next(s for s in board["sensor"] if s["device"] == "kcs_bmc")
    assert sensor["remote-sensor"] == conv["number"]
    assert sensor["name"] == conv["name"], "the board names the sensor as its SDR does"
    device_id = _device_id(board, "inlet_temp")

    wsman = pypsrp(image)
    deadline = time.monotonic() + READ_WAIT_S
    while True:
        got = numeric_sensors(wsman)
        s = got.get(device_id)
        if s is not None and s["CurrentReading"] is not None:
            break
        assert time.monotonic() < deadline, f"no reading within {READ_WAIT_S}s: {got}\n{image.console()[-3000:]}"
        time.sleep(0.3)

    assert set(got) == set(expected_sensors(board))
    assert s["ElementName"] == conv["name"]
    assert s["SystemName"] == system_name(board)
    assert int(s["UnitModifier"]) == -3
    # ipmi-bmc-sim's reading byte is 0 until someone sets it; the SDR maps it to 30.5 °C.
    want = millis(conv, 0)
    assert want == 30_500
    assert int(s["CurrentReading"]) == want
    assert s["CurrentState"] == "Normal"
    assert int(s["HealthState"]) == 5  # OK


def _device_id(board: dict, key: str) -> str:
    name = next(s["name"] for s in board["sensor"] if s["key"] == key)
    return next(d for d in expected_sensors(board) if d.startswith(name + "("))


def _ops(s) -> list:
    v = s.get("OperationalStatus")
    return v if isinstance(v, list) else [v]


def test_unreachable_bridged_satellite(image, board):
    wsman = pypsrp(image)
    inlet = _device_id(board, "inlet_temp")
    absent = _device_id(board, "absent_temp")
    t0 = time.monotonic()
    seen = 0
    while True:
        got = numeric_sensors(wsman)
        a, s = got[absent], got[inlet]
        assert a["CurrentReading"] is None, a
        if NO_CONTACT in _ops(a) or LOST_COMMUNICATION in _ops(a):
            seen += 1
            assert a["HealthState"] == "0" and a["CurrentState"] == "Unknown", a
        if s["CurrentReading"] is not None:
            assert int(s["CurrentReading"]) == 30_500 and s["CurrentState"] == "Normal", s
        if time.monotonic() - t0 > KERNEL_RETRIES_S:
            break
        time.sleep(0.5)
    assert seen > 0, "the absent satellite never said why it has no reading"
    assert s["CurrentReading"] is not None
