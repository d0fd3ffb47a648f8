"""WS-Eventing push delivery from the real `wsbmc` binary to an event sink (issue 16): the agent
POSTs to the sink (tests/e2e/event_sink.py, on 127.0.0.1 with a free port), which checks every
envelope and answers as Windows does.

Per mode (Push, PushWithAck, Events) a threshold crossing driven through `wsbmc sim set` reaches
the sink as CIM_AlertIndication within two poll periods, and its SEL record as CIM_InstCreation.
Heartbeats arrive when idle; a sink down and back resubscribing with its last Bookmark gets what
it missed, none twice; Unsubscribe stops delivery; expiry ends it; DeliveryRefused ends it at
once; a dead sink gets SubscriptionEnd/DeliveryFailure at EndTo after the retries; the sink's
Basic and Digest credentials (wsman:Auth + wst:IssuedTokens) are presented; an HTTPS sink is
verified against --event-ca; a restart of the agent keeps the subscription (the store) and its
delivery, resuming after its bookmark."""

import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

import event_sink
from conftest import Agent
from event_sink import EventSink, MODE_EVENTS, MODE_PUSH, MODE_PUSH_WITH_ACK, issued_tokens
from test_sel_power import COMPUTER_SYSTEM, _host, _invoke
from wsmanlib import envelope, fault_of, post

E = event_sink.E
A = event_sink.A
CIM = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
ALERT = CIM + "CIM_AlertIndication"
CREATION = CIM + "CIM_InstCreation"
ALL_CLASSES = "http://schemas.dmtf.org/wbem/wscim/1/*"
DELIVERY_FAILURE = E + "/DeliveryFailure"
PROFILE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/"
# Inlet Temp has the board's default poll period.
POLL_S = 1.0
MODES = {"push": MODE_PUSH, "pushwithack": MODE_PUSH_WITH_ACK, "events": MODE_EVENTS}


@pytest.fixture
def ev_agent(tmp_path):
    a = Agent(args=["--state-dir", str(tmp_path / "state")], control=tmp_path / "ctl.sock")
    try:
        yield a
    finally:
        a.stop()


@pytest.fixture
def sinks():
    made = []

    def make(*args, **kw):
        s = EventSink(*args, **kw)
        made.append(s)
        return s

    try:
        yield make
    finally:
        for s in made:
            s.stop()


def subscribe(agent, sink, mode, delivery="", extra="", expires="PT600S", header="", end_to=False, notify=None):
    body = (
        f'<e:Subscribe xmlns:e="{E}">'
        + (sink.end_to() if end_to else "")
        + f'<e:Delivery Mode="{mode}">{notify or sink.notify_to()}{delivery}</e:Delivery>'
        f"<e:Expires>{expires}</e:Expires>{extra}</e:Subscribe>"
    )
    text, _ = envelope(E + "/Subscribe", ALL_CLASSES, body, extra_headers=header)
    return post(agent, text)


def subscribed(agent, sink, mode, **kw):
    r = subscribe(agent, sink, mode, **kw)
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.text)
    # The source's own identifier (the sink's is in NotifyTo, not in the response).
    return root.findtext(f".//{{{E}}}SubscriptionManager//{{{E}}}Identifier")


def manage(agent, verb, ident):
    hdr = f'<e:Identifier xmlns:e="{E}">{ident}</e:Identifier>'
    text, _ = envelope(E + "/" + verb, ALL_CLASSES, f'<e:{verb} xmlns:e="{E}"/>', extra_headers=hdr)
    return post(agent, text)


def gone(agent, ident):
    r = manage(agent, "GetStatus", ident)
    return r.status_code == 500 and fault_of(r.text)[1].endswith("DestinationUnreachable")


def wait_gone(agent, ident, within):
    deadline = time.monotonic() + within
    while not gone(agent, ident):
        assert time.monotonic() < deadline, f"subscription {ident} still alive after {within}s"
        time.sleep(0.2)


def prop(el, name):
    return el.findtext("{%s}%s" % (el.tag.split("}")[0][1:], name))


def is_crossing(asserted, offset_text="Upper Critical"):
    def pred(action, el):
        if action != ALERT:
            return False
        args = [m.text for m in el.findall("{%s}MessageArguments" % ALERT)]
        return (
            args[:1] == ["Inlet Temp"]
            and offset_text in args[1]
            and args[2] == ("Asserted" if asserted else "Deasserted")
        )

    return pred


def find_event(pred):
    def look(deliveries):
        for d in deliveries:
            for action, el in d.events:
                if pred(action, el):
                    return d, el
        return None

    return look


