"""The CIM model as consoles walk it (DSP1033 profile discovery, then associations), through
pypsrp and the DSP0227 association filter against the real binary, plus the FRU-backed
physical classes."""

import copy
import xml.etree.ElementTree as ET

from pypsrp.wsman import NAMESPACES, SelectorSet

from board_expect import expected_sensors, system_name
from wsmanlib import CIM_SCHEMA, NS, body_of, props, pypsrp

ALL_CLASSES = "http://schemas.dmtf.org/wbem/wscim/1/*"
ASSOC_DIALECT = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
B = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"


def _items(agent, uri, body, selector_set=None):
    """Enumerate (ObjectAndEPR) + Pull to the end; returns [(class, props, epr)]."""
    wsman = pypsrp(agent)
    resp = wsman.enumerate(uri, body, selector_set=selector_set)
    out = []
    er = body_of(resp).find("n:EnumerateResponse", NS)
    items = list(er.find("w:Items", NS) or [])
    ctx = er.findtext("n:EnumerationContext", default="", namespaces=NS)
    done = er.find("w:EndOfSequence", NS) is not None
    for _ in range(200):
        if done:
            break
        pull = ET.Element("{%s}Pull" % NS["n"])
        ET.SubElement(pull, "{%s}EnumerationContext" % NS["n"]).text = ctx
        ET.SubElement(pull, "{%s}MaxElements" % NS["n"]).text = "100"
        pr = body_of(wsman.pull(uri, pull)).find("n:PullResponse", NS)
        items += list(pr.find("n:Items", NS) or [])
        done = pr.find("n:EndOfSequence", NS) is not None
        ctx = pr.findtext("n:EnumerationContext", default="", namespaces=NS)
    for it in items:
        obj, epr = it[0], it.find("a:EndpointReference", NS)
        out.append((obj.tag.split("}")[1], props(obj), epr))
    return out


def _enumerate_body(filter_el=None):
    body = ET.Element("{%s}Enumerate" % NAMESPACES["wsen"])
    ET.SubElement(body, "{%s}OptimizeEnumeration" % NAMESPACES["wsman"])
    ET.SubElement(body, "{%s}MaxElements" % NAMESPACES["wsman"]).text = "100"
    ET.SubElement(body, "{%s}EnumerationMode" % NAMESPACES["wsman"]).text = "EnumerateObjectAndEPR"
    if filter_el is not None:
        body.append(filter_el)
    return body


def _associated(agent, epr, association, result_class):
    f = ET.Element("{%s}Filter" % NAMESPACES["wsman"], Dialect=ASSOC_DIALECT)
    ai = ET.SubElement(f, "{%s}AssociatedInstances" % B)
    obj = ET.SubElement(ai, "{%s}Object" % B)
    for child in epr:  # a:Address and a:ReferenceParameters, as the server gave them
        obj.append(copy.deepcopy(child))
    ET.SubElement(ai, "{%s}AssociationClassName" % B).text = association
    ET.SubElement(ai, "{%s}ResultClassName" % B).text = result_class
    return _items(agent, ALL_CLASSES, _enumerate_body(f))


def _namespace(ns):
    s = SelectorSet()
    s.add_option("__cimnamespace", ns)
    return s


def test_profile_discovery_to_every_sensor(agent):
    profiles = _items(
        agent, CIM_SCHEMA + "CIM_RegisteredProfile", _enumerate_body(), _namespace("root/interop")
    )
    names = {p["RegisteredName"] for _, p, _ in profiles}
    assert {"Base Server", "Sensors", "Profile Registration"} <= names, names
    _, _, sensors_epr = next(x for x in profiles if x[1]["RegisteredName"] == "Sensors")

    systems = _associated(agent, sensors_epr, "CIM_ElementConformsToProfile", "CIM_ComputerSystem")
    assert [p["Name"] for _, p, _ in systems] == [system_name(agent.board())]
    _, _, host_epr = systems[0]

    found = _associated(agent, host_epr, "CIM_SystemDevice", "CIM_NumericSensor")
    assert {p["DeviceID"] for _, p, _ in found} == set(expected_sensors(agent.board()))
    assert all(cls == "CIM_NumericSensor" for cls, _, _ in found)


def test_host_to_log_records(agent):
    hosts = _items(agent, CIM_SCHEMA + "CIM_ComputerSystem", _enumerate_body())
    _, _, host_epr = next(x for x in hosts if x[1]["Name"] == system_name(agent.board()))
    logs = _associated(agent, host_epr, "CIM_UseOfLog", "CIM_RecordLog")
    assert [p["InstanceID"] for _, p, _ in logs] == ["IPMI:SEL"]
    records = _associated(agent, logs[0][2], "CIM_LogManagesRecord", "CIM_LogRecord")
    direct = _items(agent, CIM_SCHEMA + "CIM_LogRecord", _enumerate_body())
    assert records and {p["RecordID"] for _, p, _ in records} == {p["RecordID"] for _, p, _ in direct}


