"""One form, one record: every create form carries a one-time token; the first save
consumes it, and sending the same form again (Back then Submit, a double tap) shows
"already saved" with a link to the record instead of making a copy."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select

from apprentice.audit.models import AuditRecord
from apprentice.competencies import services as frameworks
from apprentice.competencies.models import Competency, CompetencyArea, Framework
from apprentice.core import receipts
from apprentice.db import db_session
from apprentice.kb import services as kb
from apprentice.kb.models import Procedure, ProcedureRevision
from apprentice.people.models import StaffProfile
from apprentice.programmes import services as programmes
from apprentice.programmes.models import Enrolment
from apprentice.training import services as training
from apprentice.training.models import EntryCompetency, LogEntry, Pairing, SignOff
from tests.conftest import build_app
from tests.factories import DEFAULT_PASSWORD, PersonFactory, add_entries, sql_statements
from tests.loop import as_person
from tests.support.clients import form_token_on, signed_in
from tests.workers import TIMEOUT, run_workers


@dataclass
class Form:
    """A create form as a test drives it: who fills it in, where, with what, and which
    rows it adds; ``link(record)`` is the path of the record's own page."""

    person: str
    url: str
    data: dict
    model: type
    link: object  # callable: record -> path


def _log_entry(app, loop):
    return Form("apprentice", "/log/new", {
        "occurred_on": date.today().isoformat(), "minutes": "45", "activity": "5",
        "mentor_id": str(loop["mentor"].id), "competency_ids": [str(loop["competency"].id)],
        "description": "Ran the desk on my own for an hour.", "submit": "1",
    }, LogEntry, lambda entry: f"/log/{entry.id}")


def _sign_off(app, loop):
    add_entries(app, loop, 1, states=("verified",))
    with app.app_context():
        entry_id = db_session().scalar(select(func.max(LogEntry.id)))
    return Form(
        "mentor",
        f"/sign-offs/new?person={loop['apprentice'].id}&competency={loop['competency'].id}",
        {"level": "5", "entry_ids": [str(entry_id)], "comment": "Saw it at the desk.",
         "password": DEFAULT_PASSWORD},
        SignOff, lambda record: f"/sign-offs/{record.id}")


def _pairing(app, loop):
    return Form("coordinator", "/pairings/", {
        "apprentice_id": str(loop["apprentice"].id), "mentor_id": str(loop["other"].id),
        "starts_on": date.today().isoformat(),
    }, Pairing, lambda pairing: f"/pairings/{pairing.id}")


def _enrolment(app, loop):
    newcomer = PersonFactory(app)(name="Priya Shah", roles=["apprentice"]).id
    return Form("coordinator", f"/programmes/enrol?person={newcomer}", {
        "person": str(newcomer), "framework": str(loop["framework"].id),
        "start_date": date.today().isoformat(),
    }, Enrolment, lambda enrolment: f"/programmes/{enrolment.id}")


def _procedure(app, loop):
    return Form("mentor", "/procedures/new", {
        "title": "Clearing the returns trolley", "body": "1. Check in.\n2. Sort.",
        "tags": "circulation",
    }, Procedure, lambda procedure: f"/procedures/{procedure.id}")


def _proposal(app, loop):
    with app.app_context():
        procedure = kb.create(kb.ProcedureDraft(title="Opening the branch", body="Unlock."),
                              None, publish=True, sync=False)
        procedure_id = procedure.id
    return Form("apprentice", f"/procedures/{procedure_id}/edit", {
        "title": "Opening the branch", "body": "Unlock, then switch on the lights.",
        "summary": "The lights", "based_on": "1",
    }, ProcedureRevision, lambda revision: f"/procedures/{revision.procedure_id}/history")


def _person_form(app, loop):
    return Form("coordinator", "/people/new", {
        "name": "Tomás Silva", "email": "tomas.silva@library.example",
        "job_title": "Library Paraprofessional", "roles": ["apprentice"],
        "password": "temporary phrase 1",
    }, StaffProfile, lambda person: f"/people/{person.id}/edit")