def record_of(bookmark):
    m = re.fullmatch(r"sel:(\d+)", bookmark or "")
    assert m, bookmark
    return int(m.group(1))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_mode_delivers_the_crossing_and_the_sel_record(ev_agent, sinks, mode):
    a, sink = ev_agent, sinks(MODES[mode])
    batch = "<w:MaxElements>20</w:MaxElements><w:MaxTime>PT0.1S</w:MaxTime>" if mode == "events" else ""
    subscribed(a, sink, MODES[mode], delivery=batch)
    sent = time.monotonic()
    a.sim("set", "inlet_temp", "46.0")
    d, alert = sink.wait_for(find_event(is_crossing(True)), within=10 * POLL_S, what="crossing")
    latency = d.when - sent
    print(f"{mode}: threshold crossing to the sink: {latency:.3f} s")
    assert latency <= 2 * POLL_S, f"{latency:.2f}s from the crossing to the sink"
    assert prop(alert, "PerceivedSeverity") == "6"
    assert prop(alert, "AlertType") == "5"
    assert prop(alert, "OwningEntity") == "wsbmc"
    assert "Inlet Temp" in prop(alert, "Message")
    sels = {s.get("Name"): s.text for s in alert.iter("{%s}Selector" % event_sink.W)}
    assert sels["DeviceID"] == "Inlet Temp(1.0.32)"
    # The SEL record of the crossing as CIM_InstCreation with the CIM_LogRecord inside.
    record_data = "{%s}SourceInstance/{%sCIM_LogRecord}CIM_LogRecord/{%sCIM_LogRecord}RecordData" % (
        CREATION,
        CIM,
        CIM,
    )
    sink.wait_for(
        find_event(
            lambda act, el: act == CREATION and "Inlet Temp(1.0.32)" in (el.findtext(record_data) or "")
        ),
        within=5 * POLL_S,
        what="CIM_InstCreation",
    )
    if mode == "events":
        assert all(d.action == event_sink.EVENTS for d in sink.snapshot())
    a.sim("clear", "inlet_temp")
    sink.wait_for(find_event(is_crossing(False)), within=10 * POLL_S, what="deassertion")
    assert sink.errors == []


def test_a_power_cycle_through_invoke_yields_its_events(ev_agent, sinks):
    """CIM_ComputerSystem.RequestStateChange(10), a power cycle, is logged against the BMC's Host
    Power sensor (Power Unit, 09h) as the host going off and coming back: the sink gets both as
    CIM_AlertIndication (Power Off/Down asserted, then deasserted) and the SEL records as
    CIM_InstCreation."""
    a, sink = ev_agent, sinks(MODE_PUSH)
    subscribed(a, sink, MODE_PUSH)
    host = _host(a)
    keys = {"CreationClassName": "CIM_ComputerSystem", "Name": host["Name"]}
    assert _invoke(a, COMPUTER_SYSTEM, "RequestStateChange", keys, {"RequestedState": 10}) == 0

    def host_power(state):
        def pred(action, el):
            if action != ALERT:
                return False
            args = [m.text for m in el.findall("{%s}MessageArguments" % ALERT)]
            return args[:1] == ["Host Power"] and "Power off" in args[1] and args[2] == state

        return pred

    # The host goes off (Power Off/Down asserted), then comes back on (deasserted).
    _, alert = sink.wait_for(find_event(host_power("Asserted")), within=10 * POLL_S, what="power-off alert")
    sink.wait_for(find_event(host_power("Deasserted")), within=10 * POLL_S, what="power-on alert")
    sels = {s.get("Name"): s.text for s in alert.iter("{%s}Selector" % event_sink.W)}
    assert sels["DeviceID"].startswith("Host Power("), sels
    record_data = "{%s}SourceInstance/{%sCIM_LogRecord}CIM_LogRecord/{%sCIM_LogRecord}RecordData" % (
        CREATION,
        CIM,
        CIM,
    )
    sink.wait_for(
        find_event(lambda act, el: act == CREATION and "Host Power(" in (el.findtext(record_data) or "")),
        within=5 * POLL_S,
        what="CIM_InstCreation of the power record",
    )
    assert sink.errors == []


def test_heartbeats_when_idle(ev_agent, sinks):
    a, sink = ev_agent, sinks(MODE_EVENTS)
    subscribed(a, sink, MODE_EVENTS, delivery="<w:Heartbeats>PT1S</w:Heartbeats>")
    beats = sink.wait_for(
        lambda ds: [d for d in ds if d.action == event_sink.HEARTBEAT][2:],
        within=8,
        what="three heartbeats",
    )
    assert beats and all(d.ack_requested for d in beats)
    assert sink.errors == []


def test_unsubscribe_stops_delivery(ev_agent, sinks):
    a, sink = ev_agent, sinks(MODE_PUSH)
    ident = subscribed(a, sink, MODE_PUSH, delivery="<w:Heartbeats>PT1S</w:Heartbeats>")
    sink.wait_for(lambda ds: ds, within=5, what="a heartbeat")
    r = manage(a, "Unsubscribe", ident)
    assert r.status_code == 200, r.text
    n = len(sink.snapshot())
    time.sleep(3)
    # One may have been on the wire when the Unsubscribe arrived; none after.
    assert len(sink.snapshot()) <= n + 1
    assert gone(a, ident)
    assert sink.errors == []


