"""Account management over WS-Man (DSP1034/DSP1039, issue 15) against the real binary: the CIM
account classes work on the same account table http authenticates against, so what an
Administrator does over WS-Man is what the next login is checked against, it survives a
restart, and it is audited in the SEL. Clients: pypsrp (enumerations) and http.client with
Basic credentials from 127.0.0.0/8 addresses.
"""

import xml.etree.ElementTree as ET

import pytest
from pypsrp.exceptions import WSManFaultError

from conftest import Agent
from test_accounts import (
    ACCOUNT,
    NUMERIC_SENSOR,
    as_user,
    enumerate_envelope,
    post_from,
    session_audit,
    user_cmd,
)
from wsmanlib import CIM_SCHEMA, NS, enumerate_all, envelope, fault_of, props, pypsrp

SERVICE = CIM_SCHEMA + "CIM_AccountManagementService"
COMPUTER_SYSTEM = CIM_SCHEMA + "CIM_ComputerSystem"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
NEW, NEW_PW, NEW_PW2 = "newop", "newop-pass-1", "newop-pass-2"
VIEWER, VIEWER_PW = "viewer", "viewer-pass-1"


def bmc_name(agent):
    items, _ = enumerate_all(pypsrp(agent), COMPUTER_SYSTEM, optimize=True, max_elements=10)
    return next(props(i)["Name"] for i in items if props(i)["Name"].endswith(":BMC"))


def selector_set(keys):
    return "<w:SelectorSet>%s</w:SelectorSet>" % "".join(
        f'<w:Selector Name="{k}">{v}</w:Selector>' for k, v in keys.items()
    )


def account_keys(agent, name):
    return {
        "CreationClassName": "CIM_Account",
        "Name": name,
        "SystemCreationClassName": "CIM_ComputerSystem",
        "SystemName": bmc_name(agent),
    }


def service_keys(agent):
    return {
        "CreationClassName": "CIM_AccountManagementService",
        "Name": "Account Management Service",
        "SystemCreationClassName": "CIM_ComputerSystem",
        "SystemName": bmc_name(agent),
    }


def create_account(agent, by, by_pw, name, password, role, source="127.0.0.1"):
    """CreateAccount as `by`: (HTTP status, ReturnValue or None, body text)."""
    system = (
        f"<a:Address>{ANONYMOUS}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{COMPUTER_SYSTEM}</w:ResourceURI>"
        + selector_set({"CreationClassName": "CIM_ComputerSystem", "Name": bmc_name(agent)})
        + "</a:ReferenceParameters>"
    )
    body = (
        f'<p:CreateAccount_INPUT xmlns:p="{SERVICE}"><p:System>{system}</p:System>'
        f'<p:AccountTemplate><q:CIM_Account xmlns:q="{ACCOUNT}">'
        f"<q:UserID>{name}</q:UserID><q:UserPassword>{password}</q:UserPassword>"
        f"<q:Role>{role}</q:Role></q:CIM_Account></p:AccountTemplate></p:CreateAccount_INPUT>"
    )
    env = envelope(
        f"{SERVICE}/CreateAccount", SERVICE, body, selectors_xml=selector_set(service_keys(agent))
    )[0]
    status, _, reply = post_from(source, agent, by, by_pw, env)
    text = reply.decode()
    rv = None
    if status == 200:
        rv = int(ET.fromstring(text).findtext(f"s:Body/{{{SERVICE}}}CreateAccount_OUTPUT/{{{SERVICE}}}ReturnValue", namespaces=NS))
    return status, rv, text


def put_account(agent, name, prop_xml, source="127.0.0.1"):
    """Put on CIM_Account `name` as the Administrator: (status, body text)."""
    body = f'<p:CIM_Account xmlns:p="{ACCOUNT}">{prop_xml}</p:CIM_Account>'
    env = envelope(TRANSFER + "Put", ACCOUNT, body, selectors_xml=selector_set(account_keys(agent, name)))[0]
    status, _, reply = post_from(source, agent, agent.user, agent.password, env)
    return status, reply.decode()


def delete_account(agent, name, source="127.0.0.1"):
    env = envelope(TRANSFER + "Delete", ACCOUNT, selectors_xml=selector_set(account_keys(agent, name)))[0]
    status, _, reply = post_from(source, agent, agent.user, agent.password, env)
    return status, reply.decode()


def account_names(agent):
    items, _ = enumerate_all(pypsrp(agent), ACCOUNT, optimize=True, max_elements=50)
    return [props(i)["UserID"] for i in items]


def logs_in(agent, name, password, source):
    """The HTTP status of an Enumerate of the numeric sensors as `name`."""
    return post_from(source, agent, name, password, enumerate_envelope(NUMERIC_SENSOR))[0]


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    d = tmp_path_factory.mktemp("account-mgmt") / "state"
    r = user_cmd(d, "add", VIEWER, "--role", "ReadOnly", password=VIEWER_PW)
    assert r.returncode == 0, r.stderr
    return d


