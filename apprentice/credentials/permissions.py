"""Who may read the issuer's documents and who may touch its keys: one named predicate
per question.

The Profile and the public keys are for anyone, signed in or not: a verifier at another
library has no account here, and a credential must verify from its own bytes and a
published key. The private keys are for nobody: no page reads a ``.pem`` file, and
rotating is a command for whoever runs the server (``flask apprentice keys rotate``),
not a page, so a stolen coordinator's session cannot swap the issuer's identity.

Issuing and revoking credentials is for coordinators, as finishing a programme is
(programmes.permissions.may_finish), and never for themselves: a credential is a claim
about its holder. The published status list is for anyone: it shows bits, not people.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from apprentice.people.models import StaffProfile, acts, is_coordinator
from apprentice.training import permissions as training_permissions

if TYPE_CHECKING:
    from apprentice.credentials.models import IssuedCredential


def may_read_issuer(viewer: StaffProfile | None) -> bool:
    """The Profile, the JWK Set and each JWK: everyone, anonymous visitors included."""
    return True


def may_download_private_key(viewer: StaffProfile | None) -> bool:
    """A private key, as a file or in any document: nobody, whatever their roles."""
    return False


def may_manage_credentials(viewer: StaffProfile | None) -> bool:
    """Open an apprentice's Credentials page (what may be issued, what was): coordinators."""
    return is_coordinator(viewer)


def may_issue_credential(viewer: StaffProfile | None, person_id: int) -> bool:
    """Issue a credential to ``person_id``: a coordinator, never to themselves."""
    return may_manage_credentials(viewer) and viewer.id != person_id


def may_revoke_credential(viewer: StaffProfile | None, credential) -> bool:
    """Revoke an issued credential: a coordinator, never one issued to themselves."""
    return may_manage_credentials(viewer) and viewer.id != credential.person_id


def may_read_status_list(viewer: StaffProfile | None) -> bool:
    """The published status list: everyone (a verifier elsewhere has no account here)."""
    return True


# -- handing a credential over (apprentice/credentials/handover.py) ----------------------

def may_open_credential_files(viewer: StaffProfile | None) -> bool:
    """The download routes' door: anyone who acts (whose credential:
    :func:`may_download_credential`)."""
    return acts(viewer)


def may_download_credential(viewer: StaffProfile | None, credential: IssuedCredential,
                            today: date | None = None) -> bool:
    """A credential's file: the person it was issued to, a coordinator, or a mentor who
    may read the person's whole record today (paired for every area: a credential may
    speak for areas an area-only pairing does not cover). Never a share link's reader,
    who has no account: the link shows the list, not the files."""
    if not acts(viewer):
        return False
    if viewer.id == credential.person_id or is_coordinator(viewer):
        return True
    today = today or date.today()
    pairings = training_permissions.pairings_between(viewer.id, credential.person_id)
    return (training_permissions.may_view_record(viewer, credential.person_id, today, pairings)
            and training_permissions.areas_in_view(viewer, credential.person_id, today,
                                                   pairings) is None)


def may_verify_credential(viewer: StaffProfile | None) -> bool:
    """The verifier page (/verify): everyone, anonymous visitors included: whoever was
    handed a credential checks it here without an account."""
    return True
