"""The apprenticeship loop, service by service: every state change and every refusal.

Each step runs in an app context of its own, as each request would, and reloads
what it acts on. A refusal must name the field (or ``None`` for the whole form),
change nothing and append nothing to the audit trail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from apprentice.audit.models import AuditRecord
from apprentice.competencies import services as frameworks
from apprentice.competencies.models import Competency, SupervisionLevel
from apprentice.core import receipts
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from apprentice.people.services import set_active
from apprentice.programmes import services as programmes
from apprentice.programmes.models import Enrolment
from apprentice.programmes.progress import CompetencyStatus
from apprentice.programmes.services import programme_competencies
from apprentice.records import services as records
from apprentice.training import services as training
from apprentice.training.models import (
    EntryCompetency,
    EntryState,
    LogEntry,
    Pairing,
    Revocation,
    SignOff,
    SignOffEvidence,
)
from apprentice.training.services import EntryDetails
from apprentice.training.standing import sign_offs_of
from apprentice.validation import Invalid
from tests.factories import sql_statements

TODAY = date(2026, 6, 15)
START = date(2025, 6, 2)
YESTERDAY = TODAY - timedelta(days=1)

FOUND = "Foundations of Library Services"
COMM = "Communication and Teamwork"
TECH = "Technology"
ACCESS = "Access Services"
COLLECTION = "Collection Management"
YOUTH = "Youth Services"
CATALOGING = "Cataloging and Classification"  # an elective Priya did not choose
CHOSEN = (ACCESS, COLLECTION, YOUTH)

INDEPENDENT = SupervisionLevel.INDEPENDENT
ASSISTED = SupervisionLevel.ASSISTED


# -- the world every test starts from ---------------------------------------------------

@dataclass
class World:
    """Ids only: each step loads what it needs in its own app context."""

    app: object
    make_person: object
    framework_id: int
    apprentice_id: int
    mentor_id: int
    mentor2_id: int
    coordinator_id: int
    pairing_id: int
    areas: dict[str, int] = field(default_factory=dict)
    competencies: dict[str, list[int]] = field(default_factory=dict)

    def person(self, person_id: int) -> StaffProfile:
        return db_session().get(StaffProfile, person_id)

    @property
    def apprentice(self) -> StaffProfile:
        return self.person(self.apprentice_id)

    @property
    def mentor(self) -> StaffProfile:
        return self.person(self.mentor_id)

    @property
    def mentor2(self) -> StaffProfile:
        return self.person(self.mentor2_id)

    @property
    def coordinator(self) -> StaffProfile:
        return self.person(self.coordinator_id)

    def comp(self, area: str, n: int = 0) -> int:
        return self.competencies[area][n]


@pytest.fixture
def world(app, make_person, coordinator) -> World:
    """The default framework; Priya enrolled with three electives; Maya paired with her
    for Foundations, Communication and Access Services; Noor, a second mentor, unpaired."""
    apprentice = make_person(name="Priya Shah", roles=["apprentice"])
    mentor = make_person(name="Maya Okafor", roles=["mentor"])
    mentor2 = make_person(name="Noor Haddad", roles=["mentor"])
    with app.app_context():
        framework = frameworks.load_default_framework()
        areas = {a.name: a.id for a in framework.current_areas}
        competencies = {a.name: [c.id for c in a.current_competencies]
                        for a in framework.current_areas}
        programmes.enrol(db_session().get(StaffProfile, apprentice.id), framework, start=START,
                         electives=[areas[name] for name in CHOSEN])
    with app.app_context():
        pairing = training.create_pairing(
            db_session().get(StaffProfile, apprentice.id),
            db_session().get(StaffProfile, mentor.id),
            starts_on=START, area_ids=[areas[FOUND], areas[COMM], areas[ACCESS]],
            by=db_session().get(StaffProfile, coordinator.id),
        )
    return World(app=app, make_person=make_person, framework_id=framework.id,
                 apprentice_id=apprentice.id, mentor_id=mentor.id, mentor2_id=mentor2.id,
                 coordinator_id=coordinator.id, pairing_id=pairing.id, areas=areas,
                 competencies=competencies)


# -- helpers ------------------------------------------------------------------------------

def details(w: World, **changes) -> EntryDetails:
    values = {
        "occurred_on": YESTERDAY,
        "minutes": 60,
        # Independently: the usual sign-off at that level stays within its evidence.
        "activity": int(SupervisionLevel.INDEPENDENT),
        "mentor_id": w.mentor_id,
        "competency_ids": [w.comp(FOUND)],
        "description": "Worked the returns desk with Maya.",
        "reflection": "Checking holds first saves a second trip.",
    }
    values.update(changes)
    return EntryDetails(**values)


def log(w: World, *, person_id: int | None = None, submit: bool = True,
        form_token: str | None = None, **changes) -> int:
    """A new entry by ``person_id`` (Priya), submitted unless ``submit=False``; its id."""
    with w.app.app_context():
        entry = training.save_entry(w.person(person_id or w.apprentice_id), details(w, **changes),
                                    submit=submit, form_token=form_token, today=TODAY)
        return entry.id


def verify(w: World, *entry_ids: int, mentor_id: int | None = None) -> None:
    with w.app.app_context():
        training.verify_entries([training.get_entry(i) for i in entry_ids],
                                w.person(mentor_id or w.mentor_id))


def verified(w: World, **changes) -> int:
    entry_id = log(w, **changes)
    verify(w, entry_id)
    return entry_id


def sign(w: World, competency_id: int, entry_ids, *, level=INDEPENDENT,
         mentor_id: int | None = None, person_id: int | None = None,
         corrects_id: int | None = None, comment: str = "", today: date = TODAY) -> int:
    with w.app.app_context():
        record = training.sign_off(
            w.person(mentor_id or w.mentor_id), w.person(person_id or w.apprentice_id),
            db_session().get(Competency, competency_id), level=level, entry_ids=list(entry_ids),
            comment=comment,
            corrects=training.get_sign_off(corrects_id) if corrects_id else None, today=today,
        )
        return record.id


def revoke(w: World, sign_off_id: int, by_id: int | None = None,
           reason: str = "Signed off the wrong person.") -> None:
    with w.app.app_context():
        training.revoke(training.get_sign_off(sign_off_id), w.person(by_id or w.mentor_id), reason)


def pair(w: World, apprentice_id: int, mentor_id: int, *, areas=(), starts_on=START,
         ends_on=None) -> int:
    with w.app.app_context():
        return training.create_pairing(
            w.person(apprentice_id), w.person(mentor_id), starts_on=starts_on, ends_on=ends_on,
            area_ids=[w.areas[a] for a in areas], by=w.coordinator).id


def another_apprentice(w: World, name: str = "Sam Lee", *, roles=("apprentice",),
                       mentor_id: int | None = None) -> int:
    """Someone else on the same programme, paired with Maya (or ``mentor_id``) for all areas."""
    person = w.make_person(name=name, roles=list(roles))
    with w.app.app_context():
        programmes.enrol(w.person(person.id), frameworks.get_framework(w.framework_id),
                         start=START, electives=[w.areas[a] for a in CHOSEN])
    pair(w, person.id, mentor_id or w.mentor_id)
    return person.id


def entry_row(w: World, entry_id: int) -> dict:
    """What an entry holds now, read in a fresh context."""
    with w.app.app_context():
        entry = training.get_entry(entry_id)
        return {
            "state": entry.state, "minutes": entry.minutes, "mentor_id": entry.mentor_id,
            "description": entry.description, "occurred_on": entry.occurred_on,
            "return_comment": entry.return_comment, "verified_by_id": entry.verified_by_id,
            "competencies": sorted(link.competency_id for link in entry.competency_links),
        }


def trail(w: World, action: str | None = None) -> list[AuditRecord]:
    with w.app.app_context():
        query = select(AuditRecord).order_by(AuditRecord.id)
        if action is not None:
            query = query.where(AuditRecord.action == action)
        return list(db_session().scalars(query))


def count(w: World, model) -> int:
    with w.app.app_context():
        return db_session().scalar(select(func.count()).select_from(model))


def refused(w: World, call, field_name, fragment: str = ""):
    """``call()`` in an app context raises Invalid naming ``field_name``; nothing is appended."""
    before = len(trail(w))
    with w.app.app_context(), pytest.raises(Invalid) as caught:
        call()
    assert field_name in caught.value.errors, caught.value.errors
    if fragment:
        assert fragment in " ".join(caught.value.errors[field_name])
    assert len(trail(w)) == before, "a refused change appended to the audit trail"
    return caught.value


def progress(w: World, person_id: int | None = None, today: date = TODAY):
    with w.app.app_context():
        enrolments = list(db_session().scalars(select(Enrolment).where(
            Enrolment.person_id == (person_id or w.apprentice_id))))
        [row] = records.progress_of(enrolments, today)
        return row.progress


def area_of(progress_row, area_id: int):
    [area] = [a for a in progress_row.areas if a.area.id == area_id]
    return area


def status_of(progress_row, competency_id: int) -> CompetencyStatus:
    for area in progress_row.areas:
        for item in area.competencies:
            if item.competency.id == competency_id:
                return item.status
    raise AssertionError(f"competency {competency_id} is not in the programme's progress")


# -- pairings -----------------------------------------------------------------------------

def test_creating_a_pairing_appends_pairing_created(world):
    w = world
    pairing_id = pair(w, w.apprentice_id, w.mentor2_id, areas=[TECH], ends_on=date(2026, 12, 31))
    with w.app.app_context():
        pairing = training.get_pairing(pairing_id)
        assert (pairing.apprentice_id, pairing.mentor_id) == (w.apprentice_id, w.mentor2_id)
        assert pairing.area_ids == {w.areas[TECH]}
        assert pairing.created_by_id == w.coordinator_id
    record = trail(w)[-1]
    assert (record.action, record.object_type, record.object_id) == (
        "pairing.created", "Pairing", pairing_id)
    assert record.actor_id == w.coordinator_id
    assert json.loads(record.details) == {
        "apprentice": w.apprentice_id, "mentor": w.mentor2_id, "starts_on": "2025-06-02",
        "ends_on": "2026-12-31", "areas": [w.areas[TECH]],
    }


def test_a_pairing_without_areas_covers_every_area(world):
    w = world
    pairing_id = pair(w, w.apprentice_id, w.mentor2_id)
    with w.app.app_context():
        pairing = training.get_pairing(pairing_id)
        assert pairing.area_ids == set()
        assert all(pairing.covers_area(a) for a in w.areas.values())


@pytest.mark.parametrize("case", [
    "apprentice without the role", "mentor without the role", "same person",
    "end before start", "inactive mentor", "area not in the list",
])
def test_pairing_refusals_name_the_field(world, case):
    w = world
    apprentice_id, mentor_id, ends_on, area_ids = w.apprentice_id, w.mentor2_id, None, []
    if case == "apprentice without the role":
        apprentice_id, expected = w.mentor_id, "apprentice"
    elif case == "mentor without the role":
        mentor_id, expected = another_apprentice(w), "mentor"
    elif case == "same person":
        both = w.make_person(name="Alex Both", roles=["apprentice", "mentor"])
        apprentice_id = mentor_id = both.id
        expected = "mentor"
    elif case == "end before start":
        ends_on, expected = START - timedelta(days=1), "ends_on"
    elif case == "inactive mentor":
        mentor_id = w.make_person(name="Former Mentor", roles=["mentor"], active=False).id
        expected = "mentor"
    else:
        area_ids, expected = [999_999], "areas"
    pairings_before = count(w, Pairing)
    refused(w, lambda: training.create_pairing(
        w.person(apprentice_id), w.person(mentor_id), starts_on=START, ends_on=ends_on,
        area_ids=area_ids, by=w.coordinator), expected)
    assert count(w, Pairing) == pairings_before


def test_changing_a_pairing_ends_it_and_changes_its_areas(world):
    w = world
    with w.app.app_context():
        training.change_pairing(training.get_pairing(w.pairing_id), ends_on=date(2026, 3, 31),
                                area_ids=[w.areas[FOUND], w.areas[TECH]], by=w.coordinator)
    with w.app.app_context():
        pairing = training.get_pairing(w.pairing_id)
        assert pairing.ends_on == date(2026, 3, 31)
        assert pairing.area_ids == {w.areas[FOUND], w.areas[TECH]}
        assert not pairing.current_on(TODAY) and pairing.current_on(date(2026, 3, 31))
        assert training.pairings(mentor_id=w.mentor_id, current_on=TODAY) == []
    record = trail(w)[-1]
    assert (record.action, record.object_id, record.actor_id) == (
        "pairing.changed", w.pairing_id, w.coordinator_id)
    assert json.loads(record.details) == {
        "before": {"ends_on": None,
                   "areas": sorted([w.areas[FOUND], w.areas[COMM], w.areas[ACCESS]])},
        "after": {"ends_on": "2026-03-31", "areas": sorted([w.areas[FOUND], w.areas[TECH]])},
    }


def test_changing_a_pairing_to_end_before_it_starts_is_refused(world):
    w = world
    with w.app.app_context():
        pairing = training.get_pairing(w.pairing_id)
        with pytest.raises(Invalid) as caught:
            training.change_pairing(pairing, ends_on=START - timedelta(days=1),
                                    area_ids=[w.areas[FOUND]], by=w.coordinator)
        assert "ends_on" in caught.value.errors
    with w.app.app_context():
        pairing = training.get_pairing(w.pairing_id)
        assert pairing.ends_on is None and len(pairing.area_ids) == 3
    assert trail(w)[-1].action == "pairing.created"


def test_the_pairing_of_a_mentor_who_left_can_still_be_ended(world):
    w = world
    with w.app.app_context():
        set_active(w.mentor, False, by=w.coordinator)
    with w.app.app_context():
        training.change_pairing(training.get_pairing(w.pairing_id), ends_on=TODAY,
                                area_ids=[w.areas[FOUND]], by=w.coordinator)
    with w.app.app_context():
        assert training.get_pairing(w.pairing_id).ends_on == TODAY


def test_suggested_mentors_most_experienced_in_the_area_first_then_least_loaded(world):
    w = world
    # Maya: 2 sign-offs in Foundations, 1 apprentice. Noor: 1 sign-off in Foundations,
    # 2 apprentices. Ravi: none, 0 apprentices. Lena: none, 1 apprentice. Ola: 3 sign-offs
    # in Technology only (none in Foundations), 1 apprentice.
    ravi = w.make_person(name="Ravi Menon", roles=["mentor"]).id
    lena = w.make_person(name="Lena Berg", roles=["mentor"]).id
    ola = w.make_person(name="Ola Nowak", roles=["mentor"]).id
    w.make_person(name="Gone Mentor", roles=["mentor"], active=False)
    w.make_person(name="Not A Mentor", roles=["coordinator"])
    sam = another_apprentice(w, "Sam Lee", mentor_id=w.mentor2_id)
    kim = another_apprentice(w, "Kim Park", mentor_id=w.mentor2_id)
    pair(w, kim, lena)
    pair(w, sam, ola, areas=[TECH])
    first = verified(w, competency_ids=[w.comp(FOUND, 0), w.comp(FOUND, 1)])
    sign(w, w.comp(FOUND, 0), [first])
    sign(w, w.comp(FOUND, 1), [first])
    second = log(w, person_id=sam, competency_ids=[w.comp(FOUND, 0)], mentor_id=w.mentor2_id)
    verify(w, second, mentor_id=w.mentor2_id)
    sign(w, w.comp(FOUND, 0), [second], mentor_id=w.mentor2_id, person_id=sam)
    tech = log(w, person_id=sam, mentor_id=ola,
               competency_ids=[w.comp(TECH, 0), w.comp(TECH, 1), w.comp(TECH, 2)])
    verify(w, tech, mentor_id=ola)
    for n in range(3):
        sign(w, w.comp(TECH, n), [tech], mentor_id=ola, person_id=sam)
    with w.app.app_context():
        suggestions = training.suggest_mentors(w.areas[FOUND], today=TODAY)
        assert [(s.mentor.name, s.experience, s.load) for s in suggestions] == [
            ("Maya Okafor", 2, 1),
            ("Noor Haddad", 1, 2),
            ("Ravi Menon", 0, 0),
            ("Lena Berg", 0, 1),
            ("Ola Nowak", 0, 1),
        ]
        assert [s.mentor.id for s in suggestions[2:]] == [ravi, lena, ola]
        everywhere = training.suggest_mentors(today=TODAY)
        assert [(s.mentor.name, s.experience) for s in everywhere][:3] == [
            ("Ola Nowak", 3), ("Maya Okafor", 2), ("Noor Haddad", 1)]
        # Load counts pairings current on the day asked about.
        later = training.suggest_mentors(w.areas[FOUND], today=START - timedelta(days=1))
        assert {s.mentor.name: s.load for s in later}["Noor Haddad"] == 0


def test_mentor_load_counts_apprentices_not_pairings(world):
    w = world
    pair(w, w.apprentice_id, w.mentor_id, areas=[TECH])  # a second pairing, same apprentice
    with w.app.app_context():
        loads = {s.mentor.id: s.load for s in training.suggest_mentors(today=TODAY)}
    assert loads[w.mentor_id] == 1


# -- what a person may log against ------------------------------------------------------------

def test_programme_competencies_are_required_areas_plus_chosen_electives(world):
    w = world
    with w.app.app_context():
        ids = {c.id for c in programme_competencies(w.apprentice_id)}
    expected = {c for name in (FOUND, COMM, TECH, *CHOSEN) for c in w.competencies[name]}
    assert ids == expected
    assert not ids & set(w.competencies[CATALOGING])


def test_before_electives_are_chosen_every_elective_may_be_logged(world):
    w = world
    newcomer = w.make_person(name="New Person", roles=["apprentice"])
    with w.app.app_context():
        programmes.enrol(w.person(newcomer.id), frameworks.get_framework(w.framework_id),
                         start=START)
        ids = {c.id for c in programme_competencies(newcomer.id)}
        assert ids == {c for cs in w.competencies.values() for c in cs}
        assert programme_competencies(w.mentor_id) == ()  # not enrolled


def test_the_quick_log_offers_the_last_mentor_and_recent_competencies_first(world):
    w = world
    with w.app.app_context():
        assert training.last_mentor(w.apprentice_id) is None
        assert training.recent_competencies(w.apprentice_id) == []
    log(w, competency_ids=[w.comp(FOUND)])
    log(w, competency_ids=[w.comp(ACCESS, 1)], submit=False)
    with w.app.app_context():
        assert training.last_mentor(w.apprentice_id) == w.mentor_id
        # Most recent first: the draft's competency, then the earlier entry's.
        assert training.recent_competencies(w.apprentice_id) == [
            w.comp(ACCESS, 1), w.comp(FOUND)]


# -- log entries: each state change -----------------------------------------------------------

def test_a_draft_is_saved_open_and_unannounced(world):
    w = world
    entry_id = log(w, submit=False, description="  Shelved the returns.  ",
                   competency_ids=[w.comp(FOUND, 0), w.comp(FOUND, 1), w.comp(FOUND, 0)])
    with w.app.app_context():
        entry = training.get_entry(entry_id)
        assert entry.entry_state == EntryState.DRAFT and entry.editable
        assert entry.submitted_at is None and entry.verified_at is None
        assert entry.description == "Shelved the returns."
        assert (entry.person_id, entry.mentor_id, entry.minutes) == (
            w.apprentice_id, w.mentor_id, 60)
        assert sorted(c.id for c in entry.competencies) == sorted(
            [w.comp(FOUND, 0), w.comp(FOUND, 1)])
    assert trail(w, "entry.submitted") == []


def test_a_draft_can_be_changed_and_then_submitted(world):
    w = world
    entry_id = log(w, submit=False)
    with w.app.app_context():
        training.save_entry(w.apprentice, details(w, minutes=90, competency_ids=[w.comp(COMM)]),
                            entry=training.get_entry(entry_id), today=TODAY)
    assert entry_row(w, entry_id)["minutes"] == 90
    assert entry_row(w, entry_id)["competencies"] == [w.comp(COMM)]
    assert entry_row(w, entry_id)["state"] == "draft"
    with w.app.app_context():
        training.save_entry(w.apprentice, details(w, minutes=90, competency_ids=[w.comp(COMM)]),
                            entry=training.get_entry(entry_id), submit=True, today=TODAY)
    with w.app.app_context():
        entry = training.get_entry(entry_id)
        assert entry.entry_state == EntryState.SUBMITTED and not entry.editable
        assert entry.submitted_at is not None
    [record] = trail(w, "entry.submitted")
    assert (record.object_type, record.object_id, record.actor_id) == (
        "LogEntry", entry_id, w.apprentice_id)
    assert json.loads(record.details) == {
        "mentor": w.mentor_id, "minutes": 90, "competencies": [w.comp(COMM)]}


def test_submitting_a_new_entry_appends_entry_submitted(world):
    w = world
    entry_id = log(w)
    assert entry_row(w, entry_id)["state"] == "submitted"
    [record] = trail(w, "entry.submitted")
    assert record.object_id == entry_id


def test_the_paired_mentor_verifies_a_submitted_entry(world):
    w = world
    entry_id = log(w)
    verify(w, entry_id)
    with w.app.app_context():
        entry = training.get_entry(entry_id)
        assert entry.entry_state == EntryState.VERIFIED and not entry.editable
        assert entry.verified_by_id == w.mentor_id and entry.verified_at is not None
    [record] = trail(w, "entry.verified")
    assert (record.object_id, record.actor_id) == (entry_id, w.mentor_id)
    assert json.loads(record.details) == {"person": w.apprentice_id}


def test_a_returned_entry_opens_again_keeps_the_comment_and_is_resubmitted(world):
    w = world
    entry_id = log(w)
    with w.app.app_context():
        training.return_entry(training.get_entry(entry_id), w.mentor,
                              "  Say which desk it was.  ")
    row = entry_row(w, entry_id)
    assert row["state"] == "returned" and row["return_comment"] == "Say which desk it was."
    [record] = trail(w, "entry.returned")
    assert (record.object_id, record.actor_id) == (entry_id, w.mentor_id)
    assert json.loads(record.details) == {"person": w.apprentice_id,
                                          "comment": "Say which desk it was."}
    with w.app.app_context():
        assert training.get_entry(entry_id).editable
        # Saved again without submitting: still returned, the comment still there.
        training.save_entry(w.apprentice, details(w, description="The main desk."),
                            entry=training.get_entry(entry_id), today=TODAY)
    row = entry_row(w, entry_id)
    assert row["state"] == "returned" and row["description"] == "The main desk."
    assert row["return_comment"] == "Say which desk it was."
    with w.app.app_context():
        training.save_entry(w.apprentice, details(w, description="The main desk."),
                            entry=training.get_entry(entry_id), submit=True, today=TODAY)
    assert entry_row(w, entry_id)["state"] == "submitted"
    [resubmitted] = trail(w, "entry.resubmitted")
    assert resubmitted.object_id == entry_id
    assert len(trail(w, "entry.submitted")) == 1  # the first submission only
    verify(w, entry_id)
    assert entry_row(w, entry_id)["state"] == "verified"


@pytest.mark.parametrize("state", ["submitted", "verified"])
def test_submitted_and_verified_entries_are_locked_for_the_apprentice(world, state):
    w = world
    entry_id = log(w)
    if state == "verified":
        verify(w, entry_id)
    before = entry_row(w, entry_id)
    for submit in (False, True):
        refused(w, lambda submit=submit: training.save_entry(
            w.apprentice, details(w, minutes=5), entry=training.get_entry(entry_id),
            submit=submit, today=TODAY), None, "locked")
    assert entry_row(w, entry_id) == before


def test_the_same_form_sent_twice_saves_one_entry(world):
    w = world
    first = log(w, form_token="form-123")
    with pytest.raises(receipts.AlreadySaved) as again:
        log(w, form_token="form-123", minutes=30)
    assert (again.value.kind, again.value.object_id) == ("log_entry", first)
    assert count(w, LogEntry) == 1
    assert entry_row(w, first)["minutes"] == 60
    assert len(trail(w, "entry.submitted")) == 1
    # Another person may happen to send the same token: theirs is their own entry.
    sam = another_apprentice(w)
    assert log(w, person_id=sam, form_token="form-123") != first
    assert count(w, LogEntry) == 2


def test_a_draft_saved_then_submitted_from_the_same_form_is_one_entry(world):
    w = world
    draft = log(w, submit=False, form_token="form-123")
    submitted = log(w, form_token="form-123", minutes=30)
    assert submitted == draft and count(w, LogEntry) == 1
    row = entry_row(w, draft)
    assert (row["state"], row["minutes"]) == ("submitted", 30)


@pytest.mark.parametrize("token", ["x" * 65, "formulaire-été"])
def test_a_form_token_that_is_not_ours_is_replaced(world, token):
    w = world
    first, second = log(w, form_token=token), log(w, form_token=token)
    assert first != second and count(w, LogEntry) == 2
    with w.app.app_context():
        tokens = {training.get_entry(i).form_token for i in (first, second)}
    assert token not in tokens and all(len(t) <= 64 for t in tokens)


# -- log entries: each refusal ------------------------------------------------------------------

def _out_of_area_details(w):
    return {"competency_ids": [w.comp(TECH)]}


def _ended_pairing(w):
    with w.app.app_context():
        training.change_pairing(training.get_pairing(w.pairing_id), ends_on=date(2026, 3, 31),
                                area_ids=[w.areas[FOUND], w.areas[COMM], w.areas[ACCESS]],
                                by=w.coordinator)
    return {"occurred_on": date(2026, 4, 10)}


def _other_framework(w):
    with w.app.app_context():
        spec = frameworks.spec_of(frameworks.get_framework(w.framework_id))
        spec.name = "Another framework"
        other = frameworks.create_from_spec(spec)
        return {"competency_ids": [other.current_areas[0].current_competencies[0].id]}


def _late_pairing(w, offset_days: int):
    """Noor paired from 1 February 2026: an entry with her ``offset_days`` from that day."""
    pair(w, w.apprentice_id, w.mentor2_id, starts_on=date(2026, 2, 1))
    return {"mentor_id": w.mentor2_id, "occurred_on": date(2026, 2, 1) + timedelta(offset_days)}


ENTRY_REFUSALS = {
    "no minutes": ("minutes", lambda w: {"minutes": None}),
    "0 minutes": ("minutes", lambda w: {"minutes": 0}),
    "negative minutes": ("minutes", lambda w: {"minutes": -30}),
    "1441 minutes": ("minutes", lambda w: {"minutes": 1441}),
    "no date": ("occurred_on", lambda w: {"occurred_on": None}),
    "tomorrow": ("occurred_on", lambda w: {"occurred_on": TODAY + timedelta(days=1)}),
    "more than a year ago": ("occurred_on",
                             lambda w: {"occurred_on": TODAY - timedelta(days=367)}),
    "no activity": ("activity", lambda w: {"activity": None}),
    "activity 7": ("activity", lambda w: {"activity": 7}),
    "no competency": ("competency_ids", lambda w: {"competency_ids": []}),
    "eleven competencies": ("competency_ids",
                            lambda w: {"competency_ids": w.competencies[FOUND][:11]}),
    "elective not chosen": ("competency_ids",
                            lambda w: {"competency_ids": [w.comp(CATALOGING)]}),
    "another framework's competency": ("competency_ids", _other_framework),
    "unknown competency": ("competency_ids", lambda w: {"competency_ids": [999_999]}),
    "no mentor": ("mentor_id", lambda w: {"mentor_id": None}),
    "unknown mentor": ("mentor_id", lambda w: {"mentor_id": 999_999}),
    "mentor not paired": ("mentor_id", lambda w: {"mentor_id": w.mentor2_id}),
    "mentor outside the pairing's areas": ("mentor_id", _out_of_area_details),
    "one area in, one out": ("mentor_id",
                             lambda w: {"competency_ids": [w.comp(FOUND), w.comp(TECH)]}),
    "pairing ended before the date": ("mentor_id", _ended_pairing),
    "pairing starts after the date": ("mentor_id", lambda w: _late_pairing(w, -1)),
    "mentor is oneself": ("mentor_id", lambda w: {"mentor_id": w.apprentice_id}),
    "empty description": ("description", lambda w: {"description": "   "}),
    "description too long": ("description", lambda w: {"description": "x" * 2001}),
    "reflection too long": ("reflection", lambda w: {"reflection": "x" * 4001}),
}


@pytest.mark.parametrize("case", list(ENTRY_REFUSALS))
@pytest.mark.parametrize("submit", [False, True], ids=["draft", "submit"])
def test_entry_refusals_name_the_field_and_save_nothing(world, case, submit):
    w = world
    field_name, make = ENTRY_REFUSALS[case]
    changes = make(w)
    refused(w, lambda: training.save_entry(w.apprentice, details(w, **changes), submit=submit,
                                           today=TODAY), field_name)
    assert count(w, LogEntry) == 0


def test_a_refused_edit_leaves_the_draft_as_it_was(world):
    w = world
    entry_id = log(w, submit=False)
    before = entry_row(w, entry_id)
    refused(w, lambda: training.save_entry(
        w.apprentice, details(w, minutes=0, competency_ids=[w.comp(CATALOGING)]),
        entry=training.get_entry(entry_id), submit=True, today=TODAY), "minutes")
    assert entry_row(w, entry_id) == before


ENTRY_LIMITS = {
    "1 minute": lambda w: {"minutes": 1},
    "1440 minutes": lambda w: {"minutes": 1440},
    "today": lambda w: {"occurred_on": TODAY},
    "365 days ago": lambda w: {"occurred_on": TODAY - timedelta(days=365)},
    "the pairing's first day": lambda w: _late_pairing(w, 0),
    "2000 characters": lambda w: {"description": "x" * 2000},
    "ten competencies": lambda w: {"competency_ids": w.competencies[FOUND][:10]},
}


@pytest.mark.parametrize("case", list(ENTRY_LIMITS))
def test_entry_limits_are_inclusive(world, case):
    w = world
    entry_id = log(w, **ENTRY_LIMITS[case](w))
    assert entry_row(w, entry_id)["state"] == "submitted"


def test_the_last_day_of_a_pairing_still_counts(world):
    w = world
    _ended_pairing(w)
    entry_id = log(w, occurred_on=date(2026, 3, 31))
    assert entry_row(w, entry_id)["mentor_id"] == w.mentor_id


def test_nobody_saves_someone_elses_entry(world):
    w = world
    sam = another_apprentice(w)
    for submit_first in (False, True):
        entry_id = log(w, submit=submit_first)
        before = entry_row(w, entry_id)
        refused(w, lambda entry_id=entry_id: training.save_entry(
            w.person(sam), details(w, minutes=5), entry=training.get_entry(entry_id),
            submit=True, today=TODAY), None, "someone else's")
        assert entry_row(w, entry_id) == before


def test_only_ones_own_drafts_are_deleted(world):
    w = world
    sam = another_apprentice(w)
    draft = log(w, submit=False)
    submitted = log(w)
    for entry_id, person_id in ((draft, sam), (submitted, w.apprentice_id)):
        with w.app.app_context(), pytest.raises(Invalid):
            training.delete_draft(training.get_entry(entry_id), w.person(person_id))
    assert count(w, LogEntry) == 2
    with w.app.app_context():
        training.delete_draft(training.get_entry(draft), w.apprentice)
    with w.app.app_context():
        assert training.get_entry(draft) is None
        assert db_session().scalar(select(func.count()).select_from(EntryCompetency)) == 1


# -- review ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["unpaired mentor", "mentor for other areas",
                                 "mentor whose pairing has not started", "coordinator",
                                 "the apprentice"])
def test_only_a_mentor_paired_for_the_entrys_areas_reviews_it(world, who):
    w = world
    entry_id = log(w)
    reviewer = w.mentor2_id
    if who == "mentor for other areas":
        pair(w, w.apprentice_id, w.mentor2_id, areas=[TECH, COLLECTION])
    elif who == "mentor whose pairing has not started":
        pair(w, w.apprentice_id, w.mentor2_id, starts_on=date.today() + timedelta(days=30))
    elif who == "coordinator":
        reviewer = w.coordinator_id
    elif who == "the apprentice":
        reviewer = w.apprentice_id
    before = entry_row(w, entry_id)
    refused(w, lambda: training.verify_entries([training.get_entry(entry_id)],
                                               w.person(reviewer)), None, "not this apprentice")
    refused(w, lambda: training.return_entry(training.get_entry(entry_id), w.person(reviewer),
                                             "Please fix."), None, "not this apprentice")
    assert entry_row(w, entry_id) == before
    with w.app.app_context():
        assert training.review_queue(w.person(reviewer), today=TODAY) == []


def test_a_second_mentor_paired_for_the_area_may_review(world):
    w = world
    entry_id = log(w)
    pair(w, w.apprentice_id, w.mentor2_id, areas=[FOUND])
    verify(w, entry_id, mentor_id=w.mentor2_id)
    assert entry_row(w, entry_id)["verified_by_id"] == w.mentor2_id


def test_a_mentor_whose_pairing_ended_may_still_review_entries_from_its_time(world):
    w = world
    entry_id = log(w, occurred_on=date(2026, 3, 20))
    _ended_pairing(w)
    verify(w, entry_id)
    assert entry_row(w, entry_id)["state"] == "verified"


@pytest.mark.parametrize("state", ["draft", "verified", "returned"])
def test_only_submitted_entries_are_verified_or_returned(world, state):
    w = world
    entry_id = log(w, submit=state != "draft")
    if state == "verified":
        verify(w, entry_id)
    elif state == "returned":
        with w.app.app_context():
            training.return_entry(training.get_entry(entry_id), w.mentor, "Fix it.")
    before = entry_row(w, entry_id)
    refused(w, lambda: training.verify_entries([training.get_entry(entry_id)], w.mentor),
            None, "waiting for review")
    refused(w, lambda: training.return_entry(training.get_entry(entry_id), w.mentor, "Again."),
            None, "waiting for review")
    assert entry_row(w, entry_id) == before


@pytest.mark.parametrize("comment", ["", "   ", None, "x" * 2001])
def test_returning_needs_a_comment(world, comment):
    w = world
    entry_id = log(w)
    refused(w, lambda: training.return_entry(training.get_entry(entry_id), w.mentor, comment),
            "comment")
    assert entry_row(w, entry_id)["state"] == "submitted"


def test_the_review_queue_lists_the_mentors_apprentices_submitted_entries_oldest_first(world):
    w = world
    sam = another_apprentice(w, "Sam Lee", mentor_id=w.mentor2_id)  # Noor's apprentice only
    first = log(w, occurred_on=date(2026, 6, 1))
    log(w, submit=False)                                     # a draft
    done = log(w)
    verify(w, done)                                          # verified
    returned = log(w)
    with w.app.app_context():
        training.return_entry(training.get_entry(returned), w.mentor, "Fix it.")
    log(w, person_id=sam, mentor_id=w.mentor2_id)            # another mentor's apprentice
    second = log(w, occurred_on=date(2026, 2, 1))            # older day, submitted later
    with w.app.app_context():
        queue = training.review_queue(w.mentor, today=TODAY)
    assert [e.id for e in queue] == [first, second]
    # Resubmitting puts an entry at the back of the queue.
    with w.app.app_context():
        training.save_entry(w.apprentice, details(w), entry=training.get_entry(returned),
                            submit=True, today=TODAY)
        assert [e.id for e in training.review_queue(w.mentor, today=TODAY)] == [
            first, second, returned]
    with w.app.app_context():
        assert [e.person_id for e in training.review_queue(w.mentor2, today=TODAY)] == [sam]
        assert training.review_queue(w.coordinator, today=TODAY) == []


def test_the_review_queue_leaves_out_entries_outside_the_mentors_areas(world):
    w = world
    pair(w, w.apprentice_id, w.mentor2_id, areas=[TECH])
    tech = log(w, competency_ids=[w.comp(TECH)], mentor_id=w.mentor2_id)
    found = log(w, competency_ids=[w.comp(FOUND)])
    with w.app.app_context():
        assert [e.id for e in training.review_queue(w.mentor2, today=TODAY)] == [tech]
        assert [e.id for e in training.review_queue(w.mentor, today=TODAY)] == [found]


def test_bulk_verification_is_all_or_none(world):
    w = world
    entries = [log(w, minutes=m) for m in (30, 45, 60)]
    draft = log(w, submit=False)
    outside = log(w, competency_ids=[w.comp(ACCESS)])
    pair(w, w.apprentice_id, w.mentor2_id, areas=[FOUND])  # Noor covers FOUND, not ACCESS
    for extra, reviewer in ((draft, w.mentor_id), (outside, w.mentor2_id)):
        refused(w, lambda extra=extra, reviewer=reviewer: training.verify_entries(
            [training.get_entry(i) for i in [*entries, extra]], w.person(reviewer)), None)
        assert [entry_row(w, i)["state"] for i in entries] == ["submitted"] * 3
        assert trail(w, "entry.verified") == []
    with w.app.app_context():
        assert training.verify_entries([training.get_entry(i) for i in entries], w.mentor) == 3
    assert [entry_row(w, i)["state"] for i in entries] == ["verified"] * 3
    assert sorted(r.object_id for r in trail(w, "entry.verified")) == sorted(entries)


def test_the_same_entry_listed_twice_is_verified_once(world):
    w = world
    entry_id = log(w)
    with w.app.app_context():
        entry = training.get_entry(entry_id)
        assert training.verify_entries([entry, entry], w.mentor) == 1
    assert len(trail(w, "entry.verified")) == 1


def test_a_verify_naming_no_entry_or_a_missing_one_verifies_nothing(world):
    w = world
    entry_id = log(w)
    for named in ([entry_id, None], [entry_id, 999_999], []):
        with w.app.app_context(), pytest.raises(Invalid, match="do not exist; nothing was"):
            training.verify_entries(named, w.mentor)
    assert entry_row(w, entry_id)["state"] == "submitted" and trail(w, "entry.verified") == []


def test_entries_held_by_the_caller_show_their_verification(world):
    """A verify changes its rows with one UPDATE: the entries the caller holds in its
    session show the change (not the state they were read in), in the order ticked."""
    w = world
    first, second = log(w), log(w)
    with w.app.app_context():
        held = [training.get_entry(second), training.get_entry(first)]
        assert training.verify_entries(held, w.mentor) == 2
        assert [(e.state, e.verified_by_id) for e in held] == [("verified", w.mentor_id)] * 2
        assert all(e.verified_at is not None for e in held)
    assert [r.object_id for r in trail(w, "entry.verified")] == [second, first]


# -- unlocking ------------------------------------------------------------------------------

def test_a_coordinator_unlocks_a_verified_entry_with_a_reason(world):
    w = world
    entry_id = verified(w)
    with w.app.app_context():
        training.unlock_entry(training.get_entry(entry_id), w.coordinator,
                              "  Wrong date recorded.  ")
    row = entry_row(w, entry_id)
    assert row["state"] == "returned"
    assert "Wrong date recorded." in row["return_comment"]
    [record] = trail(w, "entry.unlocked")
    assert (record.object_id, record.actor_id) == (entry_id, w.coordinator_id)
    assert json.loads(record.details) == {"person": w.apprentice_id,
                                          "reason": "Wrong date recorded."}
    # Open again: the apprentice fixes and resubmits it.
    with w.app.app_context():
        training.save_entry(w.apprentice, details(w, occurred_on=date(2026, 6, 1)),
                            entry=training.get_entry(entry_id), submit=True, today=TODAY)
    assert entry_row(w, entry_id)["state"] == "submitted"
    assert len(trail(w, "entry.resubmitted")) == 1


@pytest.mark.parametrize("case", ["mentor", "apprentice", "no reason", "blank reason",
                                  "reason too long", "draft", "submitted", "returned"])
def test_unlock_refusals(world, case):
    w = world
    entry_id = log(w, submit=case != "draft")
    if case in ("mentor", "apprentice", "no reason", "blank reason", "reason too long"):
        verify(w, entry_id)
    elif case == "returned":
        with w.app.app_context():
            training.return_entry(training.get_entry(entry_id), w.mentor, "Fix it.")
    by = {"mentor": w.mentor_id, "apprentice": w.apprentice_id}.get(case, w.coordinator_id)
    reason = {"no reason": "", "blank reason": "   ", "reason too long": "x" * 2001}.get(
        case, "A reason.")
    expected = "reason" if "reason" in case else None
    before = entry_row(w, entry_id)
    refused(w, lambda: training.unlock_entry(training.get_entry(entry_id), w.person(by), reason),
            expected)
    assert entry_row(w, entry_id) == before


def test_an_entry_a_standing_sign_off_cites_stays_locked_until_it_is_revoked(world):
    w = world
    entry_id = verified(w)
    sign_off_id = sign(w, w.comp(FOUND), [entry_id])
    refused(w, lambda: training.unlock_entry(training.get_entry(entry_id), w.coordinator,
                                             "Wrong date."), None, "Revoke that sign-off")
    assert entry_row(w, entry_id)["state"] == "verified"
    revoke(w, sign_off_id)
    with w.app.app_context():
        training.unlock_entry(training.get_entry(entry_id), w.coordinator, "Wrong date.")
    assert entry_row(w, entry_id)["state"] == "returned"


def test_unlocking_in_the_same_session_as_the_revocation(world):
    """A coordinator revoking and then unlocking in one request (one session)."""
    w = world
    entry_id = verified(w)
    sign_off_id = sign(w, w.comp(FOUND), [entry_id])
    with w.app.app_context():
        record = training.get_sign_off(sign_off_id)
        training.revoke(record, w.coordinator, "Signed too early.")
        training.unlock_entry(training.get_entry(entry_id), w.coordinator, "Wrong date.")
    assert entry_row(w, entry_id)["state"] == "returned"


# -- sign-offs ------------------------------------------------------------------------------

def test_the_paired_mentor_signs_off_citing_a_verified_entry(world):
    w = world
    entry_id = verified(w, competency_ids=[w.comp(FOUND, 0), w.comp(FOUND, 1)])
    sign_off_id = sign(w, w.comp(FOUND, 1), [entry_id, entry_id], comment="  Confident.  ")
    with w.app.app_context():
        record = training.get_sign_off(sign_off_id)
        competency = db_session().get(Competency, w.comp(FOUND, 1))
        assert (record.person_id, record.signed_by_id, record.competency_id) == (
            w.apprentice_id, w.mentor_id, competency.id)
        assert record.lineage == competency.lineage
        assert record.supervision_level == INDEPENDENT
        assert record.comment == "Confident."
        assert record.corrects_id is None and record.revocation is None
        assert [link.entry_id for link in record.evidence_links] == [entry_id]
        assert [s.id for s in sign_offs_of(w.apprentice_id)] == [sign_off_id]
    [audit] = trail(w, "signoff.created")
    assert (audit.object_type, audit.object_id, audit.actor_id) == (
        "SignOff", sign_off_id, w.mentor_id)
    assert json.loads(audit.details) == {
        "person": w.apprentice_id, "competency": w.comp(FOUND, 1), "code": "FND-02",
        "level": 5, "evidence": [entry_id], "corrects": None,
    }


def _sign_off_case(w: World, case: str) -> tuple[dict, object]:
    """What to change in a sign-off for ``case``, and the field the refusal names."""
    entry_id = verified(w)
    call = {"competency_id": w.comp(FOUND), "entry_ids": [entry_id]}
    if case == "no evidence":
        return {**call, "entry_ids": []}, "entry_ids"
    if case == "unknown entry":
        return {**call, "entry_ids": [entry_id, 999_999]}, "entry_ids"
    if case == "draft evidence":
        return {**call, "entry_ids": [log(w, submit=False)]}, "entry_ids"
    if case == "submitted evidence":
        return {**call, "entry_ids": [log(w)]}, "entry_ids"
    if case == "returned evidence":
        returned = log(w)
        with w.app.app_context():
            training.return_entry(training.get_entry(returned), w.mentor, "Fix it.")
        return {**call, "entry_ids": [returned]}, "entry_ids"
    if case == "another person's entry":
        sam = another_apprentice(w)
        theirs = log(w, person_id=sam)
        verify(w, theirs)
        return {**call, "entry_ids": [theirs]}, "entry_ids"
    if case == "entry did not practise it":
        return {**call, "competency_id": w.comp(FOUND, 1)}, "entry_ids"
    if case == "unpaired mentor":
        return {**call, "mentor_id": w.mentor2_id}, None
    if case == "mentor outside the pairing's areas":
        pair(w, w.apprentice_id, w.mentor2_id, areas=[TECH])
        return {**call, "mentor_id": w.mentor2_id}, None
    if case == "pairing ended":
        _ended_pairing(w)
        return call, None
    if case == "coordinator":
        return {**call, "mentor_id": w.coordinator_id}, None
    if case == "competency outside the programme":
        pair(w, w.apprentice_id, w.mentor2_id)  # all areas
        return {**call, "competency_id": w.comp(CATALOGING), "mentor_id": w.mentor2_id}, (
            "competency")
    if case == "unknown level":
        return {**call, "level": 9}, "level"
    if case == "comment too long":
        return {**call, "comment": "x" * 2001}, "comment"
    raise AssertionError(case)


SIGN_OFF_REFUSALS = [
    "no evidence", "unknown entry", "draft evidence", "submitted evidence", "returned evidence",
    "another person's entry", "entry did not practise it", "unpaired mentor",
    "mentor outside the pairing's areas", "pairing ended", "coordinator",
    "competency outside the programme", "unknown level", "comment too long",
]


@pytest.mark.parametrize("case", SIGN_OFF_REFUSALS)
def test_sign_off_refusals(world, case):
    w = world
    call, expected = _sign_off_case(w, case)
    refused(w, lambda: sign(w, **call), expected)
    assert count(w, SignOff) == 0 and count(w, SignOffEvidence) == 0


def test_nobody_signs_off_their_own_work(world):
    w = world
    alex = another_apprentice(w, "Alex Both", roles=("apprentice", "mentor"))
    own = log(w, person_id=alex)
    verify(w, own)
    refused(w, lambda: sign(w, w.comp(FOUND), [own], mentor_id=alex, person_id=alex), None,
            "their own work")
    # Not even as a "correction" of someone else's sign-off of them.
    original = sign(w, w.comp(FOUND), [own], person_id=alex)
    refused(w, lambda: sign(w, w.comp(FOUND), [own], mentor_id=alex, person_id=alex,
                            corrects_id=original), None)
    assert count(w, SignOff) == 1


def test_evidence_for_an_older_wording_counts_for_the_same_lineage(world):
    w = world
    entry_id = verified(w)
    with w.app.app_context():
        new = frameworks.edit_competency(db_session().get(Competency, w.comp(FOUND)),
                                         code="FND-01", statement="A clearer statement.")
    sign_off_id = sign(w, new.id, [entry_id])
    with w.app.app_context():
        assert training.get_sign_off(sign_off_id).competency_id == new.id
    # The old wording is no longer in the programme: nobody signs it off now.
    refused(w, lambda: sign(w, w.comp(FOUND), [entry_id]), "competency")


@pytest.mark.parametrize("corrector", ["signer", "coordinator"])
def test_a_correction_is_a_new_sign_off_and_the_old_one_is_unchanged(world, corrector):
    w = world
    entry_id = verified(w)
    original = sign(w, w.comp(FOUND), [entry_id], level=INDEPENDENT, comment="First.")
    later = verified(w, occurred_on=date(2026, 6, 10))
    by = w.mentor_id if corrector == "signer" else w.coordinator_id
    correction = sign(w, w.comp(FOUND), [later], level=ASSISTED, comment="Too generous.",
                      mentor_id=by, corrects_id=original)
    assert correction != original
    with w.app.app_context():
        old, new = training.get_sign_off(original), training.get_sign_off(correction)
        assert (old.level, old.comment, old.corrects_id, old.signed_by_id) == (
            INDEPENDENT, "First.", None, w.mentor_id)
        assert [link.entry_id for link in old.evidence_links] == [entry_id]
        assert (new.level, new.comment, new.corrects_id, new.signed_by_id) == (
            ASSISTED, "Too generous.", original, by)
        assert old.revocation is None and new.revocation is None
    [audit] = trail(w, "signoff.corrected")
    assert audit.object_id == correction and audit.actor_id == by
    assert json.loads(audit.details)["corrects"] == original


def test_a_correction_by_another_mentor_is_refused(world):
    w = world
    entry_id = verified(w)
    original = sign(w, w.comp(FOUND), [entry_id])
    pair(w, w.apprentice_id, w.mentor2_id)  # Noor is paired too, for every area
    refused(w, lambda: sign(w, w.comp(FOUND), [entry_id], mentor_id=w.mentor2_id,
                            corrects_id=original, level=ASSISTED), None, "mentor who signed")
    assert count(w, SignOff) == 1


@pytest.mark.parametrize("case", ["another competency", "another person", "revoked"])
def test_a_correction_must_be_of_a_standing_sign_off_of_the_same_thing(world, case):
    w = world
    entry_id = verified(w, competency_ids=[w.comp(FOUND, 0), w.comp(FOUND, 1)])
    original = sign(w, w.comp(FOUND, 0), [entry_id])
    call = {"competency_id": w.comp(FOUND, 0), "entry_ids": [entry_id],
            "corrects_id": original, "level": ASSISTED}
    if case == "another competency":
        call["competency_id"] = w.comp(FOUND, 1)
    elif case == "another person":
        sam = another_apprentice(w)
        theirs = log(w, person_id=sam)
        verify(w, theirs)
        call.update(person_id=sam, entry_ids=[theirs])
    else:
        revoke(w, original)
    refused(w, lambda: sign(w, **call), None)
    assert count(w, SignOff) == 1


@pytest.mark.parametrize("by", ["signer", "coordinator"])
def test_revoking_records_who_and_why(world, by):
    w = world
    entry_id = verified(w)
    sign_off_id = sign(w, w.comp(FOUND), [entry_id])
    by_id = w.mentor_id if by == "signer" else w.coordinator_id
    revoke(w, sign_off_id, by_id, "  Signed off too early.  ")
    with w.app.app_context():
        record = training.get_sign_off(sign_off_id)
        assert record.revocation is not None
        assert (record.revocation.reason, record.revocation.revoked_by_id) == (
            "Signed off too early.", by_id)
        assert record.level == INDEPENDENT  # the sign-off itself is untouched
    [audit] = trail(w, "signoff.revoked")
    assert (audit.object_type, audit.object_id, audit.actor_id) == (
        "SignOff", sign_off_id, by_id)
    assert json.loads(audit.details) == {"person": w.apprentice_id,
                                         "reason": "Signed off too early."}


@pytest.mark.parametrize("case", ["no reason", "blank reason", "reason too long",
                                  "another mentor", "the apprentice", "twice"])
def test_revoke_refusals(world, case):
    w = world
    entry_id = verified(w)
    sign_off_id = sign(w, w.comp(FOUND), [entry_id])
    by, reason, expected = w.mentor_id, "A reason.", None
    if case == "no reason":
        reason, expected = "", "reason"
    elif case == "blank reason":
        reason, expected = "  ", "reason"
    elif case == "reason too long":
        reason, expected = "x" * 2001, "reason"
    elif case == "another mentor":
        pair(w, w.apprentice_id, w.mentor2_id)
        by = w.mentor2_id
    elif case == "the apprentice":
        by = w.apprentice_id
    else:
        revoke(w, sign_off_id)
    revocations = count(w, Revocation)
    refused(w, lambda: training.revoke(training.get_sign_off(sign_off_id), w.person(by), reason),
            expected)
    assert count(w, Revocation) == revocations


def test_revoking_twice_in_one_session_is_refused_cleanly(world):
    w = world
    entry_id = verified(w)
    sign_off_id = sign(w, w.comp(FOUND), [entry_id])
    with w.app.app_context():
        record = training.get_sign_off(sign_off_id)
        training.revoke(record, w.mentor, "Too early.")
        with pytest.raises(Invalid):
            training.revoke(record, w.mentor, "Again.")


# -- the database keeps sign-offs and revocations ---------------------------------------------

APPEND_ONLY_STATEMENTS = {
    "update a sign-off": "UPDATE apprentice_sign_offs SET level = 1",
    "delete a sign-off": "DELETE FROM apprentice_sign_offs",
    "update a revocation": "UPDATE apprentice_revocations SET reason = 'changed'",
    "delete a revocation": "DELETE FROM apprentice_revocations",
    "update evidence": "UPDATE apprentice_sign_off_evidence SET entry_id = entry_id",
    "delete evidence": "DELETE FROM apprentice_sign_off_evidence",
}


@pytest.mark.parametrize("statement", list(APPEND_ONLY_STATEMENTS))
def test_the_database_refuses_to_change_sign_offs_and_revocations(world, statement):
    w = world
    entry_id = verified(w)
    sign_off_id = sign(w, w.comp(FOUND), [entry_id])
    revoke(w, sign_off_id)
    with w.app.app_context():
        session = db_session()
        with pytest.raises(DBAPIError) as caught:
            session.execute(text(APPEND_ONLY_STATEMENTS[statement]))
        session.rollback()
        assert "append-only" in str(caught.value)
    with w.app.app_context():
        record = training.get_sign_off(sign_off_id)
        assert record.level == INDEPENDENT
        assert record.revocation.reason == "Signed off the wrong person."
        assert [link.entry_id for link in record.evidence_links] == [entry_id]


def test_postgresql_refuses_to_truncate_sign_offs(world):
    w = world
    with w.app.app_context():
        session = db_session()
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("TRUNCATE is PostgreSQL's")
        for table in ("apprentice_sign_off_evidence", "apprentice_revocations"):
            with pytest.raises(DBAPIError) as caught:
                session.execute(text("TRUNCATE " + table))
            session.rollback()
            assert "append-only" in str(caught.value)


# -- progress reads the records -----------------------------------------------------------------

def test_a_sign_off_at_the_required_level_counts_as_signed_off(world):
    w = world
    assert status_of(progress(w), w.comp(FOUND)) == CompetencyStatus.NOT_STARTED
    entry_id = verified(w)
    assert status_of(progress(w), w.comp(FOUND)) == CompetencyStatus.IN_PROGRESS
    sign(w, w.comp(FOUND), [entry_id], level=INDEPENDENT)
    row = progress(w)
    assert status_of(row, w.comp(FOUND)) == CompetencyStatus.SIGNED_OFF
    assert area_of(row, w.areas[FOUND]).signed_off == 1
    assert area_of(row, w.areas[COMM]).signed_off == 0


def test_a_draft_is_not_progress_but_a_submitted_entry_is(world):
    w = world
    log(w, submit=False, competency_ids=[w.comp(FOUND, 0)])
    log(w, competency_ids=[w.comp(FOUND, 1)])
    row = progress(w)
    assert status_of(row, w.comp(FOUND, 0)) == CompetencyStatus.NOT_STARTED
    assert status_of(row, w.comp(FOUND, 1)) == CompetencyStatus.IN_PROGRESS


def test_a_sign_off_below_the_required_level_shows_below_level(world):
    w = world
    entry_id = verified(w)
    sign(w, w.comp(FOUND), [entry_id], level=ASSISTED)
    row = progress(w)
    assert status_of(row, w.comp(FOUND)) == CompetencyStatus.BELOW_LEVEL
    assert area_of(row, w.areas[FOUND]).signed_off == 0


def test_a_revoked_sign_off_no_longer_counts(world):
    w = world
    entry_id = verified(w)
    sign_off_id = sign(w, w.comp(FOUND), [entry_id])
    revoke(w, sign_off_id)
    row = progress(w)
    assert status_of(row, w.comp(FOUND)) == CompetencyStatus.IN_PROGRESS
    assert area_of(row, w.areas[FOUND]).signed_off == 0


@pytest.mark.parametrize(("first", "second", "expected"), [
    (INDEPENDENT, ASSISTED, CompetencyStatus.BELOW_LEVEL),
    (ASSISTED, INDEPENDENT, CompetencyStatus.SIGNED_OFF),
])
def test_a_correction_wins_over_the_sign_off_it_corrects(world, first, second, expected):
    w = world
    entry_id = verified(w)
    original = sign(w, w.comp(FOUND), [entry_id], level=first)
    sign(w, w.comp(FOUND), [entry_id], level=second, corrects_id=original)
    assert status_of(progress(w), w.comp(FOUND)) == expected


def test_revoking_a_correction_does_not_bring_back_what_it_corrected(world):
    w = world
    entry_id = verified(w)
    original = sign(w, w.comp(FOUND), [entry_id], level=INDEPENDENT)
    correction = sign(w, w.comp(FOUND), [entry_id], level=ASSISTED, corrects_id=original)
    revoke(w, correction)
    assert status_of(progress(w), w.comp(FOUND)) == CompetencyStatus.IN_PROGRESS


def test_a_later_lower_sign_off_does_not_undo_a_higher_one(world):
    """Only a correction lowers a level; another mentor's later, lower sign-off does not."""
    w = world
    entry_id = verified(w)
    sign(w, w.comp(FOUND), [entry_id], level=INDEPENDENT)
    sign(w, w.comp(FOUND), [entry_id], level=ASSISTED)
    assert status_of(progress(w), w.comp(FOUND)) == CompetencyStatus.SIGNED_OFF