def test_an_administrator_manages_an_account_and_http_sees_each_change_at_once(state):
    a = Agent(args=["--state-dir", str(state)])
    try:
        status, rv, text = create_account(a, a.user, a.password, NEW, NEW_PW, "Operator")
        assert (status, rv) == (200, 0), text
        # The new account logs in at once and enumerates (pypsrp, its own credentials).
        items, _ = enumerate_all(pypsrp(as_user(a, NEW, NEW_PW)), NUMERIC_SENSOR, optimize=True, max_elements=100)
        assert items
        assert NEW in account_names(a)
        # A password change: the old one is refused at once (its cached verification too),
        # the new one works.
        status, text = put_account(a, NEW, f"<p:UserPassword>{NEW_PW2}</p:UserPassword>")
        assert status == 200, text
        # Each refusal from an address of its own: the per-source back-off stays out of it.
        assert logs_in(a, NEW, NEW_PW, "127.0.0.101") == 401
        assert logs_in(a, NEW, NEW_PW2, "127.0.0.1") == 200
        # Disabled: refused; its record says so.
        status, text = put_account(a, NEW, "<p:EnabledState>3</p:EnabledState>")
        assert status == 200, text
        assert logs_in(a, NEW, NEW_PW2, "127.0.0.102") == 401
        items, _ = enumerate_all(pypsrp(a), ACCOUNT, optimize=True, max_elements=50)
        assert next(props(i) for i in items if props(i)["UserID"] == NEW)["EnabledState"] == "3"
        # Deleted: refused, and gone from the enumeration.
        status, text = delete_account(a, NEW)
        assert status == 200, text
        assert logs_in(a, NEW, NEW_PW2, "127.0.0.103") == 401
        assert NEW not in account_names(a)
        # The password policy is the table's: a ReturnValue, nothing created.
        status, rv, text = create_account(a, a.user, a.password, "shorty", "short", "Operator")
        assert (status, rv) == (200, 32769), text
        assert "shorty" not in account_names(a)
    finally:
        a.stop()
    err = a.proc.stderr.read().decode(errors="replace")
    # The agent's log names the account and who changed it.
    for kind in ("Created", "PasswordChanged", "Disabled", "Deleted"):
        assert any(
            "account audit" in line and kind in line and f'"{NEW}"' in line and f'by "{a.user}"' in line
            for line in err.splitlines()
        ), (kind, err)


def test_a_readonly_user_is_denied_createaccount(state):
    a = Agent(args=["--state-dir", str(state)])
    try:
        status, rv, text = create_account(a, VIEWER, VIEWER_PW, "sneaky", "sneaky-pass-1", "Administrator")
        assert status == 500, text
        assert fault_of(text)[1] == "w:AccessDenied"
        with pytest.raises(WSManFaultError) as e:
            enumerate_all(pypsrp(as_user(a, VIEWER, VIEWER_PW)), ACCOUNT, optimize=True, max_elements=50)
        assert e.value.code == 5, e.value
        assert "sneaky" not in account_names(a)
    finally:
        a.stop()


def test_the_account_list_after_a_restart_is_what_wsman_left_and_no_secret_is_shown(tmp_path):
    state = tmp_path / "state"
    a = Agent(args=["--state-dir", str(state)])
    try:
        assert create_account(a, a.user, a.password, "keeper", "keeper-pass-1", "Operator")[:2] == (200, 0)
        assert create_account(a, a.user, a.password, "goner", "goner-pass-1", "ReadOnly")[:2] == (200, 0)
        assert put_account(a, "keeper", "<p:UserPassword>keeper-pass-2</p:UserPassword>")[0] == 200
        assert delete_account(a, "goner")[0] == 200
        # The raw enumeration: UserPassword is nil, and nothing of a password, salt or hash.
        status, _, body = post_from("127.0.0.1", a, a.user, a.password, enumerate_envelope(ACCOUNT))
        assert status == 200
        text = body.decode()
        assert 'UserPassword xsi:nil="true"' in text, text
        for secret in ("keeper-pass-1", "keeper-pass-2", "goner-pass-1", a.password):
            assert secret not in text
        for word in ("salt", "Salt", "HA1", "ha1", "Hash", "DerivedKey"):
            assert word not in text, word
        audit = session_audit(a)
        # Account changes are Session Audit offset 01h (a user's configuration changed), with
        # the account's user ID (slot + 1): keeper and goner were slots 1 and 2 (the
        # Administrator is slot 0).
        changes = {(d1 & 0x0F, d2) for d1, d2 in audit if d1 & 0x0F == 0x01}
        assert {(0x01, 2), (0x01, 3)} <= changes, audit
    finally:
        a.stop()
    listed = user_cmd(state, "list")
    assert listed.returncode == 0, listed.stderr
    assert [l.split("\t")[1:3] for l in listed.stdout.splitlines()] == [
        ["admin", "Administrator"],
        ["keeper", "Operator"],
    ]
    # Restarted without credentials: the stored accounts, keeper with its new password.
    b = Agent(args=["--state-dir", str(state)], defaults=True)
    try:
        b.password = a.password
        assert sorted(account_names(b)) == ["admin", "keeper"]
        assert logs_in(b, "keeper", "keeper-pass-2", "127.0.0.1") == 200
        assert logs_in(b, "keeper", "keeper-pass-1", "127.0.0.104") == 401
        assert logs_in(b, "goner", "goner-pass-1", "127.0.0.105") == 401
    finally:
        b.stop()
