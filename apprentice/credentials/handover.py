"""Handing a credential over: the files its holder downloads, and the credentials part
of their portfolio.

Two files, both the token exactly as it was signed and stored (``IssuedCredential.token``),
so nothing a download makes can differ from what was attested:

- ``.jwt``: the VC-JWT itself (``application/vc+jwt``), what a verifier or wallet
  reads directly;
- ``.json``: the same token wrapped as a VC 2.0 ``EnvelopedVerifiableCredential``
  (VC Data Model 2.0, "Enveloped Verifiable Credentials"; VC-JOSE-COSE), for tools that
  take JSON: its ``id`` is ``data:application/vc+jwt,<token>``.

The portfolio shows each credential (name, date, id, status, where to verify it) on the
page, in the PDF and to a share link's reader; the download links are on the signed-in
page only, for whoever :func:`~apprentice.credentials.permissions.may_download_credential`.
Portfolios never import this module: the extension lists :func:`portfolio_section`
among the portfolio's sections (apprentice/portfolios/sections.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from flask import url_for

from apprentice.core.downloads import file_slug
from apprentice.credentials import issuer, permissions, services
from apprentice.credentials.models import IssuedCredential
from apprentice.credentials.openbadges import VC_CONTEXT
from apprentice.people.models import StaffProfile
from apprentice.portfolios.sections import Section
from apprentice.training.standing import end_of

JWT_MEDIA_TYPE = "application/vc+jwt"
JSON_MEDIA_TYPE = "application/vc"  # VC Data Model 2.0's media type for a credential


# -- the files --------------------------------------------------------------------------

def enveloped(token: str) -> dict:
    """The token as a VC 2.0 EnvelopedVerifiableCredential: the token itself, unchanged,
    in a ``data:`` URL (a compact JWS is base64url and dots: nothing to escape)."""
    return {"@context": [VC_CONTEXT], "id": f"data:{JWT_MEDIA_TYPE},{token}",
            "type": "EnvelopedVerifiableCredential"}


def json_file(credential: IssuedCredential) -> str:
    """The ``.json`` download: :func:`enveloped`, pretty-printed."""
    return json.dumps(enveloped(credential.token), indent=2) + "\n"


def filename(credential: IssuedCredential, extension: str) -> str:
    """``jordan-lee-circulation-desk.jwt``: the holder, then the achievement."""
    person = file_slug(credential.person.name) or f"person-{credential.person_id}"
    achievement = file_slug(credential.name) or "credential"
    return f"{person}-{achievement}.{extension}"


# -- the portfolio's part -------------------------------------------------------------------

@dataclass(frozen=True)
class Download:
    label: str
    url: str


@dataclass(frozen=True)
class CredentialLine:
    """One credential as the portfolio lists it."""

    name: str
    credential_id: str  # urn:uuid:...
    issued_on: date
    revoked_on: date | None  # by the portfolio's day; None: it stands
    status_list: str  # the status list's URL, where a revocation is published
    status_index: int
    downloads: tuple[Download, ...]  # empty unless the reader may download it


@dataclass(frozen=True)
class CredentialsPart:
    lines: tuple[CredentialLine, ...]  # newest first
    verify_url: str  # the public verification page
    issuer_keys_url: str  # the issuer's public keys, for checking offline


def _downloads(credential: IssuedCredential, offered: bool) -> tuple[Download, ...]:
    if not offered:
        return ()
    uuid = credential.credential_id.removeprefix("urn:uuid:")
    return (Download("Credential file (JWT)", url_for(
                "apprentice.credentials.download_jwt", credential_uuid=uuid)),
            Download("Credential file (JSON)", url_for(
                "apprentice.credentials.download_json", credential_uuid=uuid)))


def portfolio_section(person_id: int, viewer: StaffProfile | None,
                      areas: frozenset[int] | None, as_of: date) -> Section | None:
    """The credentials part of ``person_id``'s portfolio (portfolios.sections): every
    credential issued by the end of ``as_of``; for a reader who sees some areas only,
    the credentials of those areas (a programme's credential speaks for every area, so
    it is left out). Download links only for a signed-in ``viewer`` who may download."""
    found = [c for c in services.credentials_of(person_id) if c.issued_at < end_of(as_of)
             and (areas is None or (c.area_id is not None and c.area_id in areas))]
    if not found:
        return None
    # Whose credential it is decides who may download it: one answer for them all.
    offered = viewer is not None and permissions.may_download_credential(viewer, found[0])
    lines = tuple(CredentialLine(
        name=c.name, credential_id=c.credential_id, issued_on=c.issued_at.date(),
        revoked_on=c.revocation.at.date() if c.revocation is not None
        and c.revocation.at < end_of(as_of) else None,
        status_list=services.status_list_url(c.status_list), status_index=c.status_index,
        downloads=_downloads(c, offered)) for c in found)
    return Section(
        template="apprentice/credentials/_portfolio.html",
        tools="apprentice/credentials/_portfolio_downloads.html",
        data=CredentialsPart(lines=lines,
                             verify_url=issuer.public_url("apprentice.credentials.verify"),
                             issuer_keys_url=issuer.key_set_url()))
