"""What is kept per process under the structure version (apprentice.core.versions):
a person's programme and pairings, read once, not per write form, and read afresh
after any change to people, roles, pairings, enrolments or frameworks."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select

from apprentice import db
from apprentice.auth import services as auth
from apprentice.auth import sessions
from apprentice.core import versions
from apprentice.core.models import DataVersion
from apprentice.db import db_session
from apprentice.people import kept
from apprentice.people import services as people
from apprentice.programmes import services as programmes
from apprentice.programmes.models import EnrolmentStatus
from apprentice.training import paired
from apprentice.training import services as training
from apprentice.training.models import Pairing
from apprentice.validation import Invalid
from tests.factories import DEFAULT_PASSWORD, data_versions, queries, sql_statements
from tests.loop import as_person, log_form

YESTERDAY = date.today() - timedelta(days=1)


def offered_mentors(client) -> set[str]:
    page = client.get("/log/new").get_data(as_text=True)
    select_box = re.search(r'<select[^>]*id="mentor_id".*?</select>', page, re.S).group(0)
    return set(re.findall(r">\s*([^<>]+?)\s*</option>", select_box))


def tables_read(statements: list[str]) -> set[str]:
    return {name for statement in statements
            for name in re.findall(r"\b(?:FROM|JOIN)\s+(apprentice_\w+)", statement)}


def columns_read(statements: list[str], table: str) -> set[str]:
    return {name for statement in statements
            for name in re.findall(rf"\b{table}\.(\w+)", statement)}


@pytest.mark.parametrize("build", [
    lambda loop: programmes.programme_competencies.build(loop["apprentice"].id),
    lambda loop: paired._pairings.build(False, loop["apprentice"].id),
    lambda loop: paired._pairings.build(True, loop["mentor"].id),
    lambda loop: kept.kept_person.build(loop["mentor"].id),
], ids=["programme", "pairings of an apprentice", "pairings of a mentor", "a person"])
def test_what_is_kept_is_built_from_the_structure_tables_alone(app, loop, build):
    app.extensions["apprentice"].caches.clear()  # the frameworks read whole, too
    with app.app_context(), sql_statements(app) as sent:
        assert build(loop)
    # The structure version itself may be read too: by what is kept inside a build.
    read = tables_read(sent) - {DataVersion.__tablename__}
    structure = versions.STRUCTURE_TABLES.keys()
    assert read and read <= structure, read - structure
    for table, columns in versions.STRUCTURE_TABLES.items():
        if columns is not None:  # only these columns of its rows count (and the key)
            assert columns_read(sent, table) <= columns | {"id"}, table


def test_a_log_entry_moves_the_data_version_only_and_a_pairing_change_both(app, loop):
    client = as_person(app, loop["apprentice"])
    before = data_versions(app)
    client.submit("/log/new", data=log_form(client, loop["competency"].id))
    logged = data_versions(app)
    assert logged == {1: before[1] + 1, 2: before[2]}
    with app.app_context():
        pairing = training.pairings(apprentice_id=loop["apprentice"].id)[0]
        training.change_pairing(pairing, ends_on=None, area_ids=[], by=loop["coordinator"])
    assert data_versions(app) == {1: logged[1] + 1, 2: logged[2] + 1}


def test_a_kept_programme_costs_one_small_read_a_transaction(app, loop):
    person = loop["apprentice"].id
    with app.app_context():
        first = programmes.programme_competencies(person)
        paired.of_apprentice(person)
    with app.app_context(), sql_statements(app) as sent:
        again = programmes.programme_competencies(person)
        also = paired.of_apprentice(person)
        programmes.programme_competencies(person)
    assert again == first and also
    assert len(queries(sent)) == 1 and "apprentice_data_version" in queries(sent)[0]


def entries(app, loop) -> int:
    with app.app_context():
        return len(training.entries_of(loop["apprentice"].id))


def test_a_pairing_ended_is_no_longer_offered_nor_accepted_on_the_quick_log(app, loop):
    client = as_person(app, loop["apprentice"])
    assert offered_mentors(client) == {"Marian Okafor"}  # kept now, in this process
    form = log_form(client, loop["competency"].id, description="Shelved the holds.")
    with app.app_context():
        pairing = training.pairings(apprentice_id=loop["apprentice"].id)[0]
        training.change_pairing(pairing, ends_on=YESTERDAY, area_ids=[],
                                by=loop["coordinator"])
    assert offered_mentors(client) == set()
    page = client.submit("/log/new", data=form).get_data(as_text=True)
    assert mentor_error(page) == "Choose one of your current mentors."  # the form's own
    assert "You have no mentor paired with you today." in page
    assert "Shelved the holds." in page and entries(app, loop) == 0


def test_a_pairing_ended_after_the_sign_in_check_is_refused_by_the_save(
        app, loop, monkeypatch):
    """A form's reads before its write turn take the structure version its sign-in check
    carried; the pairing ended just after that check is still offered, but the save's
    checks read the version again under the lock, and refuse it."""
    client = as_person(app, loop["apprentice"])
    form = log_form(client, loop["competency"].id, description="Shelved the holds.",
                    csrf_token=client.csrf_token())
    still_open = sessions.still_open

    def ended_meanwhile(*args):
        with app.app_context():
            pairing = training.pairings(apprentice_id=loop["apprentice"].id)[0]
            training.change_pairing(pairing, ends_on=YESTERDAY, area_ids=[],
                                    by=people.get_person(loop["coordinator"].id))
        monkeypatch.setattr(sessions, "still_open", still_open)
        return still_open(*args)

    monkeypatch.setattr(sessions, "still_open", ended_meanwhile)
    page = client.post("/log/new", data=form).get_data(as_text=True)
    assert "was not your mentor" in mentor_error(page)
    assert "Shelved the holds." in page and entries(app, loop) == 0


def mentor_error(page: str) -> str:
    found = re.search(r'id="mentor_id-error".*?</span>\s*(.*?)\s*</p>', page, re.S)
    return found.group(1) if found else ""


def test_a_pairing_ended_on_one_server_is_refused_by_the_next_form_on_another(
        app, loop, two_servers):
    """Each server keeps its own copy: the version in the database tells it when its
    copy is old, whichever server made the change."""
    server_a, server_b = two_servers
    client = as_person(server_b, loop["apprentice"])
    assert offered_mentors(client) == {"Marian Okafor"}  # kept now, on server b
    form = log_form(client, loop["competency"].id)
    with server_a.app_context():
        pairing = training.pairings(apprentice_id=loop["apprentice"].id)[0]
        training.change_pairing(pairing, ends_on=YESTERDAY, area_ids=[],
                                by=people.get_person(loop["coordinator"].id))
    page = client.submit("/log/new", data=form).get_data(as_text=True)
    assert mentor_error(page) == "Choose one of your current mentors."
    assert entries(app, loop) == 0


def test_a_sign_in_is_no_change_of_structure_and_a_deactivation_is(app, make_person):
    person = make_person(name="Ana Ruiz", roles=["mentor"])
    before = data_versions(app)
    with app.app_context():
        assert auth.attempt_sign_in(person.email, DEFAULT_PASSWORD, "127.0.0.1").staff
    signed_in = data_versions(app)
    assert signed_in[versions.DATA] > before[versions.DATA]  # it wrote: pages show it
    assert signed_in[versions.STRUCTURE] == before[versions.STRUCTURE]
    with app.app_context():
        people.set_active(people.get_person(person.id), False)
    assert data_versions(app)[versions.STRUCTURE] == signed_in[versions.STRUCTURE] + 1


def test_a_mentor_deactivated_cannot_be_named_on_a_log_entry(app, loop):
    client = as_person(app, loop["apprentice"])
    form = log_form(client, loop["competency"].id)
    with app.app_context():
        people.set_active(people.get_person(loop["mentor"].id), False,
                          by=people.get_person(loop["coordinator"].id))
    response = client.submit("/log/new", data=form)
    assert "Marian Okafor was not your mentor" in response.get_data(as_text=True)
    assert entries(app, loop) == 0


def test_a_programme_ended_refuses_what_was_kept_of_it(app, loop):
    client = as_person(app, loop["apprentice"])
    form = log_form(client, loop["competency"].id)
    with app.app_context():
        enrolment = db_session().scalars(select(programmes.Enrolment).where(
            programmes.Enrolment.person_id == loop["apprentice"].id)).one()
        programmes.finish(enrolment, EnrolmentStatus.WITHDRAWN,
                          by=people.get_person(loop["coordinator"].id))
    page = client.submit("/log/new", data=form).get_data(as_text=True)
    assert "You are not enrolled on a programme yet" in page
    assert "Choose competencies from your own programme." in page
    assert entries(app, loop) == 0


def test_a_transaction_changing_the_structure_reads_its_own_change(app, loop):
    apprentice, other = loop["apprentice"].id, loop["other"].id
    with app.app_context():
        assert [p.mentor_id for p in paired.of_apprentice(apprentice)] == [loop["mentor"].id]
        db_session().add(Pairing(apprentice_id=apprentice, mentor_id=other,
                                 starts_on=date.today()))
        assert {p.mentor_id for p in paired.of_apprentice(apprentice)} == {
            loop["mentor"].id, other}
        db_session().rollback()
        assert [p.mentor_id for p in paired.of_apprentice(apprentice)] == [loop["mentor"].id]


def test_the_store_keeps_the_newest_version_only():
    store = versions.StructureStore(size=2)
    store.put(5, "a", 1)
    assert store.get(5, "a") == 1 and store.get(4, "a") is None
    store.put(4, "b", 2)  # a transaction that began before the change: nothing kept
    assert store.get(4, "b") is None and store.get(5, "a") == 1
    store.put(6, "a", 3)  # the structure changed: what was kept of 5 goes
    assert store.get(6, "a") == 3 and store.get(5, "a") is None
    store.put(6, "b", 4)
    store.put(6, "c", 5)  # full: starts afresh rather than growing
    assert store.get(6, "c") == 5 and store.get(6, "a") is None


def test_without_the_structure_row_nothing_is_kept(app, loop):
    """A database whose counter row is missing (tables made by hand, say) still
    answers with what is true now: nothing is kept under a number that never moves."""
    with app.app_context():
        db_session().execute(delete(DataVersion).where(DataVersion.id == versions.STRUCTURE))
        db_session().commit()
    client = as_person(app, loop["apprentice"])
    assert offered_mentors(client) == {"Marian Okafor"}
    with app.app_context():
        pairing = training.pairings(apprentice_id=loop["apprentice"].id)[0]
        training.change_pairing(pairing, ends_on=YESTERDAY, area_ids=[],
                                by=loop["coordinator"])
    assert offered_mentors(client) == set()


def test_a_form_checks_the_structure_again_after_its_write_turn(app, loop, two_servers):
    """A pairing ended between a form's first reads and its write is seen by the checks
    after the write turn, on PostgreSQL too (whose write turn ends no transaction)."""
    server_a, server_b = two_servers
    with server_b.test_request_context("/log/new", method="POST"):
        db.reading_before_writing()
        assert [p.current_on(date.today()) for p in paired.of_apprentice(
            loop["apprentice"].id)] == [True]
        with server_a.app_context():
            pairing = training.pairings(apprentice_id=loop["apprentice"].id)[0]
            training.change_pairing(pairing, ends_on=YESTERDAY, area_ids=[],
                                    by=people.get_person(loop["coordinator"].id))
        db.write_turn()
        assert [p.current_on(date.today()) for p in paired.of_apprentice(
            loop["apprentice"].id)] == [False]


@pytest.mark.parametrize("change", ["pairing ended", "mentor deactivated", "role taken"])
def test_the_service_refuses_a_mentor_whom_the_kept_pairings_named_before(app, loop, change):
    """The rule is the service's (save_entry), whatever the form offered: with the
    person's pairings kept, a change to them is seen by the next save."""
    apprentice, mentor = loop["apprentice"].id, loop["mentor"].id
    details = training.EntryDetails(
        occurred_on=date.today(), minutes=30, activity=3, mentor_id=mentor,
        competency_ids=[loop["competency"].id], description="Shelved the holds.")
    with app.app_context():
        assert [p.mentor_id for p in paired.of_apprentice(apprentice)] == [mentor]  # kept
    with app.app_context():
        coordinator = people.get_person(loop["coordinator"].id)
        if change == "pairing ended":
            pairing = training.pairings(apprentice_id=apprentice)[0]
            training.change_pairing(pairing, ends_on=YESTERDAY, area_ids=[], by=coordinator)
        elif change == "mentor deactivated":
            people.set_active(people.get_person(mentor), False, by=coordinator)
        else:
            person = people.get_person(mentor)
            people.update_person(person, people.PersonDetails(
                email=person.email, name=person.name, roles={"apprentice"}), by=coordinator)
    with app.app_context():
        with pytest.raises(Invalid) as refused:
            training.save_entry(people.get_person(apprentice), details, submit=True)
        assert "was not your mentor" in refused.value.errors["mentor_id"][0]
        assert training.entries_of(apprentice) == []
