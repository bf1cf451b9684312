"""The VC-JWT proof of OB 3.0 (its "JSON Web Token Proof Format"): sign a credential
as a compact JWS, and verify one, saying what each check found.

Following OB 3.0 on VC 2.0, the JWT payload *is* the credential, with the claims
``iss`` (issuer.id), ``sub`` (credentialSubject.id), ``nbf`` (validFrom), ``jti`` (id)
and ``exp`` (validUntil, when there is one) added; the JOSE header has only ``alg``,
``kid`` and ``typ`` ("JWT"). The algorithm is EdDSA over Ed25519 and nothing else:
a token naming another algorithm (``none``, ``HS256``, ...) is refused before any key
is used. Verifying never raises for bad input and never fetches anything: the caller
gives a key lookup (this installation's keys, or a key file read offline).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidSignatureError, PyJWTError

from apprentice.credentials.openbadges import CREDENTIAL_TYPE, VC_CONTEXT

ALGORITHM = "EdDSA"
# Refused unread above this: a credential is a few kilobytes.
MAX_TOKEN_BYTES = 1024 * 1024
# The JOSE header OB 3.0 allows ("Additional JOSE Headers are NOT allowed"); a key
# carried in the token itself (``jwk``) would prove nothing, so it is not used.
HEADER_FIELDS = frozenset({"alg", "kid", "typ", "jwk"})
CLAIMS = ("iss", "sub", "nbf", "jti", "exp")
OB_CONTEXT_PATTERN = re.compile(r"^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json$")
BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
CHECKS = ("shape", "key", "signature", "claims", "dates")
# Clocks of two servers differ, and a status list is dated the second it is made (maybe
# just after the verifier read its clock): dates are compared with this much leeway, as
# RFC 7519 section 4.1.5 allows.
CLOCK_SKEW = timedelta(minutes=2)
NOT_READ = "not checked: the token could not be read"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKED = "not checked"  # never counted as passed


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED


@dataclass(frozen=True)
class FoundKey:
    """A public key a lookup found for a ``kid``, and where it came from (said in the
    report: this installation's keys, a key file, ...)."""

    kid: str
    jwk: Mapping
    source: str


KeyLookup = Callable[[str], "FoundKey | None"]


@dataclass(frozen=True)
class Verification:
    """Each check's outcome; the token is valid only if every check passed.

    ``credential`` is the payload without the JWT claims, when it could be read: it is
    what the token *says*, trustworthy only if ``ok``."""

    checks: tuple[Check, ...]
    credential: dict | None = None
    kid: str | None = None
    key_source: str | None = None

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    def check(self, name: str) -> Check:
        return next(check for check in self.checks if check.name == name)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.outcome is Outcome.FAILED)


class Unreadable(ValueError):
    """The token is not a JWS this module reads; the message says why."""


class KeyUnavailable(LookupError):
    """A key lookup could not reach the key (offline, or its URL refused or down): the
    key and the signature are *not checked*, which is not the same as a wrong key."""


# -- signing -----------------------------------------------------------------------

def claims_for(credential: Mapping) -> dict:
    """The JWT claims OB 3.0 requires, taken from the credential itself."""
    subject = credential.get("credentialSubject") or {}
    if not isinstance(subject, Mapping) or not subject.get("id"):
        raise ValueError("the credential subject needs an id: it is the JWT's sub")
    claims = {
        "iss": issuer_id(credential),
        "sub": subject["id"],
        "nbf": _numeric_date(credential["validFrom"]),
        "jti": credential["id"],
    }
    if credential.get("validUntil"):
        claims["exp"] = _numeric_date(credential["validUntil"])
    return claims


def sign(credential: Mapping, key, *, kid: str | None = None) -> str:
    """The credential as a compact JWS signed with ``key`` (``keys.current_key()``: its
    ``kid`` and Ed25519 ``private_key``). The header's ``kid`` is ``kid`` when given: OB
    3.0 wants a URL that dereferences to the public JWK (``issuer.key_url``)."""
    kid = kid or getattr(key, "kid", None)
    private_key = getattr(key, "private_key", None)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise TypeError("credentials are signed with an Ed25519 private key")
    if not isinstance(kid, str) or not kid:
        raise ValueError("the key needs a kid: verifiers find the public key by it")
    payload = {**credential, **claims_for(credential)}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return PyJWS().encode(body, private_key, algorithm=ALGORITHM,
                          headers={"kid": kid, "typ": "JWT"})