def test_minutes_count_once_per_area_verified_and_unverified_apart(world):
    w = world
    verified(w, minutes=60, competency_ids=[w.comp(FOUND, 0), w.comp(FOUND, 1)])
    log(w, minutes=25, competency_ids=[w.comp(FOUND, 2), w.comp(FOUND, 3)])   # submitted
    log(w, minutes=500, competency_ids=[w.comp(FOUND, 0)], submit=False)      # draft
    verified(w, minutes=40, competency_ids=[w.comp(FOUND, 4), w.comp(COMM, 0)])  # two areas
    row = progress(w)
    found, comm = area_of(row, w.areas[FOUND]), area_of(row, w.areas[COMM])
    assert (found.verified_minutes, found.unverified_minutes) == (100, 25)
    assert (comm.verified_minutes, comm.unverified_minutes) == (40, 0)
    assert (area_of(row, w.areas[TECH]).verified_minutes,
            area_of(row, w.areas[TECH]).unverified_minutes) == (0, 0)


def test_minutes_of_a_returned_entry_count_as_unverified(world):
    w = world
    entry_id = log(w, minutes=45)
    with w.app.app_context():
        training.return_entry(training.get_entry(entry_id), w.mentor, "Fix it.")
    found = area_of(progress(w), w.areas[FOUND])
    assert (found.verified_minutes, found.unverified_minutes) == (0, 45)


