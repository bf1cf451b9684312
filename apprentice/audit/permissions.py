"""Who may read the audit trail: one named predicate per question.

The trail names everyone and what they did (sign-offs given and withdrawn, roles,
deactivations), so it is the coordinators' alone. Nobody edits it: records are only
ever added by the services that make the changes.
"""

from __future__ import annotations

from apprentice.people.models import StaffProfile, is_coordinator


def may_read_audit(person: StaffProfile | None) -> bool:
    """Read the trail page by page and check its hash chain: coordinators."""
    return is_coordinator(person)


def may_download_audit(person: StaffProfile | None) -> bool:
    """Download the trail (or a filtered part of it) as CSV: who may read it, since the
    file holds nothing the pages do not."""
    return may_read_audit(person)
