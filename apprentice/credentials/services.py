"""Issuing and revoking Open Badges credentials, and the status list that publishes
revocations.

What may be issued comes from the record model (:func:`apprentice.records.record.
record_of`): an area the progress engine counts as complete, or a programme it counts
as complete, as of now. Nothing here decides completeness itself.

An issued credential is kept exactly as signed (``IssuedCredential.token``) and never
changed: both tables are append-only, so revoking adds a ``CredentialRevocation`` row,
and the Bitstring Status List (:func:`status_list_token`) is built from those rows on
each request. Every credential has a place in a list, chosen at random among the free
ones, so the order of the bits says nothing about who was issued what, or when.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from apprentice.audit import services as audit
from apprentice.competencies.models import CompetencyArea, Framework, SupervisionLevel
from apprentice.core import receipts
from apprentice.credentials import issuer, jwt, keys, openbadges, permissions, statuslist
from apprentice.credentials.models import CredentialRevocation, IssuedCredential
from apprentice.db import advisory_lock, db_session, utcnow
from apprentice.people.models import StaffProfile
from apprentice.programmes.progress import CompetencyStatus
from apprentice.records.record import AreaRecord, EnrolmentRecord, record_of
from apprentice.validation import Invalid, refuse_unless

MAX_REASON = 500
# How long a copy of a status list vouches that a credential is not revoked: a verifier
# offline with an older file is told the list expired, and fetches a fresh one.
STATUS_LIST_LIFETIME = timedelta(days=2)
STAMP = "%Y-%m-%dT%H:%M:%SZ"
NO_REASON = "Say why the credential is revoked: whoever checks it may ask."
# Issuing reads which places and achievements are taken, then takes one: one worker at a
# time (PostgreSQL advisory lock; SQLite's write lock does the same).
ISSUE_LOCK_KEY = int.from_bytes(hashlib.sha256(b"apprentice.credentials.issue").digest()[:8],
                                "big", signed=True)
# Programmes whose completion is an achievement: a withdrawn one's complete areas were
# still achieved (they count), but not the programme itself.
PROGRAMME_STATUSES = ("active", "completed")
NO_ISSUER = "A credential names the coordinator who issued it: sign in to issue one."


@dataclass(frozen=True)
class Awardable:
    """One achievement complete as of now: an area (``area_id``) or the whole programme
    (``area_id`` None), and the standing credential for it, if one was issued."""

    framework_id: int
    framework_name: str
    area_id: int | None
    name: str
    standing: IssuedCredential | None

    @property
    def issued(self) -> bool:
        return self.standing is not None


# -- reading ------------------------------------------------------------------------------

def credentials_of(person_id: int) -> list[IssuedCredential]:
    """Every credential issued to ``person_id``, newest first, with who issued it and its
    revocation (a fixed number of queries, however many)."""
    return list(db_session().scalars(_credentials_query(), {"person_id": person_id}))


@cache
def _credentials_query():
    """The statement of :func:`credentials_of`, built once per process (building it
    cost more than running it on the apprentice's home page)."""
    return (select(IssuedCredential)
            .where(IssuedCredential.person_id == bindparam("person_id"))
            .options(selectinload(IssuedCredential.issued_by),
                     selectinload(IssuedCredential.area),
                     selectinload(IssuedCredential.framework),
                     selectinload(IssuedCredential.revocation)
                     .selectinload(CredentialRevocation.by))
            .order_by(IssuedCredential.issued_at.desc(), IssuedCredential.id.desc()))


def get_credential(credential) -> IssuedCredential | None:
    """A credential by its row id, or by its own id (``urn:uuid:...``); None for none."""
    if isinstance(credential, str) and credential.startswith("urn:uuid:"):
        return db_session().scalar(select(IssuedCredential).where(
            IssuedCredential.credential_id == credential))
    if isinstance(credential, int) and not isinstance(credential, bool):
        return db_session().get(IssuedCredential, credential)
    return None


def _standing(person_id: int) -> dict[tuple[int, int | None], IssuedCredential]:
    """(framework, area) -> the person's unrevoked credential for that achievement."""
    return {(c.framework_id, c.area_id): c for c in credentials_of(person_id)
            if not c.revoked}


def awards_for(person: StaffProfile) -> list[Awardable]:
    """What ``person`` has completed as of now, by the framework's rule (the record
    model's progress): each complete area, then each complete programme, once each even
    when enrolled on a framework twice; each says whether a standing credential exists."""
    record = record_of(person.id, entries=False)
    if record is None:
        return []
    standing = _standing(person.id)
    found: dict[tuple[int, int | None], Awardable] = {}
    for enrolment in record.enrolments:
        for area in enrolment.areas:
            key = (enrolment.framework_id, area.id)
            if area.progress.complete and key not in found:
                found[key] = Awardable(enrolment.framework_id, enrolment.framework_name,
                                       area.id, area.name, standing.get(key))
    for enrolment in record.enrolments:
        key = (enrolment.framework_id, None)
        if (enrolment.status in PROGRAMME_STATUSES and enrolment.progress.complete
                and key not in found):
            found[key] = Awardable(enrolment.framework_id, enrolment.framework_name, None,
                                   enrolment.framework_name, standing.get(key))
    return list(found.values())


# -- issuing ------------------------------------------------------------------------------

def _complete(person: StaffProfile, framework_id: int,
              area_id: int | None) -> tuple[EnrolmentRecord, tuple[AreaRecord, ...]]:
    """The enrolment and the complete areas the credential is for, as of now; Invalid,
    saying what is missing, when the achievement is not complete."""
    record = record_of(person.id, entries=False)
    enrolments = [e for e in (record.enrolments if record else ())
                  if e.framework_id == framework_id]
    if area_id is None:
        done = [e for e in enrolments
                if e.status in PROGRAMME_STATUSES and e.progress.complete]
        if not done:
            raise Invalid({None: f"{person.name} has not completed this programme yet: "
                                 "every required area and the electives it asks for must "
                                 "be complete first."})
        enrolment = done[0]
        return enrolment, tuple(a for a in enrolment.areas if a.progress.complete)
    for enrolment in enrolments:
        for area in enrolment.areas:
            if area.id == area_id and area.progress.complete:
                return enrolment, (area,)
    area = next((a for e in enrolments for a in e.areas if a.id == area_id), None)
    if area is None:
        raise Invalid({None: f"That area is not part of {person.name}'s programme."})
    progress = area.progress
    missing = [f"{progress.signed_off} of the {progress.needed} competencies needed are "
               "signed off at the required level"] if progress.signed_off < progress.needed \
        else []
    if not progress.hours_met:
        missing.append("the verified hours are below the area's minimum")
    raise Invalid({None: f"{area.name} is not complete yet for {person.name}: "
                         f"{'; '.join(missing) or 'it is not complete'}."})


def _award(person: StaffProfile, framework: Framework, enrolment: EnrolmentRecord,
           areas: tuple[AreaRecord, ...], now: datetime) -> openbadges.Award:
    """The award as the credential states it: the competencies counted, with their
    current wording and lineage; the lowest level that stands among them; the verified
    minutes of the areas."""
    rule = enrolment.progress.framework.rule
    rows = {row.id: row for row in db_session().execute(
        select(CompetencyArea.id, CompetencyArea.lineage, CompetencyArea.description)
        .where(CompetencyArea.id.in_([a.id for a in areas])))}
    refs, levels = [], []
    for area in areas:
        counted = [c for c in area.competencies if c.status == CompetencyStatus.SIGNED_OFF]
        levels += [c.standing.level for c in counted if c.standing is not None]
        refs.append(openbadges.AreaRef(
            lineage=rows[area.id].lineage, name=area.name,
            description=rows[area.id].description,
            competencies=tuple(openbadges.CompetencyRef(c.code, c.lineage, c.statement)
                               for c in counted)))
    return openbadges.Award(
        person_name=person.name, email=person.email, issued_on=now,
        framework=openbadges.FrameworkRef(
            name=framework.name, lineage=framework.lineage, version=framework.version,
            area_completion_percent=rule.area_completion_percent,
            electives_required=rule.electives_required),
        areas=tuple(refs), level_required=SupervisionLevel(rule.level_required),
        level_reached=min(levels, default=SupervisionLevel(rule.level_required)),
        minutes_verified=sum(a.hours.verified_minutes for a in areas))


def _current_list() -> int:
    """The list new credentials go in: the newest one, or the next when it is full."""
    session = db_session()
    newest = session.scalar(select(func.max(IssuedCredential.status_list))) or 1
    used = session.scalar(select(func.count()).select_from(IssuedCredential)
                          .where(IssuedCredential.status_list == newest)) or 0
    return newest + 1 if used >= statuslist.LIST_SIZE else newest


def _free_place() -> tuple[int, int]:
    """A random free place (list, index): random so that neighbouring bits belong to no
    one in particular (the status list shows bits, never people)."""
    number = _current_list()
    used = set(db_session().scalars(select(IssuedCredential.status_index)
                                    .where(IssuedCredential.status_list == number)))
    if len(used) < statuslist.LIST_SIZE // 2:
        while (index := secrets.randbelow(statuslist.LIST_SIZE)) in used:
            pass
        return number, index
    free = [i for i in range(statuslist.LIST_SIZE) if i not in used]
    return number, free[secrets.randbelow(len(free))]


def _store(person: StaffProfile, framework: Framework, area: CompetencyArea | None,
           award: openbadges.Award, by: StaffProfile) -> IssuedCredential:
    """Sign the credential for ``award`` in a free place of the status list, and add it
    with its audit record to the current transaction (the caller commits)."""
    credential_id = openbadges.new_credential_id()
    list_number, index = _free_place()
    status = statuslist.entry(status_list_url(list_number), index)
    profile = issuer.issuer_reference()
    build = openbadges.programme_credential if area is None else openbadges.area_credential
    credential = build(award, issuer=profile, credential_id=credential_id, status=status)
    key = keys.current_key()
    token = jwt.sign(credential, key, kid=issuer.key_url(key.kid))
    issued = IssuedCredential(
        credential_id=credential_id, person_id=person.id, framework_id=framework.id,
        area_id=area.id if area is not None else None,
        achievement_id=credential["credentialSubject"]["achievement"]["id"],
        name=credential["name"], issued_at=award.issued_on,
        issued_by_id=by.id, kid=key.kid, token=token,
        status_list=list_number, status_index=index)
    db_session().add(issued)
    audit.record("credential.issued", actor=by, obj=issued, person=person.id,
                 credential=credential_id, name=credential["name"])
    return issued


def issue(person: StaffProfile, framework_id: int, area_id: int | None,
          by: StaffProfile, form_token: str | None = None) -> IssuedCredential:
    """Issue ``person`` a signed OpenBadgeCredential for an area (``area_id``) or the
    whole programme of ``framework_id`` (``area_id`` None), complete as of now; audited.

    Refused (Invalid) unless ``by`` may issue it, the achievement is complete, and no
    standing credential for it exists (after a revocation a new one may be issued). The
    same form sent again (``form_token``) raises AlreadySaved. The credential's record
    names who issued it, so there is no ``by=None`` here."""
    if by is None:
        raise Invalid({None: NO_ISSUER})
    refuse_unless(permissions.may_issue_credential(by, person.id), by,
                  "Only a coordinator issues credentials, and never to themselves.")
    receipts.check(form_token, by)
    session = db_session()
    advisory_lock(ISSUE_LOCK_KEY)
    framework = session.get(Framework, framework_id)
    area = session.get(CompetencyArea, area_id) if area_id is not None else None
    if framework is None or (area_id is not None and
                             (area is None or area.framework_id != framework_id)):
        raise Invalid({None: "There is no such programme or area to issue a credential for."})
    enrolment, areas = _complete(person, framework_id, area_id)
    existing = _standing(person.id).get((framework_id, area_id))
    if existing is not None:
        raise Invalid({None: f"{person.name} already holds a credential for {existing.name}, "
                             f"issued on {existing.issued_at:%d %B %Y}. Revoke it first to "
                             "issue a new one."})
    now = utcnow().astimezone(UTC).replace(microsecond=0)
    issued = _store(person, framework, area, _award(person, framework, enrolment, areas, now),
                    by)
    try:
        receipts.commit(form_token, by, "credential", issued)
    except IntegrityError:  # the same place taken at the same moment: nothing was saved
        session.rollback()
        raise Invalid({None: "Another credential was being issued at the same moment; "
                             "nothing was saved. Issue it again."}) from None
    return issued


# -- revoking -----------------------------------------------------------------------------

def clean_reason(reason: str | None) -> str:
    return (reason or "").strip()


def revoke(credential: IssuedCredential, by: StaffProfile,
           reason: str | None) -> CredentialRevocation:
    """Withdraw ``credential`` for good, with the reason (1 to MAX_REASON characters);
    its bit in the status list is set from now on; audited. Revoked already: Invalid."""
    if by is None:
        raise Invalid({None: "A revocation names the coordinator who made it: sign in."})
    refuse_unless(permissions.may_revoke_credential(by, credential), by,
                  "Only a coordinator revokes credentials, and never their own.")
    reason = clean_reason(reason)
    if not reason:
        raise Invalid({"reason": NO_REASON})
    if len(reason) > MAX_REASON:
        raise Invalid({"reason": f"This is {len(reason):,} characters; the limit is "
                                 f"{MAX_REASON}. Shorten it: nothing was revoked yet."})
    session = db_session()
    if session.get(CredentialRevocation, credential.id) is not None:
        raise Invalid({None: f"{credential.name} was already revoked."})
    revocation = CredentialRevocation(credential_id=credential.id, by_id=by.id, reason=reason)
    session.add(revocation)
    audit.record("credential.revoked", actor=by, obj=credential,
                 person=credential.person_id, credential=credential.credential_id,
                 name=credential.name, reason=reason)
    try:
        session.commit()
    except IntegrityError:  # revoked by someone else at the same moment
        session.rollback()
        raise Invalid({None: f"{credential.name} was already revoked."}) from None
    session.refresh(credential)
    return revocation


# -- the status list ----------------------------------------------------------------------

def status_list_url(list_number: int) -> str:
    """Where status list ``list_number`` is published (public, no sign-in)."""
    return issuer.public_url("apprentice.credentials.status_list", list_number=list_number)


def status_list_token(list_number: int) -> str | None:
    """Status list ``list_number`` as a VC-JWT signed by the current key, its bits set
    for the revoked credentials in it; None when no credential was given a place in it."""
    session = db_session()
    in_list = IssuedCredential.status_list == list_number
    if not session.scalar(select(func.count()).select_from(IssuedCredential).where(in_list)):
        return None
    revoked = session.scalars(select(IssuedCredential.status_index)
                              .join(CredentialRevocation).where(in_list))
    url = status_list_url(list_number)
    now = utcnow().astimezone(UTC).replace(microsecond=0)
    document = statuslist.list_credential(
        list_url=url, issuer=issuer.issuer_reference(),
        valid_from=now.strftime(STAMP),
        valid_until=(now + STATUS_LIST_LIFETIME).strftime(STAMP), revoked=list(revoked))
    key = keys.current_key()
    return jwt.sign(document, key, kid=issuer.key_url(key.kid))
