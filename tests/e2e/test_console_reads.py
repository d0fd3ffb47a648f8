"""What a console reads first (issue 19), against the real binary: the envelopes Intel DMT's
wsman-messages and PowerShell send (the CIM conformance fixtures in tests/conformance/cim, with
the test board's names swapped for the running board's), answered with golden replies; and the
same requests through pypsrp.

Goldens are compared after C14N with the reply's random MessageID masked.
`WSBMC_BLESS=1` rewrites them from the running binary; review the diff before committing."""

import os
import re
import xml.etree.ElementTree as ET

import pytest
import requests
from pypsrp.exceptions import WSManFaultError

from board_expect import system_name
from conftest import ROOT, Agent
from wsmanlib import CIM_SCHEMA, NS, props, pypsrp

REQUESTS = ROOT / "tests" / "conformance" / "cim" / "requests"
GOLDEN = ROOT / "tests" / "e2e" / "golden" / "console_reads"
PMS = CIM_SCHEMA + "CIM_PowerManagementService"
# What DMT's client sends (wsman.md 6.5).
DMT_CONTENT_TYPE = "application/soap+xml; charset=utf-8"


def _request(agent, name: str) -> str:
    """A fixture with the test board's host and BMC names replaced by the running board's."""
    host = system_name(agent.board())
    text = (REQUESTS / f"{name}.xml").read_text()
    # The host agent listens on 127.0.0.1: its management network is the loopback's address.
    text = text.replace(">eth0:IPv4:0<", ">lo:IPv4:0<")
    return text.replace(">host-1:BMC<", f">{host}:BMC<").replace(">host-1<", f">{host}<")


def _send(agent, name: str) -> requests.Response:
    return requests.post(
        f"http://{agent.host}:{agent.port}/wsman",
        data=_request(agent, name).encode(),
        headers={"Content-Type": DMT_CONTENT_TYPE},
        auth=(agent.user, agent.password),
        timeout=10,
    )


def _canonical(text: str) -> str:
    """C14N with what differs between runs masked: the reply's MessageID, and the firmware's
    build date."""
    masked = re.sub(r"<a:MessageID>[^<]*</a:MessageID>", "<a:MessageID>MASKED</a:MessageID>", text)
    masked = re.sub(
        r"(<p:ReleaseDate><cim:Datetime>)[^<]*(</cim:Datetime>)", r"\1MASKED\2", masked
    )
    return ET.canonicalize(masked, strip_text=True)


def _check_golden(name: str, reply: requests.Response, status: int):
    assert reply.status_code == status, reply.text
    path = GOLDEN / f"{name}.xml"
    if os.environ.get("WSBMC_BLESS"):
        path.write_text(reply.text)
        return
    assert path.exists(), f"no golden {path}; run with WSBMC_BLESS=1 and review"
    assert _canonical(reply.text) == _canonical(path.read_text()), reply.text


def _return_value(reply: requests.Response) -> int:
    root = ET.fromstring(reply.text)
    out = root.find("s:Body/{%s}RequestPowerStateChange_OUTPUT" % PMS, NS)
    assert out is not None, reply.text
    return int(out.findtext("{%s}ReturnValue" % PMS))


@pytest.mark.parametrize(
    "name,status",
    [
        ("dmt_get_power_management_service", 200),
        ("dmt_get_chassis", 200),
        # Two computer systems (host and BMC): the selectors stay required.
        ("dmt_get_computer_system", 500),
    ],
)
def test_dmt_get_without_selectors(agent, name, status):
    _check_golden(name, _send(agent, name), status)


def test_pypsrp_get_without_selectors(agent):
    wsman = pypsrp(agent)
    for cls, key in [("CIM_PowerManagementService", "Name"), ("CIM_Chassis", "Tag")]:
        resp = wsman.get(CIM_SCHEMA + cls)
        inst = resp.find("{%s}%s" % (CIM_SCHEMA + cls, cls))
        assert inst is not None, ET.tostring(resp)
        assert props(inst)[key]
    with pytest.raises(WSManFaultError) as e:
        wsman.get(CIM_SCHEMA + "CIM_ComputerSystem")
    assert "InsufficientSelectors" in str(e.value.reason) or "selectors" in str(e.value.reason)


def test_dmt_request_power_state_change_refusals(agent):
    # Naming the BMC itself, or something that is not a computer system, is still refused.
    for name in ["dmt_request_power_state_change_bmc", "dmt_request_power_state_change_chassis"]:
        _check_golden(name, _send(agent, name), 500)


def test_pypsrp_request_power_state_change_names_no_bmc(agent):
    """The AMT shape through pypsrp (no SelectorSet), naming the BMC: refused, host untouched."""
    host = system_name(agent.board())
    body = ET.Element("{%s}RequestPowerStateChange_INPUT" % PMS)
    ET.SubElement(body, "{%s}PowerState" % PMS).text = "8"
    me = ET.SubElement(body, "{%s}ManagedElement" % PMS)
    ET.SubElement(me, "{%s}Address" % NS["a"]).text = NS["a"]
    rp = ET.SubElement(me, "{%s}ReferenceParameters" % NS["a"])
    ET.SubElement(rp, "{%s}ResourceURI" % NS["w"]).text = CIM_SCHEMA + "CIM_ComputerSystem"
    ss = ET.SubElement(rp, "{%s}SelectorSet" % NS["w"])
    ET.SubElement(ss, "{%s}Selector" % NS["w"], Name="CreationClassName").text = "CIM_ComputerSystem"
    ET.SubElement(ss, "{%s}Selector" % NS["w"], Name="Name").text = f"{host}:BMC"
    with pytest.raises(WSManFaultError) as e:
        pypsrp(agent).invoke(f"{PMS}/RequestPowerStateChange", PMS, body)
    assert "ManagedElement" in str(e.value.reason)


@pytest.mark.parametrize(
    "name", ["dmt_request_power_state_change", "ps_invoke_cimmethod_request_power_state_change"]
)
def test_request_power_state_change_accepted(name):
    """Each on a fresh agent: an accepted request keeps the power task busy for a while."""
    a = Agent()
    try:
        reply = _send(a, name)
        _check_golden(name, reply, 200)
        assert _return_value(reply) == 0
    finally:
        a.stop()


PS_SHAPES = sorted(
    p.stem
    for p in REQUESTS.glob("ps_get_cim*.xml")
)


@pytest.mark.parametrize("name", PS_SHAPES)
def test_powershell_shapes_on_the_new_classes(agent, name):
    """PowerShell's Get-CimInstance / Get-CimAssociatedInstance on the Software Inventory and IP
    Interface classes (wsman.md 6.2), as the conformance fixtures spell them."""
    _check_golden(name, _send(agent, name), 200)
