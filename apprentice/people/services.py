"""The rules about people: who exists, what roles they hold, who is active."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from apprentice.audit import services as audit
from apprentice.auth.passwords import hash_password, password_problems
from apprentice.core import receipts
from apprentice.db import db_session
from apprentice.people import permissions
from apprentice.people.models import Role, StaffProfile, StaffRole, is_coordinator
from apprentice.validation import Invalid, refuse_unless


def normalise_email(email: str) -> str:
    """The stored form of an address: trimmed and lower-case, so lookups ignore case."""
    return (email or "").strip().lower()


def check_email(email: str) -> str:
    """A normalised, syntactically valid address, or :class:`Invalid` on ``email``."""
    try:
        return normalise_email(validate_email(email, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise Invalid({"email": f"That is not a valid e-mail address: {exc}"}) from exc


def get_person(person_id: int) -> StaffProfile | None:
    return db_session().get(StaffProfile, person_id)


def find_by_email(email: str) -> StaffProfile | None:
    return db_session().scalar(
        select(StaffProfile).where(StaffProfile.email == normalise_email(email))
    )


@dataclass
class PersonDetails:
    """What a coordinator (or the CLI) says about a person."""

    name: str
    email: str
    job_title: str = ""
    branch: str = ""
    roles: Iterable[Role | str] = ()


def _clean(details: PersonDetails) -> PersonDetails:
    errors = {}
    name = (details.name or "").strip()
    if not name:
        errors["name"] = "Enter the person's name."
    try:
        email = check_email(details.email)
    except Invalid as exc:
        errors.update(exc.errors)
        email = ""
    try:
        roles = {Role(role) for role in details.roles}
    except ValueError:
        errors["roles"] = "Choose roles from the list."
        roles = set()
    if errors:
        raise Invalid(errors)
    return PersonDetails(
        name=name,
        email=email,
        job_title=(details.job_title or "").strip(),
        branch=(details.branch or "").strip(),
        roles=roles,
    )


def _email_taken(email: str, except_id: int | None = None) -> bool:
    query = select(StaffProfile.id).where(StaffProfile.email == email)
    if except_id is not None:
        query = query.where(StaffProfile.id != except_id)
    return db_session().scalar(query) is not None


DUPLICATE_EMAIL = "Someone already has this e-mail address in apprentice."


def _commit_or_duplicate(receipt: tuple | None = None) -> None:
    """Commit; a unique-e-mail race lost to another request becomes a field error.
    ``receipt``: (token, person, kind, record) of the form saved (apprentice.core.receipts)."""
    session = db_session()
    try:
        if receipt is not None:
            receipts.commit(*receipt)
        else:
            session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Invalid({"email": DUPLICATE_EMAIL}) from exc


def _grant(person: StaffProfile, roles: set[Role], by: StaffProfile | None) -> None:
    """Make ``person`` hold exactly ``roles``, keeping the grant record of roles kept;
    every role given or taken goes into the audit trail."""
    current = {Role(grant.role): grant for grant in person.role_grants}
    for role, grant in current.items():
        if role not in roles:
            person.role_grants.remove(grant)
            audit.record("role.removed", actor=by, obj=person, role=role.value)
            # Pages open with the old role end with their sessions (standalone sign-in).
            person.end_sessions()
    for role in sorted(roles - current.keys()):
        person.role_grants.append(
            StaffRole(role=role.value, granted_by_id=by.id if by else None)
        )
        audit.record("role.granted", actor=by, obj=person, role=role.value)


def _active_coordinator_count(excluding: StaffProfile) -> int:
    """Other active coordinators, their rows locked until commit (PostgreSQL), so two
    coordinators cannot deactivate each other at the same moment. SQLite already
    runs writing requests one at a time."""
    ids = db_session().scalars(
        select(StaffProfile.id)
        .join(StaffRole, StaffRole.staff_id == StaffProfile.id)
        .where(
            StaffRole.role == Role.COORDINATOR.value,
            StaffProfile.active.is_(True),
            StaffProfile.id != excluding.id,
        )
        .with_for_update(of=StaffProfile)
    ).all()
    return len(ids)


def _keep_a_coordinator(person: StaffProfile, message: str) -> None:
    """Refuse to leave the programme without an active coordinator."""
    if is_coordinator(person) and _active_coordinator_count(person) == 0:
        raise Invalid({"roles": message})


def create_person(
    details: PersonDetails,
    *,
    password: str | None = None,
    must_change_password: bool = True,
    by: StaffProfile | None = None,
    form_token: str | None = None,
) -> StaffProfile:
    """Add a person. With a password they can sign in (standalone mode); a
    temporary password set by someone else must be changed at first sign-in.
    The same form sent again (``form_token``) raises AlreadySaved."""
    refuse_unless(permissions.may_manage_people(by), by, "Only coordinators add people.")
    receipts.check(form_token, by)
    details = _clean(details)
    if password is not None:
        problems = password_problems(password)
        if problems:
            raise Invalid({"password": problems})
    if _email_taken(details.email):
        raise Invalid({"email": DUPLICATE_EMAIL})
    person = StaffProfile(
        name=details.name,
        email=details.email,
        job_title=details.job_title,
        branch=details.branch,
        password_hash=hash_password(password) if password is not None else None,
        password_must_change=password is not None and must_change_password,
    )
    db_session().add(person)
    _grant(person, set(details.roles), by)
    _commit_or_duplicate((form_token, by, "person", person))
    return person


def update_person(
    person: StaffProfile,
    details: PersonDetails,
    *,
    temporary_password: str | None = None,
    by: StaffProfile | None = None,
) -> StaffProfile:
    """Change a person's details and roles (a coordinator's edit)."""
    refuse_unless(permissions.may_edit_person(by, person), by,
                  "Only coordinators change people's details.")
    details = _clean(details)
    if set(details.roles) != person.roles:
        refuse_unless(permissions.may_change_roles(by, person), by,
                      "Only coordinators give and take roles.")
    if _email_taken(details.email, except_id=person.id):
        raise Invalid({"email": DUPLICATE_EMAIL})
    if Role.COORDINATOR not in details.roles:
        _keep_a_coordinator(
            person, "This is the only active coordinator; give the role to someone else first."
        )
    if temporary_password:
        problems = password_problems(temporary_password)
        if problems:
            raise Invalid({"temporary_password": problems})
    person.name = details.name
    person.email = details.email
    person.job_title = details.job_title
    person.branch = details.branch
    _grant(person, set(details.roles), by)
    if temporary_password:
        person.password_hash = hash_password(temporary_password)
        person.password_must_change = True
        person.end_sessions()
    _commit_or_duplicate()
    return person


def end_everyones_sessions() -> None:
    """Everyone signs in again: after a restore, cookies from after the backup must not
    come back to life with the session tokens of before it."""
    session = db_session()
    for person in session.scalars(select(StaffProfile)):
        person.end_sessions()
    session.commit()


def set_active(person: StaffProfile, active: bool, *, by: StaffProfile | None = None) -> None:
    """Deactivate (they can no longer sign in; their records stay) or reactivate."""
    refuse_unless(permissions.may_set_active(by, person, active), by,
                  "Only coordinators deactivate and reactivate people."
                  if not permissions.may_manage_people(by)
                  else "You cannot deactivate yourself.")
    if not active:
        _keep_a_coordinator(
            person, "This is the only active coordinator; make someone else coordinator first."
        )
        person.end_sessions()
    if person.active != active:
        audit.record("person.reactivated" if active else "person.deactivated", actor=by,
                     obj=person)
    person.active = active
    db_session().commit()


def list_people(
    *, text: str = "", role: Role | None = None, include_inactive: bool = False,
    page: int = 1, per_page: int = 50,
) -> tuple[list[StaffProfile], int]:
    """One page of people matching a filter, by name, and the total count."""
    query = select(StaffProfile)
    if text:
        needle = text.strip().lower()
        query = query.where(
            or_(
                func.lower(StaffProfile.name).contains(needle, autoescape=True),
                StaffProfile.email.contains(needle, autoescape=True),
                func.lower(StaffProfile.branch).contains(needle, autoescape=True),
            )
        )
    if role is not None:
        query = query.where(
            StaffProfile.role_grants.any(StaffRole.role == role.value)
        )
    if not include_inactive:
        query = query.where(StaffProfile.active.is_(True))
    session = db_session()
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    people = session.scalars(
        query.order_by(func.lower(StaffProfile.name), StaffProfile.id)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(people), total


def has_anyone() -> bool:
    """True once any person exists (demo data is only loaded into an empty install)."""
    return db_session().scalar(select(StaffProfile.id).limit(1)) is not None


def apprentices() -> list[StaffProfile]:
    """Active people holding the apprentice role, by name (the enrol and pairing forms)."""
    return list(db_session().scalars(
        select(StaffProfile)
        .where(StaffProfile.active.is_(True),
               StaffProfile.role_grants.any(StaffRole.role == Role.APPRENTICE.value))
        .order_by(StaffProfile.name)
    ))