def _framework(app, loop):
    return Form("coordinator", "/frameworks/new", {
        "name": "Branch induction", "description": "The first month at a branch.",
    }, Framework, lambda framework: f"/frameworks/{framework.id}")


def _draft_framework(app) -> int:
    with app.app_context():
        return frameworks.create_framework("Branch induction").id


def _area(app, loop):
    framework_id = _draft_framework(app)
    return Form("coordinator", f"/frameworks/{framework_id}/areas/new", {
        "name": "Opening up", "kind": "required", "description": "",
    }, CompetencyArea, lambda area: f"/frameworks/{area.framework_id}#area-{area.id}")


def _competency(app, loop):
    framework_id = _draft_framework(app)
    with app.app_context():
        framework = frameworks.get_framework(framework_id)
        area_id = frameworks.save_area(framework, None, name="Opening up", description="",
                                       kind="required", min_hours=None).id
    return Form("coordinator", f"/frameworks/areas/{area_id}/competencies/new", {
        "code": "OPN-01", "statement": "Opens the branch safely.",
    }, Competency, lambda competency: (f"/frameworks/{competency.framework_id}"
                                       f"#competency-{competency.id}"))


FORMS = [
    pytest.param(_log_entry, id="log-entry"),
    pytest.param(_sign_off, id="sign-off"),
    pytest.param(_pairing, id="pairing"),
    pytest.param(_enrolment, id="enrolment"),
    pytest.param(_procedure, id="procedure"),
    pytest.param(_proposal, id="procedure-proposal"),
    pytest.param(_person_form, id="person"),
    pytest.param(_framework, id="framework"),
    pytest.param(_area, id="area"),
    pytest.param(_competency, id="competency"),
]


def rows(app, model) -> list:
    with app.app_context():
        return list(db_session().scalars(select(model).order_by(model.id)))


def audit_count(app) -> int:
    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(AuditRecord))


def fill(client, form: Form) -> dict:
    """The form as its page offers it (with its token), filled in."""
    page = client.get(form.url)
    assert page.status_code == 200
    return {**form.data, "form_token": form_token_on(page.get_data(as_text=True))}


def with_token(url: str, token: str) -> str:
    """The form's address as apprentice.js leaves it once the page has loaded."""
    return f"{url}{'&' if '?' in url else '?'}form={token}"


def assert_already_saved(response, path: str) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This form was already saved" in page
    assert f'href="{path}"' in page, page


@pytest.mark.parametrize("make", FORMS)
def test_the_same_form_sent_twice_makes_one_record_and_says_already_saved(app, loop, make):
    form = make(app, loop)
    client = as_person(app, loop[form.person])
    before = rows(app, form.model)
    data = fill(client, form)
    first = client.submit(form.url, data)
    assert first.status_code == 302, first.get_data(as_text=True)
    after = rows(app, form.model)
    assert len(after) == len(before) + 1
    record = after[-1]
    trail = audit_count(app)

    again = client.submit(form.url, data)  # Back, then Submit again

    assert_already_saved(again, form.link(record))
    assert len(rows(app, form.model)) == len(before) + 1
    assert audit_count(app) == trail  # nothing recorded twice
    # The page fetched again by Back (its URL keeps the token) says the same.
    assert_already_saved(client.get(with_token(form.url, data["form_token"])),
                         form.link(record))


def test_start_again_keeps_the_forms_query_as_plain_text(app, loop):
    """Query arguments named like url_for's own (``_external``, ``_scheme``) stay
    arguments: the link is this site's form again, and nothing fails."""
    form = _sign_off(app, loop)
    client = as_person(app, loop[form.person])
    data = fill(client, form)
    client.submit(form.url, data)
    odd = "_external=1&_scheme=javascript&_anchor=x&_method=PUT"
    response = client.get(f"{with_token(form.url, data['form_token'])}&{odd}")
    assert response.status_code == 200
    again = re.search(r'<a href="([^"]*)">Start again', response.get_data(as_text=True))
    assert again and again.group(1) == html.escape(f"{form.url}&{odd}")


@pytest.mark.parametrize("make", [pytest.param(_log_entry, id="log-entry"),
                                  pytest.param(_procedure, id="procedure")])
