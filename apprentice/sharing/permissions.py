"""Who may make, see and revoke share links: one named predicate per question.

Views gate pages with these (``apprentice.auth.access.requires``) and pass their answers
to templates as flags; ``sharing.services`` asks them again before a change.

A share link hands the apprentice's record to someone outside the library, so only the
apprentice decides to make one: nobody makes one for them, not even a coordinator.
Withdrawing one is the safe direction, so a coordinator may revoke any link too (a link
sent to the wrong address, someone leaving, a complaint) and sees each apprentice's
links for that reason. Mentors neither see nor revoke them: a link is between the
apprentice and the reader they chose. Anyone else is answered 404, as if there were none.

Who may *open* a link is not a question for this module: whoever holds a working token
(apprentice.sharing.services.open_link), signed in or not. A link keeps working when its
apprentice's account is deactivated (someone who left applies elsewhere with it); a
coordinator revokes it if it should not.
"""

from __future__ import annotations

from apprentice.people.models import Role, StaffProfile, acts, acts_as, is_coordinator
from apprentice.sharing.models import ShareLink


def may_open_sharing(person: StaffProfile | None) -> bool:
    """The share-links page's door: apprentices (their own) and coordinators (anyone's).
    Whose page: :func:`may_see_links`."""
    return acts_as(person, Role.APPRENTICE, Role.COORDINATOR)


def may_see_links(viewer: StaffProfile | None, person_id: int) -> bool:
    """List ``person_id``'s links: that apprentice, or a coordinator."""
    if not acts(viewer):
        return False
    return (viewer.id == person_id and viewer.has_role(Role.APPRENTICE)) or is_coordinator(
        viewer)


def may_make_link(viewer: StaffProfile | None, person_id: int) -> bool:
    """Make a link to ``person_id``'s portfolio: that apprentice, nobody else."""
    return acts_as(viewer, Role.APPRENTICE) and viewer.id == person_id


def may_revoke_link(viewer: StaffProfile | None, link: ShareLink) -> bool:
    """Withdraw ``link``: whoever may see it (its apprentice, a coordinator)."""
    return may_see_links(viewer, link.person_id)