def test_expiry_ends_delivery(ev_agent, sinks):
    a, sink = ev_agent, sinks(MODE_PUSH)
    ident = subscribed(a, sink, MODE_PUSH, delivery="<w:Heartbeats>PT1S</w:Heartbeats>", expires="PT3S")
    sink.wait_for(lambda ds: ds, within=5, what="a heartbeat")
    wait_gone(a, ident, within=5)
    n = len(sink.snapshot())
    time.sleep(2.5)
    assert len(sink.snapshot()) <= n + 1
    assert sink.errors == []


def test_delivery_refused_ends_it_at_once(ev_agent, sinks):
    a, sink = ev_agent, sinks(MODE_PUSH_WITH_ACK)
    sink.refuse = True
    ident = subscribed(
        a, sink, MODE_PUSH_WITH_ACK, end_to=True, delivery="<w:Heartbeats>PT1S</w:Heartbeats>"
    )
    deadline = time.monotonic() + 5
    while sink.refused == 0:
        assert time.monotonic() < deadline, "nothing was delivered to refuse"
        time.sleep(0.05)
    wait_gone(a, ident, within=1)
    time.sleep(2.5)
    # Refused once, then nothing: no retry, and no SubscriptionEnd (as WinRM does).
    assert sink.refused == 1 and sink.ends == [] and sink.deliveries == []
    assert sink.errors == []


def test_dead_sink_gets_subscription_end_after_the_retries(ev_agent, sinks):
    a, sink = ev_agent, sinks(MODE_PUSH)
    dead = f"http://127.0.0.1:{event_sink.free_port()}/sink"
    notify = f"<e:NotifyTo><a:Address>{dead}</a:Address></e:NotifyTo>"
    # Credentials for NotifyTo, which must not go to an EndTo at another origin.
    r = subscribe(
        a,
        sink,
        MODE_PUSH,
        end_to=True,
        notify=notify,
        delivery='<w:Heartbeats>PT1S</w:Heartbeats><w:ConnectionRetry Total="2">PT1S</w:ConnectionRetry>'
        f'<w:Auth Profile="{PROFILE}http/basic"/>',
        header=issued_tokens("collector", "for the notify-to only"),
    )
    assert r.status_code == 200, r.text
    response = ET.fromstring(r.text)
    ident = response.findtext(f".//{{{E}}}SubscriptionManager//{{{E}}}Identifier")
    # The manager the SubscribeResponse names: the request's wsa:To (wsmanlib sends
    # http://127.0.0.1/wsman, which is not the listener's own host:port).
    manager = response.findtext(f".//{{{E}}}SubscriptionManager/{{{A}}}Address")
    assert manager == "http://127.0.0.1/wsman", r.text
    started = time.monotonic()
    deadline = started + 15
    while not sink.ends:
        assert time.monotonic() < deadline, "no SubscriptionEnd"
        time.sleep(0.05)
    took = time.monotonic() - started
    # The first try at the first heartbeat (1 s), then retries after 1 s and 2 s.
    assert took >= 3.5, f"SubscriptionEnd after {took:.1f}s: the retries were not waited for"
    end = sink.ends[0]
    assert end.action == event_sink.SUBSCRIPTION_END
    assert end.body.findtext(f"{{{E}}}SubscriptionEnd/{{{E}}}Status") == DELIVERY_FAILURE
    assert end.body.findtext(f"{{{E}}}SubscriptionEnd/{{{E}}}SubscriptionManager//{{{E}}}Identifier") == ident
    # SubscriptionEnd names the same manager as the SubscribeResponse did, not the listener.
    assert end.body.findtext(f"{{{E}}}SubscriptionEnd/{{{E}}}SubscriptionManager/{{{A}}}Address") == manager
    assert end.authorization is None
    assert gone(a, ident)
    assert len(sink.ends) == 1 and sink.deliveries == []
    assert sink.errors == []


def test_sink_down_and_back_resumes_from_its_bookmark(ev_agent, sinks):
    a, sink = ev_agent, sinks(MODE_PUSH)
    retry = '<w:ConnectionRetry Total="1">PT1S</w:ConnectionRetry>'
    first = subscribed(a, sink, MODE_PUSH, delivery=retry, extra="<w:SendBookmarks/>")
    a.sim("set", "inlet_temp", "46.0")
    sink.wait_for(find_event(is_crossing(True)), within=10 * POLL_S, what="crossing")
    # Whatever else the crossing logged comes within a poll period or two.
    time.sleep(2 * POLL_S)
    before = sink.events()
    assert all(bm for _, _, bm in before), "a delivery without a bookmark"
    last = before[-1][2]

    sink.stop()
    a.sim("clear", "inlet_temp")
    # The subscription tries, retries once, and ends (no EndTo: silently).
    wait_gone(a, first, within=15)
    sink.start()
    subscribed(a, sink, MODE_PUSH, delivery=retry, extra=f"<w:SendBookmarks/><w:Bookmark>{last}</w:Bookmark>")
    sink.wait_for(find_event(is_crossing(False)), within=10, what="the missed deassertion")
    time.sleep(2 * POLL_S)
    after = sink.events()[len(before):]
    assert after
    # Every replayed record is past the bookmark, and nothing came twice.
    assert all(record_of(bm) > record_of(last) for _, _, bm in after), (last, [bm for _, _, bm in after])
    keys = [(act, bm, ET.tostring(el)) for act, el, bm in sink.events()]
    assert len(keys) == len(set(keys)), "an event was delivered twice"
    assert sink.errors == []


