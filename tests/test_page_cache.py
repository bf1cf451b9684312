"""Pages kept per data version (apprentice/core/pagecache.py, apprentice/core/versions.py):
a page asked again with nothing changed is served without being built, and never once
anything it shows has changed, whoever changed it and on whichever server."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select, update

from apprentice.core import pagecache, receipts, versions
from apprentice.db import db_session
from apprentice.kb import applier
from apprentice.people.services import get_person
from apprentice.training import services as training
from apprentice.training.models import LogEntry
from tests.conftest import build_app, served
from tests.factories import data_versions, queries, sql_statements
from tests.loop import as_person, log_form
from tests.support.clients import CSRF_META
from tests.support.host import add_intranet_user, intranet_app, load_intranet
from tests.support.procedures import create, edit

FLASH = 'class="ap-flash '
KEPT_STATEMENTS = 1  # the sign-in guard's one statement (it carries the data version)


def version(app) -> int:
    with app.app_context():
        return versions.current()


def served_twice(app, client, url: str):
    """The page built, then asked again: both answers and the statements of the second."""
    first = client.get(url)
    with sql_statements(app) as sent:
        second = client.get(url)
    return first, second, sent


def body_without_tokens(response) -> str:
    # The meta tag, and the hidden field in either order of its attributes (WTForms',
    # and the macro's of forms without a WTForms form: the header's sign-out).
    return re.sub(r'(csrf-token" content|name="csrf_token"[^>]*?value)="[^"]+"',
                  "TOKEN", response.get_data(as_text=True))


def test_a_page_asked_again_is_served_kept_with_a_fresh_valid_csrf_token(app, loop):
    client = as_person(app, loop["apprentice"])
    client.get("/")  # the session gets its CSRF token: the session changed, nothing kept
    first, second, sent = served_twice(app, client, "/")
    assert first.status_code == second.status_code == 200
    assert len(queries(sent)) == KEPT_STATEMENTS, sent
    assert body_without_tokens(first) == body_without_tokens(second)
    token = CSRF_META.search(second.get_data(as_text=True)).group(1)
    assert "\x00" not in second.get_data(as_text=True)  # the placeholder was swapped
    # The kept page's token is this session's: a form sent with it is accepted.
    answer = client.post("/log/new", data={**log_form(client, loop["competency"].id),
                                           "csrf_token": token})
    assert answer.status_code == 302


def test_a_kept_pages_token_is_signed_again_each_minute_and_never_shared(app, loop,
                                                                        monkeypatch):
    # One clock for everything (the signatures' own times too), from a minute's start.
    clock = [time.time() // pagecache.SIGNED_FOR * pagecache.SIGNED_FOR + 1]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    jordan, marian = as_person(app, loop["apprentice"]), as_person(app, loop["mentor"])
    for client in (jordan, marian):
        client.get("/")  # each session gets its CSRF token: nothing kept yet
        client.get("/")  # built, and kept

    def token(client) -> str:
        return CSRF_META.search(client.get("/").get_data(as_text=True)).group(1)

    first = token(jordan)
    clock[0] += 5  # a token signed now would differ: its time is in it
    assert token(jordan) == first  # signed once this minute, for this session
    assert token(marian) != first  # another session: its own token, its own signature
    clock[0] += pagecache.SIGNED_FOR
    later = token(jordan)
    assert later != first  # a new minute, a new signature
    for sent in (first, later):  # both are this session's, and both still valid
        answer = jordan.post("/log/new", data={**log_form(jordan, loop["competency"].id),
                                               "csrf_token": sent})
        assert answer.status_code == 302


def test_a_write_through_the_pages_shows_at_once_on_another_persons_kept_page(app, loop):
    mentor = as_person(app, loop["mentor"])
    apprentice = as_person(app, loop["apprentice"])
    for _ in range(3):
        mentor.get("/review/")  # kept
    before = version(app)
    assert apprentice.submit("/log/new", data=log_form(
        apprentice, loop["competency"].id, description="Shelved the new atlases.",
        submit_for_review="1")).status_code == 302
    assert version(app) == before + 1
    assert "Shelved the new atlases." in mentor.get("/review/").get_data(as_text=True)


def test_a_write_made_by_a_service_or_a_bulk_statement_shows_at_once(app, loop):
    mentor = as_person(app, loop["mentor"])
    apprentice = as_person(app, loop["apprentice"])
    assert apprentice.submit("/log/new", data=log_form(
        apprentice, loop["competency"].id, description="Weeded the travel guides.",
        submit_for_review="1")).status_code == 302
    mentor.get("/review/")
    assert "Weeded the travel guides." in mentor.get("/review/").get_data(as_text=True)
    with app.app_context():  # an UPDATE statement through the session counts
        db_session().execute(update(LogEntry)
                             .where(LogEntry.description == "Weeded the travel guides.")
                             .values(description="Weeded the atlases instead."))
        db_session().commit()
    assert "Weeded the atlases instead." in mentor.get("/review/").get_data(as_text=True)
    with app.app_context():  # and so does a service's work through the ORM
        entry = db_session().scalar(select(LogEntry).where(
            LogEntry.description == "Weeded the atlases instead."))
        training.verify_entries([entry], get_person(loop["mentor"].id))
    assert "Weeded the atlases instead." not in mentor.get("/review/").get_data(as_text=True)


def test_a_rolled_back_write_and_a_page_view_leave_the_version_as_it_is(app, loop):
    client = as_person(app, loop["coordinator"])
    before = version(app)
    for url in ("/", "/review/", "/procedures/", "/programmes/", "/log/"):
        client.get(url)
    assert version(app) == before
    with app.app_context():
        db_session().execute(update(LogEntry).values(minutes=1))
        db_session().rollback()
        db_session().commit()
    assert version(app) == before


def test_two_people_on_one_url_never_get_each_others_page(app, loop):
    apprentice = as_person(app, loop["apprentice"])
    mentor = as_person(app, loop["mentor"])
    for _ in range(2):
        assert "Jordan Lee" in apprentice.get("/").get_data(as_text=True)
        mentor_home = mentor.get("/").get_data(as_text=True)
        assert "Review queue" in mentor_home or "review" in mentor_home.lower()
        assert apprentice.get("/").get_data(as_text=True) != mentor_home


def test_a_flashed_message_shows_once_and_is_never_kept(app, loop):
    mentor = as_person(app, loop["mentor"])
    apprentice = as_person(app, loop["apprentice"])
    apprentice.submit("/log/new", data=log_form(apprentice, loop["competency"].id,
                                                submit_for_review="1"))
    mentor.get("/review/")  # the session gets its CSRF token: the session changed
    _built, kept, sent = served_twice(app, mentor, "/review/")
    assert len(queries(sent)) == KEPT_STATEMENTS  # the queue's page is kept now
    page = kept.get_data(as_text=True)
    entry = re.search(r'name="entry_id" value="(\d+)"', page).group(1)
    answer = mentor.submit("/review/verify", data={"entry_id": entry}, follow_redirects=True)
    assert answer.request.path == "/review/"
    assert FLASH in answer.get_data(as_text=True)  # the kept page's URL, with the message
    for _ in range(2):
        assert FLASH not in mentor.get("/review/").get_data(as_text=True)


@pytest.fixture
def counted(app):
    """/test/counted: a kept page that says how many times it was built."""
    built = []

    @app.route("/test/counted")
    @pagecache.kept_page()
    def counted_page():
        built.append(1)
        return str(len(built))

    return "/test/counted"


def test_a_page_that_hands_out_a_one_time_form_token_is_never_kept(app, loop, counted):
    @app.route("/test/one-time")
    @pagecache.kept_page()
    def one_time():
        return receipts.new_token()

    client = as_person(app, loop["apprentice"])
    assert {client.get(counted).get_data(as_text=True) for _ in range(3)} == {"1"}
    assert len({client.get("/test/one-time").get_data(as_text=True) for _ in range(3)}) == 3


def test_a_kept_page_is_built_again_when_the_hour_turns(app, loop, counted, monkeypatch):
    """Pages count days from moments ("waiting 3 days"): none is kept past its hour."""
    client = as_person(app, loop["apprentice"])
    hour = pagecache._hour()
    assert [client.get(counted).get_data(as_text=True) for _ in range(2)] == ["1", "1"]
    monkeypatch.setattr(pagecache, "_hour", lambda: hour + 1)
    assert [client.get(counted).get_data(as_text=True) for _ in range(2)] == ["2", "2"]


def test_an_edit_applied_to_the_search_index_later_shows_on_the_search_page(app, loop, tmp_path):
    """Another server saves: this server's database version moves at once, its index
    only when it applies the change; the search page must follow the index too."""
    mentor = loop["mentor"].id
    other = served(build_app(tmp_path / "other-server",
                             APPRENTICE_DATABASE_URL=app.extensions["apprentice"].database.url))
    try:
        procedure = create(app, mentor, "Opening the branch", "Unlock the returns chute.")
        client = as_person(app, loop["apprentice"])
        client.get("/procedures/?q=kiosks")
        edit(other, mentor, procedure, "Switch on the self-check kiosks.")
        page = client.get("/procedures/?q=kiosks").get_data(as_text=True)
        assert "Opening the branch" not in page  # not applied here yet
        client.get("/procedures/?q=kiosks")  # kept, under the new data version
        assert app.test_cli_runner().invoke(args=["apprentice", "index-sync"]).exit_code == 0
        assert "Opening the branch" in client.get("/procedures/?q=kiosks").get_data(as_text=True)
        api = client.get("/api/search?q=kiosks").get_json()
        assert [hit["title"] for hit in api["results"]] == ["Opening the branch"]
    finally:
        applier.stop(other)
        other.extensions["apprentice"].database.dispose()


def test_the_version_never_goes_back_after_a_restore(app, loop, tmp_path):
    from apprentice.core import backup

    with app.app_context():
        saved = backup.backup(tmp_path / "backups")
    client = as_person(app, loop["apprentice"])
    for description in ("One", "Two", "Three"):
        client.submit("/log/new", data=log_form(client, loop["competency"].id,
                                                description=description))
    live = data_versions(app)
    with app.app_context():
        backup.restore(backup.read_backup(saved.path))
    after = data_versions(app)
    assert after.keys() == live.keys() == {1, 2}
    assert min(after.values()) > max(live.values())


def test_nothing_is_kept_when_switched_off(app, loop):
    app.config["APPRENTICE_PAGE_CACHE_MB"] = 0
    client = as_person(app, loop["apprentice"])
    client.get("/")
    with sql_statements(app) as sent:
        client.get("/")
    assert len(queries(sent)) > KEPT_STATEMENTS


def test_under_a_hosts_own_layout_nothing_is_kept_unless_the_host_sets_a_size(app):
    app.config["APPRENTICE_BASE_TEMPLATE"] = "intranet/layout.html"  # shows the host's data
    with app.test_request_context():
        assert pagecache._store() is None
    app.extensions["apprentice"].caches.clear()
    app.config["APPRENTICE_PAGE_CACHE_MB"] = 4
    with app.test_request_context():
        assert pagecache._store().budget == 4 * 1024 * 1024


def test_each_commit_that_wrote_counts_once_on_one_row(app, loop):
    client = as_person(app, loop["apprentice"])
    before = version(app)
    for n in range(3):
        client.submit("/log/new", data=log_form(client, loop["competency"].id,
                                                description=f"Entry {n}"))
    assert version(app) == before + 3
    # One row moved; the structure's (apprentice.core.versions) is not moved by entries.
    assert data_versions(app).keys() == {1, 2}


@pytest.fixture
def intranet_with_header_sign_in(tmp_path):
    """The example intranet keeping pages, whose users arrive signed in by a header (as
    behind a single sign-on proxy): no session names them."""
    for intranet in load_intranet("apprentice_tests_pagecache_intranet"):
        intranet.login_manager.request_loader(
            lambda request, find=intranet.find_user: find(
                request.headers.get("X-Remote-User", "")))
        with intranet_app(intranet, tmp_path, APPRENTICE_PAGE_CACHE_MB=4) as app:
            for email, name in (("alice@library.example", "Alice Moreno"),
                                ("bob@library.example", "Bob Tanaka")):
                add_intranet_user(intranet, app, email, name)
            yield app


def test_people_a_host_signs_in_without_a_session_each_get_their_own_page(
        intranet_with_header_sign_in):
    app = intranet_with_header_sign_in
    browsers = {}
    alice = ("alice@library.example", "Alice Moreno", "Bob Tanaka")
    bob = ("bob@library.example", "Bob Tanaka", "Alice Moreno")
    # Each first visit makes the person's profile (a write); then Alice's page is kept.
    with app.app_context():
        app.extensions["apprentice"].database.engine  # noqa: B018 - the host's, borrowed now
    statements = []
    for email, name, other in [alice, bob, alice, alice, alice, bob, bob]:
        browser = browsers.setdefault(email, app.test_client())
        with sql_statements(app) as sent:
            page = browser.get("/training/", headers={"X-Remote-User": email})
        statements.append(len(queries(sent)))
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and name in text and other not in text
    # Alice's page built once nobody wrote any more (her second visit), then served kept.
    assert statements[3] == statements[4] < statements[2]
