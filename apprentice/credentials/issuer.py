"""The installation as an issuer: its Open Badges 3.0 Profile and where its keys live.

The Profile follows OB 3.0's Profile class (``ob_v3p0/common_credentials.lines`` of
1EdTech's openbadges-specification): ``id`` (the profile's own URL), ``type`` Profile,
and the optional ``name``, ``url`` and ``email``. Settings: APPRENTICE_ISSUER_NAME (else
the site name), APPRENTICE_ISSUER_URL (else this app's root URL), APPRENTICE_ISSUER_EMAIL
(else none); apprentice/config.py checks them at start.
"""

from __future__ import annotations

from flask import current_app, url_for

from apprentice.credentials.openbadges import OB_CONTEXT, VC_CONTEXT


def public_url(endpoint: str, **values) -> str:
    """The address a credential names for one of this app's pages: under
    APPRENTICE_CREDENTIAL_BASE_URL when set, so every credential names the same issuer,
    keys and status lists whichever address (an intranet name, a proxy, a forged Host
    header) the page was reached at; else the address of this request."""
    base = current_app.config.get("APPRENTICE_CREDENTIAL_BASE_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    home, path = url_for("apprentice.records.home"), url_for(endpoint, **values)
    relative = path[len(home):] if path.startswith(home) else path.lstrip("/")
    return base.rstrip("/") + "/" + relative


def issuer_name() -> str:
    return current_app.config.get("APPRENTICE_ISSUER_NAME") \
        or current_app.config["APPRENTICE_SITE_NAME"]


def issuer_url() -> str:
    """The issuer's home page (APPRENTICE_ISSUER_URL: the library's own site, say); by
    default this app's home page (:func:`public_url`)."""
    return current_app.config.get("APPRENTICE_ISSUER_URL") \
        or public_url("apprentice.records.home")


def issuer_email() -> str | None:
    return current_app.config.get("APPRENTICE_ISSUER_EMAIL") or None


def profile_url() -> str:
    """The Profile's id: the URL it is published at (``/issuer``)."""
    return public_url("apprentice.credentials.issuer")


def key_set_url() -> str:
    """Where every public key is published, as a JWK Set."""
    return public_url("apprentice.credentials.key_set")


def key_url(kid: str) -> str:
    """Where the public key ``kid`` is published, as one JWK: what a VC-JWT's ``kid``
    header or a proof's verification method points a verifier at."""
    return public_url("apprentice.credentials.key", kid=kid)


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
