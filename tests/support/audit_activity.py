"""Records made through the app's own services, for the tests of how the audit trail and
the cohort matrix read: one of everything the trail records, or one sign-off in the loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from apprentice.auth.services import attempt_sign_in
from apprentice.competencies import services as frameworks
from apprentice.competencies.models import SupervisionLevel
from apprentice.credentials import services as credential_services
from apprentice.db import db_session
from apprentice.kb import glossary
from apprentice.people import services as people
from apprentice.people.models import StaffProfile
from apprentice.programmes import services as programmes
from apprentice.programmes.models import EnrolmentStatus
from apprentice.sharing import services as sharing
from apprentice.statements import services as statements
from apprentice.training import services as training
from apprentice.training.services import EntryDetails
from tests.support.credentials import issue_for_area

ADDRESS = "192.0.2.7"


@dataclass
class Activity:
    """The ids and words the expected sentences need."""

    apprentice: int
    mentor: int
    coordinator: int
    sam: int
    start: date
    first_target: date  # the framework's default
    target: date
    ends: date
    code: str
    first_area: str
    electives: list[str]
    chosen: list[str]
    entries: list[int]
    sign_offs: list[int]
    pairing: int
    enrolments: list[int]
    framework: str


def every_kind_of_record(app, make_person, coordinator) -> Activity:
    """People, a programme, a pairing, entries through review, sign-offs corrected and
    revoked, an unlock, role and account changes, failed and throttled sign-ins, the
    search vocabulary saved, restored and reset, a learning statement saved, a share
    link made and revoked, and a credential issued and revoked."""
    apprentice = make_person(name="Jordan Lee", email="jordan@library.example",
                             roles=["apprentice"])
    mentor = make_person(name="Marian Okafor", roles=["mentor"])
    sam = make_person(name="Sam Lee", email="sam@library.example", roles=["apprentice"])
    today = date.today()
    start, ends = today - timedelta(days=60), today + timedelta(days=300)
    target = start + timedelta(days=800)

    def get(person):
        return db_session().get(StaffProfile, person.id)

    with app.app_context():
        by = get(coordinator)
        framework = frameworks.load_default_framework()
        elective_areas = [a for a in framework.current_areas if not a.required]
        enrolment = programmes.enrol(get(apprentice), framework, start=start,
                                     electives=[a.id for a in elective_areas[:3]], by=by)
        first_target = enrolment.target_date
        programmes.choose_electives(enrolment, [a.id for a in elective_areas[1:4]], by=by)
        programmes.set_target_date(enrolment, target, by=by)
        pairing = training.create_pairing(get(apprentice), get(mentor), starts_on=start, by=by)
        training.change_pairing(pairing, ends_on=ends, area_ids=[], by=by)
        area = framework.current_areas[0]
        competencies = area.current_competencies[:4]
        activity = Activity(
            apprentice=apprentice.id, mentor=mentor.id, coordinator=coordinator.id,
            sam=sam.id, start=start, first_target=first_target, target=target, ends=ends,
            code=competencies[0].code,
            first_area=area.name, electives=[a.name for a in elective_areas[:3]],
            chosen=[a.name for a in elective_areas[1:4]], entries=[], sign_offs=[],
            pairing=pairing.id, enrolments=[enrolment.id], framework=framework.name)
        ids = [c.id for c in competencies]

    with app.app_context():
        person, marian = get(apprentice), get(mentor)
        entries = [training.save_entry(person, EntryDetails(
            occurred_on=today - timedelta(days=3), minutes=minutes,
            activity=int(SupervisionLevel.INDEPENDENT), mentor_id=mentor.id,
            competency_ids=chosen, description="Issued library cards."), submit=True)
            for minutes, chosen in ((90, ids[:1]), (45, ids), (60, ids[:1]))]
        training.return_entry(entries[2], marian, "Which branch was this?")
        training.save_entry(person, EntryDetails(
            occurred_on=today - timedelta(days=3), minutes=60,
            activity=int(SupervisionLevel.INDEPENDENT), mentor_id=mentor.id,
            competency_ids=ids[:1], description="Main branch."),
            entry=entries[2], submit=True)
        training.verify_entries(entries, marian)
        activity.entries = [e.id for e in entries]

    with app.app_context():
        person, marian = get(apprentice), get(mentor)
        first = training.sign_off(marian, person, frameworks.get_competency(ids[0]),
                                  level=SupervisionLevel.INDEPENDENT,
                                  entry_ids=activity.entries[:1])
        corrected = training.sign_off(marian, person, frameworks.get_competency(ids[0]),
                                      level=SupervisionLevel.INDEPENDENT,
                                      entry_ids=activity.entries[:2], corrects=first)
        training.revoke(corrected, get(coordinator), "Signed too early.")
        training.unlock_entry(training.get_entry(activity.entries[2]), get(coordinator),
                              "The date was wrong.")
        activity.sign_offs = [first.id, corrected.id]

    with app.app_context():
        by = get(coordinator)
        people.update_person(get(sam), people.PersonDetails(
            name="Sam Lee", email="sam@library.example", roles=["mentor"]), by=by)
        people.set_active(get(sam), False, by=by)
        people.set_active(get(sam), True, by=by)
        attempt_sign_in("nobody@library.example", "a wrong guess", ADDRESS)
        for _ in range(30):  # until the throttle refuses one
            if attempt_sign_in("jordan@library.example", "a wrong guess",
                               ADDRESS).throttled_minutes:
                break

    with app.app_context():
        by = get(coordinator)
        kept = glossary.save("zanzibar, quokka\n", "Words for the ferry desk", by)
        glossary.save("zanzibar, quokka\nferry, boat\n", "", by)
        glossary.restore(kept.id, by)
        glossary.reset(by)

    with app.app_context():
        person = get(apprentice)
        statements.save(person, statements.StatementDraft("I learned to run the desk."),
                        person, based_on=0)

    with app.app_context():  # a share link made by Jordan, revoked by the coordinator
        person = get(apprentice)
        made = sharing.create(person, label="Riverside Library hiring panel",
                              expires_on=today + timedelta(days=30), signed_only=True,
                              by=person)
        sharing.revoke(made.link, get(coordinator))

    with app.app_context():  # a credential issued to Jordan, then revoked
        area = frameworks.get_framework(framework.id).current_areas[0]
        issued = issue_for_area(get(apprentice), area, get(coordinator))
        credential_services.revoke(issued, get(coordinator), "Issued before the last "
                                                             "sign-off stood.")

    with app.app_context():
        by = get(coordinator)
        programmes.finish(programmes.get_enrolment(enrolment.id), EnrolmentStatus.COMPLETED,
                          by=by)
        again = programmes.enrol(get(apprentice), frameworks.get_framework(framework.id),
                                 start=today, electives=[a.id for a in elective_areas[:3]],
                                 by=by)
        programmes.finish(again, EnrolmentStatus.WITHDRAWN, by=by)
        activity.enrolments.append(again.id)
    return activity


def sign_off_in_the_loop(app, loop) -> tuple[int, int]:
    """Marian signs off Jordan's first competency (tests/loop.py) at "does it
    independently", citing one verified entry: (the sign-off's id, how many competencies
    its area has)."""
    competency = loop["competency"]
    with app.app_context():
        apprentice = db_session().get(StaffProfile, loop["apprentice"].id)
        mentor = db_session().get(StaffProfile, loop["mentor"].id)
        entry = training.save_entry(apprentice, EntryDetails(
            occurred_on=date.today() - timedelta(days=1), minutes=60,
            activity=int(SupervisionLevel.INDEPENDENT), mentor_id=mentor.id,
            competency_ids=[competency.id], description="Ran the desk alone."), submit=True)
        training.verify_entries([entry], mentor)
        signed = training.sign_off(mentor, apprentice, frameworks.get_competency(competency.id),
                                   level=SupervisionLevel.INDEPENDENT, entry_ids=[entry.id])
        area = frameworks.get_competency(competency.id).area
        return signed.id, len(area.current_competencies)