# -- verifying ---------------------------------------------------------------------

def verify(token: str | bytes, key_lookup: KeyLookup, *,
           now: datetime | None = None, credential_type: str = "OpenBadgeCredential"
           ) -> Verification:
    """Every check on ``token``, each with its reason; never raises for bad input.

    Claims and dates are read even when the signature fails, so the report says all
    that is wrong; the verdict (``ok``) still needs every check to pass.
    ``credential_type`` "BitstringStatusListCredential" verifies a status list (VC 2.0,
    no Open Badges context) with the same rules."""
    now = now or datetime.now(UTC)
    try:
        text, header, payload = read(token, credential_type)
    except Unreadable as problem:
        return Verification(checks=(Check("shape", Outcome.FAILED, str(problem)),
                                    *(Check(name, Outcome.NOT_CHECKED, NOT_READ)
                                      for name in CHECKS[1:])))
    credential = {k: v for k, v in payload.items() if k not in CLAIMS}
    shape = Check("shape", Outcome.PASSED, f"a compact JWS (EdDSA) of an {credential_type}")
    key_check, public_key, source = _find_key(header, key_lookup)
    signature = _check_signature(text, public_key)
    return Verification(
        checks=(shape, key_check, signature, _check_claims(payload, credential),
                _check_dates(payload, credential, now)),
        credential=credential, kid=_kid(header), key_source=source)


def installation_keys() -> KeyLookup:
    """This installation's published keys, retired ones included: a ``kid`` is the key's
    thumbprint or its URL (``.../issuer/keys/<thumbprint>``). Needs the app context."""
    from apprentice.credentials import keys

    def lookup(kid: str) -> FoundKey | None:
        found = keys.public_key(kid.rstrip("/").rsplit("/", 1)[-1])
        if found is None:
            return None
        state = "current key" if found.retired_at is None else \
            f"key retired on {_show(found.retired_at)}"
        return FoundKey(kid, found.public_jwk, f"this installation's published keys "
                                               f"({state})")

    return lookup


def key_set(jwks: Mapping, source: str) -> KeyLookup:
    """Keys from a JWK Set (``{"keys": [...]}``) or one JWK, e.g. an issuer's key file
    read offline; ``source`` names it in the report."""
    found = jwks.get("keys", [jwks]) if isinstance(jwks, Mapping) else []
    by_kid = {jwk["kid"]: jwk for jwk in found if isinstance(jwk, Mapping)
              and isinstance(jwk.get("kid"), str)}

    def lookup(kid: str) -> FoundKey | None:
        jwk = by_kid.get(kid) or by_kid.get(kid.rstrip("/").rsplit("/", 1)[-1])
        return FoundKey(kid, jwk, source) if jwk is not None else None

    return lookup


def read(token: str | bytes, credential_type: str = "OpenBadgeCredential"
          ) -> tuple[str, dict, dict]:
    """The token's text, header and payload, or :class:`Unreadable` with the reason."""
    if not isinstance(token, str | bytes):
        raise Unreadable("not a token: expected text")
    if len(token) > MAX_TOKEN_BYTES:
        raise Unreadable(f"larger than {MAX_TOKEN_BYTES // (1024 * 1024)} MB: not read")
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise Unreadable("not a compact JWS: it has characters other than "
                             "base64url and dots") from None
    text = token.strip()
    parts = text.split(".")
    if len(parts) != 3:
        raise Unreadable(f"not a compact JWS: expected 3 parts separated by dots, "
                         f"found {len(parts)}")
    # The header first, so that a token with alg "none" (and no signature) is told
    # about its algorithm.
    header = _json_object(parts[0], "header")
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise Unreadable(f"algorithm {_short(alg)} refused: only {ALGORITHM} is accepted")
    if not all(BASE64URL.fullmatch(part) for part in parts[1:]):
        raise Unreadable("not a compact JWS: the payload or signature is empty or not "
                         "base64url")
    extra = sorted(set(header) - HEADER_FIELDS)
    if extra:
        raise Unreadable(f"the header has fields OB 3.0 does not allow: {clip(', '.join(extra))}")
    if "typ" in header and header["typ"] != "JWT":
        raise Unreadable(f"the header's typ is {_short(header['typ'])}, not 'JWT'")
    payload = _json_object(parts[1], "payload")
    if "vc" in payload:
        raise Unreadable("a VC 1.1 token (the credential in a 'vc' claim) is not supported")
    check_credential_shape(payload, credential_type)
    return text, header, payload


