"""A WS-Eventing event sink for the end-to-end tests (issue 16): an HTTP server on 127.0.0.1 with
a free port that checks every envelope the agent delivers, answers as Windows does, and records
what it got.

Checked on every delivery (a failed check is kept in `errors`, which the tests assert empty):
- POST with Content-Type application/soap+xml and a SOAP 1.2 envelope;
- wsa:To is the address the sink was subscribed with, wsa:Action is present, wsa:MessageID is a
  `uuid:` never seen before, wsa:ReplyTo is anonymous, and there is no wsa:RelatesTo (a
  delivery is a request);
- the NotifyTo reference parameter (`e:Identifier`) comes back as a header;
- `w:AckRequested` exactly in the acked modes (PushWithAck, Events), never on SubscriptionEnd;
- the body fits the action: Push/PushWithAck one indication whose class is the action's last
  segment; Events a `w:Events` of `w:Event Action=` items with one indication each; Heartbeat an
  empty body; DroppedEvents a count; SubscriptionEnd an `e:SubscriptionEnd` with a Status.

Answers: Push 200 with no body; PushWithAck and Events (and their Heartbeats) a `wsman:Ack`
whose RelatesTo is the delivery's MessageID, as Windows Event Collector answers (reference
wsman.md 3.11, deploy.md 3); `refuse = True` answers a `wsman:DeliveryRefused` fault;
`stop()` takes the sink down (connections refused) and `start()` brings it back on its port.
With `auth=("basic"|"digest", user, password)` it demands those credentials (401 otherwise);
with `tls=(certfile, keyfile)` it serves HTTPS.

Connections: it speaks HTTP/1.1 and keeps a connection open between requests, as HTTP.sys does
for Windows Event Collector, unless built with `close=True` (every answer says `Connection:
close`). `connections` counts the TCP connections accepted, `requests` every HTTP request (401s
included), `unauthorized` the 401s and `stale` those that said `stale=true`. A Digest nonce may
be used again with a higher nc (RFC 7616), `nonce_uses` times at most: past that the sink
answers 401 with `stale=true` and a new nonce. `stop()` also closes the open connections, so a
stopped sink is down for a kept-alive client too.
"""

import hashlib
import http.server
import os
import socket
import ssl
import threading
import time
import uuid
import xml.etree.ElementTree as ET

S = "http://www.w3.org/2003/05/soap-envelope"
A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
E = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
ANONYMOUS = A + "/role/anonymous"
WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman/"
EVENTS = WSMAN + "Events"
HEARTBEAT = WSMAN + "Heartbeat"
DROPPED = WSMAN + "DroppedEvents"
ACK = WSMAN + "Ack"
SUBSCRIPTION_END = E + "/SubscriptionEnd"
MODE_PUSH = E + "/DeliveryModes/Push"
MODE_PUSH_WITH_ACK = WSMAN + "PushWithAck"
MODE_EVENTS = WSMAN + "Events"
ACKED = (MODE_PUSH_WITH_ACK, MODE_EVENTS)
# The sink's own reference parameter, as Windows Event Collector puts one in NotifyTo.
IDENTIFIER = "sink-" + uuid.uuid4().hex


class Delivery:
    """One message the sink accepted."""

    def __init__(self, path, root, events, when, authorization=None):
        h = root.find(f"{{{S}}}Header")
        self.path = path
        # The Authorization header it came with (the sink's own check is `auth`).
        self.authorization = authorization
        self.when = when
        self.action = h.findtext(f"{{{A}}}Action")
        self.message_id = h.findtext(f"{{{A}}}MessageID")
        self.identifier = h.findtext(f"{{{E}}}Identifier")
        self.bookmark = h.findtext(f"{{{W}}}Bookmark")
        self.ack_requested = h.find(f"{{{W}}}AckRequested") is not None
        self.body = root.find(f"{{{S}}}Body")
        # (action, indication element) of each event this message carries.
        self.events = events

    def __repr__(self):
        return f"<{self.action.rsplit('/', 1)[-1]} {self.bookmark} {len(self.events)} events>"


