"""Verifying an Open Badges 3.0 credential, offline first, saying what each check found.

One function, :func:`verify_credential`, for the command line, the public ``/verify``
page and other installations' credentials alike. It reads a compact VC-JWT, or JSON: the
VC 2.0 ``EnvelopedVerifiableCredential`` this app hands over as a .json file, or a plain
credential (whose proof, if any, this verifier does not check: it is never *valid*).

Each check is passed, failed or not checked, with its reason: shape, schema (1EdTech's
AchievementCredential JSON Schema, shipped in ``schema/``), signature, key (which one,
and where it came from: this installation, the key file given, or fetched from its URL),
claims, dates, status (the issuer's signed Bitstring Status List) and issuer. The
verdict is *valid* only when every check passed, *invalid* when one failed, and
*unverified* otherwise: something could not be checked, which is never shown as fine.

Offline, nothing goes to the network. Online, a key, Profile or status list of another
installation is fetched through :mod:`apprentice.credentials.fetch` (public addresses
only, small, quick); this installation's own keys and status lists are answered from
its key folder and database, never over HTTP.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import islice
from urllib.parse import urlsplit

from apprentice.credentials import fetch as remote
from apprentice.credentials import jwt as vcjwt
from apprentice.credentials import statuslist
from apprentice.credentials.jwt import Check, FoundKey, KeyUnavailable, Outcome
from apprentice.credentials.openbadges import VC_CONTEXT

MAX_INPUT_BYTES = vcjwt.MAX_TOKEN_BYTES  # 1 MB: a credential is a few kilobytes
MAX_SCHEMA_ERRORS = 50
logger = logging.getLogger(__name__)
ENVELOPE_TYPE = "EnvelopedVerifiableCredential"
ENVELOPE_PREFIX = "data:application/vc+jwt,"
STATUS_LIST_TYPE = "BitstringStatusListCredential"
# Every check, in the order a report lists them, with the words a person reads.
LABELS = {
    "shape": "JSON shape",
    "schema": "Open Badges schema",
    "signature": "Signature",
    "key": "Key",
    "claims": "JWT claims",
    "dates": "Validity dates",
    "status": "Revocation status",
    "issuer": "Issuer",
}
NO_PROOF = "not checked: no proof this verifier supports (VC-JWT EdDSA only)"
NOT_READ = "not checked: the credential could not be read"
# Seconds all the fetches of one verification may take together (each has fetch.TIMEOUT):
# a page waits for them.
FETCH_BUDGET = 10.0

# The status list of a URL: its signed VC-JWT (text or bytes), or None when unknown.
StatusLookup = Callable[[str], "str | bytes | None"]


class Verdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNVERIFIED = "unverified"


@dataclass(frozen=True)
class Report:
    """What the verifier found: each check (in :data:`LABELS` order) and the verdict.

    ``credential`` is what the credential *says*; only a valid one is to be believed."""

    checks: tuple[Check, ...]
    credential: dict | None = None
    form: str = ""  # "VC-JWT", "VC-JWT in a JSON envelope", "JSON", or "" when unread
    kid: str | None = None
    key_source: str | None = None

    @property
    def verdict(self) -> Verdict:
        if any(check.outcome is Outcome.FAILED for check in self.checks):
            return Verdict.INVALID
        if all(check.passed for check in self.checks):
            return Verdict.VALID
        return Verdict.UNVERIFIED

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    @property
    def headline(self) -> str:
        """The verdict and what decided it, in one line (the page's heading, the command
        line's last line): a reader at another library sees *why* before the details."""
        if self.verdict is Verdict.VALID:
            return "Valid: every check passed"
        if self.verdict is Verdict.INVALID:
            failed = [check.name for check in self.checks if check.outcome is Outcome.FAILED]
            if failed == ["status"]:
                return "Not valid: revoked by its issuer"
            return "Not valid: " + _listed(failed) + " failed"
        unchecked = [check.name for check in self.checks
                     if check.outcome is Outcome.NOT_CHECKED]
        return "Not verified: " + _listed(unchecked) + " could not be checked"

    def check(self, name: str) -> Check:
        return next(check for check in self.checks if check.name == name)

    @property
    def claimed(self) -> dict[str, str]:
        """The credential's name, achievement, issuer, holder and dates as it states them
        (text only, for a report to show)."""
        credential = self.credential or {}
        subject = credential.get("credentialSubject")
        subject = subject if isinstance(subject, Mapping) else {}
        achievement = subject.get("achievement")
        achievement = achievement if isinstance(achievement, Mapping) else {}
        issuer = credential.get("issuer")
        issuer = issuer if isinstance(issuer, Mapping) else {"id": issuer}
        found = {"name": credential.get("name"), "achievement": achievement.get("name"),
                 "issuer": issuer.get("name"), "issuer_id": issuer.get("id"),
                 "id": credential.get("id"), "valid_from": credential.get("validFrom"),
                 "valid_until": credential.get("validUntil")}
        return {name: vcjwt.clip(value) for name, value in found.items()
                if isinstance(value, str) and value}

    def lines(self) -> list[str]:
        """The report as plain text lines (the command line's output)."""
        return [f"{LABELS[check.name]}: {check.outcome.value} - {reason(check)}"
                for check in self.checks] + [
                    f"Verdict: {self.verdict.value.upper()} ({self.headline})"]


def _listed(names: list[str]) -> str:
    labels = [LABELS[name].lower() for name in names]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def reason(check: Check) -> str:
    """A check's detail without a "not checked:" its outcome already says."""
    prefix = "not checked: "
    if check.outcome is Outcome.NOT_CHECKED and check.detail.startswith(prefix):
        return check.detail[len(prefix):]
    return check.detail


@dataclass
class _Keys:
    """Finds a token's key, remembering where it came from (the issuer check needs it)
    and what it fetched (a status list is signed by the same key)."""

    issuer_id: str | None
    key_file: FoundKeySet | None
    online: bool
    allow: tuple
    origin: str | None = None  # "installation", "key file", "fetched"
    fetched: dict = field(default_factory=dict)
    deadline: float = field(default_factory=lambda: time.monotonic() + FETCH_BUDGET)

    def __call__(self, kid: str) -> FoundKey | None:
        if self.key_file is not None:
            found = self.key_file.lookup(kid)
            if found is not None:
                self.origin = "key file"
                return found
        found = _own_key(kid)
        if found is not None:
            self.origin = "installation"
            return found
        if self.key_file is not None:
            return None  # the key file given is the issuer's word: this kid is not in it
        if not self.online:
            raise KeyUnavailable("offline, and not a key of this installation: give the "
                                 "issuer's key file (its /issuer/keys document)")
        if not kid.startswith(("https://", "http://")):
            raise KeyUnavailable("the kid is not a URL to fetch the key from: give the "
                                 "issuer's key file")
        if not _same_site(kid, self.issuer_id):
            raise KeyUnavailable(f"the key URL is not on the issuer's site "
                                 f"({vcjwt.clip(str(self.issuer_id))}): a key from "
                                 f"elsewhere would prove nothing about the issuer")
        try:
            document = _json(self.fetch(kid).body)
        except (remote.FetchRefused, ValueError) as problem:
            raise KeyUnavailable(str(problem)) from None
        if isinstance(document, Mapping) and "keys" not in document and "kid" not in document:
            document = {**document, "kid": kid}
        found = vcjwt.key_set(document, "the issuer's site (fetched from the kid URL)")(kid)
        if found is not None:
            self.origin = "fetched"
        return found

    def fetch(self, url: str) -> remote.Fetched:
        if url not in self.fetched:
            left = self.deadline - time.monotonic()
            try:
                if left <= 0:
                    raise remote.FetchRefused(f"not fetched: the verifier's {FETCH_BUDGET:.0f} "
                                              "seconds for fetching were used up")
                self.fetched[url] = remote.fetch(url, allow=self.allow,
                                                 timeout=min(remote.TIMEOUT, left))
            except remote.FetchRefused as problem:
                self.fetched[url] = problem
        found = self.fetched[url]
        if isinstance(found, remote.FetchRefused):
            raise found
        return found


@dataclass(frozen=True)
class FoundKeySet:
    lookup: vcjwt.KeyLookup


def read_key_file(data: bytes | str) -> FoundKeySet:
    """A JWK or a JWK Set (what ``/issuer/keys`` serves), or ValueError saying why."""
    if not isinstance(data, bytes | str):
        raise ValueError("the key file is not text")
    if len(data) > remote.MAX_BODY:
        raise ValueError("the key file is larger than a key set can be")
    try:
        document = _json(data)
    except ValueError:
        raise ValueError("the key file is not JSON (a JWK or a JWK Set)") from None
    keys = document.get("keys", [document]) if isinstance(document, Mapping) else None
    if not isinstance(keys, list) or not keys or not all(
            isinstance(key, Mapping) and isinstance(key.get("kid"), str) for key in keys):
        raise ValueError("the key file is not a JWK or a JWK Set whose keys have a kid")
    if any("d" in key for key in keys):
        raise ValueError("the key file holds a private key: give the public key only")
    return FoundKeySet(vcjwt.key_set(document, "the key file you gave"))


def verify_credential(data: bytes | str, *, key_file: bytes | str | None = None,
                      online: bool, now: datetime | None = None,
                      status_lookup: StatusLookup | None = None) -> Report:
    """Every check on ``data``; never raises for bad input (the report says why).

    Input nobody foresaw that still breaks a check is logged and reported as *not
    verified*: a verifier that fails says so, and never shows a credential as fine."""
    try:
        return _verify_credential(data, key_file=key_file, online=online, now=now,
                                  status_lookup=status_lookup)
    except Exception:  # the last line: a public page must answer, and never "valid"
        logger.exception("verifying a credential failed")
        return Report((Check("shape", Outcome.NOT_CHECKED, "not checked: the verifier could "
                             "not finish on this input (the error is logged)"),
                       *_not_read().values()))


def _verify_credential(data: bytes | str, *, key_file: bytes | str | None, online: bool,
                       now: datetime | None, status_lookup: StatusLookup | None) -> Report:
    now = now or datetime.now(UTC)
    if not isinstance(data, bytes | str):
        return _unread("not a credential: expected text or bytes")
    if len(data) > MAX_INPUT_BYTES:
        return _unread(f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MB: not read "
                       "(a credential is a few kilobytes)")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _unread("not text: neither a VC-JWT nor JSON")
    text = data.strip()
    if not text:
        return _unread("empty: paste or upload a credential")
    keys_given = None
    if key_file is not None:
        try:
            keys_given = read_key_file(key_file)
        except ValueError as problem:
            return _unread(f"the key file could not be used: {problem}")
    if text.startswith(("{", "[")):
        try:
            document = _json(text)
        except ValueError as problem:
            return _unread(f"not valid JSON: {problem}")
        if not isinstance(document, dict):
            return _unread("JSON, but not a credential (an object)")
        if document.get("type") == ENVELOPE_TYPE or ENVELOPE_TYPE in _types(document):
            token = document.get("id")
            context = document.get("@context")
            if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
                return _unread(f"an {ENVELOPE_TYPE} whose @context does not start with "
                               f"{VC_CONTEXT}")
            if not isinstance(token, str) or not token.startswith(ENVELOPE_PREFIX):
                return _unread(f"an {ENVELOPE_TYPE} whose id is not a "
                               f"'{ENVELOPE_PREFIX}...' URL")
            return _verify_token(token[len(ENVELOPE_PREFIX):], "VC-JWT in a JSON envelope",
                                 keys_given, online, now, status_lookup)
        return _verify_plain(document, now)
    return _verify_token(text, "VC-JWT", keys_given, online, now, status_lookup)


# -- the two forms ---------------------------------------------------------------------------

def _verify_token(token: str, form: str, keys_given: FoundKeySet | None, online: bool,
                  now: datetime, status_lookup: StatusLookup | None) -> Report:
    issuer_id = _issuer_of_token(token)
    finder = _Keys(issuer_id, keys_given, online, remote.configured_networks() if online else ())
    found = vcjwt.verify(token, finder, now=now)
    checks = {check.name: check for check in found.checks}
    credential = found.credential
    if credential is None:  # not readable: nothing more to check
        return Report(tuple(_ordered({**checks, **_not_read()})), None, "")
    signed = checks["signature"].passed
    origin = finder.origin  # where the credential's key came from (not its status list's)
    checks["schema"] = _check_schema(credential)
    checks["status"] = _check_status(credential, finder, origin, online, now,
                                     status_lookup, signed)
    checks["issuer"] = _check_issuer(credential, finder, origin, online, signed)
    return Report(tuple(_ordered(checks)), credential, form, found.kid, found.key_source)


def _verify_plain(document: dict, now: datetime) -> Report:
    """A JSON credential with no VC-JWT: read and checked, but its proof (if any) is not
    one this verifier checks, so it can be invalid or unverified, never valid."""
    proof = document.get("proof")
    kinds = sorted({p.get("cryptosuite") or p.get("type") for p in
                    (proof if isinstance(proof, list) else [proof])
                    if isinstance(p, Mapping) and isinstance(p.get("cryptosuite")
                                                             or p.get("type"), str)})
    shape = Check("shape", Outcome.PASSED, "a JSON credential" + (
        f" with an embedded proof ({vcjwt.clip(', '.join(kinds))})" if kinds
        else " without a proof"))
    try:
        vcjwt.check_credential_shape(document)
    except vcjwt.Unreadable as problem:
        shape = Check("shape", Outcome.FAILED, str(problem))
    checks = {"shape": shape, "schema": _check_schema(document),
              "signature": Check("signature", Outcome.NOT_CHECKED, NO_PROOF),
              "key": Check("key", Outcome.NOT_CHECKED, "not checked: no VC-JWT proof"),
              "claims": Check("claims", Outcome.NOT_CHECKED, "not checked: no VC-JWT proof"),
              "dates": vcjwt.check_dates(document, now) if shape.passed else
              Check("dates", Outcome.NOT_CHECKED, vcjwt.NOT_READ),
              "status": Check("status", Outcome.NOT_CHECKED, "not checked: the credential's "
                              "proof was not verified"),
              "issuer": Check("issuer", Outcome.NOT_CHECKED, "not checked: the credential's "
                              "proof was not verified")}
    return Report(tuple(_ordered(checks)), document, "JSON")


# -- the checks this module adds to jwt.verify's ------------------------------------------------

@cache
def _validator():
    import jsonschema

    schema = json.loads(resources.files("apprentice.credentials").joinpath(
        "schema/ob_v3p0_achievementcredential_schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(
        schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER)


def _check_schema(credential: Mapping) -> Check:
    try:
        # At most MAX_SCHEMA_ERRORS: unsigned input from anyone costs no more than that.
        errors = sorted(islice(_validator().iter_errors(credential), MAX_SCHEMA_ERRORS),
                        key=lambda e: [str(part) for part in e.path])
    except RecursionError:
        return Check("schema", Outcome.FAILED, "too deeply nested to be checked")
    if not errors:
        return Check("schema", Outcome.PASSED, "matches the Open Badges 3.0 "
                     "AchievementCredential JSON Schema")
    shown = "; ".join(f"{'/'.join(map(str, error.absolute_path)) or 'the credential'}: "
                      f"{vcjwt.clip(error.message, 120)}" for error in errors[:3])
    more = f" (and {'at least ' if len(errors) == MAX_SCHEMA_ERRORS else ''}" \
        f"{len(errors) - 3} more)" if len(errors) > 3 else ""
    return Check("schema", Outcome.FAILED, f"does not match the Open Badges 3.0 schema: "
                 f"{shown}{more}")


def _check_status(credential: Mapping, finder: _Keys, origin: str | None, online: bool,
                  now: datetime, status_lookup: StatusLookup | None, signed: bool) -> Check:
    """Revoked or not, from the issuer's signed list; *not checked* whenever the list
    could not be fetched or trusted."""
    status = credential.get("credentialStatus")
    if isinstance(status, list):  # VC 2.0 allows several; ours is the revocation one
        status = next((entry for entry in status if isinstance(entry, Mapping)
                       and entry.get("statusPurpose") == statuslist.PURPOSE),
                      status[0] if status else None)
    if status is None:
        return Check("status", Outcome.NOT_CHECKED, "not checked: the credential names "
                     "no status list")
    try:
        url, index = statuslist.index_of(status)
    except statuslist.BadStatusList as problem:
        return Check("status", Outcome.FAILED, f"the credential's status entry is "
                     f"unreadable: {problem}")
    if not signed:
        return _unchecked("the credential's signature was not verified")
    try:
        token, fetched_at = _status_token(url, finder, origin, online, status_lookup)
    except _NoList as problem:
        return _unchecked(str(problem))
    listed = vcjwt.verify(token, finder, now=now, credential_type=STATUS_LIST_TYPE)
    if not listed.ok:
        failed = next(check for check in listed.checks if not check.passed)
        return _unchecked(f"the status list's {failed.name} check: {failed.detail}")
    list_credential = listed.credential
    if vcjwt.issuer_id(list_credential) != vcjwt.issuer_id(credential):
        return _unchecked("the status list was issued by someone else")
    if list_credential.get("id") != url:
        return _unchecked("the status list is not the one the credential names")
    subject = list_credential.get("credentialSubject") or {}
    if subject.get("statusPurpose") != statuslist.PURPOSE:
        return _unchecked("the status list is not a revocation list")
    try:
        revoked = statuslist.is_set(statuslist.decode(subject.get("encodedList")), index)
    except statuslist.BadStatusList as problem:
        return _unchecked(str(problem))
    when = f"list {fetched_at} at {_show(now)}"
    dated = list_credential.get("validFrom")
    if isinstance(dated, str) and dated:
        # A list handed over as a file may be old: say when the issuer made it.
        when += f", made by the issuer at {vcjwt.clip(dated)}"
    if revoked:
        return Check("status", Outcome.FAILED, f"revoked ({when})")
    return Check("status", Outcome.PASSED, f"not revoked ({when})")


class _NoList(Exception):
    """The status list could not be had; says why."""


def _status_token(url: str, finder: _Keys, origin: str | None, online: bool,
                  status_lookup: StatusLookup | None) -> tuple[str | bytes, str]:
    if status_lookup is not None:
        token = status_lookup(url)
        if token is None:
            raise _NoList("no such status list")
        return token, "read"
    if origin == "installation":
        number = _own_list_number(url)
        if number is None:
            raise _NoList("the status list URL is not one of this installation's")
        try:
            token = _own_status_list(url, number)
        except (RuntimeError, ValueError) as problem:  # a key folder edited by hand
            raise _NoList(f"this installation could not build its status list: "
                          f"{problem}") from None
        if token is None:
            raise _NoList("this installation has no such status list")
        return token, "read from this installation's records"
    if not online:
        raise _NoList("offline: the issuer's status list was not fetched")
    if not _same_site(url, finder.issuer_id):
        raise _NoList("the status list is not on the issuer's site")
    try:
        fetched = finder.fetch(url)
    except remote.FetchRefused as problem:
        raise _NoList(str(problem)) from None
    return fetched.body, "fetched"


def _check_issuer(credential: Mapping, finder: _Keys, origin: str | None, online: bool,
                  signed: bool) -> Check:
    """Who vouches for the issuer: this installation, the key file given, or the
    issuer's own site (its key and its published Profile)."""
    issuer_id = vcjwt.issuer_id(credential)
    shown = vcjwt.clip(str(issuer_id))
    if not signed:
        return Check("issuer", Outcome.NOT_CHECKED, f"{shown}: not checked, the signature "
                     "was not verified")
    if origin == "installation":
        return Check("issuer", Outcome.PASSED, f"this installation ({shown}): signed with "
                     "its own key")
    if origin == "key file":
        return Check("issuer", Outcome.PASSED, f"{shown}: vouched for by the key file you "
                     "gave (make sure it came from the issuer)")
    if origin == "fetched" and online:
        try:
            profile = _json(finder.fetch(issuer_id).body)
        except (remote.FetchRefused, ValueError) as problem:
            return Check("issuer", Outcome.NOT_CHECKED, f"unknown issuer {shown}: its "
                         f"profile could not be read ({problem})")
        if not isinstance(profile, Mapping) or profile.get("id") != issuer_id:
            return Check("issuer", Outcome.NOT_CHECKED, f"unknown issuer {shown}: the "
                         "document at its id is not its profile")
        if not _known_issuer(issuer_id):
            # Anyone can publish a key and a profile on their own site: that proves who
            # controls the site, not that it is a library this installation trusts.
            return Check("issuer", Outcome.NOT_CHECKED, f"unknown issuer {shown}: its key "
                         f"and profile are published on {urlsplit(issuer_id).hostname}, "
                         "but it is not among the issuers this installation knows "
                         "(APPRENTICE_KNOWN_ISSUERS); find out who runs that site first")
        return Check("issuer", Outcome.PASSED, f"{shown}: a known issuer "
                     "(APPRENTICE_KNOWN_ISSUERS), its profile and key fetched from its site")
    return Check("issuer", Outcome.NOT_CHECKED, f"unknown issuer {shown}")


# -- helpers ----------------------------------------------------------------------------------

def _known_issuer(issuer_id: str) -> bool:
    from flask import current_app, has_app_context

    if not has_app_context():
        return False
    known = current_app.config.get("APPRENTICE_KNOWN_ISSUERS") or ()
    return issuer_id.rstrip("/") in {url.rstrip("/") for url in known}


def _own_key(kid: str) -> FoundKey | None:
    """This installation's published key ``kid`` (a thumbprint, or a URL ending in one),
    from its key folder; None outside an app."""
    from flask import has_app_context

    if not has_app_context():
        return None
    from apprentice.credentials import keys

    try:
        if keys.public_key(kid.rstrip("/").rsplit("/", 1)[-1]) is None:
            return None
    except keys.KeyStoreProblem:
        return None
    return vcjwt.installation_keys()(kid)


def _own_list_number(url: str) -> int | None:
    """The number of this installation's status list at ``url`` (``.../issuer/status/N``:
    a credential signed with this installation's key names its own lists)."""
    path = urlsplit(url).path.rstrip("/")
    head, _, number = path.rpartition("/")
    if head.endswith("/issuer/status") and statuslist.DIGITS.fullmatch(number) \
            and len(number) < 10:
        return int(number)
    return None


def _own_status_list(url: str, number: int) -> str | None:
    """This installation's status list ``number``, built from its records as its public
    URL would serve it. Built in a request for the address the credential names (the
    one it was issued under), so the list's id and issuer are the credential's, whether
    this runs in a command (no request) or a page reached at another address."""
    from flask import current_app

    from apprentice.credentials import services

    parts = urlsplit(url)
    head = parts.path[: parts.path.rstrip("/").rindex("/issuer/status/")]
    prefix = (current_app.extensions["apprentice"].url_prefix or "").rstrip("/")
    script_root = head[: -len(prefix)] if prefix and head.endswith(prefix) else head
    with current_app.test_request_context(
            base_url=f"{parts.scheme}://{parts.netloc}{script_root}/"):
        return services.status_list_token(number)


def _same_site(url: str, issuer_id: str | None) -> bool:
    """Same scheme, host and port: what the issuer's own site publishes."""
    if not isinstance(issuer_id, str):
        return False
    try:
        a, b = urlsplit(url), urlsplit(issuer_id)
        return (a.scheme.lower(), a.hostname, a.port) == (b.scheme.lower(), b.hostname, b.port) \
            and a.scheme.lower() in ("http", "https") and bool(a.hostname)
    except ValueError:
        return False


def _issuer_of_token(token: str) -> str | None:
    """The issuer id a token claims (unverified: only to know where its key may live)."""
    try:
        _, _, payload = vcjwt.read(token)
    except vcjwt.Unreadable:
        return None
    return vcjwt.issuer_id(payload)


def _json(data: bytes | str):
    """JSON as the verifier reads it: no name given twice, no NaN; ValueError if not."""
    try:
        return vcjwt.read_json(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as problem:
        raise ValueError(vcjwt.clip(str(problem), 120)) from None


def _types(document: Mapping) -> list:
    types = document.get("type")
    return types if isinstance(types, list) else [types]


def _unchecked(why: str) -> Check:
    return Check("status", Outcome.NOT_CHECKED, f"could not be checked: {why}")


def _not_read() -> dict[str, Check]:
    return {name: Check(name, Outcome.NOT_CHECKED, NOT_READ) for name in LABELS
            if name != "shape"}


def _unread(why: str) -> Report:
    return Report(tuple(_ordered({"shape": Check("shape", Outcome.FAILED, why),
                                  **_not_read()})))


def _ordered(checks: Mapping[str, Check]) -> list[Check]:
    return [checks[name] for name in LABELS if name in checks]


def _show(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
