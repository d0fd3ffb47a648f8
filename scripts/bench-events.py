"""Push delivery figures for BENCHMARKS.md (issue 16): latency from a threshold crossing to its
delivery at an event sink, per mode, and the agent's memory per subscription.

Starts the release binary on the simulated board (127.0.0.1, free ports, stopped by PID), one
event sink per mode (tests/e2e/event_sink.py) and one subscription each (Push, PushWithAck,
Events with MaxTime PT0.1S, and "Push+Digest": Push to a sink that demands HTTP Digest, the
credentials given in the Subscribe), then drives N crossings through `wsbmc sim set`/`clear`, round
robin over the board's always-powered temperature sensors (the per-sensor rate limit allows 4
events of a kind a minute). A sample is the time from just before `wsbmc sim set` (or `clear`)
to the sink receiving that sensor's CIM_AlertIndication: it includes the sensor's poll period
(1 s on this board), so it spreads over about one period. A Pull subscription polled every
10 ms beside them sees the event when the agent queues it; "queued_to_sink" is the sink's
arrival time minus that (the delivery task's own part, within the 10 ms of the Pull loop).

Per sink it also reports the TCP connections it accepted, the HTTP requests it answered and
its 401s: with keep-alive and the Digest nonce kept, N deliveries take 1 connection and, with
Digest, N+1 requests.

Memory: VmRSS of a fresh agent, then with 8 Pull subscriptions (the table's cap) idle, then
with their queues filled by crossings nobody pulls (32 events each at most).

argv: [N crossings, default 40]. Prints one JSON object. Not a test: nothing is asserted.
"""

import json
import os
import pathlib
import secrets
import select
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import event_sink  # noqa: E402
from event_sink import EventSink, MODE_EVENTS, MODE_PUSH, MODE_PUSH_WITH_ACK  # noqa: E402

import requests  # noqa: E402
from wsmanlib import stop_process  # noqa: E402

BIN = pathlib.Path(os.environ.get("WSBMC_BIN", ROOT / "target" / "release" / "wsbmc"))
BOARD = ROOT / "boards" / "sim" / "board.toml"
E = event_sink.E
ALL_CLASSES = "http://schemas.dmtf.org/wbem/wscim/1/*"
ALERT = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication"
PULL = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull"


