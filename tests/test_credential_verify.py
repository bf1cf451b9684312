"""Verifying credentials (apprentice/credentials/verify.py, fetch.py, the command and the
public /verify page): a credential built here verifies; each tamper, a wrong or unknown
key, dates, revocation and bad input gets its verdict and reason; online fetching never
connects to a private address (a socket spy and a local server that counts its hits).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import socket
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws

from apprentice.competencies.models import SupervisionLevel
from apprentice.credentials import fetch, statuslist
from apprentice.credentials import jwt as vcjwt
from apprentice.credentials import openbadges as ob
from apprentice.credentials.jwt import Outcome
from apprentice.credentials.verify import Verdict, verify_credential
from tests.support.credentials import b64url, make_key

DATA = Path(__file__).parent / "data" / "openbadges"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# Status lists are published as the issuer does, for a while ahead: the tests that go
# through the command or the page check them at the real time, not at NOW.
LIST_VALID_UNTIL = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
ISSUED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
SITE = "https://library.example"
CREDENTIAL_ID = "urn:uuid:6f1d8a52-3f0e-4a43-9d1b-0c9e2f6b7a10"
INDEX = 7


KEY = make_key("key-one")
OTHER_KEY = make_key("key-two")


class Issuer:
    """An issuer elsewhere, at ``site``: its key, its credentials and its status list."""

    def __init__(self, site: str = SITE, key=KEY):
        self.site, self.key = site, key
        self.id = f"{site}/issuer"
        self.kid = f"{site}/issuer/keys/{key.kid}"
        self.list_url = f"{site}/issuer/status/1"

    def profile(self) -> dict:
        return {"id": self.id, "type": "Profile", "name": "Riverside Library",
                "url": f"{self.site}/"}

    def credential(self, *, status: bool = True, valid_until=None, issued_on=ISSUED,
                   **award_changes) -> dict:
        area = ob.AreaRef(lineage="a" * 32, name="Circulation", competencies=(
            ob.CompetencyRef(code="CIRC.1", lineage="1" * 32, statement="Checks items out"),))
        values = dict(person_name="Jordan Reyes", email="jordan@library.example",
                      issued_on=issued_on, framework=ob.FrameworkRef(
                          name="Library Support Staff Certification", lineage="f" * 32,
                          version=1),
                      areas=(area,), level_required=SupervisionLevel.INDEPENDENT,
                      level_reached=SupervisionLevel.INDEPENDENT, minutes_verified=600)
        award = ob.Award(**{**values, **award_changes})
        return ob.area_credential(award, issuer=self.profile(), credential_id=CREDENTIAL_ID,
                                  salt="sea-salt", valid_until=valid_until,
                                  status=statuslist.entry(self.list_url, INDEX)
                                  if status else None)

    def token(self, credential: dict | None = None, key=None, kid=None) -> str:
        return vcjwt.sign(credential or self.credential(), key or self.key,
                          kid=kid or self.kid)

    def status_list(self, revoked=(), key=None, issuer=None, list_url=None,
                    valid_until=LIST_VALID_UNTIL) -> str:
        document = statuslist.list_credential(
            list_url=list_url or self.list_url, issuer=issuer or self.profile(),
            valid_from="2026-11-01T00:00:00Z", valid_until=valid_until, revoked=revoked)
        return vcjwt.sign(document, key or self.key, kid=self.kid)

    def key_file(self, *jwks) -> str:
        return json.dumps({"keys": list(jwks or [self.key.public_jwk])})

    def lookup(self, revoked=(), **changes):
        token = self.status_list(revoked, **changes)
        return lambda url: token if url == self.list_url else None


ELSEWHERE = Issuer()


def verified(data, by=ELSEWHERE, *, revoked=(), online=False, key_file="default",
             now=NOW, **lookup_changes):
    return verify_credential(
        data, key_file=by.key_file() if key_file == "default" else key_file,
        online=online, now=now, status_lookup=by.lookup(revoked, **lookup_changes))


def outcomes(report) -> dict[str, Outcome]:
    return {check.name: check.outcome for check in report.checks}


def envelope(token: str) -> str:
    return json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"],
                       "type": "EnvelopedVerifiableCredential",
                       "id": f"data:application/vc+jwt,{token}"})


# -- what verifies --------------------------------------------------------------------------

@pytest.mark.parametrize("wrap", [pytest.param(lambda t: t, id="jwt"),
                                  pytest.param(envelope, id="json-envelope"),
                                  pytest.param(lambda t: t.encode() + b"\n", id="bytes")])
def test_a_credential_with_its_key_file_and_status_list_is_valid(wrap):
    report = verified(wrap(ELSEWHERE.token()))
    assert report.verdict is Verdict.VALID, report.lines()
    assert all(outcome is Outcome.PASSED for outcome in outcomes(report).values())
    assert report.check("key").detail == f"key {ELSEWHERE.kid} from the key file you gave"
    assert report.check("status").detail.startswith("not revoked (list read at 2026-12-01")
    assert report.claimed["achievement"] == "Circulation"
    assert report.claimed["issuer"] == "Riverside Library"
    assert report.lines()[-1] == "Verdict: VALID (Valid: every check passed)"


def test_the_schema_check_uses_the_shipped_official_schema():
    shipped = Path(vcjwt.__file__).parent / "schema" / "ob_v3p0_achievementcredential_schema.json"
    assert shipped.read_bytes() == (DATA / "ob_v3p0_achievementcredential_schema.json").read_bytes()
    credential = ELSEWHERE.credential()
    del credential["credentialSubject"]["achievement"]["criteria"]
    report = verified(ELSEWHERE.token(credential))
    assert report.check("schema").outcome is Outcome.FAILED
    assert "credentialSubject/achievement: 'criteria' is a required property" \
        in report.check("schema").detail
    assert report.verdict is Verdict.INVALID


# -- tampering: one character of the signed token -------------------------------------------

def tampered(token: str, change) -> str:
    header, payload, signature = token.split(".")
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    return ".".join((header, b64url(change(text).encode()), signature))


def one_character(old: str, new: str):
    def change(text: str) -> str:
        assert text.count(old) == 1, old
        return text.replace(old, new)
    return change


@pytest.mark.parametrize("change", [
    pytest.param(one_character("Jordan Reyes", "Jordan Reyez"), id="subject-name"),
    pytest.param(one_character('"validFrom":"2026-11-02T09:30:00Z"',
                               '"validFrom":"2026-11-01T09:30:00Z"'), id="validFrom"),
    pytest.param(one_character('"name":"Circulation"', '"name":"Circulatiom"'),
                 id="achievement"),
])
def test_one_changed_character_in_the_payload_breaks_the_signature(change):
    report = verified(tampered(ELSEWHERE.token(), change))
    assert report.verdict is Verdict.INVALID
    assert report.check("signature").outcome is Outcome.FAILED
    assert "changed after signing" in report.check("signature").detail


def test_one_changed_character_in_the_signature_is_invalid():
    token = ELSEWHERE.token()
    head, _, signature = token.rpartition(".")
    flipped = ("B" if signature[5] == "A" else "A")
    report = verified(f"{head}.{signature[:5]}{flipped}{signature[6:]}")
    assert report.verdict is Verdict.INVALID
    assert report.check("signature").outcome is Outcome.FAILED


def test_a_wrong_key_under_the_right_kid_is_invalid():
    impostor = {**OTHER_KEY.public_jwk, "kid": KEY.kid}
    report = verified(ELSEWHERE.token(), key_file=ELSEWHERE.key_file(impostor))
    assert report.verdict is Verdict.INVALID
    assert report.check("signature").outcome is Outcome.FAILED
    assert report.check("status").outcome is Outcome.NOT_CHECKED  # never passed unsigned


def test_an_unknown_kid_is_invalid_with_its_reason():
    report = verified(ELSEWHERE.token(), key_file=ELSEWHERE.key_file(OTHER_KEY.public_jwk))
    assert report.verdict is Verdict.INVALID
    assert report.check("key").detail == f"unknown key {ELSEWHERE.kid}"
    assert report.check("signature").outcome is Outcome.NOT_CHECKED


def test_a_key_file_with_a_private_key_is_refused():
    private_d = b64url(KEY.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption()))
    report = verified(ELSEWHERE.token(),
                      key_file=json.dumps({**KEY.public_jwk, "d": private_d}))
    assert report.verdict is Verdict.INVALID
    assert "holds a private key" in report.check("shape").detail


# -- dates and status -----------------------------------------------------------------------

def test_an_expired_credential_is_invalid():
    token = ELSEWHERE.token(ELSEWHERE.credential(valid_until=NOW - timedelta(days=1)))
    report = verified(token)
    assert report.verdict is Verdict.INVALID
    assert report.check("dates").detail == "expired on 2026-11-30 12:00:00 UTC"


def test_a_not_yet_valid_credential_is_invalid():
    report = verified(ELSEWHERE.token(), now=ISSUED - timedelta(hours=1))
    assert report.verdict is Verdict.INVALID
    assert report.check("dates").detail == "not yet valid: valid from 2026-11-02 09:30:00 UTC"


def test_a_revoked_credential_is_invalid():
    report = verified(ELSEWHERE.token(), revoked=[INDEX])
    assert report.verdict is Verdict.INVALID
    assert report.check("status").outcome is Outcome.FAILED
    assert report.check("status").detail.startswith("revoked (")
    assert verified(ELSEWHERE.token(), revoked=[INDEX + 1]).verdict is Verdict.VALID


@pytest.mark.parametrize("changes, reason", [
    pytest.param({"key": OTHER_KEY}, "the status list's signature check", id="signed-by-other"),
    pytest.param({"issuer": {"id": "https://evil.example/issuer", "name": "Evil"}},
                 "issued by someone else", id="other-issuer"),
    pytest.param({"list_url": f"{SITE}/issuer/status/2"}, "not the one the credential names",
                 id="other-list"),
])
def test_a_status_list_that_cannot_be_trusted_is_not_checked_never_passed(changes, reason):
    report = verified(ELSEWHERE.token(), **changes)
    assert report.check("status").outcome is Outcome.NOT_CHECKED
    assert report.check("status").detail.startswith("could not be checked: ")
    assert reason in report.check("status").detail
    assert report.verdict is Verdict.UNVERIFIED


def test_a_credential_without_a_status_list_is_unverified():
    report = verified(ELSEWHERE.token(ELSEWHERE.credential(status=False)))
    assert report.check("status").outcome is Outcome.NOT_CHECKED
    assert "no status list" in report.check("status").detail
    assert report.verdict is Verdict.UNVERIFIED


def test_offline_without_the_key_file_is_unverified_and_fetches_nothing(monkeypatch):
    connections = spy_on_connections(monkeypatch)
    report = verify_credential(ELSEWHERE.token(), online=False, now=NOW)
    assert report.verdict is Verdict.UNVERIFIED
    assert report.check("key").outcome is Outcome.NOT_CHECKED
    assert "offline" in report.check("key").detail
    assert report.check("status").outcome is Outcome.NOT_CHECKED
    assert report.check("issuer").outcome is Outcome.NOT_CHECKED
    assert connections == []


# -- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, reason", [
    pytest.param("{\"@context\": [", "not valid JSON", id="malformed-json"),
    pytest.param("[1, 2]", "not a credential", id="json-list"),
    pytest.param(b"\xff\xfe\x00", "not text", id="binary"),
    pytest.param("   ", "empty", id="blank"),
    pytest.param("a.b", "expected 3 parts", id="two-parts"),
    pytest.param("x" * (1024 * 1024 + 1), "larger than 1 MB: not read", id="over-1-MB"),
    pytest.param("[" * 100_000 + "]" * 100_000, "", id="deeply-nested"),
    pytest.param('{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": '
                 '"EnvelopedVerifiableCredential", "id": "data:text/plain,x"}',
                 "whose id is not", id="envelope-not-jwt"),
    pytest.param('{"type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt,"}',
                 "whose @context does not start with", id="envelope-without-context"),
    pytest.param('{"a": 1, "a": 2}', "name given twice", id="duplicate-name"),
])
def test_bad_input_is_invalid_with_its_reason(data, reason):
    report = verify_credential(data, online=False, now=NOW)
    assert report.verdict is Verdict.INVALID
    assert report.check("shape").outcome is Outcome.FAILED
    assert reason in report.check("shape").detail
    assert all(check.outcome is Outcome.NOT_CHECKED for check in report.checks[1:])


def test_the_spec_example_is_read_but_never_valid_without_a_proof_we_support():
    example = (DATA / "basic-openbadgecredential.json").read_text()
    report = verify_credential(example, online=False, now=NOW)
    assert report.check("shape").outcome is Outcome.PASSED
    assert report.check("schema").outcome is Outcome.PASSED
    assert report.check("signature").detail == \
        "not checked: no proof this verifier supports (VC-JWT EdDSA only)"
    assert report.verdict is Verdict.UNVERIFIED


# -- fetching: never a private address --------------------------------------------------------

def spy_on_connections(monkeypatch) -> list:
    """Every address a connection is opened to (the real connection is still made)."""
    made = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):
        made.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return made


class Site:
    """A tiny HTTP server on 127.0.0.1 serving fixed documents and counting hits."""

    def __init__(self):
        self.documents: dict[str, tuple[int, dict, bytes]] = {}
        self.hits: list[str] = []
        self.held = threading.Event()  # /hold is answered once this is set
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.hits.append(self.path)
                if self.path == "/hold":
                    site.held.wait(10)
                if self.path == "/slow":  # a header line now and then, never the end
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    for _ in range(50):
                        try:
                            self.wfile.write(b"X-Slow: yes\r\n")
                            self.wfile.flush()
                        except OSError:
                            return
                        time.sleep(0.1)
                    return
                status, headers, body = site.documents.get(
                    self.path, (404, {"Content-Type": "text/plain"}, b"no"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, path: str, body, content_type="application/json", status=200, **headers):
        if not isinstance(body, bytes):
            body = (json.dumps(body) if not isinstance(body, str) else body).encode()
        self.documents[path] = (status, {"Content-Type": content_type, **headers}, body)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    served = Site()
    yield served
    served.close()


def publish(site: Site, revoked=()) -> Issuer:
    """An issuer at the local site, publishing its key, profile and status list."""
    issuer = Issuer(site.url)
    site.serve(f"/issuer/keys/{KEY.kid}", KEY.public_jwk, "application/jwk+json")
    site.serve("/issuer", issuer.profile())
    site.serve("/issuer/status/1", issuer.status_list(revoked), "application/vc+jwt")
    return issuer


LOCAL = ("127.0.0.0/8",)


def test_online_the_key_profile_and_status_list_are_fetched(app, site):
    """Fetched from the issuer's own site; valid only for an issuer this installation
    knows: anyone can publish a key and a profile on a site of their own."""
    issuer = publish(site)
    app.config["APPRENTICE_CREDENTIAL_FETCH_ALLOW"] = LOCAL
    with app.app_context():
        stranger = verify_credential(issuer.token(), online=True, now=NOW)
    assert stranger.verdict is Verdict.UNVERIFIED, stranger.lines()
    assert stranger.check("signature").passed and stranger.check("status").passed
    assert stranger.check("issuer").detail.startswith(f"unknown issuer {issuer.id}: its key "
                                                      "and profile are published on 127.0.0.1")
    app.config["APPRENTICE_KNOWN_ISSUERS"] = (issuer.id,)
    with app.app_context():
        report = verify_credential(issuer.token(), online=True, now=NOW)
    assert report.verdict is Verdict.VALID, report.lines()
    assert report.check("key").detail == \
        f"key {issuer.kid} from the issuer's site (fetched from the kid URL)"
    assert "a known issuer (APPRENTICE_KNOWN_ISSUERS)" in report.check("issuer").detail
    assert report.check("status").detail.startswith("not revoked (list fetched at ")
    assert sorted(set(site.hits)) == ["/issuer", f"/issuer/keys/{KEY.kid}", "/issuer/status/1"]
    site.serve("/issuer/status/1", issuer.status_list([INDEX]), "application/vc+jwt")
    with app.app_context():
        revoked = verify_credential(issuer.token(), online=True, now=NOW)
    assert revoked.verdict is Verdict.INVALID
    assert revoked.check("status").detail.startswith("revoked (list fetched at ")


def test_without_the_setting_127_0_0_1_is_refused_before_connecting(app, site, monkeypatch):
    issuer = publish(site)
    connections = spy_on_connections(monkeypatch)
    with app.app_context():
        report = verify_credential(issuer.token(), online=True, now=NOW)
    assert report.verdict is Verdict.UNVERIFIED
    assert "127.0.0.1 is at 127.0.0.1, not a public address" in report.check("key").detail
    assert site.hits == [] and connections == []


@pytest.mark.parametrize("host", ["10.1.2.3", "169.254.169.254", "[::1]", "0.0.0.0",  # noqa: S104
                                  "[::ffff:127.0.0.1]", "224.0.0.1", "100.64.0.1"])
def test_a_kid_url_at_a_private_address_is_never_fetched(monkeypatch, host):
    connections = spy_on_connections(monkeypatch)
    issuer = Issuer(f"http://{host}")
    report = verify_credential(issuer.token(), online=True, now=NOW)
    assert report.verdict is Verdict.UNVERIFIED
    assert "not a public address" in report.check("key").detail
    assert connections == []


def test_a_name_that_resolves_to_a_private_address_is_refused(monkeypatch):
    connections = spy_on_connections(monkeypatch)
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))])
    with pytest.raises(fetch.FetchRefused, match=re.escape("10.0.0.5, not a public address")):
        fetch.fetch("https://rebind.example/issuer/keys/k")
    assert connections == []


def test_a_redirect_to_a_private_address_is_not_followed(site, monkeypatch):
    connections = spy_on_connections(monkeypatch)
    site.serve("/key", b"", status=302, Location="http://169.254.169.254/latest/meta-data")
    refused = re.escape("169.254.169.254, not a public address")
    with pytest.raises(fetch.FetchRefused, match=refused):
        fetch.fetch(f"{site.url}/key", allow=fetch.allowed_networks(LOCAL))
    assert site.hits == ["/key"]
    assert connections == ["127.0.0.1"]


def test_too_many_redirects_are_not_followed(site):
    site.serve("/a", b"", status=302, Location="/b")
    site.serve("/b", b"", status=301, Location="/c")
    site.serve("/c", b"", status=302, Location="/d")
    with pytest.raises(fetch.FetchRefused, match="more than 2 redirects"):
        fetch.fetch(f"{site.url}/a", allow=fetch.allowed_networks(LOCAL))
    assert site.hits == ["/a", "/b", "/c"]


def test_a_huge_or_odd_remote_document_is_refused(app, site):
    issuer = publish(site)
    site.serve(f"/issuer/keys/{KEY.kid}", b" " * (300 * 1024), "application/json")
    app.config["APPRENTICE_CREDENTIAL_FETCH_ALLOW"] = LOCAL
    with app.app_context():
        report = verify_credential(issuer.token(), online=True, now=NOW)
    assert report.verdict is Verdict.UNVERIFIED
    assert "larger than 256 KB, not read" in report.check("key").detail
    site.serve("/page", b"<html>", "text/html")
    with pytest.raises(fetch.FetchRefused, match="sent text/html, not JSON or a JWT"):
        fetch.fetch(f"{site.url}/page", allow=fetch.allowed_networks(LOCAL))
    with pytest.raises(fetch.FetchRefused, match="not an http or https URL"):
        fetch.fetch("file:///etc/passwd")


def test_a_server_that_never_finishes_is_cut_off_at_the_deadline(site):
    with pytest.raises(fetch.FetchRefused, match="took too long: timed out"):
        fetch.fetch(f"{site.url}/slow", allow=fetch.allowed_networks(LOCAL), timeout=0.5)
    assert site.hits == ["/slow"]


def test_a_key_url_off_the_issuers_site_is_not_fetched(monkeypatch):
    connections = spy_on_connections(monkeypatch)
    token = ELSEWHERE.token(kid=f"https://keys.evil.example/issuer/keys/{KEY.kid}")
    report = verify_credential(token, online=True, now=NOW)
    assert report.verdict is Verdict.UNVERIFIED
    assert "not on the issuer's site" in report.check("key").detail
    assert connections == []


def test_the_allow_setting_is_checked_at_start(tmp_path):
    from apprentice import create_app
    from apprentice.config import ConfigError

    base = {"APPRENTICE_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"}
    app = create_app({**base, "APPRENTICE_CREDENTIAL_FETCH_ALLOW": "10.20.0.1/16, fd00::/8"})
    assert app.config["APPRENTICE_CREDENTIAL_FETCH_ALLOW"] == ("10.20.0.0/16", "fd00::/8")
    assert create_app(base).config["APPRENTICE_CREDENTIAL_FETCH_ALLOW"] == ()
    with pytest.raises(ConfigError, match="APPRENTICE_CREDENTIAL_FETCH_ALLOW holds 'intranet'"):
        create_app({**base, "APPRENTICE_CREDENTIAL_FETCH_ALLOW": "intranet"})


def resolves_to(monkeypatch, *addresses: str) -> None:
    """Every name resolves to ``addresses`` (IPv4 or IPv6), as a DNS answer would."""
    def answer(host, port, *args, **kwargs):
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM,
                 6, "", (address, port, 0, 0) if ":" in address else (address, port))
                for address in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", answer)


def refuse_connections(monkeypatch) -> list:
    """Every address a connection is tried to; none is made (these are not ours)."""
    tried = []

    def refuse(address, *args, **kwargs):
        tried.append(address[0])
        raise ConnectionRefusedError(address)

    monkeypatch.setattr(socket, "create_connection", refuse)
    return tried


@pytest.mark.parametrize("address, why", [
    pytest.param("64:ff9b::a00:1", "NAT64 for 10.0.0.1", id="nat64"),
    pytest.param("64:ff9b::7f00:1", "NAT64 for 127.0.0.1", id="nat64-loopback"),
    pytest.param("64:ff9b:1::a9fe:a9fe", "NAT64 for 169.254.169.254", id="nat64-local-use"),
    pytest.param("2002:a00:1::1", "6to4 for 10.0.0.1", id="6to4"),
    pytest.param("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a Teredo tunnel", id="teredo"),
    pytest.param("fec0::1", "site-local, deprecated", id="site-local"),
    pytest.param("::a00:1", "IPv4-compatible, deprecated", id="ipv4-compatible"),
])
def test_ipv6_addresses_that_lead_to_a_private_network_are_refused(monkeypatch, address, why):
    connections = refuse_connections(monkeypatch)
    resolves_to(monkeypatch, address)
    with pytest.raises(fetch.FetchRefused,
                       match=re.escape(f"is at {address} ({why}), not a public address")):
        fetch.fetch("https://tunnel.example/issuer/keys/k")
    assert connections == []


def test_nat64_and_6to4_addresses_of_a_public_host_are_fetched(monkeypatch):
    for address in ("64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111"):
        resolves_to(monkeypatch, address)
        assert fetch.check_url("https://issuer.example/k") == \
            ("https", "issuer.example", 443, address)


@pytest.mark.parametrize("url", ["https://issuer.example:8443/issuer/keys/k",
                                 "http://issuer.example:22/", "http://issuer.example:443/",
                                 "https://issuer.example:80/"])
def test_only_port_80_or_443_is_fetched_from_a_public_host(monkeypatch, url):
    connections = refuse_connections(monkeypatch)
    resolves_to(monkeypatch, "93.184.216.34")
    for allow in ((), fetch.allowed_networks(LOCAL)):  # 127.0.0.0/8 allowed: not this host
        with pytest.raises(fetch.FetchRefused, match=r"is on port \d+: only port (80|443) is "
                                                     r"fetched for https?"):
            fetch.fetch(url, allow=allow)
    assert connections == []
    assert fetch.check_url("https://issuer.example:443/k")[2] == 443
    assert fetch.check_url("http://issuer.example/k")[2] == 80
    # A host in the allowed networks may use another port, as the local site here does.
    assert fetch.check_url(url, fetch.allowed_networks(["93.184.216.0/24"]))[3] == \
        "93.184.216.34"


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (just released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_connection_error_shows_a_visitor_no_system_reason(app, client, caplog):
    port = closed_port()
    issuer = Issuer(f"http://127.0.0.1:{port}")
    app.config["APPRENTICE_CREDENTIAL_FETCH_ALLOW"] = LOCAL
    with caplog.at_level(logging.INFO, logger="apprentice.credentials.fetch"):
        text = client.submit("/verify", {"credential": issuer.token()}).get_data(as_text=True)
    assert f"{issuer.kid} could not be fetched: the issuer&#39;s site could not be reached" \
        in text
    assert "refused" not in text.lower() and "errno" not in text.lower()
    assert "Connection refused" in caplog.text  # the operator still learns why


def test_another_services_greeting_is_not_shown_to_the_visitor(caplog):
    listener = socket.create_server(("127.0.0.1", 0))

    def greet():
        with listener, listener.accept()[0] as conversation:
            conversation.sendall(b"SSH-2.0-OpenSSH_9.6 internal-build-host\r\n")
            conversation.recv(1024)

    greeter = threading.Thread(target=greet, daemon=True)
    greeter.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/issuer/keys/k"
    with caplog.at_level(logging.INFO, logger="apprentice.credentials.fetch"), \
            pytest.raises(fetch.FetchRefused) as refused:
        fetch.fetch(url, allow=fetch.allowed_networks(LOCAL))
    greeter.join(5)
    assert str(refused.value) == \
        f"{url} could not be fetched: the issuer's site could not be reached"
    assert "SSH-2.0-OpenSSH_9.6" in caplog.text


def test_a_name_lookup_that_hangs_is_cut_off_at_the_deadline(monkeypatch):
    connections = refuse_connections(monkeypatch)
    answered = threading.Event()

    def slow_lookup(host, port, *args, **kwargs):
        answered.wait(10)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    try:
        with pytest.raises(fetch.FetchRefused,
                           match=re.escape("slow-dns.example could not be resolved in time")):
            fetch.fetch("https://slow-dns.example/issuer/keys/k", timeout=0.3)
    finally:
        answered.set()  # the lookup's worker ends
    assert connections == []


def test_when_the_fetches_at_once_are_used_up_the_check_is_not_checked(app, site, monkeypatch):
    issuer = publish(site)
    site.serve("/hold", {})
    app.config["APPRENTICE_CREDENTIAL_FETCH_ALLOW"] = LOCAL
    monkeypatch.setattr(fetch, "BUSY_WAIT", 0.05, raising=False)
    allow = fetch.allowed_networks(LOCAL)
    # Four fetches at once (fetch.MAX_CONCURRENT), each held by the site until told.
    holders = [threading.Thread(target=lambda: suppress_refusal(f"{site.url}/hold", allow))
               for _ in range(4)]
    try:
        for holder in holders:
            holder.start()
        for _ in range(500):  # until the site holds every one of them
            if site.hits.count("/hold") == 4:
                break
            time.sleep(0.01)
        assert site.hits.count("/hold") == 4
        with app.app_context():
            busy = verify_credential(issuer.token(), online=True, now=NOW)
    finally:
        site.held.set()
        for holder in holders:
            holder.join(10)
    assert busy.check("key").outcome is Outcome.NOT_CHECKED
    assert "the verifier is busy: try again in a minute" in busy.check("key").detail
    assert busy.verdict is Verdict.UNVERIFIED
    assert f"/issuer/keys/{KEY.kid}" not in site.hits
    with app.app_context():
        again = verify_credential(issuer.token(), online=True, now=NOW)
    assert again.check("key").outcome is Outcome.PASSED  # the places are free again


def suppress_refusal(url: str, allow) -> None:
    with suppress(fetch.FetchRefused):
        fetch.fetch(url, allow=allow)


def test_a_redirect_to_something_not_a_url_is_refused(site):
    site.serve("/key", b"", status=302, Location="http://[::1")
    with pytest.raises(fetch.FetchRefused,
                       match=re.escape("redirected to 'http://[::1', not a URL")):
        fetch.fetch(f"{site.url}/key", allow=fetch.allowed_networks(LOCAL))
    assert site.hits == ["/key"]


def test_a_path_beyond_ascii_is_sent_percent_encoded(site):
    site.serve("/issuer/keys/cl%C3%A9", KEY.public_jwk, "application/jwk+json")
    fetched = fetch.fetch(f"{site.url}/issuer/keys/clé", allow=fetch.allowed_networks(LOCAL))
    assert json.loads(fetched.body) == KEY.public_jwk
    assert site.hits == ["/issuer/keys/cl%C3%A9"]


# -- this installation ------------------------------------------------------------------------

def test_this_installations_credential_uses_its_own_key_and_records(app):
    from apprentice.credentials import issuer as installation
    from apprentice.credentials import keys

    with app.test_request_context(base_url="https://library.example/"):
        key = keys.current_key()
        here = Issuer("https://library.example", key)
        here.kid = installation.key_url(key.kid)
        token = here.token()
        report = verify_credential(token, online=False, now=NOW)
        looked_up = verify_credential(token, online=False, now=NOW,
                                      status_lookup=here.lookup())
    assert report.check("key").outcome is Outcome.PASSED
    assert "this installation's published keys (current key)" in report.check("key").detail
    assert report.check("issuer").outcome is Outcome.PASSED
    # No credential has a place in list 1 yet: the database's answer, not a fetch.
    assert report.check("status").detail == \
        "could not be checked: this installation has no such status list"
    assert report.verdict is Verdict.UNVERIFIED
    assert looked_up.verdict is Verdict.VALID, looked_up.lines()


# -- the command line -------------------------------------------------------------------------

def test_the_command_prints_each_check_and_exits_by_verdict(app, tmp_path, site):
    issuer = publish(site)
    app.config["APPRENTICE_CREDENTIAL_FETCH_ALLOW"] = LOCAL
    runner = app.test_cli_runner()
    good = tmp_path / "credential.json"
    good.write_text(envelope(issuer.token()))
    bad = tmp_path / "tampered.jwt"
    bad.write_text(tampered(issuer.token(), one_character("Jordan Reyes", "Jordan Reyez")))
    key_file = tmp_path / "keys.json"
    key_file.write_text(issuer.key_file())

    valid = runner.invoke(args=["apprentice", "verify-credential", str(good),
                                "--issuer-key", str(key_file)])
    assert valid.exit_code == 0, valid.output
    lines = valid.output.splitlines()
    assert lines[0] == "JSON shape: passed - a compact JWS (EdDSA) of an OpenBadgeCredential"
    assert len(lines) == 9 and lines[-1] == "Verdict: VALID (Valid: every check passed)"

    invalid = runner.invoke(args=["apprentice", "verify-credential", str(bad),
                                  "--issuer-key", str(key_file)])
    assert invalid.exit_code == 1
    assert "Signature: failed - the signature does not match" in invalid.output

    hits = len(site.hits)
    offline = runner.invoke(args=["apprentice", "verify-credential", str(good), "--offline",
                                  "--issuer-key", str(key_file)])
    assert offline.exit_code == 1
    assert "Revocation status: not checked - could not be checked: offline" in offline.output
    assert offline.output.splitlines()[-1] == (
        "Verdict: UNVERIFIED (Not verified: revocation status could not be checked)")
    assert len(site.hits) == hits

    missing = runner.invoke(args=["apprentice", "verify-credential", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "Cannot read" in missing.output
    not_a_key = runner.invoke(args=["apprentice", "verify-credential", str(good),
                                    "--issuer-key", str(good)])
    assert not_a_key.exit_code == 2 and "Cannot use" in not_a_key.output
    usage = runner.invoke(args=["apprentice", "verify-credential"])
    assert usage.exit_code == 2


# -- the public page --------------------------------------------------------------------------

def test_an_anonymous_visitor_verifies_a_pasted_credential(app, client, site):
    issuer = publish(site)
    app.config["APPRENTICE_CREDENTIAL_FETCH_ALLOW"] = LOCAL
    app.config["APPRENTICE_KNOWN_ISSUERS"] = (issuer.id,)
    page = client.get("/verify")
    assert page.status_code == 200
    assert "Paste the credential" in page.get_data(as_text=True)
    answer = client.submit("/verify", {"credential": issuer.token()})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Valid: every check passed" in text
    assert "as the credential claims" not in text
    assert "Circulation" in text and "Riverside Library" in text
    assert text.count("ap-tag-ok") == 8


def test_the_page_reports_a_tampered_upload_with_its_reasons(app, client, site):
    issuer = publish(site)
    app.config["APPRENTICE_CREDENTIAL_FETCH_ALLOW"] = LOCAL
    token = tampered(issuer.token(), one_character('"name":"Circulation"',
                                                   '"name":"Circulatiom"'))
    answer = upload(client, envelope(token).encode(), "credential.json")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Not valid: signature failed" in text
    assert "the signature does not match" in text
    assert "What the credential claims" in text and "(as the credential claims)" in text


def upload(client, content: bytes, filename: str):
    """The page's form with a file, encoded here in memory (the test client spools a large
    body to a temporary file it never closes: a ResourceWarning)."""
    boundary = "apprentice-test-boundary"
    body = b"".join([
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{client.csrf_token()}\r\n".encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode(),
        content, f"\r\n--{boundary}--\r\n".encode()])
    return client.post("/verify", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_an_empty_form_gets_a_message_by_the_field(client):
    answer = client.submit("/verify", {"credential": "  "})
    assert answer.status_code == 200
    assert "Paste a credential here, or choose its file below." in answer.get_data(as_text=True)


def test_a_50_mb_upload_is_refused_with_a_message_by_the_field_unread(client):
    body = b"-" * (50 * 1024 * 1024)
    answer = client.post("/verify", data=body,
                         content_type="multipart/form-data; boundary=xyz")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 413
    assert "That upload is 50.0 MB: a credential file is at most 1 MB" in text
    assert 'id="file-error"' in text


def test_a_file_over_1_mb_gets_a_message_by_the_field(client):
    answer = upload(client, b"e" * (1024 * 1024 + 10), "big.jwt")
    assert answer.status_code == 200
    assert "That file is larger than 1 MB" in answer.get_data(as_text=True)


# -- interop: an independent JOSE implementation ----------------------------------------------

def test_tokens_cross_verify_with_jwcrypto():
    """jwcrypto (a test-only dependency) verifies what jwt.sign signs, and what it signs
    (EdDSA, kid, typ JWT) verifies here."""
    public = jwk.JWK(**{k: v for k, v in KEY.public_jwk.items() if k != "alg"})
    ours = ELSEWHERE.token()
    theirs = jws.JWS()
    theirs.deserialize(ours)
    theirs.verify(public, alg="EdDSA")
    assert json.loads(theirs.payload)["jti"] == CREDENTIAL_ID

    private = jwk.JWK.from_pem(KEY.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    credential = ELSEWHERE.credential()
    payload = {**credential, **vcjwt.claims_for(credential)}
    signed = jws.JWS(json.dumps(payload).encode())
    signed.add_signature(private, alg="EdDSA", protected=json.dumps(
        {"alg": "EdDSA", "kid": ELSEWHERE.kid, "typ": "JWT"}))
    report = verified(signed.serialize(compact=True))
    assert report.verdict is Verdict.VALID, report.lines()


# -- a credential this installation issued, end to end ----------------------------------------

def test_an_issued_credential_verifies_here_until_it_is_revoked(app, make_person, tmp_path,
                                                                 monkeypatch, client):
    """Issued by the service, handed over as .json: valid on the command line offline and
    on the page (its key and status list read from this installation, no connection); one
    changed character: invalid; revoked: invalid, "revoked"."""
    from apprentice.credentials import handover
    from apprentice.credentials import services as credentials
    from apprentice.people.services import get_person
    from tests.support.credential_world import build_credential_world, complete_and_issue

    world = build_credential_world(app, make_person)
    issued = complete_and_issue(app, world)
    handed_over = tmp_path / "credential.json"
    handed_over.write_text(json.dumps(handover.enveloped(issued["token"])))
    connections = spy_on_connections(monkeypatch)
    runner = app.test_cli_runner()

    valid = runner.invoke(args=["apprentice", "verify-credential", str(handed_over)])
    assert valid.exit_code == 0, valid.output
    assert "Issuer: passed - this installation (http://localhost/issuer)" in valid.output
    assert "Revocation status: passed - not revoked (list read from this installation's " \
           "records at " in valid.output
    page = client.submit("/verify", {"credential": issued["token"]}).get_data(as_text=True)
    assert "Valid: every check passed" in page

    tampered_file = tmp_path / "tampered.json"
    tampered_file.write_text(json.dumps(handover.enveloped(tampered(
        issued["token"], lambda text: text.replace(issued["name"], issued["name"] + "!", 1)))))
    invalid = runner.invoke(args=["apprentice", "verify-credential", str(tampered_file)])
    assert invalid.exit_code == 1
    assert "Signature: failed - the signature does not match" in invalid.output

    with app.test_request_context():
        credentials.revoke(credentials.get_credential(issued["id"]),
                           get_person(world.coordinator.id), "Issued in error.")
    revoked = runner.invoke(args=["apprentice", "verify-credential", str(handed_over)])
    assert revoked.exit_code == 1
    assert "Revocation status: failed - revoked (list read from this installation's" \
        in revoked.output
    assert revoked.output.splitlines()[-1] == "Verdict: INVALID (Not valid: revoked by its issuer)"
    assert connections == []


def test_a_status_list_made_just_after_the_verifiers_clock_read_is_still_read(app, make_person):
    """Found walking the page: the verifier reads its clock, then this installation makes
    its status list, dated the next second; that list is not "not yet valid"."""
    from apprentice.credentials import verify as verifier
    from tests.support.credential_world import build_credential_world, complete_and_issue

    world = build_credential_world(app, make_person)
    issued = complete_and_issue(app, world)
    with app.test_request_context():
        report = verifier.verify_credential(
            issued["token"], online=False,
            now=datetime.now(UTC) - timedelta(seconds=1))  # the clock read a moment ago
    assert report.check("status").outcome is Outcome.PASSED, report.lines()
    assert report.verdict is Verdict.VALID


def test_a_status_list_kept_past_its_date_vouches_for_nothing(app):
    """A list saved long ago (the verifier's --status-list file, a cached copy) may miss a
    revocation: once expired it leaves the status not checked, never "not revoked"."""
    with app.app_context():
        report = verify_credential(
            ELSEWHERE.token(), key_file=ELSEWHERE.key_file(), online=False, now=NOW,
            status_lookup=ELSEWHERE.lookup(valid_until="2026-11-20T00:00:00Z"))
    assert report.verdict is Verdict.UNVERIFIED, report.lines()
    assert report.check("status").detail == "could not be checked: the status list's dates " \
        "check: expired on 2026-11-20 00:00:00 UTC"


def test_lone_surrogates_and_odd_digits_are_reported_not_raised(app, client):
    """Found by review: text that cannot be written back out, an index in "²", a date
    before the first UTC moment: each a reason on the page, never a 500."""
    base = ELSEWHERE.credential()
    cases = {
        "surrogate": json.dumps({**base, "name": "\ud800"}, ensure_ascii=True),
        "index": vcjwt.sign({**base, "credentialStatus": {
            **base["credentialStatus"], "statusListIndex": "\u00b2"}}, KEY, kid=ELSEWHERE.kid),
        "date": json.dumps({**base, "validFrom": "0001-01-01T00:00:00+01:00"}),
    }
    reasons = {"surrogate": "it holds a lone surrogate",
               "index": "statusListIndex is not a whole number",
               "date": "validFrom is out of range"}
    for name, text in cases.items():
        answer = client.submit("/verify", {"credential": text})
        assert answer.status_code == 200, name
        page = html.unescape(answer.get_data(as_text=True))
        assert reasons[name] in page, name
        assert "could not finish on this input" not in page, name  # not the last resort


def test_a_verifier_that_breaks_says_so_and_never_says_valid(app, client, monkeypatch):
    """The last line: an error nobody foresaw in a check is logged, and the page answers
    "not verified" instead of a 500."""
    from apprentice.credentials import verify as verifier

    def broken(*_args, **_kwargs):
        raise KeyError("a case nobody foresaw")

    monkeypatch.setattr(verifier, "_check_schema", broken)
    answer = client.submit("/verify", {"credential": ELSEWHERE.token()})
    assert answer.status_code == 200
    page = html.unescape(answer.get_data(as_text=True))
    assert "could not finish on this input" in page
    assert "Not verified" in page and "Valid: every check passed" not in page
