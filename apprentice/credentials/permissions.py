"""Who may read the issuer's documents and who may touch its keys: one named predicate
per question.

The Profile and the public keys are for anyone, signed in or not: a verifier at another
library has no account here, and a credential must verify from its own bytes and a
published key. The private keys are for nobody: no page reads a ``.pem`` file, and
rotating is a command for whoever runs the server (``flask apprentice keys rotate``),
not a page, so a stolen coordinator's session cannot swap the issuer's identity.
"""

from __future__ import annotations

from apprentice.people.models import StaffProfile


def may_read_issuer(viewer: StaffProfile | None) -> bool:
    """The Profile, the JWK Set and each JWK: everyone, anonymous visitors included."""
    return True


def may_download_private_key(viewer: StaffProfile | None) -> bool:
    """A private key, as a file or in any document: nobody, whatever their roles."""
    return False
