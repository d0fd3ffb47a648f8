#!/usr/bin/env python3
"""Records the exact envelopes pypsrp and pywinrm send, as conformance fixtures.

Starts a tiny HTTP server on 127.0.0.1 that stores every POST body and answers with a canned,
valid WS-Man response (RelatesTo = the request's MessageID, so the client accepts it and goes on),
then drives the real client libraries through identify-free operations against it: Get,
Enumerate (plain and optimized ObjectAndEPR), Pull, Release, Invoke, Put, Create, Delete, a Get
with an OptionSet, pypsrp's config probe, and pywinrm's shell Create/Delete. The bodies are written
byte for byte to requests/<client>_<operation>.xml.

    .venv/bin/python tests/conformance/record.py          # rewrites tests/conformance/requests

The canned enumeration context is CONTEXT below; the Rust replay substitutes the live one.
Neither library has an Identify call, so Identify fixtures are hand-written (see README.md).
"""

import http.server
import pathlib
import sys
import threading
import xml.etree.ElementTree as ET

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "requests"

CONTEXT = "uuid:C0A7E47C-0000-4000-8000-000000000001"
URI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/WSB_Fake"
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
}
T = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
E = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/"

INSTANCE = (
    f'<p:WSB_Fake xmlns:p="{URI}"><p:CreationClassName>WSB_Fake</p:CreationClassName>'
    "<p:DeviceID>dev-001</p:DeviceID><p:ElementName>Fake sensor 1</p:ElementName></p:WSB_Fake>"
)
EPR = (
    f"<a:Address>{NS['a']}/role/anonymous</a:Address><a:ReferenceParameters>"
    f"<w:ResourceURI>{URI}</w:ResourceURI><w:SelectorSet>"
    '<w:Selector Name="ShellId">11111111-2222-3333-4444-555555555555</w:Selector>'
    "</w:SelectorSet></a:ReferenceParameters>"
)


def canned(action: str, body: ET.Element) -> tuple[str, str]:
    """(response action, body markup) a server would send for `action`."""
    if action == T + "Get" or action == T + "Put":
        return action + "Response", INSTANCE
    if action == T + "Create":
        return action + "Response", f"<x:ResourceCreated>{EPR}</x:ResourceCreated>"
    if action == T + "Delete" or action == E + "Release":
        return action + "Response", ""
    if action == E + "Enumerate":
        optimized = body.find(".//w:OptimizeEnumeration", NS) is not None
        items = f"<w:Items>{INSTANCE}</w:Items>" if optimized else ""
        return action + "Response", (
            f"<n:EnumerateResponse><n:EnumerationContext>{CONTEXT}</n:EnumerationContext>"
            f"{items}</n:EnumerateResponse>"
        )
    if action == E + "Pull":
        return action + "Response", (
            f"<n:PullResponse><n:Items>{INSTANCE}</n:Items><n:EndOfSequence/></n:PullResponse>"
        )
    method = action.rsplit("/", 1)[-1]
    return action + "Response", (
        f'<p:{method}_OUTPUT xmlns:p="{URI}"><p:ReturnValue>0</p:ReturnValue></p:{method}_OUTPUT>'
    )


