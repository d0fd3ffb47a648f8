"""Failures are never silent (issue 18): a bus that fails raises its error counter in
`wsbmc sim status` and says so in the agent's log; the store's counter is there beside it.

(A store that fails is tested in firmware/agent's store_tests, over a flash double that stops
taking writes: the host agent's file-backed flash cannot be made to fail from outside.)"""

import re

from conftest import Agent
from wsmanlib import wait_until


def _counters(agent) -> dict:
    """{("bus"|"device"|"store", name): errors} from `wsbmc sim status`."""
    out = {}
    for line in agent.sim("status").stdout.splitlines():
        m = re.fullmatch(r"bus (\S+) errors=(\d+)", line)
        if m:
            out[("bus", m[1])] = int(m[2])
        m = re.fullmatch(r"device (\S+) .* errors=(\d+)", line)
        if m:
            out[("device", m[1])] = int(m[2])
        m = re.fullmatch(r"store errors=(\d+) (ok|failing)", line)
        if m:
            out[("store", m[2])] = int(m[1])
    return out


def test_a_failing_bus_raises_its_counter_and_is_logged(tmp_path):
    a = Agent(control=tmp_path / "wsbmc.sock")
    try:
        before = wait_until(
            lambda: (c := _counters(a)) and ("bus", "i2c0") in c and c, "status with counters", 10
        )
        assert before[("store", "ok")] == 0, before
        assert before[("device", "inlet_tmp")] == 0, before
        a.sim("fault", "inlet_tmp", "bus")
        after = wait_until(
            lambda: (c := _counters(a))[("device", "inlet_tmp")] >= 2 and c,
            "inlet_tmp's errors counted",
            10,
        )
        # The bus's count is its devices' sum, so it rose by at least the device's.
        assert after[("bus", "i2c0")] >= before[("bus", "i2c0")] + 2, (before, after)
        assert after[("store", "ok")] == 0, after
        a.sim("fault", "inlet_tmp", "none")
        # Reads again; the count stays (it is since start).
        wait_until(
            lambda: re.search(r"^sensor inlet_temp -?\d+e", a.sim("status").stdout, re.M),
            "inlet_temp reading again",
            10,
        )
        assert _counters(a)[("device", "inlet_tmp")] >= after[("device", "inlet_tmp")]
    finally:
        a.stop()
    log = a.proc.stderr.read().decode(errors="replace")
    inlet = _device_names(a).index("inlet_tmp")
    assert f"device {inlet}: read failed" in log, log


def _device_names(agent) -> list:
    """Device names in board-file order (the poller's device table)."""
    names = []
    for line in agent.board_path.read_text().splitlines():
        if line.strip() == "[[device]]":
            names.append(None)
        m = re.match(r'\s*name\s*=\s*"([^"]+)"', line)
        if m and names and names[-1] is None:
            names[-1] = m[1]
    return names
