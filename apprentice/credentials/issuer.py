"""The installation as an issuer: its Open Badges 3.0 Profile and where its keys live.

The Profile follows OB 3.0's Profile class (``ob_v3p0/common_credentials.lines`` of
1EdTech's openbadges-specification): ``id`` (the profile's own URL), ``type`` Profile,
and the optional ``name``, ``url`` and ``email``. Settings: APPRENTICE_ISSUER_NAME (else
the site name), APPRENTICE_ISSUER_URL (else this app's root URL), APPRENTICE_ISSUER_EMAIL
(else none); apprentice/config.py checks them at start.
"""

from __future__ import annotations

from flask import current_app, url_for

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def issuer_name() -> str:
    return current_app.config.get("APPRENTICE_ISSUER_NAME") \
        or current_app.config["APPRENTICE_SITE_NAME"]


def issuer_url() -> str:
    """The issuer's home page; by default this app's own root (a request, or SERVER_NAME,
    gives its host: set APPRENTICE_ISSUER_URL so it never depends on how the app was
    reached)."""
    return current_app.config.get("APPRENTICE_ISSUER_URL") \
        or url_for("apprentice.records.home", _external=True)


def issuer_email() -> str | None:
    return current_app.config.get("APPRENTICE_ISSUER_EMAIL") or None


def profile_url() -> str:
    """The Profile's id: the URL it is published at (``/issuer``)."""
    return url_for("apprentice.credentials.issuer", _external=True)


def key_set_url() -> str:
    """Where every public key is published, as a JWK Set."""
    return url_for("apprentice.credentials.key_set", _external=True)


def key_url(kid: str) -> str:
    """Where the public key ``kid`` is published, as one JWK: what a VC-JWT's ``kid``
    header or a proof's verification method points a verifier at."""
    return url_for("apprentice.credentials.key", kid=kid, _external=True)


def issuer_reference() -> dict:
    """The issuer as a credential embeds it (OB 3.0: id, type and name at least)."""
    reference = {"id": profile_url(), "type": "Profile", "name": issuer_name(),
                 "url": issuer_url()}
    if issuer_email():
        reference["email"] = issuer_email()
    return reference


def profile() -> dict:
    """The Profile document published at ``/issuer``."""
    return {"@context": [VC_CONTEXT, OB_CONTEXT], **issuer_reference()}