# -- the issue: rewording a statement that has evidence ---------------------------------------

def test_editing_a_statement_with_evidence_makes_a_new_version_and_old_evidence_keeps_old_words(
    world,
):
    w = world
    old_id = w.comp(FOUND)
    with w.app.app_context():
        old_statement = db_session().get(Competency, old_id).statement
    entry_id = verified(w, competency_ids=[old_id])
    sign_off_id = sign(w, old_id, [entry_id])
    new_wording = "Explains how the library supports learning and community life."
    with w.app.app_context():
        framework = frameworks.get_framework(w.framework_id)
        assert framework.status == "active"
        version_before = framework.version
        new = frameworks.edit_competency(db_session().get(Competency, old_id), code="FND-01",
                                         statement=new_wording, by=w.coordinator)
    assert new.id != old_id
    with w.app.app_context():
        old, new = db_session().get(Competency, old_id), db_session().get(Competency, new.id)
        assert old.statement == old_statement and old.retired_in is not None
        assert new.statement == new_wording and new.lineage == old.lineage
        assert new.supersedes_id == old_id and new.current
        assert frameworks.get_framework(w.framework_id).version == version_before + 1
        assert [c.id for c in frameworks.versions_of(new)] == [old_id, new.id]
        entry = training.get_entry(entry_id)
        assert [link.competency_id for link in entry.competency_links] == [old_id]
        assert entry.competencies[0].statement == old_statement
        record = training.get_sign_off(sign_off_id)
        assert record.competency_id == old_id
        assert record.competency.statement == old_statement
    row = progress(w)
    [item] = [c for c in area_of(row, w.areas[FOUND]).competencies if c.competency.id == new.id]
    assert item.competency.statement == new_wording
    assert item.status == CompetencyStatus.SIGNED_OFF
    assert old_id not in {c.competency.id for a in row.areas for c in a.competencies}
    assert area_of(row, w.areas[FOUND]).signed_off == 1
    # New entries use the new wording; the old one is no longer offered.
    refused(w, lambda: training.save_entry(w.apprentice, details(w, competency_ids=[old_id]),
                                           today=TODAY), "competency_ids")
    later = log(w, competency_ids=[new.id])
    assert entry_row(w, later)["competencies"] == [new.id]