def _json_object(part: str, what: str) -> dict:
    if not BASE64URL.fullmatch(part):
        raise Unreadable(f"not a compact JWS: the {what} is empty or not base64url")
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = read_json(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError) as problem:
        detail = str(problem) if isinstance(problem, Unreadable) else "not JSON"
        raise Unreadable(f"the {what} is {detail}") from None
    if not isinstance(value, dict):
        raise Unreadable(f"the {what} is not a JSON object")
    return value


def read_json(text: str | bytes):
    """JSON as a verifier reads it: no name given twice, no NaN or Infinity, and only
    text that can be written back out (a lone surrogate such as "\\ud800" cannot, and
    would break the page that reports it); ValueError (or RecursionError) if not."""
    value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Unreadable("not valid Unicode text (it holds a lone surrogate)") from None
    return value


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise Unreadable("JSON with a name given twice")
    return dict(pairs)


def _no_constant(name: str):
    raise Unreadable(f"JSON with {name}, which JSON does not allow")


def check_credential_shape(payload: Mapping,
                            credential_type: str = "OpenBadgeCredential") -> None:
    badge = credential_type == "OpenBadgeCredential"
    context = payload.get("@context")
    if not isinstance(context, list) or len(context) < (2 if badge else 1) \
            or context[0] != VC_CONTEXT:
        raise Unreadable(f"the payload is not a VC 2.0 credential: @context must start "
                         f"with {VC_CONTEXT}")
    if badge and not any(isinstance(c, str) and OB_CONTEXT_PATTERN.fullmatch(c)
                         for c in context):
        raise Unreadable("the payload is not an Open Badges 3.0 credential: no OB context")
    types = payload.get("type")
    types = [types] if isinstance(types, str) else types
    wanted = {"OpenBadgeCredential", "AchievementCredential"} if badge else {credential_type}
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types) \
            or CREDENTIAL_TYPE[0] not in types or not wanted & set(types):
        raise Unreadable(f"the payload's type is not VerifiableCredential and "
                         f"{credential_type}")
    for name in ("id", "validFrom"):
        if not isinstance(payload.get(name), str):
            raise Unreadable(f"the credential has no {name}")
    if not isinstance(payload.get("credentialSubject"), dict):
        raise Unreadable("the credential has no credentialSubject")
    if issuer_id(payload) is None:
        raise Unreadable("the credential has no issuer id")


def _kid(header: Mapping) -> str | None:
    kid = header.get("kid")
    return kid if isinstance(kid, str) and kid else None


def _find_key(header: Mapping, key_lookup: KeyLookup
              ) -> tuple[Check, Ed25519PublicKey | None, str | None]:
    kid = _kid(header)
    if kid is None:
        return (Check("key", Outcome.FAILED, "no kid in the header: the key cannot be "
                      "looked up (a key carried in the token proves nothing)"), None, None)
    try:
        found = key_lookup(kid)
    except KeyUnavailable as problem:
        return (Check("key", Outcome.NOT_CHECKED, f"key {clip(kid)} not checked: "
                      f"{problem}"), None, None)
    except (LookupError, ValueError, OSError, RuntimeError) as problem:
        return (Check("key", Outcome.FAILED, f"key {clip(kid)} could not be looked up: "
                      f"{problem}"), None, None)
    if found is None:
        return Check("key", Outcome.FAILED, f"unknown key {clip(kid)}"), None, None
    try:
        public_key = _ed25519(found.jwk)
    except Unreadable as problem:
        return (Check("key", Outcome.FAILED, f"key {clip(kid)} from {found.source}: {problem}"),
                None, found.source)
    return (Check("key", Outcome.PASSED, f"key {clip(kid)} from {found.source}"), public_key,
            found.source)


def _ed25519(jwk: Mapping) -> Ed25519PublicKey:
    """The Ed25519 public key in a JWK (only ``x`` is read: a private ``d`` is ignored)."""
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise Unreadable("not an Ed25519 key (OKP, Ed25519)")
    if jwk.get("alg", ALGORITHM) not in (ALGORITHM, "Ed25519") or jwk.get("use", "sig") != "sig":
        raise Unreadable("the key is not for EdDSA signatures")
    x = jwk.get("x")
    try:
        raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)) \
            if isinstance(x, str) and BASE64URL.fullmatch(x) else b""
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise Unreadable("the key's x is not an Ed25519 public key") from None