def test_two_forms_opened_make_two_records(app, loop, make):
    form = make(app, loop)
    client = as_person(app, loop[form.person])
    before = len(rows(app, form.model))
    first, second = fill(client, form), fill(client, form)
    assert first["form_token"] != second["form_token"]
    assert client.submit(form.url, first).status_code == 302
    assert client.submit(form.url, second).status_code == 302
    assert len(rows(app, form.model)) == before + 2


def test_a_saved_form_keeps_its_record_unchanged_when_sent_again_with_other_text(app, loop):
    form = _log_entry(app, loop)
    client = as_person(app, loop["apprentice"])
    data = fill(client, form)
    client.submit(form.url, data)
    again = client.submit(form.url, {**data, "description": "Something else", "minutes": "5"})
    [entry] = rows(app, LogEntry)
    assert_already_saved(again, f"/log/{entry.id}")
    assert (entry.description, entry.minutes) == ("Ran the desk on my own for an hour.", 45)


def test_a_saved_entry_sent_again_with_what_its_service_refuses_says_already_saved(app, loop):
    """The form's earlier save is looked for when the service refuses it (a competency
    outside the programme: the form itself lets any number through), not only before
    every save: "already saved" comes first, as it did when every save looked first."""
    form = _log_entry(app, loop)
    client = as_person(app, loop["apprentice"])
    data = fill(client, form)
    client.submit(form.url, data)
    again = client.submit(form.url, {**data, "competency_ids": ["999999"]})
    [entry] = rows(app, LogEntry)
    assert_already_saved(again, f"/log/{entry.id}")


def test_a_draft_sent_again_with_what_its_service_refuses_is_refused_and_kept(app, loop):
    form = _log_entry(app, loop)
    client = as_person(app, loop["apprentice"])
    data = fill(client, form)
    client.submit(form.url, {**data, "submit": "", "save_draft": "1"})
    again = client.submit(form.url, {**data, "competency_ids": ["999999"]})
    assert again.status_code == 200
    assert "Choose competencies from your own programme." in again.get_data(as_text=True)
    [entry] = rows(app, LogEntry)
    assert entry.state == "draft"


def test_a_new_entry_is_saved_without_reading_the_entries_first_nor_a_receipt(app, loop):
    """Whether the form was saved before is told by the INSERT (its token is unique per
    person), not by a SELECT ahead of every quick log: the busiest write. The entry keeps
    its token itself: no receipt is written (nor read) for it."""
    form = _log_entry(app, loop)
    client = as_person(app, loop["apprentice"])
    data = {**fill(client, form), "csrf_token": client.csrf_token()}
    with sql_statements(app) as sent:
        assert client.post(form.url, data=data).status_code == 302
    entries = [s for s in sent if "apprentice_log_entries" in s]
    assert len(entries) == 1 and entries[0].startswith("INSERT"), entries
    assert not [s for s in sent if "apprentice_form_receipts" in s]
    assert len(rows(app, LogEntry)) == 1


def test_a_sign_off_saved_the_first_time_asks_for_no_receipt_before_its_own(app, loop):
    """A sign-off form's receipt is looked for only when the form is refused (its copy
    is "signed off already"): saving it the first time inserts the receipt, and reads
    none."""
    form = _sign_off(app, loop)
    client = as_person(app, loop[form.person])
    data = {**fill(client, form), "csrf_token": client.csrf_token()}
    with sql_statements(app) as sent:
        assert client.post(form.url, data=data).status_code == 302
    receipts_sent = [s for s in sent if "apprentice_form_receipts" in s]
    assert len(receipts_sent) == 1 and receipts_sent[0].startswith("INSERT"), receipts_sent


def test_a_draft_saved_then_sent_again_from_the_same_form_is_the_same_entry(app, loop):
    form = _log_entry(app, loop)
    client = as_person(app, loop["apprentice"])
    data = fill(client, form)
    client.submit(form.url, {**data, "submit": "", "save_draft": "1"})
    response = client.submit(form.url, data)  # Back, then "Submit for review"
    assert response.status_code == 302
    [entry] = rows(app, LogEntry)
    assert entry.state == "submitted"


