"""The record model (apprentice.records): a person's record as of any day, the sign-offs
that stand by then, hours per area, in a fixed number of queries; and the import rule
that lets it exist (training and programmes do not import each other)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from apprentice.audit.models import AuditRecord
from apprentice.competencies import services as frameworks
from apprentice.competencies.models import SupervisionLevel
from apprentice.db import db_session, utcnow
from apprentice.people.services import get_person
from apprentice.records import CompetencyStatus, record_of
from apprentice.records import services as records
from apprentice.records.record import AreaHours
from apprentice.training import services
from apprentice.training.models import SignOff, SignOffEvidence
from tests.factories import add_entries
from tests.loop import as_person, statements_sent
from tests.support import dates

INDEPENDENT = SupervisionLevel.INDEPENDENT


def verified_entry(loop, *, day: date, activity=INDEPENDENT, minutes: int = 40) -> int:
    """A verified entry by Jordan for the loop's competency (inside an app context)."""
    entry = services.save_entry(get_person(loop["apprentice"].id), services.EntryDetails(
        occurred_on=day, minutes=minutes, activity=int(activity), mentor_id=loop["mentor"].id,
        competency_ids=[loop["competency"].id], description=f"Desk shift on {day}."),
        submit=True)
    services.verify_entries([entry], get_person(loop["mentor"].id))
    return entry.id


def sign_off_now(loop, entry_id: int, level=INDEPENDENT, corrects=None) -> SignOff:
    return services.sign_off(get_person(loop["mentor"].id), get_person(loop["apprentice"].id),
                             frameworks.get_competency(loop["competency"].id), level=level,
                             entry_ids=[entry_id], corrects=corrects)


def signed_days_ago(loop, days: int, level=INDEPENDENT, entry_id: int | None = None,
                    corrects: int | None = None) -> int:
    """A sign-off made ``days`` ago, inserted as it would have been then (the service
    stamps now): sign-offs are never updated, so the past has to be written at once."""
    competency = loop["competency"]
    record = SignOff(person_id=loop["apprentice"].id, competency_id=competency.id,
                     lineage=competency.lineage, level=int(level),
                     signed_by_id=loop["mentor"].id, corrects_id=corrects,
                     signed_at=utcnow() - timedelta(days=days))
    if entry_id is not None:
        record.evidence_links = [SignOffEvidence(entry_id=entry_id)]
    session = db_session()
    session.add(record)
    session.commit()
    return record.id


def competency_in(record, competency_id: int):
    [found] = [c for e in record.enrolments for a in e.areas for c in a.competencies
               if c.id == competency_id]
    return found


def test_the_record_lists_each_standing_sign_off_with_mentor_level_and_evidence(app, loop):
    today = dates.today()
    with app.app_context():
        entry_id = verified_entry(loop, day=today - timedelta(days=3), minutes=50)
        made = sign_off_now(loop, entry_id)
        record = record_of(loop["apprentice"].id)
        [standing] = record.standing
        assert (standing.id, standing.mentor.name, standing.level) == (
            made.id, "Marian Okafor", INDEPENDENT)
        assert standing.competency.code == loop["competency"].code
        [cited] = standing.cited
        assert (cited.id, cited.occurred_on, cited.description, cited.minutes) == (
            entry_id, today - timedelta(days=3), f"Desk shift on {today - timedelta(days=3)}.",
            50)
        competency = competency_in(record, loop["competency"].id)
        assert competency.status == CompetencyStatus.SIGNED_OFF
        assert competency.standing == standing
        [enrolment] = record.enrolments
        assert enrolment.framework_name == loop["framework"].name
        assert len(enrolment.electives) == 3 and enrolment.active
        audit_hash = db_session().scalar(select(AuditRecord.hash).where(
            AuditRecord.action == "signoff.created", AuditRecord.object_id == made.id))
        assert record.newest_sign_off_hash == audit_hash and len(audit_hash) == 64
        assert [e.id for e in record.entries] == [entry_id] and record.entries[0].verified


def test_as_of_a_day_before_the_sign_off_the_record_leaves_it_out(app, loop):
    today = dates.today()
    with app.app_context():
        entry_id = verified_entry(loop, day=today - timedelta(days=3))
        sign_off_now(loop, entry_id)
        before = record_of(loop["apprentice"].id, as_of=today - timedelta(days=1))
        assert before.sign_offs == () and before.standing == ()
        assert before.newest_sign_off_hash is None
        assert competency_in(before, loop["competency"].id).status != CompetencyStatus.SIGNED_OFF
        assert before.entries == ()  # logged today: not yet on the record then
        assert competency_in(record_of(loop["apprentice"].id),
                             loop["competency"].id).status == CompetencyStatus.SIGNED_OFF


def test_a_sign_off_revoked_later_still_stands_as_of_the_day_before(app, loop):
    today = dates.today()
    with app.app_context():
        sign_off_id = signed_days_ago(loop, 10)
        services.revoke(services.get_sign_off(sign_off_id), get_person(loop["mentor"].id),
                        "Signed off the wrong competency.")
        then = record_of(loop["apprentice"].id, as_of=today - timedelta(days=5))
        [standing] = then.standing
        assert standing.id == sign_off_id and standing.revocation is None
        assert competency_in(then, loop["competency"].id).status == CompetencyStatus.SIGNED_OFF
        now = record_of(loop["apprentice"].id)
        assert now.standing == ()
        [revoked] = now.revoked
        assert revoked.revocation.reason == "Signed off the wrong competency."
        assert revoked.revocation.revoked_by.name == "Marian Okafor"
        assert competency_in(now, loop["competency"].id).standing is None
        # The progress engine counts the same: signed off then, not now.
        lineage = loop["competency"].lineage
        person = loop["apprentice"].id
        assert records.load_evidence([person], today - timedelta(days=5))[person].levels == {
            lineage: INDEPENDENT}
        assert records.load_evidence([person])[person].levels == {}