def _check_signature(text: str, public_key: Ed25519PublicKey | None) -> Check:
    if public_key is None:
        return Check("signature", Outcome.NOT_CHECKED, "not checked: no usable key")
    try:
        PyJWS().decode_complete(text, key=public_key, algorithms=[ALGORITHM])
    except InvalidSignatureError:
        return Check("signature", Outcome.FAILED, "the signature does not match: the "
                     "token was changed after signing, or signed with another key")
    except PyJWTError as problem:
        return Check("signature", Outcome.FAILED, f"the signature could not be checked: "
                     f"{problem}")
    return Check("signature", Outcome.PASSED, "the signature matches the key")


def _check_claims(payload: Mapping, credential: Mapping) -> Check:
    """OB 3.0's rules: each claim present and equal to the credential's own value."""
    problems = []
    expected = {"iss": ("issuer.id", issuer_id(credential)),
                "sub": ("credentialSubject.id", credential["credentialSubject"].get("id")),
                "jti": ("id", credential["id"])}
    for claim, (field, value) in expected.items():
        if claim not in payload:
            problems.append(f"no {claim} claim")
        elif payload[claim] != value:
            problems.append(f"{claim} is {_short(payload[claim])} but the credential's {field} "
                            f"is {_short(value)}")
    for claim, field in (("nbf", "validFrom"), ("exp", "validUntil")):
        if claim not in payload and field not in credential:
            continue
        if claim not in payload:
            problems.append(f"no {claim} claim for the credential's {field}")
        elif field not in credential:
            problems.append(f"{claim} is set but the credential has no {field}")
        elif not _same_second(payload[claim], credential[field]):
            problems.append(f"{claim} ({_short(payload[claim])}) is not the credential's "
                            f"{field} ({_short(credential[field])})")
    if problems:
        return Check("claims", Outcome.FAILED, "; ".join(problems))
    return Check("claims", Outcome.PASSED, "iss, sub, jti, nbf and exp agree with the "
                 "credential")


def check_dates(credential: Mapping, now: datetime) -> Check:
    """The dates of a credential read without a JWT (its validFrom and validUntil)."""
    return _check_dates({}, credential, now)


def _check_dates(payload: Mapping, credential: Mapping, now: datetime) -> Check:
    """Valid from the later of nbf and validFrom, until the earlier of exp and validUntil."""
    try:
        starts = [_moment(credential["validFrom"], "validFrom")]
        ends = [_moment(credential["validUntil"], "validUntil")] \
            if "validUntil" in credential else []
        if "nbf" in payload:
            starts.append(_from_numeric(payload["nbf"], "nbf"))
        if "exp" in payload:
            ends.append(_from_numeric(payload["exp"], "exp"))
    except Unreadable as problem:
        return Check("dates", Outcome.FAILED, str(problem))
    start, end = max(starts), min(ends) if ends else None
    if now + CLOCK_SKEW < start:
        return Check("dates", Outcome.FAILED, f"not yet valid: valid from {_show(start)}")
    if end is not None and now - CLOCK_SKEW >= end:
        return Check("dates", Outcome.FAILED, f"expired on {_show(end)}")
    until = f" until {_show(end)}" if end is not None else ", with no end date"
    return Check("dates", Outcome.PASSED, f"valid from {_show(start)}{until}")


def issuer_id(credential: Mapping) -> str | None:
    issuer = credential.get("issuer")
    value = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return value if isinstance(value, str) and value else None


def _moment(value, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Unreadable(f"{field} is not a date and time with a time zone: {_short(value)}")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first UTC moment
        raise Unreadable(f"{field} is out of range: {_short(value)}") from None


def _from_numeric(value, claim: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unreadable(f"{claim} is not a NumericDate: {_short(value)}")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise Unreadable(f"{claim} is not a date: {_short(value)}") from None


def _numeric_date(value: str) -> int:
    return int(_moment(value, "date").timestamp())


def _same_second(numeric, text) -> bool:
    """A NumericDate and a DateTime name the same moment (to the second: JWT dates are
    usually whole seconds)."""
    try:
        return int(_from_numeric(numeric, "claim").timestamp()) == \
            int(_moment(text, "date").timestamp())
    except Unreadable:
        return False


def clip(text: str, limit: int = 200) -> str:
    """Text from the token, cut to a length a report can show."""
    return text if len(text) <= limit else f"{text[:limit]}..."


def _short(value) -> str:
    return clip(repr(value))


def _show(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
