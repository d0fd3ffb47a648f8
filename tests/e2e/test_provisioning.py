"""Issue 15: real hardware (`--hal linux`) with no account starts unprovisioned, on this machine.

The AST2600 board file without its buses (as test_https_digest.py does) lets `--hal linux` start
here; test_ast2600.py walks the same path on the image under QEMU, reading the secret from its
serial console. The agent gets no credentials at all: it prints a one-time secret and the BMC's
system name on stderr (the console), serves Identify and CreateAccount with Basic
`provision:SECRET` only, and after provisioning serves the console with the new account.
Clients: requests/http.client (raw envelopes, Basic from 127.0.0.0/8) and pypsrp.
"""

import os
import re
import select
import stat
import subprocess
import time
import xml.etree.ElementTree as ET

import requests

from conftest import _binary
from test_account_management import SERVICE, selector_set
from test_accounts import ACCOUNT, NUMERIC_SENSOR, enumerate_envelope, post_from, session_audit
from test_https_digest import _hardware_board
from wsmanlib import (
    CIM_SCHEMA, CONTENT_TYPE, NS, enumerate_all, envelope, fault_of, props, pypsrp, stop_process,
)

COMPUTER_SYSTEM = CIM_SCHEMA + "CIM_ComputerSystem"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
IDENTIFY = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
    "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"
)
START_TIMEOUT_S = 30


def console_secret(console: str):
    """(secret, BMC system name) as an unprovisioned agent prints them on its console, the last
    ones printed (an agent restarted by an image's init prints a new secret), or None."""
    secrets_seen = re.findall(r"provisioning secret: ([0-9A-Z-]{29})", console)
    names = re.findall(r'CIM_ComputerSystem Name is "([^"]+)"', console)
    return (secrets_seen[-1], names[-1]) if secrets_seen and names else None


class Unprovisioned:
    """`wsbmc --hal linux` with no credentials: its URL, the secret and BMC name it printed."""

    def __init__(self, board, state, extra=()):
        self.proc = subprocess.Popen(
            [str(_binary()), "--hal", "linux", "--board", str(board), "--listen", "127.0.0.1:0",
             "--allow-basic-over-http", "--state-dir", str(state), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("WSBMC_")},
                 "RUST_LOG": "info"},
        )
        self.out = b""
        self.err = b""
        self.url = None
        self.secret = None
        self.bmc = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and (self.url is None or self.ready() is None):
            assert self.proc.poll() is None, self.err.decode(errors="replace")
            self._read(0.2)
        assert self.url, self.out
        hostport = self.url.split("//", 1)[1].split("/", 1)[0]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)

    def ready(self):
        """Once the agent has said what it has to say at start: the secret, or the accounts."""
        text = self.err.decode(errors="replace")
        found = console_secret(text)
        if found:
            self.secret, self.bmc = found
            return True
        return True if "accounts: " in text else None

    def _read(self, wait):
        r, _, _ = select.select([self.proc.stdout, self.proc.stderr], [], [], wait)
        for f in r:
            chunk = os.read(f.fileno(), 65536)
            if f is self.proc.stdout:
                self.out += chunk
                m = re.search(rb"listening on (http://\S+)", self.out)
                if m:
                    self.url = m.group(1).decode()
            else:
                self.err += chunk

    def stop(self):
        stop_process(self.proc)
        # Whatever is left of stderr, for the assertions on the console.
        rest = self.proc.stderr.read()
        if rest:
            self.err += rest


def create_account_envelope(bmc, name, password, role=None):
    """CreateAccount on CIM_AccountManagementService, as a console sends it knowing only the
    BMC's system name (what the console printed)."""
    system = (
        f"<a:Address>{ANONYMOUS}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{COMPUTER_SYSTEM}</w:ResourceURI>"
        + selector_set({"CreationClassName": "CIM_ComputerSystem", "Name": bmc})
        + "</a:ReferenceParameters>"
    )
    role_xml = f"<q:Role>{role}</q:Role>" if role else ""
    body = (
        f'<p:CreateAccount_INPUT xmlns:p="{SERVICE}"><p:System>{system}</p:System>'
        f'<p:AccountTemplate><q:CIM_Account xmlns:q="{ACCOUNT}">'
        f"<q:UserID>{name}</q:UserID><q:UserPassword>{password}</q:UserPassword>"
        f"{role_xml}</q:CIM_Account></p:AccountTemplate></p:CreateAccount_INPUT>"
    )
    service = {
        "CreationClassName": "CIM_AccountManagementService",
        "Name": "Account Management Service",
        "SystemCreationClassName": "CIM_ComputerSystem",
        "SystemName": bmc,
    }
    return envelope(f"{SERVICE}/CreateAccount", SERVICE, body, selectors_xml=selector_set(service))[0]


def return_value(text):
    return int(ET.fromstring(text).findtext(
        f"s:Body/{{{SERVICE}}}CreateAccount_OUTPUT/{{{SERVICE}}}ReturnValue", namespaces=NS))


def provision(agent, name, password, secret=None, role=None):
    """CreateAccount with Basic provision:SECRET with requests: (status, body text)."""
    r = requests.post(
        f"http://{agent.host}:{agent.port}/wsman",
        data=create_account_envelope(agent.bmc, name, password, role).encode(),
        headers={"Content-Type": CONTENT_TYPE},
        auth=("provision", secret or agent.secret),
        timeout=30,
    )
    return r.status_code, r.text