def test_a_correction_replaces_the_sign_off_it_corrects_from_the_day_it_is_made(app, loop):
    with app.app_context():
        original = signed_days_ago(loop, 10, level=SupervisionLevel.CAN_TRAIN)
        correction = signed_days_ago(loop, 3, level=SupervisionLevel.ASSISTED,
                                     corrects=original)
        between = record_of(loop["apprentice"].id, as_of=dates.today() - timedelta(days=5))
        assert [s.id for s in between.standing] == [original]
        now = record_of(loop["apprentice"].id)
        assert [s.id for s in now.standing] == [correction]
        assert now.corrections == {original: correction}
        [corrected] = [s for s in now.sign_offs if s.id == original]
        assert not corrected.stands and corrected.corrected_by == correction
        # The lower level replaces the higher one: a correction is not a second opinion.
        competency = competency_in(now, loop["competency"].id)
        assert competency.standing.id == correction
        assert competency.status == CompetencyStatus.BELOW_LEVEL


def test_a_correction_made_through_the_service_replaces_the_original(app, loop):
    with app.app_context():
        entry_id = verified_entry(loop, day=dates.today() - timedelta(days=2))
        first = sign_off_now(loop, entry_id)
        second = sign_off_now(loop, entry_id, level=SupervisionLevel.MENTOR_AVAILABLE,
                              corrects=services.get_sign_off(first.id))
        record = record_of(loop["apprentice"].id)
        assert [s.id for s in record.standing] == [second.id]
        assert record.newest_sign_off_hash == db_session().scalar(
            select(AuditRecord.hash).where(AuditRecord.action == "signoff.corrected"))


def test_hours_per_area_are_planned_logged_and_verified(app, loop):
    # The loop's first area asks for 3 hours; four entries of 30 minutes in it: two
    # verified, two waiting for review.
    add_entries(app, loop, 4)
    with app.app_context():
        area = frameworks.get_framework(loop["framework"].id).current_areas[0]
        frameworks.save_area(area.framework, area, name=area.name,
                             description=area.description, kind=area.kind, min_hours=3,
                             by=get_person(loop["coordinator"].id))
        record = record_of(loop["apprentice"].id)
        [enrolment] = record.enrolments
        hours = {a.id: a.hours for a in enrolment.areas}
        assert hours[area.id] == AreaHours(planned_minutes=180, logged_minutes=120,
                                           verified_minutes=60)
        assert {hours[a.id] for a in enrolment.areas if a.id != area.id} == {
            AreaHours(planned_minutes=None, logged_minutes=0, verified_minutes=0)}
        # A week ago only the entries practised by then and sent in by then count:
        # these were all sent in today.
        week_ago = record_of(loop["apprentice"].id, as_of=dates.today() - timedelta(days=7))
        assert {a.id: a.hours.logged_minutes for a in week_ago.enrolments[0].areas}[
            area.id] == 0


@pytest.mark.parametrize("days_back", [pytest.param(None, id="today"),
                                       pytest.param(1, id="yesterday")])
def test_the_record_takes_as_many_queries_for_300_entries_as_for_5(app, loop, days_back):
    today = dates.today()
    as_of = None if days_back is None else today - timedelta(days=days_back)
    # Five entries, and sign-offs citing one of them (made today and two days ago).
    with app.app_context():
        entry_id = verified_entry(loop, day=today - timedelta(days=4))
        sign_off_now(loop, entry_id)
        signed_days_ago(loop, 2, entry_id=entry_id)
    add_entries(app, loop, 4)

    def build():
        with app.app_context():
            assert record_of(loop["apprentice"].id, as_of) is not None

    few = statements_sent(app, build)
    add_entries(app, loop, 295, first=4)
    with app.app_context():
        signed_days_ago(loop, 1, level=SupervisionLevel.CAN_TRAIN, entry_id=entry_id)
        assert len(record_of(loop["apprentice"].id).entries) == 300
    many = statements_sent(app, build)
    assert few == many


def test_the_programme_page_says_who_signed_each_competency_off(app, loop):
    today = dates.today()
    with app.app_context():
        entry_id = verified_entry(loop, day=today - timedelta(days=3))
        sign_off_now(loop, entry_id)
        [enrolment] = record_of(loop["apprentice"].id).enrolments
    page = as_person(app, loop["coordinator"]).get(f"/programmes/{enrolment.id}")
    text = " ".join(page.get_data(as_text=True).split())
    code = loop["competency"].code
    assert page.status_code == 200
    level = INDEPENDENT.label.lower()
    assert re.search(rf"<strong>{code}</strong>[^<]*</a>[^<]*<span class=\"ap-status\">"
                     rf"Signed off \({level}\)</span> <span class=\"ap-hint\">signed off by "
                     rf"Marian Okafor, {today:%Y-%m-%d}</span>", text), \
        text[text.find(f"<strong>{code}"):][:400]
    assert text.count("signed off by") == 1  # only the competency signed off says so