def test_chassis_and_card_come_from_the_fru(agent):
    info = agent.board()["board"]
    chassis = _items(agent, CIM_SCHEMA + "CIM_Chassis", _enumerate_body())
    cards = _items(agent, CIM_SCHEMA + "CIM_Card", _enumerate_body())
    assert chassis and cards
    values = set(props_values(chassis[0][1])) | set(props_values(cards[0][1]))
    assert info["serial-number"] in values, values
    assert info["manufacturer"] in values, values


def props_values(p):
    for v in p.values():
        if isinstance(v, list):
            yield from (x for x in v if x)
        elif v:
            yield v


def _profile(agent, name):
    profiles = _items(
        agent, CIM_SCHEMA + "CIM_RegisteredProfile", _enumerate_body(), _namespace("root/interop")
    )
    return next(x for x in profiles if x[1]["RegisteredName"] == name)


def test_software_inventory_walk(agent):
    """Software Inventory (DSP1023): profile → host → its firmware (the board file's BIOS, the
    IPMB satellite's Get Device ID), and the BMC → its own firmware."""
    board = agent.board()
    _, prof, profile_epr = _profile(agent, "Software Inventory")
    assert prof["RegisteredVersion"] == "1.0.1"
    systems = _associated(agent, profile_epr, "CIM_ElementConformsToProfile", "CIM_ComputerSystem")
    assert [p["Name"] for _, p, _ in systems] == [system_name(board)]
    host_firmware = _associated(agent, systems[0][2], "CIM_InstalledSoftwareIdentity", "CIM_SoftwareIdentity")
    by_id = {p["InstanceID"]: p for _, p, _ in host_firmware}
    bios = by_id["wsbmc:firmware:bios"]
    assert bios["VersionString"] == board["board"]["bios-version"]
    assert bios["Manufacturer"] == board["board"]["bios-vendor"]
    assert bios["Classifications"] == "11"
    # The simulated PSU2 controller answers Get Device ID with firmware 1.00, manufacturer 343
    # (0x000157), product 0x0012, device 0x21, at slave address 0x60.
    psu = by_id["wsbmc:firmware:psu2"]
    assert psu["VersionString"] == "1.00"
    assert psu["Classifications"] == "10"
    assert psu["IdentityInfoValue"] == ["343", "0x0012", "0x21", "0x60"], psu
    same = _associated(agent, systems[0][2], "CIM_ElementSoftwareIdentity", "CIM_SoftwareIdentity")
    assert {p["InstanceID"] for _, p, _ in same} == set(by_id)

    hosts = _items(agent, CIM_SCHEMA + "CIM_ComputerSystem", _enumerate_body())
    _, _, bmc_epr = next(x for x in hosts if x[1]["Name"].endswith(":BMC"))
    own = _associated(agent, bmc_epr, "CIM_InstalledSoftwareIdentity", "CIM_SoftwareIdentity")
    assert len(own) == 1
    fw = own[0][1]
    assert fw["InstanceID"] == "wsbmc:firmware:bmc"
    assert fw["TargetTypes"] == "wsbmc-host"
    assert fw["IsEntity"] == "true"
    assert fw["VersionString"] and fw["MajorVersion"] is not None
    assert fw["ReleaseDate"] is not None  # the build date, from the build script


def test_ip_interface_walk(agent):
    """IP Interface (DSP1036): profile → the BMC → its endpoint (the host agent listens on
    127.0.0.1, so that is its management network) → the settings that gave the address."""
    _, prof, profile_epr = _profile(agent, "IP Interface")
    systems = _associated(agent, profile_epr, "CIM_ElementConformsToProfile", "CIM_ComputerSystem")
    assert [p["Name"] for _, p, _ in systems] == [system_name(agent.board()) + ":BMC"]
    endpoints = _associated(agent, systems[0][2], "CIM_HostedAccessPoint", "CIM_IPProtocolEndpoint")
    assert len(endpoints) == 1, endpoints
    _, ep, ep_epr = endpoints[0]
    assert ep["IPv4Address"] == agent.host
    assert ep["SubnetMask"] == "255.0.0.0"
    assert ep["ProtocolIFType"] == "4096"
    assert ep["AddressOrigin"] == "3"  # the loopback address is configured, not leased
    settings = _associated(agent, ep_epr, "CIM_ElementSettingData", "CIM_IPAssignmentSettingData")
    assert len(settings) == 1
    cls, st, _ = settings[0]
    assert cls == "CIM_StaticIPAssignmentSettingData"
    assert st["IPv4Address"] == agent.host
    assert st["AddressOrigin"] == "3"