@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_sink_credentials(ev_agent, sinks, scheme):
    a = ev_agent
    user, password = "collector", "s3cret pass"
    sink = sinks(MODE_PUSH, auth=(scheme, user, password))

    def tokens(pw):
        return issued_tokens(user, pw)

    auth = f'<w:Heartbeats>PT1S</w:Heartbeats><w:Auth Profile="{PROFILE}http/{scheme}"/>'
    subscribed(a, sink, MODE_PUSH, delivery=auth, header=tokens(password))
    sink.wait_for(lambda ds: ds[1:], within=6, what="two authenticated heartbeats")
    # A wrong password is refused by the sink: nothing delivered, the agent keeps trying.
    wrong = sinks(MODE_PUSH, auth=(scheme, user, password))
    subscribed(a, wrong, MODE_PUSH, delivery=auth, header=tokens("not it"))
    # Digest answers a challenge first, so each try is two 401s; Basic's is one.
    need = 2 if scheme == "digest" else 1
    deadline = time.monotonic() + 6
    while wrong.unauthorized < need:
        assert time.monotonic() < deadline, "the agent never tried the sink"
        time.sleep(0.05)
    assert wrong.deliveries == []
    # No credential in the agent's log.
    a.stop()
    err = a.proc.stderr.read().decode(errors="replace")
    assert password not in err and "not it" not in err
    assert sink.errors == [] and wrong.errors == []


def _heartbeats_then_unsubscribe(a, sink, n, delivery="", header="", midway=None):
    """Subscribes `sink` to heartbeats every second, waits for `n` deliveries (calling
    `midway()` after the second), unsubscribes, and waits for the agent to close its kept
    connection. Returns how many deliveries the sink took."""
    ident = subscribed(a, sink, MODE_PUSH, delivery="<w:Heartbeats>PT1S</w:Heartbeats>" + delivery, header=header)
    if midway is not None:
        sink.wait_for(lambda ds: ds[1:], within=6, what="two heartbeats")
        midway()
    sink.wait_for(lambda ds: ds[n - 1:], within=n + 6, what=f"{n} heartbeats")
    assert manage(a, "Unsubscribe", ident).status_code == 200
    # The kept connection is closed with its subscription (a delivery on the wire at the
    # Unsubscribe finishes first).
    deadline = time.monotonic() + 5
    while sink.open_connections():
        assert time.monotonic() < deadline, "the agent kept its connection after the Unsubscribe"
        time.sleep(0.05)
    assert sink.errors == []
    return len(sink.snapshot())


def test_deliveries_share_one_connection_and_one_digest_challenge(ev_agent, sinks):
    """N deliveries to a Digest sink: 1 TCP connection and N+1 HTTP exchanges (the first
    delivery's challenge is answered, then kept with nc counting up)."""
    user, password = "collector", "s3cret pass"
    sink = sinks(MODE_PUSH, auth=("digest", user, password))
    auth = f'<w:Auth Profile="{PROFILE}http/digest"/>'
    n = _heartbeats_then_unsubscribe(ev_agent, sink, 5, auth, issued_tokens(user, password))
    assert (sink.connections, sink.requests, sink.unauthorized) == (1, n + 1, 1), (
        n, sink.connections, sink.requests, sink.unauthorized)
    ncs = [re.search(r"nc=([0-9a-f]{8})", d.authorization).group(1) for d in sink.snapshot()]
    assert ncs == [f"{i:08x}" for i in range(1, n + 1)], ncs


def test_a_stale_nonce_is_answered_by_one_reauthentication(ev_agent, sinks):
    user, password = "collector", "s3cret pass"
    # Each nonce serves two requests, then the sink says stale=true.
    sink = sinks(MODE_PUSH, auth=("digest", user, password), nonce_uses=2)
    auth = f'<w:Auth Profile="{PROFILE}http/digest"/>'
    n = _heartbeats_then_unsubscribe(ev_agent, sink, 6, auth, issued_tokens(user, password))
    assert sink.stale >= 2, sink.stale
    # Every 401 after the first is a stale one, answered once: nothing failed or was retried.
    assert sink.unauthorized == sink.stale + 1
    assert (sink.connections, sink.requests) == (1, n + sink.unauthorized), (n, sink.connections, sink.requests)


