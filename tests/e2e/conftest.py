"""Starts the real `wsbmc` binary for end-to-end tests and stops it by PID.

The agent is started with `--listen 127.0.0.1:0`, so the kernel picks a free port; the agent
prints the URL it bound on its first stdout line, which the fixture reads (bounded in time). The
HTTPS listener follows on a free port too; its URL and the certificate fingerprint come on the
next lines (`https_url`, `fingerprint`).

The password reaches the agent through `--password-file` (a 0600 file in a private temporary
directory, removed once the agent has started), never its argument list.
"""

import os
import pathlib
import secrets
import select
import shutil
import subprocess
import tempfile
import time
import tomllib

import pytest

from wsmanlib import stop_process

ROOT = pathlib.Path(__file__).resolve().parents[2]
SIM_BOARD = ROOT / "boards" / "sim" / "board.toml"
START_TIMEOUT_S = 30.0


def _binary() -> pathlib.Path:
    env = os.environ.get("WSBMC_BIN")
    path = pathlib.Path(env) if env else ROOT / "target" / "release" / "wsbmc"
    if not path.exists():
        pytest.fail(f"{path} not built; run `cargo build --release -p wsbmc` (scripts/test does)")
    return path


def sim_board_with_sel(path, capacity: int, overflow: str):
    """The simulated board with a `[sel]` of its own, written to `path` (returned)."""
    path.write_text(SIM_BOARD.read_text().replace(
        "[sim]\n", f'[sel]\ncapacity = {capacity}\noverflow = "{overflow}"\n\n[sim]\n', 1
    ))
    return path


def write_password_file(path, password: str) -> str:
    """`password` as the first line of a new file at `path`, mode 0600 (what
    `--password-file` accepts); returns the path as text."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return str(path)


def password_file(owner) -> str:
    """Writes `owner.password` to a new 0600 file in a private (0700) temporary directory,
    remembered as `owner._pw_dir` for removal; returns the file's path."""
    owner._pw_dir = tempfile.mkdtemp(prefix="wsbmc-pw-")
    return write_password_file(os.path.join(owner._pw_dir, "password"), owner.password)


class Agent:
    """A running agent: its URL, credentials and process."""

    def __init__(self, args=(), env=None, board=SIM_BOARD, defaults=False, control=None):
        """`defaults=True` starts the agent as `cargo run` does: no board, no credentials.
        `control` is a socket path for the simulation control channel (`wsbmc sim ...`)."""
        self.board_path = pathlib.Path(board)
        self.control = None if control is None else pathlib.Path(control)
        cmd = [str(_binary()), "--listen", "127.0.0.1:0"]
        self._pw_dir = None
        if self.control is not None:
            cmd += ["--control", str(self.control)]
        if defaults:
            self.user, self.password = "admin", "wsbmc-dev"
        else:
            self.user, self.password = "admin", secrets.token_urlsafe(12)
            cmd += ["--board", str(self.board_path), "--user", self.user,
                    "--password-file", password_file(self)]
        cmd += list(args)
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("WSBMC_")},
                "RUST_LOG": "warn",
                **(env or {}),
            },
        )
        self.https_url = None
        self.fingerprint = None
        try:
            self.url = self._read_url()
        finally:
            self._forget_password_file()
        hostport = self.url.split("//", 1)[1].split("/", 1)[0]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.https_port = (
            int(self.https_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
            if self.https_url
            else None
        )

    def _read_url(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        buf = b""
        first = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
                pytest.fail(f"wsbmc exited with {self.proc.returncode}: {err}")
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                buf += chunk
            lines = buf.decode(errors="replace").splitlines()
            urls = [line.split()[2] for line in lines if line.startswith("listening on ")]
            self.https_url = next((u for u in urls if u.startswith("https://")), None)
            for line in lines:
                if line.startswith("certificate SHA-256 fingerprint: "):
                    self.fingerprint = line.split(": ", 1)[1].strip()
            if urls and first is None:
                first = urls[0]
                # The HTTPS lines follow at once; a second is plenty, and --no-https has none.
                deadline = min(deadline, time.monotonic() + 1.0)
            if first is not None and self.fingerprint:
                return first
        if first is not None:
            return first
        self.stop()
        pytest.fail(f"wsbmc did not report its URL within {START_TIMEOUT_S}s; got {buf!r}")

    def _forget_password_file(self):
        if self._pw_dir is not None:
            shutil.rmtree(self._pw_dir, ignore_errors=True)
            self._pw_dir = None

    def stop(self):
        self._forget_password_file()
        stop_process(self.proc)

    def sim(self, *words, check=True) -> subprocess.CompletedProcess:
        """Runs `wsbmc sim --control PATH WORDS...` against this agent (bounded in time)."""
        assert self.control is not None, "agent started without a control socket"
        r = subprocess.run(
            [str(_binary()), "sim", "--control", str(self.control), *map(str, words)],
            capture_output=True,
            text=True,
            timeout=15,
        )
        if check and r.returncode != 0:
            pytest.fail(f"wsbmc sim {' '.join(map(str, words))}: {r.returncode} {r.stderr}")
        return r

    def board(self) -> dict:
        with open(self.board_path, "rb") as f:
            return tomllib.load(f)


@pytest.fixture(scope="module")
def agent():
    a = Agent()
    try:
        yield a
    finally:
        a.stop()
        # A clean shutdown on SIGTERM is part of the contract.
        assert a.proc.returncode == 0, a.proc.stderr.read().decode(errors="replace")
