"""How the binary starts: the `cargo run` defaults, credentials from the environment, bad boards."""

import os
import stat
import subprocess
import time

import pytest

from conftest import ROOT, SIM_BOARD, Agent, _binary
from wsmanlib import NUMERIC_SENSOR, enumerate_all, pypsrp
from board_expect import expected_sensors


def test_defaults_serve_the_builtin_sim_board_with_dev_credentials():
    """What `cargo run --release` starts: the built-in sim board, user admin / wsbmc-dev."""
    a = Agent(defaults=True)
    try:
        items, _ = enumerate_all(pypsrp(a), NUMERIC_SENSOR, optimize=True, max_elements=100)
        ids = {i.findtext("{%s}DeviceID" % NUMERIC_SENSOR) for i in items}
        assert ids == set(expected_sensors(a.board()))
    finally:
        a.stop()
    assert a.proc.returncode == 0


def test_credentials_from_environment():
    a = Agent(
        defaults=True,
        env={"WSBMC_USER": "operator", "WSBMC_PASSWORD": "from-env-42"},
    )
    try:
        a.user, a.password = "operator", "from-env-42"
        items, _ = enumerate_all(pypsrp(a), NUMERIC_SENSOR, optimize=True, max_elements=100)
        assert items
        a.user, a.password = "admin", "wsbmc-dev"
        from pypsrp.exceptions import AuthenticationError

        with pytest.raises(AuthenticationError):
            enumerate_all(pypsrp(a), NUMERIC_SENSOR)
    finally:
        a.stop()


def test_malformed_board_file_exits_2_naming_file_and_line(tmp_path):
    text = SIM_BOARD.read_text()
    bad = text.replace('channel = "remote1"', 'channel = "remote9"', 1)
    assert bad != text
    path = tmp_path / "board.toml"
    path.write_text(bad)
    line = bad.splitlines().index('channel = "remote9"') + 1
    r = subprocess.run(
        [str(_binary()), "--listen", "127.0.0.1:0", "--board", str(path)],
        capture_output=True,
        timeout=30,
        cwd=ROOT,
    )
    assert r.returncode == 2
    err = r.stderr.decode()
    assert f"{path}:{line}:" in err, err
    assert "remote9" in err
    assert err.count("\n") == 1, err


def test_account_given_once_is_stored_in_the_state_directory(tmp_path):
    """Credentials given with --state-dir are stored (hashed); started again without any, the
    agent uses the stored account, and the development default no longer works."""
    state = tmp_path / "state"
    a = Agent(args=["--state-dir", str(state)])
    password = a.password
    try:
        assert enumerate_all(pypsrp(a), NUMERIC_SENSOR, optimize=True, max_elements=100)[0]
    finally:
        a.stop()
    b = Agent(defaults=True, args=["--state-dir", str(state)])
    try:
        b.password = password
        assert enumerate_all(pypsrp(b), NUMERIC_SENSOR, optimize=True, max_elements=100)[0]
        from pypsrp.exceptions import AuthenticationError

        b.password = "wsbmc-dev"
        with pytest.raises(AuthenticationError):
            enumerate_all(pypsrp(b), NUMERIC_SENSOR)
    finally:
        b.stop()
    # The password itself is never stored, only its PBKDF2 hash.
    for f in state.iterdir():
        assert password.encode() not in f.read_bytes()


def test_power_lines_that_cannot_be_opened_exit_2_naming_them(tmp_path):
    """`--hal linux` with a [power] table whose GPIO chip is not there: one clear error, exit 2
    (the QEMU test, test_ast2600.py, drives the lines that are there)."""
    text = (ROOT / "boards" / "ast2600-evb" / "board.toml").read_text()
    # [board] and the power lines only: without devices nothing else is opened first.
    board = text.split("[[bus]]")[0] + text[text.index("[power]") :].replace(
        '"1e780000.gpio"', '"no-such-chip.gpio"'
    )
    path = tmp_path / "board.toml"
    path.write_text(board)
    r = subprocess.run(
        [str(_binary()), "--hal", "linux", "--board", str(path), "--listen", "127.0.0.1:0"],
        capture_output=True,
        timeout=30,
        cwd=ROOT,
        env={
            **{k: v for k, v in __import__("os").environ.items() if not k.startswith("WSBMC_")},
            "WSBMC_USER": "admin",
            "WSBMC_PASSWORD": "not-the-default",
        },
    )
    assert r.returncode == 2, r
    err = r.stderr.decode()
    errors = [line for line in err.splitlines() if line.startswith("wsbmc:")]
    assert errors == [
        f"wsbmc: {path}: power lines: GPIO chip \"no-such-chip.gpio\": no GPIO chip named or "
        'labelled "no-such-chip.gpio" in /dev (is its driver loaded?)'
    ], err