def test_a_sink_that_closes_gets_a_new_connection(ev_agent, sinks):
    """A sink answering `Connection: close` gets one connection per delivery; one that drops
    the kept connection while idle gets a new one for the next delivery, which is not lost."""
    closing = sinks(MODE_PUSH, close=True)
    n = _heartbeats_then_unsubscribe(ev_agent, closing, 3)
    assert closing.connections == closing.requests == n, (n, closing.connections, closing.requests)
    dropping = sinks(MODE_PUSH)
    n = _heartbeats_then_unsubscribe(ev_agent, dropping, 5, midway=dropping.drop_connections)
    assert dropping.connections == 2 and dropping.requests == n, (n, dropping.connections, dropping.requests)
    # A heartbeat a second, none missed around the drop.
    gaps = [b.when - a.when for a, b in zip(dropping.snapshot(), dropping.snapshot()[1:])]
    assert max(gaps) < 1.9, gaps


def test_an_idle_kept_connection_is_closed_and_the_next_delivery_opens_one(ev_agent, sinks):
    """The agent closes a kept connection to the sink after 30 s with nothing to send
    (firmware/linux/src/push.rs, KEEP_ALIVE_IDLE) instead of holding a socket per quiet
    subscription; the next event is delivered on a new connection, not lost."""
    a, sink = ev_agent, sinks(MODE_PUSH)
    ident = subscribed(a, sink, MODE_PUSH)
    a.sim("set", "inlet_temp", "46.0")
    sink.wait_for(find_event(is_crossing(True)), within=10 * POLL_S, what="crossing")
    assert sink.connections == 1, sink.connections
    delivered = time.monotonic()
    # Let the last event of the crossing (its CIM_InstCreation) land before timing the idle.
    time.sleep(2 * POLL_S)
    last = sink.snapshot()[-1].when
    deadline = delivered + 45
    while sink.open_connections():
        assert time.monotonic() < deadline, "the idle connection was never closed"
        time.sleep(0.1)
    idle = time.monotonic() - last
    assert 29 <= idle <= 35, f"closed after {idle:.1f} s idle"
    assert sink.connections == 1, sink.connections
    a.sim("clear", "inlet_temp")
    sink.wait_for(find_event(is_crossing(False)), within=10 * POLL_S, what="deassertion")
    assert sink.connections == 2, sink.connections
    assert manage(a, "Unsubscribe", ident).status_code == 200
    assert sink.errors == []


def _ca_and_leaf(tmp_path, name):
    """A CA and a P-256 leaf for 127.0.0.1 it signed, made with the openssl CLI: (CA PEM,
    (leaf PEM, leaf key))."""
    d = tmp_path / name
    d.mkdir()

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30, cwd=d)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-subj", f"/CN={name} test CA", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", *ec, "-subj", "/CN=127.0.0.1", "-keyout", "leaf.key", "-out", "leaf.csr")
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext", "-out", "leaf.pem")
    return d / "ca.pem", (d / "leaf.pem", d / "leaf.key")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_https_sink_is_verified_against_event_ca(tmp_path, sinks):
    ca, trusted = _ca_and_leaf(tmp_path, "sink")
    _, other = _ca_and_leaf(tmp_path, "other")
    a = Agent(
        args=["--state-dir", str(tmp_path / "state"), "--event-ca", str(ca)],
        control=tmp_path / "ctl.sock",
    )
    try:
        good = sinks(MODE_PUSH_WITH_ACK, tls=trusted)
        subscribed(a, good, MODE_PUSH_WITH_ACK, delivery="<w:Heartbeats>PT1S</w:Heartbeats>")
        good.wait_for(lambda ds: ds[1:], within=6, what="two heartbeats over HTTPS")
        # A sink whose certificate the agent does not trust gets nothing.
        bad = sinks(MODE_PUSH_WITH_ACK, tls=other)
        subscribed(a, bad, MODE_PUSH_WITH_ACK, delivery="<w:Heartbeats>PT1S</w:Heartbeats>")
        time.sleep(3)
        assert bad.deliveries == []
        assert good.errors == [] and bad.errors == []
    finally:
        a.stop()


