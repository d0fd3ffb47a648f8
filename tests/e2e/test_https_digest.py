"""HTTPS and HTTP Digest against the real binary, with real clients: pypsrp and pywinrm over
HTTPS validating the agent's own certificate, requests' HTTPDigestAuth and `curl --digest` (MD5
and SHA-256) over HTTP and HTTPS, nonce expiry and replay, `openssl s_client` for the protocol
versions, and the certificate lifecycle (CSR signed by a test CA made here, install without a
restart, bad certificates refused while the old one keeps serving)."""

import datetime
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import requests
import winrm
from pypsrp.wsman import WSMan
from requests.auth import HTTPDigestAuth

from board_expect import expected_sensors
from conftest import ROOT, Agent, _binary
from wsmanlib import (
    ACTION,
    CIM_SCHEMA,
    CONTENT_TYPE,
    NS,
    NUMERIC_SENSOR,
    body_of,
    enumerate_all,
    envelope,
    props,
)

IDENTIFY = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
    "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>"
)
SECPROFILE = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/"
RECORD_LOG = CIM_SCHEMA + "CIM_RecordLog"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not installed; scripts/setup installs it")
    return path


def cert_cmd(state, *words, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [str(_binary()), "cert", *map(str, words), "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if check and r.returncode != 0:
        pytest.fail(f"wsbmc cert {words}: {r.returncode} {r.stderr}")
    return r


def served_fingerprint(agent, cafile=None) -> str:
    """SHA-256 of the certificate a fresh TLS connection gets, in the agent's format."""
    ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
    if cafile:
        ctx.check_hostname = False
    with socket.create_connection((agent.host, agent.https_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """An agent with a state directory, and its certificate as `cert show` prints it."""
    state = tmp_path_factory.mktemp("tls-state")
    a = Agent(args=["--state-dir", str(state)])
    try:
        shown = cert_cmd(state, "show").stdout
        pem = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", shown, re.S)
        ca = state.parent / "agent-cert.pem"
        ca.write_text("".join(pem))
        a.state, a.ca = state, str(ca)
        yield a
    finally:
        a.stop()


def _pypsrp_https(agent) -> WSMan:
    return WSMan(
        agent.host,
        port=agent.https_port,
        username=agent.user,
        password=agent.password,
        ssl=True,
        auth="basic",
        cert_validation=agent.ca,
    )


def test_startup_prints_https_url_and_the_fingerprint_cert_show_gives(tls):
    assert tls.https_url == f"https://127.0.0.1:{tls.https_port}/wsman"
    shown = cert_cmd(tls.state, "show").stdout
    assert f"SHA-256 fingerprint: {tls.fingerprint}" in shown
    assert served_fingerprint(tls, tls.ca) == tls.fingerprint
    for name in ("tls-key.pem", "tls-cert.pem"):
        assert (tls.state / name).stat().st_mode & 0o777 == 0o600


def test_pypsrp_over_https_validates_enumerates_gets_and_invokes(tls):
    wsman = _pypsrp_https(tls)
    items, _ = enumerate_all(wsman, NUMERIC_SENSOR, max_elements=5)
    ids = {i.findtext("{%s}DeviceID" % NUMERIC_SENSOR) for i in items}
    assert ids == set(expected_sensors(tls.board()))
    device = sorted(ids)[0]
    name = next(
        i.findtext("{%s}SystemName" % NUMERIC_SENSOR)
        for i in items
        if i.findtext("{%s}DeviceID" % NUMERIC_SENSOR) == device
    )
    from pypsrp.wsman import SelectorSet

    sel = SelectorSet()
    sel.add_option("CreationClassName", "CIM_NumericSensor")
    sel.add_option("DeviceID", device)
    sel.add_option("SystemCreationClassName", "CIM_ComputerSystem")
    sel.add_option("SystemName", name)
    got = body_of(wsman.get(NUMERIC_SENSOR, selector_set=sel))
    assert got.find("{%s}CIM_NumericSensor" % NUMERIC_SENSOR) is not None
    rv = _clear_log(wsman)
    assert rv == "0"
    # A client that does not trust this certificate refuses the connection.
    untrusting = WSMan(tls.host, port=tls.https_port, username=tls.user, password=tls.password,
                       ssl=True, auth="basic", cert_validation=True)
    with pytest.raises(requests.exceptions.SSLError):
        enumerate_all(untrusting, NUMERIC_SENSOR)


def _clear_log(wsman) -> str:
    from pypsrp.wsman import SelectorSet

    sel = SelectorSet()
    sel.add_option("InstanceID", "IPMI:SEL")
    body = ET.Element("{%s/ClearLog}ClearLog_INPUT" % RECORD_LOG)
    resp = wsman.invoke(f"{RECORD_LOG}/ClearLog", RECORD_LOG, body, selector_set=sel)
    values = [e.text for e in body_of(resp).iter() if e.tag.endswith("}ReturnValue")]
    assert len(values) == 1, ET.tostring(resp)
    return values[0]


def test_pywinrm_over_https_with_validation(tls):
    proto = winrm.Protocol(
        endpoint=tls.https_url,
        transport="basic",
        username=tls.user,
        password=tls.password,
        server_cert_validation="validate",
        ca_trust_path=tls.ca,
    )
    ident = ET.fromstring(proto.send_message(IDENTIFY))
    profiles = [p.text for p in ident.iter("{%s}SecurityProfileName" % NS["wsmid"])]
    assert profiles == [SECPROFILE + "https/basic", SECPROFILE + "https/digest"]

    env, _ = envelope(ACTION["enumerate"], NUMERIC_SENSOR,
                      body="<n:Enumerate><w:MaxElements>4</w:MaxElements></n:Enumerate>")
    root = ET.fromstring(proto.send_message(env))
    ctx = root.findtext("s:Body/n:EnumerateResponse/n:EnumerationContext", namespaces=NS)
    items = []
    for _ in range(100):
        env, _ = envelope(ACTION["pull"], NUMERIC_SENSOR,
                          body=f"<n:Pull><n:EnumerationContext>{ctx}</n:EnumerationContext>"
                          "<n:MaxElements>4</n:MaxElements></n:Pull>")
        pr = ET.fromstring(proto.send_message(env)).find("s:Body/n:PullResponse", NS)
        items += list(pr.find("n:Items", NS))
        if pr.find("n:EndOfSequence", NS) is not None:
            break
        ctx = pr.findtext("n:EnumerationContext", namespaces=NS)
    ids = {props(i)["DeviceID"] for i in items}
    assert ids == set(expected_sensors(tls.board()))

    one = props(items[0])
    keys = ("CreationClassName", "DeviceID", "SystemCreationClassName", "SystemName")
    sel = "<w:SelectorSet>%s</w:SelectorSet>" % "".join(
        '<w:Selector Name="%s">%s</w:Selector>' % (k, one[k]) for k in keys
    )
    env, _ = envelope(ACTION["get"], NUMERIC_SENSOR, selectors_xml=sel)
    got = ET.fromstring(proto.send_message(env))
    assert got.find("s:Body/{%s}CIM_NumericSensor" % NUMERIC_SENSOR, NS) is not None

    sel = '<w:SelectorSet><w:Selector Name="InstanceID">IPMI:SEL</w:Selector></w:SelectorSet>'
    env, _ = envelope(f"{RECORD_LOG}/ClearLog", RECORD_LOG, selectors_xml=sel,
                      body=f'<p:ClearLog_INPUT xmlns:p="{RECORD_LOG}/ClearLog"/>')
    out = ET.fromstring(proto.send_message(env))
    assert [e.text for e in out.iter() if e.tag.endswith("}ReturnValue")] == ["0"]


def _digest_post(url, user, password, verify=True, session=None):
    """One Identify through requests' HTTPDigestAuth; returns (response, algorithms used)."""
    used = []

    def note(r, *args, **kwargs):
        auth = r.request.headers.get("Authorization", "")
        m = re.search(r"algorithm=\"?([A-Za-z0-9-]+)", auth)
        if m:
            used.append(m.group(1))
        return r

    http = session or requests
    r = http.post(url, data=IDENTIFY, headers={"Content-Type": CONTENT_TYPE},
                  auth=HTTPDigestAuth(user, password), verify=verify, timeout=10,
                  hooks={"response": note})
    return r, used


def test_requests_digest_over_http_and_https_md5_and_sha256(tls, tmp_path):
    # Both algorithms offered: requests keeps the last challenge's algorithm (MD5).
    for url, verify in [(tls.url, True), (tls.https_url, tls.ca)]:
        r, used = _digest_post(url, tls.user, tls.password, verify)
        assert r.status_code == 200, r.text
        assert used[-1] == "MD5", used
        assert SECPROFILE + ("https" if url.startswith("https") else "http") + "/digest" in r.text
    r, _ = _digest_post(tls.url, tls.user, "wrong-password")
    assert r.status_code == 401
    # Offered SHA-256 only, requests answers with SHA-256.
    a = Agent(args=["--digest-algorithms", "SHA-256", "--state-dir", str(tmp_path / "s")])
    try:
        ca = tmp_path / "ca.pem"
        ca.write_text(cert_cmd(tmp_path / "s", "show").stdout.split("SHA-256 fingerprint")[0])
        for url, verify in [(a.url, True), (a.https_url, str(ca))]:
            r, used = _digest_post(url, a.user, a.password, verify)
            assert r.status_code == 200, r.text
            assert used[-1] == "SHA-256", used
    finally:
        a.stop()


def _curl(url, user, password, cafile=None):
    cmd = [tool("curl"), "-sS", "-v", "--digest", "-u", f"{user}:{password}",
           "-H", f"Content-Type: {CONTENT_TYPE}", "--data", IDENTIFY, "--max-time", "10", url]
    if cafile:
        cmd += ["--cacert", cafile]
    # The password is in argv here only because it is a throwaway test credential.
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def test_curl_digest_md5_and_sha256_over_http_and_https(tls, tmp_path):
    # curl takes the first Digest challenge: SHA-256 by default.
    for url, ca in [(tls.url, None), (tls.https_url, tls.ca)]:
        r = _curl(url, tls.user, tls.password, ca)
        assert r.returncode == 0, r.stderr
        assert "IdentifyResponse" in r.stdout, r.stderr
        assert re.search(r"> Authorization: Digest .*algorithm=SHA-256", r.stderr), r.stderr
    a = Agent(args=["--digest-algorithms", "MD5", "--state-dir", str(tmp_path / "s")])
    try:
        ca = tmp_path / "ca.pem"
        ca.write_text(cert_cmd(tmp_path / "s", "show").stdout.split("SHA-256 fingerprint")[0])
        for url, cafile in [(a.url, None), (a.https_url, str(ca))]:
            r = _curl(url, a.user, a.password, cafile)
            assert r.returncode == 0, r.stderr
            assert "IdentifyResponse" in r.stdout, r.stderr
            assert re.search(r"> Authorization: Digest .*algorithm=MD5", r.stderr), r.stderr
    finally:
        a.stop()


def _challenge(url, **kw):
    r = requests.post(url, data=IDENTIFY, headers={"Content-Type": CONTENT_TYPE}, timeout=10, **kw)
    assert r.status_code == 401
    return r


def _digest_header(user, password, nonce, nc, algorithm="SHA-256", uri="/wsman"):
    h = (lambda s: hashlib.sha256(s.encode()).hexdigest()) if algorithm == "SHA-256" else (
        lambda s: hashlib.md5(s.encode()).hexdigest())
    ha1 = h(f"{user}:WSMAN:{password}")
    ha2 = h(f"POST:{uri}")
    ncs = f"{nc:08x}"
    response = h(f"{ha1}:{nonce}:{ncs}:deadbeef:auth:{ha2}")
    return (f'Digest username="{user}", realm="WSMAN", nonce="{nonce}", uri="{uri}", '
            f'algorithm={algorithm}, qop=auth, nc={ncs}, cnonce="deadbeef", response="{response}"')


def test_replayed_nonce_count_is_refused(tls):
    nonce = re.search(r'nonce="([^"]+)"', _challenge(tls.url).headers["WWW-Authenticate"]).group(1)
    with requests.Session() as s:
        hdr = {"Content-Type": CONTENT_TYPE,
               "Authorization": _digest_header(tls.user, tls.password, nonce, 1)}
        assert s.post(tls.url, data=IDENTIFY, headers=hdr, timeout=10).status_code == 200
        replay = s.post(tls.url, data=IDENTIFY, headers=hdr, timeout=10)
        assert replay.status_code == 401
        assert "stale" not in replay.headers["WWW-Authenticate"]
        hdr["Authorization"] = _digest_header(tls.user, tls.password, nonce, 2)
        assert s.post(tls.url, data=IDENTIFY, headers=hdr, timeout=10).status_code == 200


def test_stale_nonce_gets_stale_true_and_the_retry_succeeds():
    a = Agent(args=["--digest-nonce-lifetime-s", "1"])
    try:
        r = _challenge(a.url)
        nonce = re.search(r'nonce="([^"]+)"', r.headers["WWW-Authenticate"]).group(1)
        time.sleep(2.2)
        hdr = {"Content-Type": CONTENT_TYPE,
               "Authorization": _digest_header(a.user, a.password, nonce, 1)}
        stale = requests.post(a.url, data=IDENTIFY, headers=hdr, timeout=10)
        assert stale.status_code == 401
        assert "stale=true" in stale.headers["WWW-Authenticate"]
        # A wrong password with the old nonce is not told "stale".
        hdr["Authorization"] = _digest_header(a.user, "wrong", nonce, 2)
        wrong = requests.post(a.url, data=IDENTIFY, headers=hdr, timeout=10)
        assert "stale" not in wrong.headers["WWW-Authenticate"]
        # requests' own client: its nonce goes stale between two requests of one session and
        # it retries on the stale challenge by itself.
        with requests.Session() as s:
            s.auth = HTTPDigestAuth(a.user, a.password)
            first = s.post(a.url, data=IDENTIFY, headers={"Content-Type": CONTENT_TYPE}, timeout=10)
            assert first.status_code == 200
            time.sleep(2.2)
            second = s.post(a.url, data=IDENTIFY, headers={"Content-Type": CONTENT_TYPE}, timeout=10)
            assert second.status_code == 200
            # requests keeps the refused attempt in the history of the retried response.
            seen = [(h.status_code, h.headers.get("WWW-Authenticate", "")) for h in second.history]
            assert any(code == 401 and "stale=true" in h for code, h in seen), seen
    finally:
        a.stop()


def _hardware_board(tmp_path):
    """The AST2600 board without its buses and power lines: --hal linux then starts on this
    machine (nothing to open) and shows the real-hardware listener policy."""
    text = (ROOT / "boards" / "ast2600-evb" / "board.toml").read_text()
    path = tmp_path / "board.toml"
    path.write_text(text.split("[[bus]]")[0])
    return path


def test_real_hardware_refuses_basic_over_plain_http(tmp_path):
    a = Agent(board=_hardware_board(tmp_path), args=["--hal", "linux"])
    try:
        plain = requests.post(a.url, data=IDENTIFY, headers={"Content-Type": CONTENT_TYPE},
                              auth=(a.user, a.password), timeout=10)
        assert plain.status_code == 401
        assert "Basic" not in plain.headers["WWW-Authenticate"]
        r, _ = _digest_post(a.url, a.user, a.password)
        assert r.status_code == 200
        assert SECPROFILE + "http/digest" in r.text
        assert SECPROFILE + "http/basic" not in r.text
        over_tls = requests.post(a.https_url, data=IDENTIFY, headers={"Content-Type": CONTENT_TYPE},
                                 auth=(a.user, a.password), timeout=10, verify=False)
        assert over_tls.status_code == 200
    finally:
        a.stop()
    b = Agent(board=_hardware_board(tmp_path), args=["--hal", "linux", "--allow-basic-over-http"])
    try:
        plain = requests.post(b.url, data=IDENTIFY, headers={"Content-Type": CONTENT_TYPE},
                              auth=(b.user, b.password), timeout=10)
        assert plain.status_code == 200
        assert SECPROFILE + "http/basic" in plain.text
    finally:
        b.stop()


def test_real_hardware_serves_no_plain_http_unless_asked(tmp_path):
    proc = subprocess.Popen(
        [str(_binary()), "--hal", "linux", "--board", str(_hardware_board(tmp_path)),
         "--listen-https", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("WSBMC_")},
             "WSBMC_USER": "admin", "WSBMC_PASSWORD": "hw-test-pw"},
    )
    try:
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        assert first.startswith("listening on https://127.0.0.1:"), first
        assert second.startswith("certificate SHA-256 fingerprint: "), second
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _s_client(agent, *flags):
    return subprocess.run(
        [tool("openssl"), "s_client", "-connect", f"127.0.0.1:{agent.https_port}",
         "-servername", "localhost", *flags],
        input="", capture_output=True, text=True, timeout=30,
    )


def test_openssl_tls_versions_and_sans(tls):
    for flag in ("-tls1", "-tls1_1"):
        r = _s_client(tls, flag, "-cipher", "DEFAULT@SECLEVEL=0")
        assert r.returncode != 0, (flag, r.stdout)
        assert "Cipher is (NONE)" in r.stdout or "alert" in r.stderr, (flag, r.stdout, r.stderr)
    for flag, version in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        r = _s_client(tls, flag, "-CAfile", tls.ca)
        assert r.returncode == 0, (flag, r.stderr)
        assert re.search(rf"Protocol\s*:\s*{version}|New, {version}", r.stdout), r.stdout
        assert "Verify return code: 0 (ok)" in r.stdout, r.stdout
    r = subprocess.run([tool("openssl"), "x509", "-noout", "-ext", "subjectAltName", "-in", tls.ca],
                       capture_output=True, text=True, timeout=30)
    assert "DNS:localhost" in r.stdout and "IP Address:127.0.0.1" in r.stdout, r.stdout


def _openssl(*args, cwd):
    r = subprocess.run([tool("openssl"), *map(str, args)], capture_output=True, text=True,
                       timeout=60, cwd=cwd)
    assert r.returncode == 0, (args, r.stderr)
    return r


def _expired_pair(tmp_path):
    """A self-signed certificate that expired yesterday, made with cryptography (pypsrp's
    dependency), since `openssl x509` cannot back-date."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=30))
            .not_valid_after(now - datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    c, k = tmp_path / "expired.pem", tmp_path / "expired-key.pem"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return c, k


def test_csr_signed_by_a_test_ca_installs_without_restart_and_bad_certs_are_refused(tmp_path):
    state = tmp_path / "state"
    a = Agent(args=["--state-dir", str(state)])
    try:
        old = a.fingerprint
        work = tmp_path / "ca"
        work.mkdir()
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
                 "-subj", "/CN=wsbmc test CA", cwd=work)
        csr = cert_cmd(state, "csr", "--subject", "CN=bmc-test,O=wsbmc tests",
                       "--san", "localhost", "--san", "127.0.0.1").stdout
        assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")
        (work / "bmc.csr").write_text(csr)
        _openssl("x509", "-req", "-in", "bmc.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                 "-CAcreateserial", "-days", "1", "-copy_extensions", "copy", "-out", "bmc.pem",
                 cwd=work)
        chain = work / "chain.pem"
        chain.write_text((work / "bmc.pem").read_text() + (work / "ca.pem").read_text())

        # Refusals first: the old certificate keeps serving after each.
        garbage = tmp_path / "garbage.pem"
        garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        other_key = tmp_path / "other-key.pem"
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", other_key, cwd=tmp_path)
        expired, expired_key = _expired_pair(tmp_path)
        no_pem = tmp_path / "no-pem.txt"
        no_pem.write_text("hello\n")
        for args, words in [
            ((garbage,), "does not parse"),
            ((no_pem,), "no CERTIFICATE"),
            ((tmp_path / "missing.pem",), "No such file"),
            ((chain, "--key", other_key), "does not match"),
            ((expired, "--key", expired_key), "expired"),
        ]:
            r = cert_cmd(state, "install", *args, check=False)
            assert r.returncode == 2, (args, r.stdout)
            assert words in r.stderr, (args, r.stderr)
            assert served_fingerprint(a) == old

        r = cert_cmd(state, "install", chain)
        new = re.search(r"fingerprint: (\S+)", r.stdout).group(1)
        assert new != old
        # Served to new connections without a restart, and it validates against the test CA.
        deadline = time.monotonic() + 10
        while served_fingerprint(a) != new and time.monotonic() < deadline:
            time.sleep(0.2)
        assert served_fingerprint(a, str(work / "ca.pem")) == new
        wsman = WSMan(a.host, port=a.https_port, username=a.user, password=a.password, ssl=True,
                      auth="basic", cert_validation=str(work / "ca.pem"))
        assert enumerate_all(wsman, NUMERIC_SENSOR, optimize=True, max_elements=100)[0]
        assert new in cert_cmd(state, "show").stdout
    finally:
        a.stop()
    assert a.proc.returncode == 0


def test_digest_keys_are_stored_and_used_after_a_restart(tmp_path):
    state = tmp_path / "state"
    a = Agent(args=["--state-dir", str(state)])
    password = a.password
    a.stop()
    b = Agent(defaults=True, args=["--state-dir", str(state)])
    try:
        r, _ = _digest_post(b.url, "admin", password)
        assert r.status_code == 200
    finally:
        b.stop()
    for f in state.iterdir():
        assert password.encode() not in f.read_bytes()


def _closed_within(sock, seconds) -> bool:
    """True if the peer closes `sock` (EOF or reset) within `seconds`."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_handshakes_are_bounded_in_number_and_time():
    """Clients that open TLS connections and never send a ClientHello: beyond
    --tls-max-handshakes they are dropped at once, and each is dropped at the deadline."""
    a = Agent(args=["--tls-max-handshakes", "2", "--tls-handshake-timeout-ms", "800"])
    idle = []
    try:
        for _ in range(2):
            idle.append(socket.create_connection((a.host, a.https_port), timeout=5))
        time.sleep(0.2)
        extra = socket.create_connection((a.host, a.https_port), timeout=5)
        idle.append(extra)
        assert _closed_within(extra, 0.5), "a third silent handshake was not refused"
        start = time.monotonic()
        assert all(_closed_within(s, 3.0) for s in idle[:2]), "silent clients outlived the deadline"
        assert time.monotonic() - start < 2.5
        # The slots are free again: a real client gets through.
        assert len(served_fingerprint(a)) == 95
    finally:
        for s in idle:
            s.close()
        a.stop()