class Recorder(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        Recorder.bodies.append(data)
        root = ET.fromstring(data)
        action = root.findtext("s:Header/a:Action", default="", namespaces=NS).strip()
        mid = root.findtext("s:Header/a:MessageID", default="", namespaces=NS).strip()
        body = root.find("s:Body", NS)
        resp_action, markup = canned(action, body)
        reply = (
            f'<s:Envelope xml:lang="en-US" xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" '
            f'xmlns:w="{NS["w"]}" xmlns:n="{NS["n"]}" xmlns:x="{NS["x"]}"><s:Header>'
            f"<a:To>{NS['a']}/role/anonymous</a:To><a:Action>{resp_action}</a:Action>"
            f"<a:MessageID>uuid:00000000-0000-4000-8000-000000000000</a:MessageID>"
            f"<a:RelatesTo>{mid}</a:RelatesTo></s:Header>"
            f"<s:Body>{markup}</s:Body></s:Envelope>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def take(name: str):
    """Writes the body recorded since the last call."""
    assert len(Recorder.bodies) == 1, (name, len(Recorder.bodies))
    (OUT / f"{name}.xml").write_bytes(Recorder.bodies.pop())


def el(tag: str, text=None, children=()):
    prefix, local = tag.split(":")
    e = ET.Element("{%s}%s" % (NS.get(prefix, URI if prefix == "p" else prefix), local))
    if text is not None:
        e.text = text
    for c in children:
        e.append(c)
    return e


def record_pypsrp(port: int):
    from pypsrp.wsman import WSMan, OptionSet, SelectorSet

    ws = WSMan(
        "127.0.0.1", port=port, username="admin", password="pw", ssl=False,
        auth="basic", encryption="never",
    )
    keys = SelectorSet()
    keys.add_option("CreationClassName", "WSB_Fake")
    keys.add_option("DeviceID", "dev-001")

    ws.get(URI, selector_set=keys)
    take("pypsrp_get")
    ws.enumerate(URI, el("n:Enumerate"))
    take("pypsrp_enumerate")
    ws.enumerate(
        URI,
        el("n:Enumerate", children=[
            el("w:OptimizeEnumeration"),
            el("w:MaxElements", "32000"),
            el("w:EnumerationMode", "EnumerateObjectAndEPR"),
        ]),
    )
    take("pypsrp_enumerate_optimized")
    ws.pull(URI, el("n:Pull", children=[
        el("n:EnumerationContext", CONTEXT), el("n:MaxElements", "20"),
    ]))
    take("pypsrp_pull")
    ws.invoke(E + "Release", URI, el("n:Release", children=[el("n:EnumerationContext", CONTEXT)]))
    take("pypsrp_release")
    ws.invoke(
        URI + "/RequestStateChange",
        URI,
        el("p:RequestStateChange_INPUT", children=[el("p:RequestedState", "3")]),
        selector_set=keys,
    )
    take("pypsrp_invoke")
    ws.put(
        URI,
        el("p:WSB_Fake", children=[
            el("p:CreationClassName", "WSB_Fake"), el("p:DeviceID", "dev-001"),
            el("p:ElementName", "renamed by pypsrp"),
        ]),
        selector_set=keys,
    )
    take("pypsrp_put")
    ws.create(URI, el("p:WSB_Fake", children=[
        el("p:CreationClassName", "WSB_Fake"), el("p:DeviceID", "dev-new"),
    ]))
    take("pypsrp_create")
    gone = SelectorSet()
    gone.add_option("CreationClassName", "WSB_Fake")
    gone.add_option("DeviceID", "dev-004")
    ws.delete(URI, selector_set=gone)
    take("pypsrp_delete")
    opts = OptionSet()
    opts.add_option("WINRS_NOPROFILE", "TRUE")
    ws.get(URI, option_set=opts, selector_set=keys)
    take("pypsrp_get_optionset")
    try:
        ws.update_max_payload_size()
    except Exception:
        pass  # the canned reply is not a cfg:Config document; only the request matters
    take("pypsrp_config_probe")


def record_pywinrm(port: int):
    import xmltodict
    from winrm.protocol import Protocol

    p = Protocol(
        f"http://127.0.0.1:{port}/wsman", transport="basic", username="admin",
        password="pw", message_encryption="never",
    )
    shell = p.open_shell()
    take("pywinrm_open_shell")
    p.close_shell(shell)
    take("pywinrm_close_shell")
    # pywinrm has no Get/Enumerate helpers; callers build them on its own header, as here.
    req = {"env:Envelope": p.build_wsman_header(T + "Get", URI)}
    req["env:Envelope"]["env:Header"]["w:SelectorSet"] = {"w:Selector": [
        {"@Name": "CreationClassName", "#text": "WSB_Fake"},
        {"@Name": "DeviceID", "#text": "dev-001"},
    ]}
    req["env:Envelope"].setdefault("env:Body", {})
    p.send_message(xmltodict.unparse(req))
    take("pywinrm_get")
    req = {"env:Envelope": p.build_wsman_header(E + "Enumerate", URI)}
    req["env:Envelope"]["env:Body"] = {"n:Enumerate": {
        "w:OptimizeEnumeration": None, "w:MaxElements": "32000",
    }}
    p.send_message(xmltodict.unparse(req))
    take("pywinrm_enumerate")
    req = {"env:Envelope": p.build_wsman_header(E + "Pull", URI)}
    req["env:Envelope"]["env:Body"] = {"n:Pull": {
        "n:EnumerationContext": CONTEXT, "n:MaxElements": "32000",
    }}
    p.send_message(xmltodict.unparse(req))
    take("pywinrm_pull")


def main() -> int:
    OUT.mkdir(exist_ok=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        record_pypsrp(server.server_address[1])
        record_pywinrm(server.server_address[1])
    finally:
        server.shutdown()
    from importlib.metadata import version

    print("recorded with pypsrp %s, pywinrm %s, Python %s" % (
        version("pypsrp"), version("pywinrm"), sys.version.split()[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