def test_restart_keeps_the_subscription_and_its_delivery(tmp_path, sinks):
    state = tmp_path / "state"
    sink = sinks(MODE_PUSH)
    retry = '<w:ConnectionRetry Total="20">PT1S</w:ConnectionRetry>'
    a = Agent(args=["--state-dir", str(state)], control=tmp_path / "ctl.sock")
    try:
        ident = subscribed(a, sink, MODE_PUSH, delivery=retry, extra="<w:SendBookmarks/>")
        a.sim("set", "inlet_temp", "46.0")
        sink.wait_for(find_event(is_crossing(True)), within=10 * POLL_S, what="crossing")
        time.sleep(2 * POLL_S)
        # The sink goes down; the deassertion is logged but not delivered before the restart.
        sink.stop()
        a.sim("clear", "inlet_temp")
        time.sleep(3 * POLL_S)
    finally:
        a.stop()
    before = sink.events()
    last = before[-1][2]
    sink.start()

    b = Agent(args=["--state-dir", str(state)], control=tmp_path / "ctl2.sock")
    try:
        # The same subscription, for the same user.
        r = manage(b, "GetStatus", ident)
        assert r.status_code == 200, r.text
        # What the SEL logged after its bookmark is delivered from the SEL.
        sink.wait_for(
            lambda ds: find_event(is_crossing(False))(ds[len(before):]),
            within=10,
            what="the deassertion logged before the restart",
        )
        # And a new crossing (the simulated sensor starts again from its base).
        b.sim("set", "inlet_temp", "46.0")
        sink.wait_for(
            lambda ds: find_event(is_crossing(True))(ds[len(before):]),
            within=10 * POLL_S,
            what="a crossing after the restart",
        )
        after = sink.events()[len(before):]
        assert all(record_of(bm) > record_of(last) for _, _, bm in after)
        keys = [(act, bm, ET.tostring(el)) for act, el, bm in sink.events()]
        assert len(keys) == len(set(keys)), "an event was delivered twice"
        # Unsubscribed, it is gone from the store too: the next start does not know it.
        assert manage(b, "Unsubscribe", ident).status_code == 200
        time.sleep(0.5)
    finally:
        b.stop()
    c = Agent(args=["--state-dir", str(state)], control=tmp_path / "ctl3.sock")
    try:
        assert gone(c, ident)
    finally:
        c.stop()
    assert sink.errors == []


def _seconds(duration):
    """An xs:duration of hours, minutes and seconds (what GetStatus answers) in seconds."""
    m = re.fullmatch(r"P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?", duration or "")
    assert m, duration
    h, mi, sec = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(sec or 0)


def test_restart_keeps_the_absolute_expiry(tmp_path, sinks):
    """A restarted agent gives a subscription the expiry it was granted, counted from its
    Subscribe: the down time counts, and one that expired while the agent was down is gone."""
    state = tmp_path / "state"
    sink = sinks(MODE_PUSH)
    a = Agent(args=["--state-dir", str(state)], control=tmp_path / "ctl.sock")
    try:
        subscribed_at = time.monotonic()
        long_id = subscribed(a, sink, MODE_PUSH, expires="PT60S")
        short_id = subscribed(a, sink, MODE_PUSH, expires="PT6S")
        # Both kept (the store is written by the log task, right after each request).
        time.sleep(1)
    finally:
        a.stop()
    # Down past the short one's expiry.
    time.sleep(max(0.0, 8 - (time.monotonic() - subscribed_at)))
    b = Agent(args=["--state-dir", str(state)], control=tmp_path / "ctl2.sock")
    try:
        assert gone(b, short_id), "a subscription that expired while the agent was down came back"
        r = manage(b, "GetStatus", long_id)
        assert r.status_code == 200, r.text
        left = _seconds(ET.fromstring(r.text).findtext(f".//{{{E}}}Expires"))
        elapsed = time.monotonic() - subscribed_at
        # Counted from the Subscribe (1 s of slack for the rounding of the answer).
        assert left <= 60 - elapsed + 1, (left, elapsed)
        assert left > 60 - elapsed - 5, (left, elapsed)
    finally:
        b.stop()
    assert sink.errors == []


# ---- DSP1054: the subscriptions as CIM instances in root/interop ---------------------------

FILTER = "CIM_IndicationFilter"
LISTENER = "CIM_ListenerDestinationWSManagement"
SUBSCRIPTION = "CIM_IndicationSubscription"
WQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"


def _interop_sel(keys=None):
    from pypsrp.wsman import SelectorSet

    sel = SelectorSet()
    sel.add_option("__cimnamespace", "root/interop")
    for k, v in (keys or {}).items():
        sel.add_option(k, v)
    return sel


def _interop_items(wsman, cls):
    """Every instance of `cls` in root/interop, by pypsrp: [(props, raw XML)]."""
    from wsmanlib import enumerate_all, props as props_of

    # At most 20 Pulls after the Enumerate.
    items, _ = enumerate_all(wsman, CIM + cls, optimize=True, max_elements=50, max_round_trips=21,
                             selector_set=_interop_sel())
    return [(props_of(i), ET.tostring(i, encoding="unicode")) for i in items]


def _ref_selectors(raw, prop):
    """The selectors of reference property `prop` in an instance's XML."""
    el = ET.fromstring(raw).find("{%s}%s" % (CIM + SUBSCRIPTION, prop))
    w = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
    return {s.get("Name"): s.text for s in el.iter("{%s}Selector" % w)}