def test_a_form_opened_again_from_its_address_keeps_its_token_until_saved(app, loop):
    form = _pairing(app, loop)
    client = as_person(app, loop["coordinator"])
    token = fill(client, form)["form_token"]
    reloaded = client.get(form.url, query_string={"form": token}).get_data(as_text=True)
    assert form_token_on(reloaded) == token


def test_someone_elses_token_neither_shows_their_record_nor_blocks_a_save(
        app, loop, make_person):
    form = _log_entry(app, loop)
    jordan = as_person(app, loop["apprentice"])
    data = fill(jordan, form)
    jordan.submit(form.url, data)
    [theirs] = rows(app, LogEntry)
    sam = make_person(name="Sam Lee", roles=["apprentice"])
    with app.app_context():
        programmes.enrol(sam, frameworks.get_framework(loop["framework"].id),
                         start=date.today() - timedelta(days=3))
        training.create_pairing(sam, loop["mentor"], starts_on=date.today() - timedelta(days=3))
    other = as_person(app, sam)
    opened = other.get(form.url, query_string={"form": data["form_token"]})
    page = opened.get_data(as_text=True)
    assert "already saved" not in page.lower() and f"/log/{theirs.id}" not in page
    response = other.submit(form.url, data)  # a copied token: saved as Sam's own entry
    assert response.status_code == 302
    assert [e.person_id for e in rows(app, LogEntry)] == [loop["apprentice"].id, sam.id]


@pytest.mark.parametrize("token", [
    pytest.param(None, id="missing"),
    pytest.param("", id="empty"),
    pytest.param("x" * 500, id="too-long"),
    pytest.param("formulaire-été", id="not-ascii"),
    pytest.param("a b<script>", id="odd-characters"),
])
def test_a_token_that_is_not_ours_saves_normally(app, loop, token):
    form = _pairing(app, loop)
    client = as_person(app, loop["coordinator"])
    data = dict(form.data)
    if token is not None:
        data["form_token"] = token
    before = len(rows(app, Pairing))
    assert client.get(form.url, query_string={"form": token or ""}).status_code == 200
    assert client.submit(form.url, data).status_code == 302
    assert len(rows(app, Pairing)) == before + 1


def test_a_service_given_a_used_token_refuses_to_save_again(app, loop):
    with app.app_context():
        token = receipts.new_token()
        apprentice, mentor, coordinator = (db_session().get(StaffProfile, loop[key].id)
                                           for key in ("apprentice", "other", "coordinator"))
        pairing = training.create_pairing(apprentice, mentor, starts_on=date.today(),
                                          by=coordinator, form_token=token)
        with pytest.raises(receipts.AlreadySaved) as caught:
            training.create_pairing(apprentice, mentor, starts_on=date.today(),
                                    by=coordinator, form_token=token)
        assert (caught.value.kind, caught.value.object_id) == ("pairing", pairing.id)
        assert len(training.pairings(apprentice_id=apprentice.id)) == 2  # the loop's + this


# -- a double tap: two requests with one token at the same moment -------------------------

def _send_worker(instance, url, user_id, path, data, barrier):
    app = build_app(instance, APPRENTICE_DATABASE_URL=url)
    try:
        client, csrf = signed_in(app, user_id)
        barrier.wait(TIMEOUT)
        response = client.post(path, data={"csrf_token": csrf, **data})
        return response.status_code, "This form was already saved" in response.get_data(
            as_text=True)
    finally:
        app.extensions["apprentice"].database.dispose()


def _database_url(app, tmp_path) -> str:
    return (app.config.get("APPRENTICE_DATABASE_URL")
            or f"sqlite:///{tmp_path / 'apprentice.sqlite3'}")  # the app fixture's database


def _actions(app, action: str) -> int:
    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == action))