class Agent:
    def __init__(self, tmp):
        self.user, self.password = "admin", secrets.token_urlsafe(12)
        self.control = pathlib.Path(tmp) / "ctl.sock"
        pw_file = pathlib.Path(tmp) / "agent.pw"  # the agent's --password-file, never argv
        pw_file.parent.mkdir(parents=True, exist_ok=True)
        pw_file.touch(mode=0o600)
        pw_file.write_text(self.password + "\n")
        self.proc = subprocess.Popen(
            [str(BIN), "--listen", "127.0.0.1:0", "--no-https", "--board", str(BOARD),
             "--control", str(self.control), "--state-dir", str(pathlib.Path(tmp) / "state"),
             "--user", self.user, "--password-file", str(pw_file)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("WSBMC_")}, "RUST_LOG": "error"},
        )
        deadline, buf = time.monotonic() + 30, b""
        while b"listening on " not in buf or not buf.endswith(b"\n"):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise SystemExit("the agent did not start")
            if select.select([self.proc.stdout], [], [], 0.2)[0]:
                buf += os.read(self.proc.stdout.fileno(), 4096)
        self.url = buf.decode().split()[2]

    def stop(self):
        stop_process(self.proc)

    def rss_kib(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def sim(self, *words):
        subprocess.run([str(BIN), "sim", "--control", str(self.control), *map(str, words)],
                       check=True, capture_output=True, timeout=15)

    def post(self, env):
        return requests.post(self.url, data=env.encode(), auth=(self.user, self.password), timeout=10,
                             headers={"Content-Type": "application/soap+xml;charset=UTF-8"})

    def pull(self, ctx):
        """The (action, element) items one Pull hands over ([] on TimedOut)."""
        n = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
        env = (
            f'<s:Envelope xmlns:s="{event_sink.S}" xmlns:a="{event_sink.A}" xmlns:w="{event_sink.W}">'
            f"<s:Header><a:To>{self.url}</a:To><w:ResourceURI>{ALL_CLASSES}</w:ResourceURI>"
            f"<a:ReplyTo><a:Address>{event_sink.ANONYMOUS}</a:Address></a:ReplyTo>"
            f"<a:Action>{n}/Pull</a:Action><a:MessageID>uuid:{secrets.token_hex(16)}</a:MessageID>"
            f'</s:Header><s:Body><n:Pull xmlns:n="{n}"><n:EnumerationContext>{ctx}</n:EnumerationContext>'
            f"<n:MaxElements>50</n:MaxElements></n:Pull></s:Body></s:Envelope>"
        )
        r = self.post(env)
        if r.status_code != 200:
            return []
        items = ET.fromstring(r.text).find(f".//{{{n}}}Items")
        return [(ev.get("Action"), list(ev)[0]) for ev in items.findall(f"{{{event_sink.W}}}Event")]

    def subscribe(self, mode, delivery="", header=""):
        body = (f'<e:Subscribe xmlns:e="{E}"><e:Delivery Mode="{mode}">{delivery}</e:Delivery>'
                f"<e:Expires>PT3600S</e:Expires></e:Subscribe>")
        env = (
            f'<s:Envelope xmlns:s="{event_sink.S}" xmlns:a="{event_sink.A}" xmlns:w="{event_sink.W}">'
            f"<s:Header><a:To>{self.url}</a:To><w:ResourceURI>{ALL_CLASSES}</w:ResourceURI>"
            f"<a:ReplyTo><a:Address>{event_sink.ANONYMOUS}</a:Address></a:ReplyTo>"
            f"<a:Action>{E}/Subscribe</a:Action><a:MessageID>uuid:{secrets.token_hex(16)}</a:MessageID>"
            f"{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
        )
        r = self.post(env)
        if r.status_code != 200:
            raise SystemExit(f"Subscribe failed: {r.text}")
        return ET.fromstring(r.text).findtext(f".//{{{E}}}Identifier")


def token_header(user, password):
    """Sink credentials as openwsman sends them: a wst:IssuedTokens header."""
    wst = "http://schemas.xmlsoap.org/ws/2005/02/trust"
    wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    return (
        f'<wst:IssuedTokens xmlns:wst="{wst}" xmlns:wsse="{wsse}"><wst:RequestSecurityTokenResponse>'
        f"<wst:TokenType>http://schemas.dmtf.org/wbem/wsman/1/wsman/token/userNameToken</wst:TokenType>"
        f"<wst:RequestedSecurityToken><wsse:UsernameToken><wsse:Username>{user}</wsse:Username>"
        f"<wsse:Password>{password}</wsse:Password></wsse:UsernameToken></wst:RequestedSecurityToken>"
        f"</wst:RequestSecurityTokenResponse></wst:IssuedTokens>"
    )


def sensors():
    board = tomllib.loads(BOARD.read_text())
    return [s for s in board["sensor"]
            if s.get("channel") == "temp" and "upper-critical" in s and "power" not in s]


def matches(action, el, name, asserted):
    args = [m.text for m in el.findall("{%s}MessageArguments" % ALERT)]
    want = "Asserted" if asserted else "Deasserted"
    return action == ALERT and args[:1] == [name] and args[2:3] == [want]


def arrival(sink, name, asserted, after, within=10.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for d in sink.snapshot():
            if d.when < after:
                continue
            if any(matches(a, el, name, asserted) for a, el in d.events):
                return d.when
        time.sleep(0.005)
    return None


def queued(agent, ctx, name, asserted, within=10.0):
    """When a Pull first shows the event (polling every 10 ms)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if any(matches(a, el, name, asserted) for a, el in agent.pull(ctx)):
            return time.monotonic()
        time.sleep(0.01)
    return None


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    out = {"crossings": n}
    with tempfile.TemporaryDirectory() as tmp:
        a = Agent(tmp)
        sink_user, sink_pw = "collector", secrets.token_urlsafe(12)
        sinks = {"Push": EventSink(MODE_PUSH), "PushWithAck": EventSink(MODE_PUSH_WITH_ACK),
                 "Events": EventSink(MODE_EVENTS),
                 "Push+Digest": EventSink(MODE_PUSH, auth=("digest", sink_user, sink_pw))}
        try:
            extra = {"Events": "<w:MaxElements>20</w:MaxElements><w:MaxTime>PT0.1S</w:MaxTime>",
                     "Push+Digest": '<w:Auth Profile="http://schemas.dmtf.org/wbem/wsman/1/wsman/'
                                    'secprofile/http/digest"/>'}
            for mode, sink in sinks.items():
                header = token_header(sink_user, sink_pw) if sink.auth else ""
                a.subscribe({"Push": MODE_PUSH, "PushWithAck": MODE_PUSH_WITH_ACK,
                             "Events": MODE_EVENTS, "Push+Digest": MODE_PUSH}[mode],
                            sink.notify_to() + extra.get(mode, ""), header)
            ctx = a.subscribe(PULL)
            lat = {m: [] for m in sinks}
            part = {m: [] for m in sinks}
            lost = {m: 0 for m in sinks}
            temps = sensors()
            for i in range(n):
                s = temps[(i // 2) % len(temps)]
                asserted = i % 2 == 0
                t0 = time.monotonic()
                if asserted:
                    a.sim("set", s["key"], s["upper-critical"] + 1.0)
                else:
                    a.sim("clear", s["key"])
                tq = queued(a, ctx, s["name"], asserted)
                for mode, sink in sinks.items():
                    t = arrival(sink, s["name"], asserted, t0)
                    if t is None:
                        lost[mode] += 1
                    else:
                        lat[mode].append(t - t0)
                        if tq is not None:
                            part[mode].append(t - tq)
            out["latency_s"] = {
                m: {"p50": round(statistics.median(v), 3), "p99": round(pct(v, 99), 3),
                    "max": round(max(v), 3), "samples": len(v), "missed": lost[m]}
                for m, v in lat.items() if v
            }
            out["queued_to_sink_s"] = {
                m: {"p50": round(statistics.median(v), 3), "p99": round(pct(v, 99), 3)}
                for m, v in part.items() if v
            }
            out["sink_errors"] = sum(len(s.errors) for s in sinks.values())
            out["sink_http"] = {
                m: {"deliveries": len(s.snapshot()), "connections": s.connections,
                    "requests": s.requests, "401": s.unauthorized}
                for m, s in sinks.items()
            }
        finally:
            for sink in sinks.values():
                sink.stop()
            a.stop()

        # Memory: a fresh agent, 8 idle Pull subscriptions, then their queues filled.
        a = Agent(tmp + "/m")
        try:
            time.sleep(2)
            base = a.rss_kib()
            for _ in range(8):
                a.subscribe(PULL)
            time.sleep(1)
            idle = a.rss_kib()
            # 16 crossings (assert and deassert of 8), each several records, each record a
            # CIM_AlertIndication and a CIM_InstCreation: past the queues' 32 events.
            for s in sensors()[:4]:
                for _ in range(2):
                    a.sim("set", s["key"], s["upper-fatal"] + 1.0 if "upper-fatal" in s else s["upper-critical"] + 1.0)
                    time.sleep(1.5)
                    a.sim("clear", s["key"])
                    time.sleep(1.5)
            full = a.rss_kib()
            out["rss_kib"] = {"no_subscriptions": base, "8_idle": idle, "8_full_queues": full}
            out["per_subscription_kib"] = {"idle": round((idle - base) / 8, 1),
                                           "full_queue": round((full - base) / 8, 1)}
        finally:
            a.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