def test_subscriptions_are_dsp1054_instances_without_their_secrets(ev_agent, sinks):
    """Subscribe (PushWithAck with a WQL filter and Digest sink credentials, and a Pull without a
    filter), then a console walks root/interop with pypsrp: one CIM_IndicationFilter,
    CIM_ListenerDestinationWSManagement and CIM_IndicationSubscription per subscription, with
    the Subscribe's values; Get by their keys; Put and Delete refused; the Indications profile
    registered; no sink password anywhere; Unsubscribe removes them."""
    from wsmanlib import pypsrp

    a = ev_agent
    user, password = "collector", "Sink-Pa55-never-shown"
    sink = sinks(MODE_PUSH_WITH_ACK, auth=("digest", user, password))
    query = "SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity &gt;= 5"
    delivery = f'<w:Auth Profile="{PROFILE}http/digest"/>'
    extra = f'<w:Filter Dialect="{WQL}">{query}</w:Filter>'
    push_id = subscribed(a, sink, MODE_PUSH_WITH_ACK, delivery=delivery, extra=extra, header=issued_tokens(user, password))
    pull_body_xml = (
        f'<e:Subscribe xmlns:e="{E}"><e:Delivery Mode="http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"/>'
        f"<e:Expires>PT300S</e:Expires></e:Subscribe>"
    )
    text, _ = envelope(E + "/Subscribe", ALL_CLASSES, pull_body_xml)
    r = post(a, text)
    assert r.status_code == 200, r.text
    pull_id = ET.fromstring(r.text).findtext(f".//{{{E}}}SubscriptionManager//{{{E}}}Identifier")

    wsman = pypsrp(a)
    filters = {p["Name"]: (p, raw) for p, raw in _interop_items(wsman, FILTER)}
    listeners = {p["Name"]: (p, raw) for p, raw in _interop_items(wsman, LISTENER)}
    subs = _interop_items(wsman, SUBSCRIPTION)
    assert set(filters) == {f"wsbmc:filter:{push_id}", f"wsbmc:filter:{pull_id}"}, filters
    assert set(listeners) == {f"wsbmc:listener:{push_id}", f"wsbmc:listener:{pull_id}"}, listeners
    assert len(subs) == 2

    f_push = filters[f"wsbmc:filter:{push_id}"][0]
    assert f_push["Query"] == "SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity >= 5", f_push
    assert f_push["QueryLanguage"] == "WQL"
    assert filters[f"wsbmc:filter:{pull_id}"][0]["Query"] == "SELECT * FROM CIM_Indication"
    l_push = listeners[f"wsbmc:listener:{push_id}"][0]
    assert l_push["Destination"] == sink.url(), l_push
    assert l_push["DeliveryMode"] == "3" and l_push["Protocol"] == "4", l_push
    assert l_push["DeliveryAuth"] == PROFILE + "http/digest", l_push
    l_pull = listeners[f"wsbmc:listener:{pull_id}"][0]
    assert l_pull["DeliveryMode"] == "5" and l_pull["Destination"] is None, l_pull

    by_filter = {_ref_selectors(raw, "Filter")["Name"]: (p, raw) for p, raw in subs}
    p_sub, raw_sub = by_filter[f"wsbmc:filter:{push_id}"]
    assert _ref_selectors(raw_sub, "Handler")["Name"] == f"wsbmc:listener:{push_id}"
    assert p_sub["SubscriptionState"] == "2", p_sub
    assert p_sub["SubscriptionDuration"] == "600", p_sub
    assert 0 < int(p_sub["SubscriptionTimeRemaining"]) <= 600, p_sub
    assert by_filter[f"wsbmc:filter:{pull_id}"][0]["SubscriptionDuration"] == "300"

    # Get by the keys an enumeration showed; the password is in no reply.
    seen = [raw for _, raw in filters.values()] + [raw for _, raw in listeners.values()]
    seen += [raw for _, raw in subs]
    for cls, props in ((FILTER, f_push), (LISTENER, l_push)):
        keys = {k: props[k] for k in ("CreationClassName", "Name", "SystemCreationClassName", "SystemName")}
        body = wsman.get(CIM + cls, selector_set=_interop_sel(keys))
        seen.append(ET.tostring(body, encoding="unicode"))
        from wsmanlib import props as props_of

        assert props_of(body[0]) == props, (cls, props_of(body[0]))
        sel_xml = "<w:SelectorSet>%s</w:SelectorSet>" % "".join(
            f'<w:Selector Name="{k}">{v}</w:Selector>'
            for k, v in {"__cimnamespace": "root/interop", **keys}.items()
        )
        # Its ends are not deletable on their own (Delete of the subscription ends it), nor Put.
        text, _ = envelope(TRANSFER + "Delete", CIM + cls, "", selectors_xml=sel_xml)
        r = post(a, text)
        assert r.status_code == 500 and fault_of(r.text)[1].endswith("ActionNotSupported"), r.text
        current = (filters if cls == FILTER else listeners)[keys["Name"]][1]
        text, _ = envelope(TRANSFER + "Put", CIM + cls, current, selectors_xml=sel_xml)
        r = post(a, text)
        assert r.status_code == 500 and fault_of(r.text)[1].endswith("ActionNotSupported"), r.text
    joined = "\n".join(seen)
    assert password not in joined and user not in joined

    # The profile, registered in root/interop.
    profiles = [p for p, _ in _interop_items(wsman, "CIM_RegisteredProfile")]
    ind = [p for p in profiles if p["RegisteredName"] == "Indications"]
    assert len(ind) == 1 and ind[0]["RegisteredVersion"] == "1.2.2", profiles

    # Unsubscribe removes the subscription's three instances.
    assert manage(a, "Unsubscribe", push_id).status_code == 200
    names = [p["Name"] for p, _ in _interop_items(wsman, FILTER)]
    assert names == [f"wsbmc:filter:{pull_id}"], names
    assert [p["Name"] for p, _ in _interop_items(wsman, LISTENER)] == [f"wsbmc:listener:{pull_id}"]
    assert len(_interop_items(wsman, SUBSCRIPTION)) == 1
    assert sink.errors == []