def test_two_requests_with_one_token_at_once_make_one_entry(app, loop, tmp_path):
    form = _log_entry(app, loop)
    data = fill(as_person(app, loop["apprentice"]), form)
    answers = run_workers(_send_worker, tmp_path, [
        (_database_url(app, tmp_path), loop["apprentice"].get_id(), form.url, data)
        for _ in range(2)])
    assert sorted(answers) == [(200, True), (302, False)]
    assert len(rows(app, LogEntry)) == 1
    assert _actions(app, "entry.submitted") == 1


def test_a_draft_submitted_three_times_at_once_is_submitted_once(app, loop, tmp_path):
    """Saved as a draft, then "Submit for review" tapped three times: the draft is sent
    once (one audit record), the other two are told it was saved."""
    form = _log_entry(app, loop)
    client = as_person(app, loop["apprentice"])
    data = fill(client, form)
    assert client.submit(form.url, {**data, "submit": "", "save_draft": "1"}).status_code == 302
    answers = run_workers(_send_worker, tmp_path, [
        (_database_url(app, tmp_path), loop["apprentice"].get_id(), form.url, data)
        for _ in range(3)])
    assert sorted(answers) == [(200, True), (200, True), (302, False)]
    [entry] = rows(app, LogEntry)
    assert entry.state == "submitted"
    assert _actions(app, "entry.submitted") == 1


def test_a_sign_off_sent_three_times_at_once_is_signed_once(app, loop, tmp_path):
    form = _sign_off(app, loop)
    data = fill(as_person(app, loop[form.person]), form)
    answers = run_workers(_send_worker, tmp_path, [
        (_database_url(app, tmp_path), loop[form.person].get_id(), form.url, data)
        for _ in range(3)])
    assert sorted(answers) == [(200, True), (200, True), (302, False)]
    assert len(rows(app, SignOff)) == 1
    assert _actions(app, "signoff.created") == 1


def test_a_sign_off_revoked_then_sent_again_is_already_saved_and_adds_nothing(app, loop):
    """After the revocation the copy passes every check of a sign-off: its receipt's
    INSERT stops it, and everything it wrote before is rolled back (no sign-off, no
    audit record; the chain intact)."""
    from apprentice.audit import services as audit

    form = _sign_off(app, loop)
    client = as_person(app, loop[form.person])
    data = fill(client, form)
    assert client.submit(form.url, data).status_code == 302
    [record] = rows(app, SignOff)
    with app.app_context():
        coordinator = db_session().get(StaffProfile, loop["coordinator"].id)
        training.revoke(db_session().get(SignOff, record.id), coordinator, "Signed in error.")
    trail = audit_count(app)
    again = client.submit(form.url, data)
    assert_already_saved(again, f"/sign-offs/{record.id}")
    assert [r.id for r in rows(app, SignOff)] == [record.id]
    assert audit_count(app) == trail
    with app.app_context():
        assert audit.verify().intact


def test_a_draft_gone_when_its_form_is_sent_again_is_refused_with_a_reason(
        app, loop, monkeypatch):
    """The INSERT finds the form's token taken by its draft, which is deleted (another
    tab) before it is read: the form is shown again with a reason, not a failure, and
    sent once more it saves."""
    form = _log_entry(app, loop)
    client = as_person(app, loop["apprentice"])
    data = fill(client, form)
    assert client.submit(form.url, {**data, "submit": "", "save_draft": "1"}).status_code == 302
    [draft] = rows(app, LogEntry)
    real = training.inserted

    def draft_deleted_meanwhile(*args, **kwargs):
        saved = real(*args, **kwargs)
        if saved is None:
            session = db_session()
            session.execute(delete(EntryCompetency).where(EntryCompetency.entry_id == draft.id))
            session.execute(delete(LogEntry).where(LogEntry.id == draft.id))
        return saved

    monkeypatch.setattr(training, "inserted", draft_deleted_meanwhile)
    again = client.submit(form.url, data)
    assert again.status_code == 200
    assert "was deleted meanwhile" in again.get_data(as_text=True)
    assert [e.id for e in rows(app, LogEntry)] == [draft.id]  # the refusal changed nothing
    monkeypatch.undo()
    assert client.submit(form.url, data).status_code == 302
    [entry] = rows(app, LogEntry)
    assert entry.state == "submitted"