WST = "http://schemas.xmlsoap.org/ws/2005/02/trust"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
USERNAME_TOKEN = "http://schemas.dmtf.org/wbem/wsman/1/wsman/token/userNameToken"


def issued_tokens(user, password):
    """Delivery credentials for a sink as openwsman sends them with a Subscribe: a
    wst:IssuedTokens SOAP header (beside wsman:Auth in its Delivery)."""
    return (
        f'<wst:IssuedTokens xmlns:wst="{WST}" xmlns:wsse="{WSSE}"><wst:RequestSecurityTokenResponse>'
        f"<wst:TokenType>{USERNAME_TOKEN}</wst:TokenType><wst:RequestedSecurityToken>"
        f"<wsse:UsernameToken><wsse:Username>{user}</wsse:Username>"
        f"<wsse:Password>{password}</wsse:Password></wsse:UsernameToken>"
        f"</wst:RequestedSecurityToken></wst:RequestSecurityTokenResponse></wst:IssuedTokens>"
    )


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EventSink:
    def __init__(self, mode=MODE_PUSH, auth=None, tls=None, close=False, nonce_uses=None):
        self.mode = mode
        self.auth = auth
        self.tls = tls
        self.close = close
        self.nonce_uses = nonce_uses
        self.connections = 0
        self.requests = 0
        self.stale = 0
        self._open = set()
        # Connections with a request being answered: drop_connections leaves them be until the
        # answer is out, or the agent would rightly send that message again.
        self._busy = set()
        self.port = free_port()
        self.deliveries = []
        self.ends = []
        self.errors = []
        self.refuse = False
        self.refused = 0
        self.unauthorized = 0
        self._ids = set()
        # nonce -> (the highest nc used with it, how many requests used it)
        self._nonces = {}
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self.start()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self):
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                with sink._lock:
                    sink.connections += 1
                    sink._open.add(self.connection)

            def finish(self):
                with sink._lock:
                    sink._open.discard(self.connection)
                super().finish()

            def do_POST(self):
                with sink._lock:
                    sink._busy.add(self.connection)
                try:
                    sink._handle(self)
                finally:
                    with sink._lock:
                        sink._busy.discard(self.connection)

        deadline = time.monotonic() + 10
        while True:
            try:
                self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._server.daemon_threads = True
        if self.tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def drop_connections(self):
        """Closes every open connection once it is idle (its last answer written), as a sink's
        idle timeout does; it keeps serving. Closing one mid-answer would make the agent send
        that message again, rightly, which the MessageID check would then report."""
        deadline = time.monotonic() + 5
        while True:
            with self._lock:
                if not (self._open & self._busy) or time.monotonic() > deadline:
                    for c in self._open:
                        try:
                            c.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                    return
            time.sleep(0.01)

    def open_connections(self):
        with self._lock:
            return len(self._open)

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self.drop_connections()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def url(self, path="/sink"):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    # -- what the tests read ---------------------------------------------------------------
    def snapshot(self):
        with self._lock:
            return list(self.deliveries)

    def events(self):
        """Every (action, element, bookmark) delivered, in order."""
        return [(a, el, d.bookmark) for d in self.snapshot() for a, el in d.events]

    def wait_for(self, pred, within, what="a matching delivery"):
        """Waits (bounded) until `pred(deliveries)` is truthy; returns its value."""
        deadline = time.monotonic() + within
        while True:
            got = pred(self.snapshot())
            if got:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {within}s; got {self.snapshot()}")
            time.sleep(0.05)

    def notify_to(self, path="/sink"):
        return (
            f'<e:NotifyTo><a:Address>{self.url(path)}</a:Address><a:ReferenceParameters>'
            f"<e:Identifier>{IDENTIFIER}</e:Identifier></a:ReferenceParameters></e:NotifyTo>"
        )

    def end_to(self):
        return f"<e:EndTo><a:Address>{self.url('/end')}</a:Address></e:EndTo>"

    # -- the server side ---------------------------------------------------------------------
    def _error(self, what):
        with self._lock:
            self.errors.append(what)

    def _answer(self, h, status, body=b"", headers=()):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        if self.close:
            h.send_header("Connection", "close")
        if body:
            h.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _authorized(self, h):
        if self.auth is None:
            return True
        scheme, user, password = self.auth
        got = h.headers.get("Authorization", "")
        if scheme == "basic":
            import base64

            want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            if got == want:
                return True
            challenge = 'Basic realm="sink"'
        else:
            verdict = self._digest_ok(got[7:], h.path, user, password) if got.startswith("Digest ") else None
            if verdict is True:
                return True
            nonce = os.urandom(16).hex()
            with self._lock:
                self._nonces[nonce] = (0, 0)
                if verdict == "stale":
                    self.stale += 1
            stale = ', stale=true' if verdict == "stale" else ""
            challenge = f'Digest realm="sink", qop="auth", algorithm=SHA-256, nonce="{nonce}"{stale}'
        with self._lock:
            self.unauthorized += 1
        self._answer(h, 401, headers=[("WWW-Authenticate", challenge)])
        return False

    def _digest_ok(self, text, path, user, password):
        """True, False, or "stale": right credentials on a nonce used up (`nonce_uses`)."""
        p = {}
        for part in _split_params(text):
            k, _, v = part.partition("=")
            p[k.strip().lower()] = v.strip().strip('"')
        try:
            nc = int(p.get("nc", ""), 16)
        except ValueError:
            return False
        with self._lock:
            last_nc, uses = self._nonces.get(p.get("nonce"), (None, 0))
        # A nonce this sink gave, with an nc above every earlier one (no replay).
        if last_nc is None or nc <= last_nc:
            return False
        if p.get("username") != user or p.get("uri") != path:
            return False
        if p.get("algorithm", "MD5").upper() != "SHA-256" or p.get("qop") != "auth":
            return False

        def h(s):
            return hashlib.sha256(s.encode()).hexdigest()

        ha1 = h(f"{user}:sink:{password}")
        ha2 = h(f"POST:{path}")
        want = h(f"{ha1}:{p['nonce']}:{p.get('nc')}:{p.get('cnonce')}:auth:{ha2}")
        if p.get("response") != want:
            return False
        if self.nonce_uses is not None and uses >= self.nonce_uses:
            with self._lock:
                self._nonces.pop(p["nonce"], None)
            return "stale"
        with self._lock:
            self._nonces[p["nonce"]] = (nc, uses + 1)
        return True

    def _handle(self, h):
        length = int(h.headers.get("Content-Length", "0"))
        raw = h.rfile.read(length)
        with self._lock:
            self.requests += 1
        if not self._authorized(h):
            return
        when = time.monotonic()
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as e:
            self._error(f"not XML: {e}: {raw[:200]!r}")
            self._answer(h, 400)
            return
        delivery = self._check(h, root, when)
        if delivery is None:
            self._answer(h, 400)
            return
        if self.refuse and h.path != "/end":
            with self._lock:
                self.refused += 1
            self._answer(h, 500, _fault("w:DeliveryRefused", delivery.message_id))
            return
        with self._lock:
            (self.ends if h.path == "/end" else self.deliveries).append(delivery)
        if delivery.ack_requested:
            self._answer(h, 200, _ack(delivery.message_id))
        else:
            self._answer(h, 200)

    def _check(self, h, root, when):
        errs = []
        ctype = h.headers.get("Content-Type", "")
        if not ctype.startswith("application/soap+xml"):
            errs.append(f"Content-Type {ctype!r}")
        if root.tag != f"{{{S}}}Envelope":
            self._error(f"not a SOAP 1.2 envelope: {root.tag}")
            return None
        hd = root.find(f"{{{S}}}Header")
        body = root.find(f"{{{S}}}Body")
        if hd is None or body is None:
            self._error("no Header or Body")
            return None
        action = hd.findtext(f"{{{A}}}Action")
        mid = hd.findtext(f"{{{A}}}MessageID") or ""
        to = hd.findtext(f"{{{A}}}To")
        end = h.path == "/end"
        if to != self.url(h.path):
            errs.append(f"To {to!r} is not {self.url(h.path)!r}")
        if not action:
            errs.append("no Action")
        if not mid.startswith("uuid:"):
            errs.append(f"MessageID {mid!r}")
        with self._lock:
            if mid in self._ids:
                errs.append(f"MessageID {mid} seen twice")
            self._ids.add(mid)
        if hd.findtext(f"{{{A}}}ReplyTo/{{{A}}}Address") != ANONYMOUS:
            errs.append("ReplyTo is not anonymous")
        if hd.find(f"{{{A}}}RelatesTo") is not None:
            errs.append("a delivery carries RelatesTo")
        if not end and hd.findtext(f"{{{E}}}Identifier") != IDENTIFIER:
            errs.append("the NotifyTo Identifier is not echoed")
        acked = hd.find(f"{{{W}}}AckRequested") is not None
        if acked != (self.mode in ACKED and not end):
            errs.append(f"AckRequested={acked} in mode {self.mode}")
        kids = list(body)
        events = []
        if end:
            if action != SUBSCRIPTION_END or body.find(f"{{{E}}}SubscriptionEnd/{{{E}}}Status") is None:
                errs.append(f"EndTo got {action} without a Status")
        elif action == HEARTBEAT:
            if kids:
                errs.append("a Heartbeat has a body")
        elif action == DROPPED:
            n = body.findtext(f"{{{W}}}DroppedEvents")
            if n is None or not n.isdigit():
                errs.append("DroppedEvents without a count")
        elif action == EVENTS:
            if self.mode != MODE_EVENTS:
                errs.append(f"a batch in mode {self.mode}")
            batch = body.find(f"{{{W}}}Events")
            items = [] if batch is None else list(batch)
            if not items:
                errs.append("an empty Events batch")
            for it in items:
                inner = list(it)
                if it.tag != f"{{{W}}}Event" or not it.get("Action") or len(inner) != 1:
                    errs.append(f"a batch item {it.tag} with {len(inner)} children")
                    continue
                if not inner[0].tag.endswith("}" + it.get("Action").rsplit("/", 1)[-1]):
                    errs.append(f"item {inner[0].tag} under Action {it.get('Action')}")
                events.append((it.get("Action"), inner[0]))
        else:
            if self.mode == MODE_EVENTS:
                errs.append(f"a single event {action} in Events mode")
            if len(kids) != 1 or not kids[0].tag.endswith("}" + action.rsplit("/", 1)[-1]):
                errs.append(f"body {[k.tag for k in kids]} for Action {action}")
            else:
                events.append((action, kids[0]))
        for e in errs:
            self._error(f"{action}: {e}")
        return Delivery(h.path, root, events, when, h.headers.get("Authorization"))


def _split_params(text):
    out, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return out


def _ack(relates_to):
    return (
        f'<s:Envelope xmlns:s="{S}" xmlns:a="{A}" xmlns:w="{W}"><s:Header>'
        f"<a:To>{ANONYMOUS}</a:To><a:Action>{ACK}</a:Action>"
        f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID><a:RelatesTo>{relates_to}</a:RelatesTo>"
        f"</s:Header><s:Body/></s:Envelope>"
    ).encode()


def _fault(subcode, relates_to):
    return (
        f'<s:Envelope xmlns:s="{S}" xmlns:a="{A}" xmlns:w="{W}"><s:Header>'
        f"<a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>"
        f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID><a:RelatesTo>{relates_to}</a:RelatesTo>"
        f"</s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode>"
        f"<s:Value>{subcode}</s:Value></s:Subcode></s:Code><s:Reason>"
        f'<s:Text xml:lang="en-US">The event sink refuses deliveries.</s:Text></s:Reason>'
        f"</s:Fault></s:Body></s:Envelope>"
    ).encode()