def test_sensor_gpio_lines_that_cannot_be_opened_exit_2_naming_them(tmp_path):
    """`--hal linux` with a discrete sensor on a GPIO chip that is not there: exit 2, and the
    message names the chip."""
    text = (ROOT / "boards" / "ast2600-evb" / "board.toml").read_text()
    # [board] and the discrete sensor only, its line on a chip of its own.
    board = text.split("[[bus]]")[0] + text[text.index("[[discrete]]") :].replace(
        "gpio = 124", 'gpio = 124\ngpio-chip = "no-such-chip.gpio"'
    )
    path = tmp_path / "board.toml"
    path.write_text(board)
    r = subprocess.run(
        [str(_binary()), "--hal", "linux", "--board", str(path), "--listen", "127.0.0.1:0"],
        capture_output=True,
        timeout=30,
        cwd=ROOT,
        env={
            **{k: v for k, v in __import__("os").environ.items() if not k.startswith("WSBMC_")},
            "WSBMC_USER": "admin",
            "WSBMC_PASSWORD": "not-the-default",
        },
    )
    assert r.returncode == 2, r
    errors = [line for line in r.stderr.decode().splitlines() if line.startswith("wsbmc:")]
    assert len(errors) == 1 and 'sensor inputs: gpio chip "no-such-chip.gpio"' in errors[0], errors


def _run_exit(args, timeout=30, env=None):
    """Runs the binary to its exit (bounded) without WSBMC_* from the caller's environment."""
    return subprocess.run(
        [str(_binary()), "--listen", "127.0.0.1:0", *args],
        capture_output=True,
        timeout=timeout,
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("WSBMC_")},
            **(env or {}),
        },
    )


def test_state_dir_is_private_and_loose_modes_are_tightened(tmp_path):
    """The state dir holds the password hash and the TLS key: 0700, every file 0600, and an
    existing dir left readable by others is tightened at start."""
    state = tmp_path / "state"
    a = Agent(args=["--state-dir", str(state)])
    a.stop()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    files = sorted(f.name for f in state.iterdir())
    assert "map.flash" in files and "sel.flash" in files, files
    for f in state.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f

    state.chmod(0o755)
    for f in state.iterdir():
        f.chmod(0o644)
    b = Agent(args=["--state-dir", str(state)])
    b.stop()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for f in state.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_control_socket_of_a_live_agent_is_not_taken_over(tmp_path):
    sock = tmp_path / "ctl.sock"
    a = Agent(control=sock)
    try:
        r = _run_exit(["--board", str(SIM_BOARD), "--user", "admin", "--control", str(sock)],
                      env={"WSBMC_PASSWORD": "pw-12345"})
        assert r.returncode == 2, r.stderr
        err = r.stderr.decode()
        assert str(sock) in err and "running agent" in err, err
        assert a.sim("status").stdout.startswith("host "), "the first agent lost its control socket"
    finally:
        a.stop()
    # A stale socket (nobody listening) is replaced.
    assert sock.exists()
    b = Agent(control=sock)
    try:
        assert b.sim("status").stdout.startswith("host ")
    finally:
        b.stop()


@pytest.mark.parametrize(
    "args,env,option",
    [
        (["--user", "operator"], {}, "--user"),
        ([], {"WSBMC_USER": "operator"}, "--user"),
        (["--user", "a:b"], {"WSBMC_PASSWORD": "pw-12345"}, "--user"),
        (["--header-timeout-ms", "0"], {}, "--header-timeout-ms"),
        (["--max-connections", "0"], {}, "--max-connections"),
        (["--tls-max-handshakes", "0"], {}, "--tls-max-handshakes"),
        (["--tls-handshake-timeout-ms", "0"], {}, "--tls-handshake-timeout-ms"),
        (["--digest-nonce-lifetime-s", "0"], {}, "--digest-nonce-lifetime-s"),
    ],
)
def test_cli_values_without_a_floor_or_login_exit_2_naming_the_option(args, env, option):
    """A user without a password must not fall back to the development password; a user
    Basic cannot carry and zero limits are refused, each naming its option."""
    r = _run_exit(args, env=env)
    assert r.returncode == 2, r.stderr
    assert option in r.stderr.decode(), r.stderr


def test_board_file_that_never_ends_exits_2_quickly():
    start = time.monotonic()
    r = _run_exit(["--board", "/dev/zero"], timeout=20)
    assert r.returncode == 2
    err = r.stderr.decode()
    assert err.startswith("wsbmc: /dev/zero: board file larger than"), err
    assert time.monotonic() - start < 10
