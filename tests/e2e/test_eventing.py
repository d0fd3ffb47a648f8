"""WS-Eventing in Pull mode against the real `wsbmc` binary on the simulated board (issue 16):
raw SOAP over HTTP, as a console without an event sink subscribes. A threshold crossing driven
through the sim control channel reaches a Pull as CIM_AlertIndication within two poll periods,
each SEL record as CIM_InstCreation; a WQL filter selects; the earliest bookmark replays the SEL;
Renew, GetStatus and Unsubscribe; the quota fault past the cap; an unknown mode is refused (push
delivery itself is test_event_delivery.py's)."""

import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from conftest import Agent
from wsmanlib import envelope, fault_of, post

E = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
N = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
CIM = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
ALERT = CIM + "CIM_AlertIndication"
CREATION = CIM + "CIM_InstCreation"
ALL_CLASSES = "http://schemas.dmtf.org/wbem/wscim/1/*"
WQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
PULL_MODE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"
EARLIEST = "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest"
# Inlet Temp has the board's default poll period.
POLL_S = 1.0
# The eventing table's default cap (wsbmc-eventing Config::default).
MAX_SUBSCRIPTIONS = 8


def _subscribe(agent, query=None, mode=PULL_MODE, bookmark=None, expires="PT600S"):
    filt = f'<w:Filter Dialect="{WQL}">{query}</w:Filter>' if query else ""
    mark = f"<w:Bookmark>{bookmark}</w:Bookmark>" if bookmark else ""
    # A push mode names its sink (never contacted here).
    notify = (
        ""
        if mode == PULL_MODE
        else '<e:NotifyTo><a:Address xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">'
        "http://127.0.0.1:9/sink</a:Address></e:NotifyTo>"
    )
    body = (
        f'<e:Subscribe xmlns:e="{E}"><e:Delivery Mode="{mode}">{notify}</e:Delivery>'
        f"<e:Expires>{expires}</e:Expires>{filt}{mark}</e:Subscribe>"
    )
    text, _ = envelope(E + "/Subscribe", ALL_CLASSES, body)
    return post(agent, text)


def _subscribed(agent, **kw):
    r = _subscribe(agent, **kw)
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.text)
    ident = root.find(f".//{{{E}}}Identifier").text
    ctx = root.find(f".//{{{N}}}EnumerationContext").text
    assert ctx == ident
    return ident


def _manage(agent, verb, ident, body):
    hdr = f'<e:Identifier xmlns:e="{E}">{ident}</e:Identifier>' if ident else ""
    text, _ = envelope(E + "/" + verb, ALL_CLASSES, body, extra_headers=hdr)
    return post(agent, text)


def _pull(agent, ctx):
    """The events one Pull hands over: (action, element) pairs; [] on TimedOut."""
    body = (
        f'<n:Pull xmlns:n="{N}"><n:EnumerationContext>{ctx}</n:EnumerationContext>'
        f"<n:MaxElements>50</n:MaxElements></n:Pull>"
    )
    text, _ = envelope(N + "/Pull", ALL_CLASSES, body)
    r = post(agent, text)
    if r.status_code != 200:
        code, sub, _, _ = fault_of(r.text)
        assert sub.endswith("TimedOut"), r.text
        return []
    root = ET.fromstring(r.text)
    items = root.find(f".//{{{N}}}Items")
    return [(ev.get("Action"), list(ev)[0]) for ev in items.findall(f"{{{W}}}Event")]


def _prop(el, name):
    return el.findtext("{%s}%s" % (el.tag.split("}")[0][1:], name))


def _pull_until(agent, ctx, pred, within):
    """Pulls every 100 ms until `pred` holds for an event; returns (elapsed s, event, all)."""
    start = time.monotonic()
    seen = []
    while time.monotonic() - start < within:
        seen += _pull(agent, ctx)
        hit = next((e for e in seen if pred(e)), None)
        if hit is not None:
            return time.monotonic() - start, hit, seen
        time.sleep(0.1)
    raise AssertionError(f"no matching event within {within}s; saw {[a for a, _ in seen]}")


@pytest.fixture
def ev_agent(tmp_path):
    a = Agent(args=["--state-dir", str(tmp_path / "state")], control=tmp_path / "ctl.sock")
    try:
        yield a
    finally:
        a.stop()


def _is_crossing(asserted, offset_text):
    def pred(e):
        action, el = e
        if action != ALERT:
            return False
        args = [m.text for m in el.findall("{%s}MessageArguments" % ALERT)]
        return args[:1] == ["Inlet Temp"] and offset_text in args[1] and args[2] == (
            "Asserted" if asserted else "Deasserted"
        )

    return pred


