"""Hostile or odd input gets a calm, correct answer: never a 500, never a half-saved row.

Each test is a way apprentice could plausibly go wrong: numbers bigger than the
database's integers, NUL characters PostgreSQL refuses, query keys that reach
``url_for``, a host that switches Flask-WTF's CSRF off, look-alike e-mail
addresses, a throttle that only guards one form.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from contextlib import ExitStack

import pytest
from flask import Flask
from flask_login import LoginManager
from sqlalchemy import func, select

from apprentice import Apprentice, migrate
from apprentice.auth.models import SignInFailure
from apprentice.auth.passwords import verify_password
from apprentice.competencies import services as frameworks
from apprentice.db import db_session, make_engine
from apprentice.people import services
from apprentice.people.models import StaffProfile
from tests.factories import DEFAULT_PASSWORD
from tests.support.host import (
    add_intranet_user,
    coordinator_and_sam,
    create_apprentice_user,
    host_login,
    intranet_app,
    load_intranet,
    profiles,
)

# Module name of our own copy of the example intranet (see tests/test_host.py).
INTRANET_MODULE = "apprentice_tests_robustness_intranet"
BAD_REQUEST_TITLE = "Something in that request was not right"
NUL_DETAIL = "cannot be stored (NUL)"


@pytest.fixture
def as_coordinator(client, coordinator, login_as):
    return login_as(coordinator)


def people_count(app) -> int:
    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(StaffProfile))


def failure_count(app) -> int:
    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(SignInFailure))


# -- ids and page numbers beyond the database's integers ---------------------------

@pytest.mark.parametrize("url", [
    "/people/99999999999999999999/edit",
    "/people/2147483648/edit",
    "/people/2147483647/edit",  # the largest id there can be: simply not there
    "/people/-1/edit",
    "/frameworks/99999999999999999999",
    "/frameworks/2147483648",
    "/frameworks/2147483648/history",
    "/frameworks/competencies/99999999999999999999",
    "/frameworks/areas/2147483648/edit",
    "/programmes/99999999999999999999",
    "/programmes/2147483648",
])
def test_ids_beyond_the_database_range_are_not_found(as_coordinator, url):
    response = as_coordinator.get(url)
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_a_post_to_an_id_beyond_the_range_is_not_found(app, as_coordinator):
    response = as_coordinator.submit("/people/99999999999999999999/active", {"active": "0"})
    assert response.status_code == 404


@pytest.mark.parametrize("page", ["922337203685477580", "99999999999999999999999", "-3",
                                  "0", "abc", "", "1e3"])
def test_odd_page_numbers_are_clamped(as_coordinator, make_person, page):
    make_person(name="Priya Shah")
    response = as_coordinator.get("/people/", query_string={"page": page})
    assert response.status_code == 200


# -- NUL characters: PostgreSQL cannot store them ------------------------------------

def assert_refused_for_nul(response):
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert BAD_REQUEST_TITLE in page  # the friendly page, in apprentice's layout
    assert NUL_DETAIL in page


@pytest.mark.parametrize("field", ["name", "email", "job_title", "branch", "password"])
def test_nul_in_a_form_field_is_refused_and_nothing_saved(app, as_coordinator, field):
    data = {"name": "Priya Shah", "email": "priya@library.example", "job_title": "Clerk",
            "branch": "East", "roles": ["apprentice"], "password": "temporary phrase 1"}
    data[field] = "a\x00b@library.example" if field == "email" else "a\x00b"
    before = people_count(app)
    assert_refused_for_nul(as_coordinator.submit("/people/new", data))
    assert people_count(app) == before
    with app.app_context():
        assert services.find_by_email("priya@library.example") is None


def test_nul_in_a_form_field_name_is_refused(app, as_coordinator):
    data = {"name": "Priya Shah", "email": "priya@library.example", "roles": ["apprentice"],
            "password": "temporary phrase 1", "odd\x00key": "x"}
    assert_refused_for_nul(as_coordinator.submit("/people/new", data))
    with app.app_context():
        assert services.find_by_email("priya@library.example") is None


@pytest.mark.parametrize("data", [
    {"email": "a\x00@b.example", "password": "whatever it is"},
    {"email": "jordan@library.example", "password": "wrong\x00guess"},
])
def test_nul_in_the_sign_in_form_is_refused_and_not_counted(app, client, make_person, data):
    make_person(email="jordan@library.example")
    assert_refused_for_nul(client.submit("/sign-in", data))
    assert failure_count(app) == 0
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_nul_in_the_query_string_is_refused(as_coordinator):
    assert_refused_for_nul(as_coordinator.get("/people/?q=a%00b"))
    assert_refused_for_nul(as_coordinator.get("/people/?role=%00"))


def test_nul_in_an_edit_leaves_the_person_unchanged(app, as_coordinator, make_person):
    person = make_person(name="Priya Shah", email="priya@library.example")
    response = as_coordinator.submit(f"/people/{person.id}/edit", {
        "name": "Priya\x00Shah", "email": "priya@library.example", "roles": ["apprentice"],
    })
    assert_refused_for_nul(response)
    with app.app_context():
        assert services.get_person(person.id).name == "Priya Shah"


def small_framework(name: str) -> dict:
    return {
        "format": "apprentice-framework",
        "format_version": 1,
        "name": name,
        "version": 1,
        "status": "draft",
        "description": "",
        "rule": {"electives_required": 1, "level_required": "independent",
                 "area_completion_percent": 100, "time_allowed_months": 48},
        "areas": [
            {"name": "Desk", "kind": "required", "description": "", "min_hours": None,
             "competencies": [{"code": "D-1", "statement": "Greets patrons."}]},
            {"name": "Stacks", "kind": "elective", "description": "", "min_hours": None,
             "competencies": [{"code": "S-1", "statement": "Shelves books."}]},
        ],
    }


def import_framework_file(client, upload: bytes, filename: str, **extra):
    return client.submit("/frameworks/import", {
        "file": (io.BytesIO(upload), filename), **extra,
    }, content_type="multipart/form-data")


def desk_csv(statement: str = "Greets patrons.") -> bytes:
    return (f"area,required,code,statement\nDesk,yes,D-1,{statement}\n"
            "Stacks,no,S-1,Shelves books.\n").encode()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_framework_file_imports_when_it_is_clean(app, as_coordinator, fmt):
    """The control for the NUL tests below: the same files without a NUL are imported."""
    upload = json.dumps(small_framework("Desk")).encode() if fmt == "json" else desk_csv()
    response = import_framework_file(as_coordinator, upload, f"desk.{fmt}", name="Desk")
    assert response.status_code == 302
    with app.app_context():
        names = [f.name for f in frameworks.list_frameworks(include_unpublished=True)]
        assert names == ["Desk"]


def test_nul_in_the_import_forms_name_field_is_refused(app, as_coordinator):
    assert_refused_for_nul(
        import_framework_file(as_coordinator, desk_csv(), "desk.csv", name="Desk\x00skills")
    )
    with app.app_context():
        assert frameworks.list_frameworks(include_unpublished=True) == []


@pytest.mark.parametrize("fmt,where", [("json", "name"), ("json", "statement"),
                                       ("csv", "statement")])
def test_nul_inside_an_uploaded_framework_file_is_a_problem_not_a_crash(
    app, as_coordinator, fmt, where
):
    """The NUL check covers form fields; a file's content reaches the database too."""
    if fmt == "json":
        document = small_framework("Desk\x00skills" if where == "name" else "Desk skills")
        if where == "statement":
            document["areas"][0]["competencies"][0]["statement"] = "Greets\x00patrons."
        upload = json.dumps(document).encode()  # the NUL travels as "\\u0000"
    else:
        upload = desk_csv("Greets\x00patrons.")
    response = import_framework_file(as_coordinator, upload, f"desk.{fmt}", name="Desk")
    assert response.status_code in (200, 400), response.status_code
    with app.app_context():
        assert frameworks.list_frameworks(include_unpublished=True) == []


