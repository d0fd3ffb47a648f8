"""The README's query examples do what its words say, run as a newcomer would run them: the agent
started as `cargo run --release` starts it (simulated board, development credentials), the curl
envelope and the pypsrp snippet taken verbatim from README.md, only the port changed.
"""

import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import requests

from conftest import Agent
from wsmanlib import CONTENT_TYPE, NS, NUMERIC_SENSOR

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def sim_sensor_count(agent: Agent) -> int:
    return len(agent.board()["sensor"])


def fenced(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


@pytest.fixture(scope="module")
def dev_agent():
    a = Agent(defaults=True)
    try:
        yield a
    finally:
        a.stop()


def test_curl_enumerate_returns_every_sensor_in_one_response(dev_agent):
    block = next(b for b in fenced("sh") if "curl" in b and "Enumerate" in b)
    words = block.split("\\\n")[0].split()
    user_pass = words[words.index("-u") + 1]
    envelope = block.split("<<'EOF'\n", 1)[1].rsplit("EOF", 1)[0]
    r = requests.post(
        dev_agent.url,
        data=envelope.encode(),
        auth=tuple(user_pass.split(":", 1)),
        headers={"Content-Type": CONTENT_TYPE},
        timeout=30,
    )
    assert r.status_code == 200, r.text[:500]
    body = ET.fromstring(r.content).find("s:Body", NS)
    items = body.findall(f".//{{{NUMERIC_SENSOR}}}CIM_NumericSensor")
    # The sim board's numeric sensors, all of them, and no context left to pull.
    assert len(items) == sim_sensor_count(dev_agent) == 43
    assert body.find(".//w:EndOfSequence", NS) is not None
    # Finished: the context is empty (as Windows sends it) or absent, nothing left to Pull.
    context = body.find(".//n:EnumerationContext", NS)
    assert context is None or not (context.text or "").strip()
    assert "43 of the simulated board's sensors" in README.replace("\n", " ")


def test_pypsrp_snippet_prints_every_sensor(dev_agent):
    snippet = next(b for b in fenced("python") if "WSMan(" in b)
    assert "port=5985" in snippet
    snippet = snippet.replace("port=5985", f"port={dev_agent.port}")
    out = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()
    assert len(out) == sim_sensor_count(dev_agent)
    # "NAME READING x10^N STATE" for each sensor.
    assert all(re.fullmatch(r".+ -?\d+ x10\^-?\d+ \S+", line) for line in out), out[:3]