# -- a fixed number of queries ----------------------------------------------------------------

def _count_statements(app, call, setup=lambda: None) -> int:
    """SQL statements ``call(setup())`` runs, in a fresh app context (nothing cached)."""
    with app.app_context():
        prepared = setup()
        with sql_statements(app) as sent:
            call(prepared)
    return len(sent)


def _bulk_entries(w: World, person_ids: list[int], total: int) -> None:
    """``total`` entries spread over people and areas, inserted directly (fast)."""
    areas = [FOUND, COMM, TECH, *CHOSEN]
    with w.app.app_context():
        session = db_session()
        states = ["verified", "submitted", "draft", "returned"]
        rows = [{
            "person_id": person_ids[n % len(person_ids)], "mentor_id": w.mentor_id,
            "occurred_on": TODAY - timedelta(days=n % 300), "minutes": 15 + n % 120,
            "activity": 1 + n % 6, "description": f"Bulk entry {n}", "state": states[n % 4],
            "form_token": f"bulk-{n}-{len(person_ids)}",
        } for n in range(total)]
        ids = session.scalars(
            insert(LogEntry).returning(LogEntry.id, sort_by_parameter_order=True), rows).all()
        links = []
        for n, entry_id in enumerate(ids):
            area = areas[n % len(areas)]
            for k in range(1 + n % 3):
                links.append({"entry_id": entry_id,
                              "competency_id": w.competencies[area][(n + k) % 12]})
        session.execute(insert(EntryCompetency), links)
        signed = [{
            "person_id": person_ids[n % len(person_ids)], "competency_id": w.comp(FOUND, n % 12),
            "lineage": db_session().get(Competency, w.comp(FOUND, n % 12)).lineage,
            "level": 1 + n % 6, "signed_by_id": w.mentor_id,
        } for n in range(max(1, total // 20))]
        sign_off_ids = session.scalars(
            insert(SignOff).returning(SignOff.id, sort_by_parameter_order=True), signed).all()
        session.execute(insert(Revocation), [
            {"sign_off_id": i, "reason": "bulk", "revoked_by_id": w.mentor_id}
            for i in sign_off_ids[::3]])
        session.commit()


def test_evidence_and_progress_take_a_fixed_number_of_queries(world):
    w = world
    small = [w.apprentice_id, another_apprentice(w, "Sam Lee")]
    _bulk_entries(w, small, 10)

    def measure(people):
        def evidence(_):
            assert set(records.load_evidence(people)) == set(people)

        def enrolments():
            return list(db_session().scalars(
                select(Enrolment).where(Enrolment.person_id.in_(people))))

        def progress_rows(loaded):
            assert len(records.progress_of(loaded, TODAY)) == len(people)

        def cohort(_):
            assert len(records.cohort(today=TODAY)) == len(people)

        return (_count_statements(w.app, evidence),
                _count_statements(w.app, progress_rows, enrolments),
                _count_statements(w.app, cohort))

    few = measure(small)
    many_people = small + [another_apprentice(w, f"Cohort {n}") for n in range(4)]
    _bulk_entries(w, many_people, 1000)
    with w.app.app_context():
        assert db_session().scalar(select(func.count()).select_from(LogEntry)) == 1010
    many = measure(many_people)
    assert few == many, f"10 entries: {few} statements; 1,010 entries: {many}"
    assert few[0] <= 4  # four queries (BEGIN goes to the driver, not counted)


def test_a_bulk_verify_reads_its_entries_in_a_fixed_number_of_statements(app, loop):
    """The entries are read again under the write lock all at once, not one by one."""
    from tests.factories import add_entries, sql_statements
    from tests.loop import as_person

    add_entries(app, loop, 12, states=("submitted",))
    with app.app_context():
        ids = [e.id for e in training.entries_of(loop["apprentice"].id)]
    mentor = as_person(app, loop["mentor"])
    mentor.get("/review/")  # the pairings kept (apprentice.core.versions)
    reads = []
    for chosen in (ids[:2], ids[2:12]):
        with sql_statements(app) as sent:
            answer = mentor.post("/review/verify", data={
                "csrf_token": mentor.csrf_token(), "entry_id": [str(i) for i in chosen]})
        assert answer.status_code == 302
        reads.append(sum(s.lstrip().startswith("SELECT") and "FROM apprentice_log_entr" in s
                         for s in sent))
    assert reads[0] == reads[1]
    with app.app_context():
        assert {e.state for e in training.entries_of(loop["apprentice"].id)} == {"verified"}


def test_a_verify_reads_its_entries_and_their_competencies_in_one_statement(app, loop):
    """Under the write lock a verify reads the entries with their competencies' areas in
    one statement (FOR UPDATE of the entries' rows on PostgreSQL), for any number."""
    from tests.factories import add_entries, sql_statements

    add_entries(app, loop, 3, states=("submitted",))
    with app.app_context():
        ids = [e.id for e in training.entries_of(loop["apprentice"].id)]
        mentor = db_session().get(StaffProfile, loop["mentor"].id)
        with sql_statements(app) as sent:
            assert training.verify_entries(ids, mentor) == 3
    reads = [s for s in sent if s.lstrip().startswith("SELECT")
             and ("apprentice_log_entries" in s or "apprentice_log_entry_competencies" in s)]
    assert len(reads) == 1, reads
    assert "apprentice_competencies.area_id" in reads[0]


def test_the_review_queue_is_shown_a_page_at_a_time_oldest_first(app, loop):
    """A backlog is counted whole and listed a page at a time, oldest first; a page
    asked for past the last (or not a number) shows the last (the first)."""
    import re

    from tests.factories import add_entries
    from tests.loop import as_person

    size = training.REVIEW_PAGE_SIZE
    add_entries(app, loop, size + 5, states=("submitted",))
    with app.app_context():
        oldest_first = [w.id for w in training.waiting_for(
            db_session().get(StaffProfile, loop["mentor"].id))]
    assert len(oldest_first) == size + 5
    mentor = as_person(app, loop["mentor"])

    def listed(query: str) -> list[int]:
        page = mentor.get(f"/review/{query}").get_data(as_text=True)
        assert f"Entries to review <span class=\"ap-hint\">({size + 5})</span>" in page
        return [int(i) for i in re.findall(r'name="entry_id" value="(\d+)"', page)]

    assert listed("") == oldest_first[:size]
    assert listed("?page=2") == listed("?page=99") == oldest_first[size:]
    assert listed("?page=abc") == oldest_first[:size]
    home = mentor.get("/").get_data(as_text=True)
    assert f"Review {size + 5} entries" in home