def test_pull_receives_the_threshold_crossing_and_the_sel_record(ev_agent):
    a = ev_agent
    everything = _subscribed(a)
    severe = _subscribed(
        a, query="SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity >= 5"
    )
    # Whatever the start logged before the subscriptions is not theirs: drain it.
    _pull(a, everything)
    _pull(a, severe)

    sent = time.monotonic()
    a.sim("set", "inlet_temp", "46.0")
    took, (_, alert), seen = _pull_until(
        a, everything, _is_crossing(True, "Upper Critical"), within=10 * POLL_S
    )
    latency = time.monotonic() - sent
    print(f"threshold crossing to Pull: {latency:.3f} s")
    assert latency <= 2 * POLL_S, f"{latency:.2f}s from the crossing to the Pull"
    assert _prop(alert, "PerceivedSeverity") == "6"
    assert _prop(alert, "AlertType") == "5"
    assert _prop(alert, "OwningEntity") == "wsbmc"
    assert _prop(alert, "MessageID").startswith("IPMI")
    assert "Inlet Temp" in _prop(alert, "Message")
    assert alert.find("{%s}IndicationTime/{http://schemas.dmtf.org/wbem/wscim/1/common}Datetime" % ALERT) is not None
    sels = {
        s.get("Name"): s.text
        for s in alert.iter("{%s}Selector" % W)
    }
    assert sels["DeviceID"] == "Inlet Temp(1.0.32)"
    assert sels["CreationClassName"] == "CIM_NumericSensor"
    # Every SEL record raised a CIM_InstCreation with the CIM_LogRecord inside.
    creations = [el for act, el in seen if act == CREATION]
    assert creations, [act for act, _ in seen]
    rec = creations[0].find("{%s}SourceInstance/{%sCIM_LogRecord}CIM_LogRecord" % (CREATION, CIM))
    assert rec is not None
    assert "Inlet Temp(1.0.32)" in rec.findtext("{%sCIM_LogRecord}RecordData" % CIM)

    # The filtered subscription got the critical alert and nothing of another class or lower
    # severity.
    _, _, filtered = _pull_until(
        a, severe, _is_crossing(True, "Upper Critical"), within=5 * POLL_S
    )
    assert all(act == ALERT for act, _ in filtered)
    assert all(int(_prop(el, "PerceivedSeverity")) >= 5 for _, el in filtered)

    # The deassertion (information) reaches the unfiltered one only.
    a.sim("clear", "inlet_temp")
    _pull_until(a, everything, _is_crossing(False, "Upper Critical"), within=10 * POLL_S)
    time.sleep(2 * POLL_S)
    assert all(int(_prop(el, "PerceivedSeverity")) >= 5 for _, el in _pull(a, severe))


def test_earliest_bookmark_replays_the_sel(ev_agent):
    a = ev_agent
    # The BMC logs its own start; once it is in the SEL, a replay hands it over.
    deadline = time.monotonic() + 15
    while True:
        ident = _subscribed(a, bookmark=EARLIEST)
        got = _pull(a, ident)
        if any(act == CREATION for act, _ in got) or time.monotonic() > deadline:
            break
        _manage(a, "Unsubscribe", ident, f'<e:Unsubscribe xmlns:e="{E}"/>')
        time.sleep(0.5)
    assert any(act == CREATION for act, _ in got), got
    # A bookmark naming a record the SEL never held: InvalidBookmark.
    r = _subscribe(a, bookmark="sel:65000")
    assert r.status_code == 500
    _, sub, detail, _ = fault_of(r.text)
    assert sub.endswith("InvalidBookmark") and detail.endswith("/Expired"), r.text


def test_renew_get_status_unsubscribe(ev_agent):
    a = ev_agent
    ident = _subscribed(a, expires="PT60S")
    r = _manage(a, "Renew", ident, f'<e:Renew xmlns:e="{E}"><e:Expires>PT1200S</e:Expires></e:Renew>')
    assert r.status_code == 200, r.text
    assert ET.fromstring(r.text).findtext(f".//{{{E}}}Expires") == "PT1200.000S"
    r = _manage(a, "GetStatus", ident, f'<e:GetStatus xmlns:e="{E}"/>')
    assert r.status_code == 200, r.text
    left = ET.fromstring(r.text).findtext(f".//{{{E}}}Expires")
    assert left.startswith("PT11") or left.startswith("PT12"), left
    r = _manage(a, "Unsubscribe", ident, f'<e:Unsubscribe xmlns:e="{E}"/>')
    assert r.status_code == 200, r.text
    # Gone: GetStatus is DestinationUnreachable, Renew UnableToRenew, and its context is no
    # context at all.
    r = _manage(a, "GetStatus", ident, f'<e:GetStatus xmlns:e="{E}"/>')
    assert fault_of(r.text)[1].endswith("DestinationUnreachable"), r.text
    r = _manage(a, "Renew", ident, f'<e:Renew xmlns:e="{E}"/>')
    assert fault_of(r.text)[1].endswith("UnableToRenew"), r.text
    body = (
        f'<n:Pull xmlns:n="{N}"><n:EnumerationContext>{ident}</n:EnumerationContext></n:Pull>'
    )
    r = post(a, envelope(N + "/Pull", ALL_CLASSES, body)[0])
    assert fault_of(r.text)[1].endswith("InvalidEnumerationContext"), r.text


def test_quota_fault_past_the_cap_and_unknown_mode_refused(ev_agent):
    a = ev_agent
    for _ in range(MAX_SUBSCRIPTIONS):
        _subscribed(a)
    r = _subscribe(a)
    assert r.status_code == 500
    assert fault_of(r.text)[1].endswith("QuotaLimit"), r.text
    # A mode no WS-Management source delivers (Push under the DMTF prefix is not one).
    r = _subscribe(a, mode="http://schemas.dmtf.org/wbem/wsman/1/wsman/Push")
    assert r.status_code == 500
    assert fault_of(r.text)[1].endswith("DeliveryModeRequestedUnavailable"), r.text
