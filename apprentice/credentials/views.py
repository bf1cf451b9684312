"""The issuer's public documents: its Profile, its public keys (a JWK Set, and each JWK
at its own URL), and a did:web document where the installation has a real domain.

Public (no sign-in: a verifier elsewhere has no account here), read-only, and built
from the keys' public halves only (``keys.public_keys``): no page reads a private key.
They may be cached for a few minutes and read by a wallet's script on another site; a
rotation shows within :data:`MAX_AGE` seconds, and old keys never disappear.
"""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, request

from apprentice.auth.access import public, requires
from apprentice.core.answers import answers_json
from apprentice.credentials import issuer, keys, permissions

bp = Blueprint("credentials", __name__)

MAX_AGE = 300
# JWK members a verifier needs; "d" (the private part) is never among them.
PUBLISHED_MEMBERS = ("kid", "kty", "crv", "x", "use", "alg")


def _document(body: dict, mimetype: str = "application/json"):
    """A public JSON document: cacheable for a short while (the app's ``no-store`` is for
    records, and there are none here), and readable from any origin."""
    response = current_app.response_class(json.dumps(body, indent=2) + "\n",
                                          mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def published_jwk(key: keys.PublicKey) -> dict:
    """One key as published: only the public members, whatever the key file holds."""
    return {member: key.public_jwk[member] for member in PUBLISHED_MEMBERS}


@bp.route("/issuer", endpoint="issuer")
@public
@answers_json
@requires(permissions.may_read_issuer)
def issuer_profile():
    """The Open Badges 3.0 Profile of this installation (the ``issuer`` of its badges)."""
    return _document(issuer.profile())


@bp.route("/issuer/keys")
@public
@answers_json
@requires(permissions.may_read_issuer)
def key_set():
    """Every public key ever used, current and retired, as a JWK Set (RFC 7517)."""
    return _document({"keys": [published_jwk(key) for key in keys.public_keys()]})


@bp.route(f"/issuer/keys/<string(length={keys.KID_LENGTH}):kid>")
@public
@answers_json
@requires(permissions.may_read_issuer)
def key(kid: str):
    """One public key as a JWK: where a credential's ``kid`` points its verifier."""
    found = keys.public_key(kid)
    if found is None:
        abort(404, "No key of this issuer has that id.")
    return _document(published_jwk(found))


def did_web_host() -> str | None:
    """The domain of a ``did:web`` identifier, when this installation may claim one:
    APPRENTICE_ISSUER_URL is https on a real domain (not an address, not localhost),
    this request reached that domain, and apprentice is mounted at its root (where
    ``did:web:<domain>`` resolves, ``/.well-known/did.json``)."""
    configured = current_app.config.get("APPRENTICE_ISSUER_URL")
    if not configured:
        return None
    parts = urlsplit(configured)
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() != "https" or "." not in host or host.endswith(".localhost"):
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    domain = host if parts.port in (None, 443) else f"{host}:{parts.port}"
    served_at = urlsplit(request.host_url)
    if (served_at.netloc.lower() != domain or request.script_root
            or current_app.extensions["apprentice"].url_prefix):
        return None
    return domain


@bp.route("/.well-known/did.json")
@public
@answers_json
@requires(permissions.may_read_issuer)
def did_document():
    """The installation's ``did:web`` document: every public key (retired ones too, so
    old credentials verify) as a JsonWebKey2020 verification method."""
    domain = did_web_host()
    if domain is None:
        abort(404, "This installation publishes no did:web document (README: Issuer keys).")
    did = "did:web:" + domain.replace(":", "%3A")
    methods = [{"id": f"{did}#{key.kid}", "type": "JsonWebKey2020", "controller": did,
                "publicKeyJwk": published_jwk(key)} for key in keys.public_keys()]
    ids = [method["id"] for method in methods]
    return _document({
        "@context": ["https://www.w3.org/ns/did/v1",
                     "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did, "verificationMethod": methods,
        "assertionMethod": ids,
    })
