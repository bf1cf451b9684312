"""The audit trail: one hash chain, append-only in the database, unbroken under
concurrent writers, and telling exactly where it was tampered with."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from apprentice.audit import services as audit
from apprentice.audit.models import AuditRecord
from apprentice.auth.services import attempt_sign_in
from apprentice.competencies import services as frameworks
from apprentice.competencies.models import SupervisionLevel
from apprentice.db import db_session
from apprentice.people import services as people
from apprentice.people.models import StaffProfile
from apprentice.programmes import services as programmes
from apprentice.training import services as training
from apprentice.training.services import EntryDetails
from tests.conftest import build_app
from tests.factories import DEFAULT_PASSWORD
from tests.workers import TIMEOUT, run_workers

TODAY = date(2026, 6, 15)


# -- helpers --------------------------------------------------------------------------------

def records(app) -> list[AuditRecord]:
    with app.app_context():
        return list(db_session().scalars(select(AuditRecord).order_by(AuditRecord.id)))


def verify(app, batch: int = 5000) -> audit.ChainReport:
    with app.app_context():
        return audit.verify(batch)


def append(app, n: int, action: str = "test.append") -> None:
    with app.app_context():
        for i in range(n):
            audit.record(action, n=i)
            db_session().commit()


def tamper(app, *statements: str, **params) -> None:
    """Run ``statements`` (with bound ``params``) with the append-only trigger of the audit
    table out of the way."""
    with app.app_context():
        session = db_session()
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            session.execute(text(
                "ALTER TABLE apprentice_audit DISABLE TRIGGER apprentice_audit_append_only"))
        else:
            session.execute(text("DROP TRIGGER apprentice_audit_no_update"))
            session.execute(text("DROP TRIGGER apprentice_audit_no_delete"))
        for statement in statements:
            session.execute(text(statement), params)
        session.commit()


def real_activity(app, make_person, coordinator) -> None:
    """A little of everything the services record: people, a pairing, entries through
    review, a sign-off, a correction and a revocation."""
    apprentice = make_person(name="Priya Shah", roles=["apprentice"])
    mentor = make_person(name="Maya Okafor", roles=["mentor"])
    with app.app_context():
        get = db_session().get
        framework = frameworks.load_default_framework()
        electives = [a.id for a in framework.current_areas if not a.required][:3]
        competency = framework.current_areas[0].current_competencies[0]
        programmes.enrol(get(StaffProfile, apprentice.id), framework,
                         start=date(2026, 1, 5), electives=electives)
        training.create_pairing(get(StaffProfile, apprentice.id), get(StaffProfile, mentor.id),
                                starts_on=date(2026, 1, 5), by=get(StaffProfile, coordinator.id))
    with app.app_context():
        get = db_session().get
        entries = []
        for minutes in (30, 45, 60):
            entries.append(training.save_entry(get(StaffProfile, apprentice.id), EntryDetails(
                occurred_on=TODAY - timedelta(days=3), minutes=minutes,
                activity=int(SupervisionLevel.INDEPENDENT), mentor_id=mentor.id,
                competency_ids=[competency.id], description="Issued library cards.",
            ), submit=True, today=TODAY))
        training.return_entry(entries[2], get(StaffProfile, mentor.id), "Which branch?")
        training.save_entry(get(StaffProfile, apprentice.id), EntryDetails(
            occurred_on=TODAY - timedelta(days=3), minutes=60,
            activity=int(SupervisionLevel.INDEPENDENT), mentor_id=mentor.id,
            competency_ids=[competency.id], description="Main branch.",
        ), entry=entries[2], submit=True, today=TODAY)
        training.verify_entries(entries, get(StaffProfile, mentor.id))
    with app.app_context():
        get = db_session().get
        signed = training.sign_off(get(StaffProfile, mentor.id),
                                   get(StaffProfile, apprentice.id),
                                   frameworks.get_competency(competency.id),
                                   level=SupervisionLevel.ASSISTED,
                                   entry_ids=[entries[0].id], today=TODAY)
    with app.app_context():
        get = db_session().get
        corrected = training.sign_off(get(StaffProfile, mentor.id),
                                      get(StaffProfile, apprentice.id),
                                      frameworks.get_competency(competency.id),
                                      level=SupervisionLevel.INDEPENDENT,
                                      entry_ids=[entries[1].id],
                                      corrects=training.get_sign_off(signed.id), today=TODAY)
    with app.app_context():
        training.revoke(training.get_sign_off(corrected.id),
                        db_session().get(StaffProfile, coordinator.id), "Signed too early.")


# -- the chain ------------------------------------------------------------------------------

def test_the_services_build_one_unbroken_chain(app, make_person, coordinator):
    real_activity(app, make_person, coordinator)
    trail = records(app)
    actions = [r.action for r in trail]
    for expected in ("role.granted", "pairing.created", "entry.submitted", "entry.returned",
                     "entry.resubmitted", "entry.verified", "signoff.created",
                     "signoff.corrected", "signoff.revoked"):
        assert expected in actions
    assert [r.id for r in trail] == list(range(1, len(trail) + 1))
    assert trail[0].prev_hash == audit.GENESIS
    for before, after in itertools.pairwise(trail):
        assert after.prev_hash == before.hash
    for record in trail:
        assert record.hash == audit.compute_hash(record, record.prev_hash)
        assert json.loads(record.details) is not None  # canonical JSON
    report = verify(app)
    assert report.intact and report.problem == ""
    assert (report.records, report.newest_hash) == (len(trail), trail[-1].hash)
    # Walking in small batches finds the same.
    assert verify(app, batch=2) == report


def test_an_empty_trail_is_intact(app):
    report = verify(app)
    assert report.intact and report.records == 0 and report.newest_hash == audit.GENESIS


def test_a_record_names_its_actor_and_object(app, coordinator):
    with app.app_context():
        audit.record("test.named", actor=coordinator, object_type="Thing", object_id=7,
                     when=date(2026, 6, 15), note="ünïcode")
        db_session().commit()
    [stored] = [r for r in records(app) if r.action == "test.named"]
    assert (stored.actor_id, stored.actor_name) == (coordinator.id, "Carmen Ortiz")
    assert (stored.object_type, stored.object_id) == ("Thing", 7)
    assert json.loads(stored.details) == {"note": "ünïcode", "when": "2026-06-15"}


def test_a_record_rolled_back_with_its_change_leaves_no_gap(app):
    append(app, 2)
    with app.app_context():
        audit.record("test.rolled-back")
        db_session().rollback()
    append(app, 1)
    assert [r.action for r in records(app)] == ["test.append"] * 3
    assert verify(app).intact


# -- tampering is found where it happened ------------------------------------------------------

def test_an_edited_record_breaks_the_chain_at_that_record(app):
    append(app, 6)
    tamper(app, "UPDATE apprentice_audit SET details = :details WHERE id = 3",
           details='{"n":99}')
    report = verify(app)
    assert report.broken_at == 3 and not report.intact
    assert "changed" in report.problem
    assert verify(app, batch=2).broken_at == 3


COLUMN_EDITS = {
    "action": "UPDATE apprentice_audit SET action = 'test.other' WHERE id = 2",
    "actor_name": "UPDATE apprentice_audit SET actor_name = 'Someone' WHERE id = 2",
    "object_id": "UPDATE apprentice_audit SET object_id = 42 WHERE id = 2",
    "at": "UPDATE apprentice_audit SET at = '2020-01-01 00:00:00' WHERE id = 2",
    "prev_hash": "UPDATE apprentice_audit SET prev_hash = hash WHERE id = 2",
}


@pytest.mark.parametrize("column", list(COLUMN_EDITS))
def test_editing_any_column_is_found(app, column):
    append(app, 4)
    tamper(app, COLUMN_EDITS[column])
    assert verify(app).broken_at == 2


def test_rewriting_a_record_and_its_own_hash_breaks_the_next_link(app):
    append(app, 5)
    trail = records(app)
    forged = trail[2]  # id 3
    forged.details = '{"n":99}'
    new_hash = audit.compute_hash(forged, forged.prev_hash)
    tamper(app, "UPDATE apprentice_audit SET details = :details, hash = :hash WHERE id = 3",
           details='{"n":99}', hash=new_hash)
    report = verify(app)
    assert report.broken_at == 4
    assert "deleted or the order changed" in report.problem


def test_an_edited_last_record_is_found(app):
    append(app, 3)
    tamper(app, "UPDATE apprentice_audit SET details = '{}' WHERE id = 3")
    assert verify(app).broken_at == 3


def test_a_deleted_record_breaks_the_chain_at_the_one_after_it(app):
    append(app, 6)
    tamper(app, "DELETE FROM apprentice_audit WHERE id = 4")
    report = verify(app)
    assert report.broken_at == 5
    assert "deleted or the order changed" in report.problem
    assert verify(app, batch=3).broken_at == 5


def test_a_deleted_first_record_is_found(app):
    append(app, 3)
    tamper(app, "DELETE FROM apprentice_audit WHERE id = 1")
    assert verify(app).broken_at == 2


def test_a_reordered_pair_breaks_the_chain_at_the_first_of_them(app):
    append(app, 6)
    tamper(app,
           "UPDATE apprentice_audit SET id = -1 WHERE id = 3",
           "UPDATE apprentice_audit SET id = 3 WHERE id = 4",
           "UPDATE apprentice_audit SET id = 4 WHERE id = -1")
    assert [r.id for r in records(app)] == [1, 2, 3, 4, 5, 6]
    report = verify(app)
    assert report.broken_at == 3
    assert "deleted or the order changed" in report.problem


def test_appending_after_tampering_does_not_hide_it(app):
    append(app, 4)
    tamper(app, "UPDATE apprentice_audit SET details = '{}' WHERE id = 2")
    append(app, 3)
    trail = records(app)
    assert trail[-1].prev_hash == trail[-2].hash  # new records chain on as before
    assert verify(app).broken_at == 2


# -- the database refuses changes --------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE apprentice_audit SET details = '{}' WHERE id = 2",
    "UPDATE apprentice_audit SET id = 99 WHERE id = 3",
    "DELETE FROM apprentice_audit WHERE id = 3",
    "DELETE FROM apprentice_audit",
], ids=["update details", "update id", "delete one", "delete all"])
def test_the_database_refuses_to_change_or_remove_audit_records(app, statement):
    append(app, 3)
    before = [(r.id, r.details, r.hash) for r in records(app)]
    with app.app_context():
        session = db_session()
        with pytest.raises(DBAPIError) as caught:
            session.execute(text(statement))
        session.rollback()
    assert "append-only" in str(caught.value)
    assert [(r.id, r.details, r.hash) for r in records(app)] == before
    assert verify(app).intact


def test_postgresql_refuses_to_truncate_the_audit_trail(app):
    append(app, 2)
    with app.app_context():
        session = db_session()
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("TRUNCATE is PostgreSQL's")
        with pytest.raises(DBAPIError) as caught:
            session.execute(text("TRUNCATE apprentice_audit"))
        session.rollback()
    assert "append-only" in str(caught.value)
    assert len(records(app)) == 2


# -- several worker processes appending at once -------------------------------------------------

PROCESSES = 4
APPENDS = 25


def _append_worker(instance, url, worker, appends, barrier):
    """One worker process: its own app on the shared database, released with the others."""
    app = build_app(instance, APPRENTICE_DATABASE_URL=url)
    try:
        with app.app_context():
            from apprentice.db import database

            database().engine.connect().close()  # connect before the start signal
            barrier.wait(TIMEOUT)
            for i in range(appends):
                audit.record("test.append", n=i, worker=worker)
                db_session().commit()
    finally:
        app.extensions["apprentice"].database.dispose()
    return worker


def test_worker_processes_appending_at_once_keep_one_unbroken_chain(app, tmp_path, coordinator):
    """On the test database: SQLite, or PostgreSQL with ``--db postgresql``."""
    url = app.extensions["apprentice"].database.url
    assert url
    existing = len(records(app))
    assert existing > 0  # the coordinator's role grant
    done = run_workers(_append_worker, tmp_path,
                       [(url, n, APPENDS) for n in range(PROCESSES)])
    assert sorted(done) == list(range(PROCESSES))

    trail = records(app)
    assert len(trail) == existing + PROCESSES * APPENDS
    assert [r.id for r in trail] == list(range(1, len(trail) + 1))
    appended = [json.loads(r.details) for r in trail if r.action == "test.append"]
    for worker in range(PROCESSES):  # each worker's records, all there and in its order
        assert [d["n"] for d in appended if d["worker"] == worker] == list(range(APPENDS))
    report = verify(app)
    assert report.intact, report
    assert report.records == len(trail)


# -- what the people services record ------------------------------------------------------------

def _details(record) -> dict:
    return json.loads(record.details)


def test_granting_and_removing_roles_is_recorded(app, coordinator):
    with app.app_context():
        by = db_session().get(StaffProfile, coordinator.id)
        person = people.create_person(people.PersonDetails(
            name="Priya Shah", email="priya@library.example", roles=["apprentice", "mentor"]),
            by=by)
    created = [r for r in records(app) if r.object_id == person.id]
    assert [(r.action, _details(r)["role"]) for r in created] == [
        ("role.granted", "apprentice"), ("role.granted", "mentor")]
    assert all(r.object_type == "StaffProfile" and r.actor_id == coordinator.id
               for r in created)
    with app.app_context():
        by = db_session().get(StaffProfile, coordinator.id)
        people.update_person(people.get_person(person.id), people.PersonDetails(
            name="Priya Shah", email="priya@library.example", roles=["mentor", "coordinator"]),
            by=by)
    changed = [r for r in records(app) if r.object_id == person.id][2:]
    assert sorted((r.action, _details(r)["role"]) for r in changed) == [
        ("role.granted", "coordinator"), ("role.removed", "apprentice")]
    # Saving the same roles again records nothing.
    before = len(records(app))
    with app.app_context():
        people.update_person(people.get_person(person.id), people.PersonDetails(
            name="Priya S. Shah", email="priya@library.example",
            roles=["mentor", "coordinator"]), by=db_session().get(StaffProfile, coordinator.id))
    assert len(records(app)) == before
    assert verify(app).intact


def test_deactivating_and_reactivating_are_recorded(app, coordinator, make_person):
    person = make_person(name="Sam Lee")
    for active, action in ((False, "person.deactivated"), (True, "person.reactivated")):
        with app.app_context():
            people.set_active(people.get_person(person.id), active,
                              by=db_session().get(StaffProfile, coordinator.id))
        record = records(app)[-1]
        assert (record.action, record.object_type, record.object_id, record.actor_id) == (
            action, "StaffProfile", person.id, coordinator.id)
    before = len(records(app))
    with app.app_context():  # already active: nothing happened, nothing recorded
        people.set_active(people.get_person(person.id), True,
                          by=db_session().get(StaffProfile, coordinator.id))
    assert len(records(app)) == before
    assert verify(app).intact


@pytest.mark.parametrize("account", ["known", "unknown"])
def test_a_failed_sign_in_is_recorded_without_the_password(app, make_person, account):
    person = make_person(name="Sam Lee", email="sam@library.example")
    email = "Sam@Library.example" if account == "known" else "nobody@library.example"
    wrong = "hunter2-not-the-password"
    with app.app_context():
        assert attempt_sign_in(email, wrong, "192.0.2.7").staff is None
    [record] = [r for r in records(app) if r.action == "signin.failed"]
    assert record.object_type == "StaffProfile"
    assert record.object_id == (person.id if account == "known" else None)
    assert record.actor_id is None
    assert _details(record) == {"email": email.lower(), "address": "192.0.2.7"}
    stored = " ".join(str(getattr(record, c.key)) for c in AuditRecord.__table__.columns)
    assert wrong not in stored and "hunter2" not in stored
    assert verify(app).intact


def test_a_successful_sign_in_records_no_failure(app, make_person):
    make_person(name="Sam Lee", email="sam@library.example")
    with app.app_context():
        assert attempt_sign_in("sam@library.example", DEFAULT_PASSWORD, "192.0.2.7").staff
        assert db_session().scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "signin.failed")) == 0


def test_a_failed_sign_in_through_the_form_is_recorded(client, make_person, app):
    make_person(name="Sam Lee", email="sam@library.example")
    response = client.submit("/sign-in", {"email": "sam@library.example",
                                          "password": "a wrong guess entirely"})
    assert response.status_code == 401
    [record] = [r for r in records(app) if r.action == "signin.failed"]
    assert "a wrong guess entirely" not in record.details


# -- the coordinators' page ----------------------------------------------------------------------

def test_the_audit_page_shows_the_newest_record_and_checks_the_chain(app, client, login_as,
                                                                     coordinator, make_person):
    append(app, 3)
    newest = records(app)[-1]
    page = login_as(coordinator).get("/audit/").get_data(as_text=True)
    assert f"Newest record: <strong>#{newest.id}</strong>" in page
    assert newest.hash in page
    assert page.count("<td>test.append</td>") == 3
    response = client.submit("/audit/")
    assert "The chain is intact: 4 records checked." in response.get_data(as_text=True)
    tamper(app, "UPDATE apprentice_audit SET details = '{}' WHERE id = 2")
    page = client.submit("/audit/").get_data(as_text=True)
    assert "The chain is broken at record #2" in page


def test_only_coordinators_open_the_audit_page(client, login_as, make_person):
    login_as(make_person(roles=["mentor"]))
    assert client.get("/audit/").status_code == 403
