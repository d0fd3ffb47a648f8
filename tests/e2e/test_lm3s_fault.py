"""The bare-metal image's HardFault handler, reached the way a panic reaches it.

The image is built with `panic=immediate-abort` (firmware/lm3s6965evb/.cargo/config.toml): a
panic site compiles to an undefined instruction (`udf #254`), and executing it is a UsageFault
escalated to HardFault. The handler must log the faulting PC (the panic site, for `addr2line`),
LR, the fault status registers and the code addresses on the stack, and reset the board.

The release image has no way to panic on request, and must not get one. So this test drives
the CPU from outside instead: it boots the image, opens QEMU's gdbstub through QMP (HMP
`gdbserver`, which pauses the guest when a client connects), sets the PC to one of the image's
own `udf` instructions (the one in `__defmt_default_panic`, where defmt's panics end), and detaches. The
decoded log must then name that PC with CFSR's UNDEFINSTR and HFSR's FORCED bits, and the image
must come back and answer HTTP after its reset.

Only 127.0.0.1 is used; QEMU is stopped by the PID scripts/qemu-lm3s recorded.
"""

import os
import pathlib
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

import pytest
import requests

from wsmanlib import Qmp, needs_qemu, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "qemu-lm3s"
DEFAULT_ELF = ROOT / "firmware/lm3s6965evb/target/thumbv7m-none-eabi/release/wsbmc-lm3s6965evb"
BOOT_TIMEOUT_S = 60
UDF_254 = b"\xfe\xde"  # Thumb `udf #254`, what LLVM emits for a trap (an immediate-abort panic)
CFSR_UNDEFINSTR = 1 << 16
HFSR_FORCED = 1 << 30

sys.path.insert(0, str(ROOT / "scripts"))
from elf32 import symbols  # noqa: E402  (the project's pure-Python ELF reader)

pytestmark = needs_qemu("QEMU_SYSTEM_ARM", "qemu-system-arm", "scripts/install-qemu")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trap_in(elf: pathlib.Path, name: str) -> int:
    """The address of the first `udf #254` inside the function `name` of the image."""
    data = elf.read_bytes()
    fn = next((s for s in symbols(str(elf)) if s[2] == name), None)
    assert fn is not None, f"{name} not in {elf}"
    addr, size = fn[0], fn[1]
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x2E)
    for i in range(shnum):
        _n, typ, _f, saddr, soff, ssize = struct.unpack_from("<IIIIII", data, shoff + i * shentsize)
        if typ == 1 and saddr <= addr < saddr + ssize:  # SHT_PROGBITS holding the function
            body = data[soff + addr - saddr : soff + addr - saddr + size]
            for off in range(0, len(body) - 1, 2):
                if body[off : off + 2] == UDF_254:
                    return addr + off
    pytest.fail(f"no udf #254 in {name}: is the image built with panic=immediate-abort?")


class Gdb:
    """The few GDB remote-protocol packets this needs ($body#checksum, '+' acknowledgements)."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def request(self, body: str) -> str:
        self.sock.sendall(f"${body}#{sum(body.encode()) & 0xFF:02x}".encode())
        deadline = time.monotonic() + 10
        while True:
            m = re.search(rb"\$([^#]*)#[0-9a-fA-F]{2}", self.buf)
            if m:
                self.buf = self.buf[m.end() :]
                self.sock.sendall(b"+")
                return m.group(1).decode()
            assert time.monotonic() < deadline, f"no reply to {body!r}"
            chunk = self.sock.recv(4096)
            assert chunk, f"gdbstub closed on {body!r}"
            self.buf += chunk

    def close(self):
        self.sock.close()


def identify_answers(port: int) -> bool:
    body = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
        "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"
    )
    try:
        r = requests.post(
            f"http://127.0.0.1:{port}/wsman",
            data=body,
            # Anonymous, as WinRM's `Test-WSMan` asks: the image boots unprovisioned (it has
            # `accounts`), with no account to log in as, and answers this all the same.
            headers={"Content-Type": "application/soap+xml;charset=UTF-8", "WSMANIDENTIFY": "unauthenticated"},
            timeout=5,
        )
    except requests.RequestException:
        return False
    return r.status_code == 200 and b"IdentifyResponse" in r.content


def decoded_log(state: pathlib.Path) -> str:
    r = subprocess.run([str(SCRIPT), "log", "--dir", str(state)], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.fail(f"scripts/qemu-lm3s log failed: {r.stderr.strip()}")
    return r.stdout


def test_a_trap_is_logged_with_its_pc_and_fault_status_and_the_board_resets(tmp_path):
    if shutil.which(os.environ.get("QEMU_SYSTEM_ARM", "qemu-system-arm")) is None:
        pytest.fail("qemu-system-arm not installed; run scripts/install-qemu")
    elf = pathlib.Path(os.environ.get("WSBMC_LM3S_ELF") or DEFAULT_ELF)
    state = tmp_path / "qemu-lm3s"
    cmd = [str(SCRIPT), "start", "--dir", str(state), "--timeout", str(BOOT_TIMEOUT_S)]
    if os.environ.get("WSBMC_LM3S_ELF"):
        cmd += ["--elf", str(elf)]
    started = subprocess.run(cmd, capture_output=True, text=True, timeout=BOOT_TIMEOUT_S + 300)
    if started.returncode != 0:
        pytest.fail(f"image did not boot:\n{started.stderr}")
    info = dict(line.split("=", 1) for line in started.stdout.split() if "=" in line)
    port = int(info["port"])
    try:
        trap = trap_in(elf, "__defmt_default_panic")
        assert identify_answers(port)
        qmp = Qmp(info["qmp"])
        gdb_port = free_port()
        qmp.cmd("human-monitor-command", **{"command-line": f"gdbserver tcp:127.0.0.1:{gdb_port}"})
        gdb = Gdb(gdb_port)
        try:
            assert gdb.request("?").startswith(("T", "S"))  # paused on connect
            # Register 15 is the PC in QEMU's M-profile register file; the value is target order.
            assert gdb.request(f"Pf={struct.pack('<I', trap).hex()}") == "OK"
            assert gdb.request("D") == "OK"  # detach: the guest runs on, into the trap
        finally:
            gdb.close()
            qmp.close()

        pattern = re.compile(
            r"hard fault at pc (0x[0-9a-f]{8}), lr 0x[0-9a-f]{8}; cfsr (0x[0-9a-f]{8}) "
            r"hfsr (0x[0-9a-f]{8}) mmfar 0x[0-9a-f]{8} bfar 0x[0-9a-f]{8}; "
            r"code addresses on the stack: \[[^\]]*\]; resetting"
        )
        found = wait_until(lambda: pattern.search(decoded_log(state)), "the hard fault log line", 20)
        print(found.group(0))
        pc, cfsr, hfsr = (int(g, 16) for g in found.groups())
        assert pc == trap, f"logged pc {pc:#x}, trap at {trap:#x}"
        assert cfsr & CFSR_UNDEFINSTR, f"cfsr {cfsr:#x}"
        assert hfsr & HFSR_FORCED, f"hfsr {hfsr:#x}"
        # The reset brings the image back on its own.
        wait_until(lambda: identify_answers(port), "an Identify answer after the reset", BOOT_TIMEOUT_S)
        after = decoded_log(state)
        assert "panic" not in after.lower()
        assert after.count("hard fault") == 1
    finally:
        subprocess.run([str(SCRIPT), "stop", "--dir", str(state)], timeout=30, check=False)