class _EprSelectorSet:
    """The selector set of a CIM_IndicationSubscription for pypsrp: its keys are references,
    which pypsrp's SelectorSet (text values only) cannot carry, so each is the EPR the instance's
    own Filter/Handler property holds, as a CIM console builds it."""

    def __init__(self, raw):
        self.raw = raw

    def pack(self):
        w = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
        sel = ET.Element("{%s}SelectorSet" % w)
        ET.SubElement(sel, "{%s}Selector" % w, Name="__cimnamespace").text = "root/interop"
        inst = ET.fromstring(self.raw)
        for key in ("Filter", "Handler"):
            ref = inst.find("{%s}%s" % (CIM + SUBSCRIPTION, key))
            epr = ET.SubElement(ET.SubElement(sel, "{%s}Selector" % w, Name=key), "{%s}EndpointReference" % A)
            epr.extend(list(ref))
        return sel


def test_deleting_the_subscription_instance_unsubscribes(tmp_path, sinks):
    """WS-Transfer Delete of a CIM_IndicationSubscription (pypsrp) ends the subscription as an
    Unsubscribe does: GetStatus and Renew then answer as after an Unsubscribe, delivery stops, no
    SubscriptionEnd is sent, and its filter and listener go too. A ReadOnly user who does not own
    it gets the fault its Get gets (the instance is not there for it), and nothing ends."""
    from pypsrp.exceptions import WSManFaultError
    from test_accounts import VIEWER, VIEWER_PW, as_user, user_cmd
    from wsmanlib import pypsrp

    state = tmp_path / "state"
    r = user_cmd(state, "add", VIEWER, "--role", "ReadOnly", password=VIEWER_PW)
    assert r.returncode == 0, r.stderr
    a = Agent(args=["--state-dir", str(state)], control=tmp_path / "ctl.sock")
    try:
        sink = sinks(MODE_PUSH)
        ident = subscribed(a, sink, MODE_PUSH, end_to=True, delivery="<w:Heartbeats>PT1S</w:Heartbeats>")
        # A second one, unsubscribed the WS-Eventing way, for the answers to compare with.
        other = subscribed(a, sinks(MODE_PUSH), MODE_PUSH)
        assert manage(a, "Unsubscribe", other).status_code == 200
        after_unsubscribe = {v: fault_of(manage(a, v, other).text)[:3] for v in ("GetStatus", "Renew")}
        sink.wait_for(lambda ds: ds, within=5, what="a heartbeat")

        admin = pypsrp(a)
        (raw,) = [raw for _, raw in _interop_items(admin, SUBSCRIPTION)]
        sel = _EprSelectorSet(raw)
        # The Administrator's Get finds it by these selectors.
        assert admin.get(CIM + SUBSCRIPTION, selector_set=sel).find(".//{%s}Filter" % (CIM + SUBSCRIPTION)) is not None

        viewer = pypsrp(as_user(a, VIEWER, VIEWER_PW))
        refusals = []
        for call in (viewer.get, viewer.delete):
            with pytest.raises(WSManFaultError) as e:
                call(CIM + SUBSCRIPTION, selector_set=sel)
            refusals.append((e.value.code, e.value.reason))
        assert refusals[0] == refusals[1], refusals
        assert "no CIM_IndicationSubscription instance has these keys" in refusals[0][1], refusals
        assert manage(a, "GetStatus", ident).status_code == 200

        admin.delete(CIM + SUBSCRIPTION, selector_set=sel)
        for verb, expected in after_unsubscribe.items():
            r = manage(a, verb, ident)
            assert r.status_code == 500 and fault_of(r.text)[:3] == expected, (verb, r.text)
        assert after_unsubscribe["Renew"][1].endswith("UnableToRenew"), after_unsubscribe
        n = len(sink.snapshot())
        time.sleep(3)
        # One may have been on the wire when the Delete arrived; none after.
        assert len(sink.snapshot()) <= n + 1
        assert sink.ends == []
        for cls in (FILTER, LISTENER, SUBSCRIPTION):
            assert _interop_items(admin, cls) == [], cls
        # Deleted once: a second Delete finds no instance.
        with pytest.raises(WSManFaultError) as e:
            admin.delete(CIM + SUBSCRIPTION, selector_set=sel)
        assert "no CIM_IndicationSubscription instance" in e.value.reason, e.value
        assert sink.errors == []
    finally:
        a.stop()