def test_unprovisioned_hardware_serves_identify_and_provisioning_only(tmp_path):
    state = tmp_path / "state"
    board = _hardware_board(tmp_path)
    a = Unprovisioned(board, state)
    bodies = []
    try:
        assert a.secret, a.err
        assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){5}", a.secret), a.secret
        # The seed behind it is the device's own, private.
        seed = state / "provisioning.seed"
        assert stat.S_IMODE(seed.stat().st_mode) == 0o600
        assert a.secret.encode() not in a.out, "the secret is for the console only"

        # Anonymous Identify works; nothing else does without the secret.
        r = requests.post(f"http://{a.host}:{a.port}/wsman", data=IDENTIFY, timeout=10,
                          headers={"Content-Type": CONTENT_TYPE, "WSMANIDENTIFY": "unauthenticated"})
        assert r.status_code == 200 and "IdentifyResponse" in r.text
        for user, pw in (("admin", "wsbmc-dev"), ("admin", "admin"), ("provision", "wrong")):
            status, _, body = post_from("127.0.0.1", a, user, pw, enumerate_envelope(NUMERIC_SENSOR))
            assert status == 401, (user, status)
            bodies.append(body)
        # The secret proves the provisioning caller, who may not read or do anything else.
        for env in (
            enumerate_envelope(NUMERIC_SENSOR),
            enumerate_envelope(ACCOUNT),
            envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", SERVICE,
                     selectors_xml=selector_set({
                         "CreationClassName": "CIM_AccountManagementService",
                         "Name": "Account Management Service",
                         "SystemCreationClassName": "CIM_ComputerSystem",
                         "SystemName": a.bmc}))[0],
        ):
            status, _, body = post_from("127.0.0.1", a, "provision", a.secret, env)
            assert status == 500, status
            assert fault_of(body.decode())[1] == "w:AccessDenied", body
            assert b"not provisioned" in body
            bodies.append(body)
        # A wrong secret on the provisioning path itself: 401, nothing created. The source
        # in back-off after the failures above is another address.
        status, text = provision(a, "first", "first-pass-1", secret="0000-0000-0000-0000-0000-0000")
        assert status == 401
        # The right one: the first Administrator, whatever role the template names.
        status, _, body = post_from("127.0.0.2", a, "provision", a.secret,
                                    create_account_envelope(a.bmc, "first", "first-pass-1", "ReadOnly"))
        assert status == 200, body
        assert return_value(body.decode()) == 0
        bodies.append(body)

        # The console works with the new account at once, and it is an Administrator.
        items, _ = enumerate_all(pypsrp(_as(a, "first", "first-pass-1")), ACCOUNT, optimize=True)
        accounts = {props(i)["UserID"]: props(i) for i in items}
        assert list(accounts) == ["first"], accounts
        status, _, _ = post_from("127.0.0.3", a, "first", "first-pass-1",
                                 create_account_envelope(a.bmc, "second", "second-pass-1", "Operator"))
        assert status == 200
        # A second provisioning with the same secret is refused: the path is closed.
        status, _, _ = post_from("127.0.0.4", a, "provision", a.secret,
                                 create_account_envelope(a.bmc, "third", "third-pass-1"))
        assert status == 401
        status, _, _ = post_from("127.0.0.4", a, "provision", a.secret, enumerate_envelope(ACCOUNT))
        assert status == 401
        # Audited in the SEL: the provisioning (account change) and the failed logins.
        assert session_audit(_as(a, "first", "first-pass-1")), "no Session Audit record"
    finally:
        a.stop()
    for body in bodies:
        assert a.secret.encode() not in body
    err = a.err.decode(errors="replace")
    assert "provisioned: \"first\" is the first Administrator" in err, err

    # After a restart: provisioned, no secret shown, the accounts kept; the old secret is
    # spent even were the path open.
    b = Unprovisioned(board, state)
    try:
        assert b.secret is None, b.err
        assert "provisioning secret" not in b.err.decode(errors="replace")
        status, _, _ = post_from("127.0.0.1", b, "first", "first-pass-1",
                                 enumerate_envelope(NUMERIC_SENSOR))
        assert status == 200
        status, _, _ = post_from("127.0.0.1", b, "provision", a.secret, enumerate_envelope(ACCOUNT))
        assert status == 401
    finally:
        b.stop()


def test_reset_state_makes_a_new_secret(tmp_path):
    """The secret stays across restarts until used (read it off the console at any boot);
    --reset-state erases the seed with the store, so the device gets a new one."""
    state = tmp_path / "state"
    board = _hardware_board(tmp_path)
    secrets = []
    for extra in ([], [], ["--reset-state"]):
        a = Unprovisioned(board, state, extra)
        try:
            secrets.append(a.secret)
        finally:
            a.stop()
    assert secrets[0] and secrets[0] == secrets[1], secrets
    assert secrets[2] and secrets[2] != secrets[0], secrets


def _as(agent, name, password):
    import types

    return types.SimpleNamespace(host=agent.host, port=agent.port, user=name, password=password)