# -- the people list's pager builds its links from known keys only ------------------------

def test_pager_ignores_hostile_query_keys(app, as_coordinator, make_person):
    app.config["APPRENTICE_PAGE_SIZE"] = 1
    make_person(name="Priya Shah")
    make_person(name="Sam Lee")  # with the coordinator: three people, three pages
    response = as_coordinator.get(
        "/people/?endpoint=x&_external=1&_anchor=evil&_method=POST&_scheme=http&page=1"
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Page 1 of 3" in page
    next_link = re.search(r'<a href="([^"]*)">Next</a>', page)
    assert next_link, page
    href = next_link.group(1)
    assert href.startswith("/people/?"), href
    assert "page=2" in href
    for bad in ("evil", "http", "#", "_method", "endpoint", "_external"):
        assert bad not in href, href
    assert as_coordinator.get(href.replace("&amp;", "&")).status_code == 200


# -- deactivating needs an explicit yes or no ---------------------------------------------

@pytest.mark.parametrize("data", [{}, {"active": "maybe"}, {"active": ""}, {"active": "true"}])
def test_set_active_without_a_clear_value_is_a_bad_request(app, as_coordinator, make_person,
                                                           data):
    person = make_person(name="Priya Shah")
    response = as_coordinator.submit(f"/people/{person.id}/active", data)
    assert response.status_code == 400
    assert BAD_REQUEST_TITLE in response.get_data(as_text=True)
    with app.app_context():
        assert services.get_person(person.id).active is True


# -- the change-password form is throttled like sign-in ---------------------------------------

def test_change_password_is_throttled_after_repeated_wrong_current_passwords(
    app, client, login_as, make_person
):
    app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT"] = 3
    person = make_person(email="jordan@library.example")
    login_as(person)
    new = {"new_password": "a brand new phrase 7", "confirm": "a brand new phrase 7"}
    for _ in range(3):
        response = client.submit("/account/password", {"current_password": "wrong guess", **new})
        assert response.status_code == 200
        assert "That is not your current password." in response.get_data(as_text=True)

    response = client.submit("/account/password", {"current_password": DEFAULT_PASSWORD, **new})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="current_password-error"' in page
    assert "Too many wrong passwords. Try again in" in page
    with app.app_context():
        stored = services.get_person(person.id).password_hash
        assert verify_password(stored, DEFAULT_PASSWORD)
        assert not verify_password(stored, new["new_password"])
    # Still signed in, with the old session: the refused change ended nothing.
    assert client.get("/").status_code == 200


def test_change_password_failures_count_for_sign_in_too(app, client, login_as, make_person):
    """One limit per account, whichever form the guesses come through."""
    app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT"] = 2
    person = make_person(email="jordan@library.example")
    login_as(person)
    for _ in range(2):
        client.submit("/account/password", {"current_password": "wrong guess",
                                             "new_password": "a brand new phrase 7",
                                             "confirm": "a brand new phrase 7"})
    other = app.test_client()
    response = other.submit("/sign-in", {"email": "jordan@library.example",
                                         "password": DEFAULT_PASSWORD})
    assert response.status_code == 429


# -- the demo command asks before mixing demo accounts into real ones ---------------------------

def test_demo_into_a_database_with_people_asks_first(app, make_person):
    make_person(name="Real Person", email="real@library.example")
    runner = app.test_cli_runner()
    before = people_count(app)

    result = runner.invoke(args=["apprentice", "demo"], input="n\n")
    assert result.exit_code == 0, result.output
    assert "already has people" in result.output
    assert "not loaded" in result.output
    assert people_count(app) == before

    result = runner.invoke(args=["apprentice", "demo"], input="")  # no answer: the default, no
    assert people_count(app) == before

    result = runner.invoke(args=["apprentice", "demo", "--yes"])
    assert result.exit_code == 0, result.output
    assert people_count(app) > before
    with app.app_context():
        assert services.find_by_email("coordinator@example.org") is not None
        assert services.find_by_email("real@library.example") is not None


def test_demo_answered_yes_loads(app, make_person):
    make_person(name="Real Person", email="real@library.example")
    result = app.test_cli_runner().invoke(args=["apprentice", "demo"], input="y\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert services.find_by_email("coordinator@example.org") is not None


# -- host mode: the example intranet --------------------------------------------------------

@pytest.fixture(scope="module")
def intranet():
    """Our own copy of the example intranet's module (as tests/test_host.py loads it)."""
    yield from load_intranet(INTRANET_MODULE)


@pytest.fixture
def make_host(intranet, tmp_path):
    """``make_host(**config)``: the intranet with apprentice, migrated, on SQLite."""
    with ExitStack() as stack:
        built = []

        def make(**config):
            app = stack.enter_context(
                intranet_app(intranet, tmp_path / f"host{len(built)}", **config))
            built.append(app)
            return app

        yield make


def sam_is_active(app) -> bool:
    return profiles(app, "sam@library.example")[0].active


def hidden_fields(html: str, action: str) -> dict:
    """The hidden inputs of the form posting to ``action``, as a browser would send them."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>',
                     html, re.S)
    assert form, f"no form posting to {action}"
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(1)))


def test_host_without_flask_wtf_csrf_still_gets_apprentices_check(intranet, make_host):
    app = make_host(WTF_CSRF_ENABLED=False)
    coordinator, sam_id = coordinator_and_sam(intranet, app)
    response = coordinator.post(f"/training/people/{sam_id}/active", data={"active": "0"})
    assert response.status_code == 400
    assert sam_is_active(app)
    # A person added without a token: refused too, nothing saved.
    response = coordinator.post("/training/people/new", data={
        "name": "Priya Shah", "email": "priya@library.example", "roles": ["apprentice"],
    })
    assert response.status_code == 400
    assert profiles(app, "priya@library.example") == []
    # With the token from the page's meta tag it goes through.
    response = coordinator.submit(f"/training/people/{sam_id}/active", data={"active": "0"})
    assert response.status_code == 302
    assert not sam_is_active(app)


@pytest.mark.parametrize("host_config", [
    pytest.param({}, id="host-default"),
    pytest.param({"WTF_CSRF_ENABLED": False}, id="host-wtf-csrf-off"),
])
def test_apprentices_forms_work_as_a_browser_posts_them(intranet, make_host, host_config):
    """What a browser does: post the form with the hidden fields the page rendered."""
    app = make_host(**host_config)
    coordinator, sam_id = coordinator_and_sam(intranet, app)
    action = f"/training/people/{sam_id}/active"
    page = coordinator.get(f"/training/people/{sam_id}/edit").get_data(as_text=True)
    response = coordinator.post(action, data=hidden_fields(page, action))
    assert response.status_code == 302
    assert not sam_is_active(app)


def test_apprentice_csrf_enabled_false_turns_the_check_off(intranet, make_host):
    app = make_host(WTF_CSRF_ENABLED=False, APPRENTICE_CSRF_ENABLED=False)
    coordinator, sam_id = coordinator_and_sam(intranet, app)
    response = coordinator.post(f"/training/people/{sam_id}/active", data={"active": "0"})
    assert response.status_code == 302
    assert not sam_is_active(app)
    response = coordinator.post("/training/people/new", data={
        "name": "Priya Shah", "email": "priya@library.example", "roles": ["apprentice"],
    })
    assert response.status_code == 302
    assert len(profiles(app, "priya@library.example")) == 1


def fullwidth(text: str) -> str:
    """The fullwidth forms (U+FF21...) of the ASCII letters in ``text``: look-alikes."""
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalpha() else ch
                   for ch in text)


@pytest.mark.parametrize("email", [
    f"carmen@{fullwidth('library')}.example",
    f"carmen@library.{fullwidth('example')}",
    f"Carmen@{fullwidth('library')}.Example",
])
def test_host_user_with_a_look_alike_email_is_not_the_coordinator(intranet, make_host, email):
    app = make_host()
    create_apprentice_user(app, "carmen@library.example", "Carmen Ortiz", "coordinator")
    add_intranet_user(intranet, app, email, "Not Carmen")
    before = [(p.id, p.email, p.name) for p in profiles(app)]

    client = host_login(app, email)
    response = client.get("/training/people/")
    assert response.status_code == 403
    assert client.get("/training/").status_code == 403
    assert [(p.id, p.email, p.name) for p in profiles(app)] == before


# -- 401 where the host has no sign-in page ------------------------------------------------

def test_host_without_a_login_view_answers_401_please_sign_in(tmp_path):
    url = f"sqlite:///{tmp_path / 'host.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    host = Flask("bare_host", instance_path=str(tmp_path / "host"))
    host.config.update(TESTING=True, SECRET_KEY=f"test-{uuid.uuid4()}",
                       APPRENTICE_DATABASE_URL=url,
                       APPRENTICE_INSTANCE_PATH=str(tmp_path / "apprentice"))
    login = LoginManager(host)
    login.user_loader(lambda _user_id: None)
    assert login.login_view is None
    Apprentice(host, url_prefix="/training")
    try:
        client = host.test_client()
        for path in ("/training/", "/training/people/"):
            response = client.get(path)
            assert response.status_code == 401
            page = response.get_data(as_text=True)
            assert "Please sign in" in page
            assert BAD_REQUEST_TITLE not in page
    finally:
        host.extensions["apprentice"].database.dispose()
