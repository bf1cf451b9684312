"""Standalone sign-in: passwords, throttling, deactivation, sessions, sign-out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apprentice.auth.models import SignInFailure
from apprentice.auth.services import attempt_sign_in, minutes_text, throttle_minutes
from apprentice.db import db_session, utcnow
from apprentice.forms import safe_next
from tests.conftest import build_app
from tests.factories import DEFAULT_PASSWORD


def sign_in(client, email, password, **extra):
    return client.submit("/sign-in", {"email": email, "password": password, **extra})


def test_sign_in_with_the_right_password_opens_home(client, make_person):
    person = make_person(name="Jordan Lee", email="jordan@library.example")
    response = sign_in(client, "Jordan@Library.example ", DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert "Hello, Jordan Lee" in home.get_data(as_text=True)
    with client.application.app_context():
        assert db_session().get(type(person), person.id).last_sign_in_at is not None


@pytest.mark.parametrize("email", ["jordan@library.example", "nobody@library.example"])
def test_wrong_password_and_unknown_account_get_the_same_generic_message(
    client, make_person, email
):
    make_person(email="jordan@library.example")
    response = sign_in(client, email, "not the password")
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "That e-mail address and password do not match" in page
    assert "Hello" not in page
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_empty_fields_get_messages_next_to_them(client):
    response = sign_in(client, "", "")
    page = response.get_data(as_text=True)
    assert response.status_code == 401 or response.status_code == 200
    assert 'id="email-error"' in page and "Enter your e-mail address." in page
    assert 'id="password-error"' in page and "Enter your password." in page
    assert 'aria-invalid="true"' in page


def test_account_is_throttled_after_repeated_failures_even_with_the_right_password(
    app, client, make_person
):
    app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT"] = 3
    make_person(email="jordan@library.example")
    for _ in range(3):
        assert sign_in(client, "jordan@library.example", "wrong guess").status_code == 401
    response = sign_in(client, "jordan@library.example", DEFAULT_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_throttle_is_per_account_not_global(app, client, make_person):
    app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT"] = 2
    make_person(email="jordan@library.example")
    make_person(email="priya@library.example")
    for _ in range(2):
        sign_in(client, "jordan@library.example", "wrong guess")
    assert sign_in(client, "priya@library.example", DEFAULT_PASSWORD).status_code == 302


def test_address_is_throttled_across_accounts(app, make_person):
    app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ADDRESS"] = 4
    make_person(email="jordan@library.example")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for n in range(4):
        sign_in(attacker, f"guess{n}@library.example", "wrong guess")
    assert sign_in(attacker, "jordan@library.example", DEFAULT_PASSWORD).status_code == 429
    # Someone at another address is not held back by it.
    colleague = app.test_client()
    colleague.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    assert sign_in(colleague, "jordan@library.example", DEFAULT_PASSWORD).status_code == 302


def test_throttle_is_shared_by_separate_worker_processes(app, tmp_path, make_person):
    """Two app objects with their own engines on one database stand for two workers."""
    app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT"] = 2
    make_person(email="jordan@library.example")
    other_worker = build_app(
        tmp_path, APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT=2,
        APPRENTICE_DATABASE_URL=app.extensions["apprentice"].database.url,
    )
    for worker in (app, other_worker):
        sign_in(worker.test_client(), "jordan@library.example", "wrong guess")
    blocked = sign_in(other_worker.test_client(), "jordan@library.example", DEFAULT_PASSWORD)
    assert blocked.status_code == 429
    other_worker.extensions["apprentice"].database.dispose()


def test_throttle_lifts_when_the_failures_leave_the_window(app, make_person):
    app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT"] = 2
    make_person(email="jordan@library.example")
    with app.app_context():
        for _ in range(2):
            assert attempt_sign_in("jordan@library.example", "nope", "192.0.2.1").staff is None
        now = utcnow()
        assert throttle_minutes("jordan@library.example", "192.0.2.1", now) == 15
        assert throttle_minutes("jordan@library.example", "192.0.2.1",
                                now + timedelta(minutes=10)) == 5
        assert throttle_minutes("jordan@library.example", "192.0.2.1",
                                now + timedelta(minutes=16)) == 0


def test_an_address_longer_than_its_column_is_throttled_for_the_whole_window(app, make_person):
    """The address is cut to the stored 64 characters before any count, so the wait
    is the window's, not a minute for an address that matched nothing stored."""
    app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ADDRESS"] = 2
    make_person(email="jordan@library.example")
    address = "fe80::1%" + "x" * 70
    with app.app_context():
        for n in range(2):
            assert attempt_sign_in(f"guess{n}@library.example", "nope", address).staff is None
        result = attempt_sign_in("jordan@library.example", DEFAULT_PASSWORD, address)
        assert result.staff is None
        assert result.throttled_minutes == 15
        assert db_session().query(SignInFailure).count() == 2


def test_sign_in_without_a_known_address_is_counted_as_unknown(app, make_person):
    make_person(email="jordan@library.example")
    with app.app_context():
        assert attempt_sign_in("jordan@library.example", "nope", None).staff is None
        [failure] = db_session().query(SignInFailure)
        assert failure.address == "unknown"


@pytest.mark.parametrize(("minutes", "text"), [(1, "1 minute"), (2, "2 minutes"),
                                               (15, "15 minutes")])
def test_minutes_text(minutes, text):
    assert minutes_text(minutes) == text


def test_throttled_attempts_are_not_counted_and_success_clears_failures(app, make_person):
    app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT"] = 2
    make_person(email="jordan@library.example")
    with app.app_context():
        for _ in range(5):
            attempt_sign_in("jordan@library.example", "nope", "192.0.2.1")
        session = db_session()
        assert session.query(SignInFailure).count() == 2
        for failure in session.query(SignInFailure):
            failure.created_at -= timedelta(minutes=20)
        session.commit()
        assert attempt_sign_in("jordan@library.example", DEFAULT_PASSWORD, "192.0.2.1").staff
        assert session.query(SignInFailure).filter_by(email="jordan@library.example").count() == 0


def test_deactivated_person_cannot_sign_in(client, make_person):
    make_person(email="left@library.example", active=False)
    response = sign_in(client, "left@library.example", DEFAULT_PASSWORD)
    assert response.status_code == 403
    assert "deactivated" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_session_is_renewed_on_sign_in(client, make_person):
    make_person(email="jordan@library.example")
    with client.session_transaction() as session:
        session["planted_by_someone_else"] = "x"
    sign_in(client, "jordan@library.example", DEFAULT_PASSWORD)
    with client.session_transaction() as session:
        assert "planted_by_someone_else" not in session
        assert "_user_id" in session


def test_sign_out_is_a_post_and_ends_the_session(client, make_person, login_as):
    login_as(make_person())
    assert client.get("/sign-out").status_code == 405
    assert client.get("/").status_code == 200
    response = client.submit("/sign-out")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(client, make_person):
    make_person(email="jordan@library.example")
    response = client.get("/people/")
    assert response.status_code == 302 and "/sign-in?next=" in response.headers["Location"]
    ok = sign_in(client, "jordan@library.example", DEFAULT_PASSWORD, next="/people/")
    assert ok.headers["Location"] == "/people/"
    client.submit("/sign-out")
    evil = sign_in(client, "jordan@library.example", DEFAULT_PASSWORD,
                   next="https://evil.example/")
    assert evil.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/people/", "/people/"),
        ("/people/?page=2", "/people/?page=2"),
        ("//evil.example/", None),
        ("https://evil.example/", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("people", None),
        ("", None),
        (None, None),
        ("/\x00x", None),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_changing_password_needs_the_current_one(client, make_person, login_as):
    login_as(make_person(email="jordan@library.example"))
    response = client.submit("/account/password", {
        "current_password": "not it", "new_password": "a brand new phrase",
        "confirm": "a brand new phrase",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="current_password-error"' in page and "not your current password" in page
    client.submit("/sign-out")
    assert sign_in(client, "jordan@library.example", DEFAULT_PASSWORD).status_code == 302


def test_new_password_rules_are_shown_next_to_the_field(client, make_person, login_as):
    login_as(make_person())
    short = client.submit("/account/password", {
        "current_password": DEFAULT_PASSWORD, "new_password": "short", "confirm": "short",
    }).get_data(as_text=True)
    assert 'id="new_password-error"' in short and "at least 12 characters" in short
    mismatch = client.submit("/account/password", {
        "current_password": DEFAULT_PASSWORD, "new_password": "a brand new phrase",
        "confirm": "a different phrase",
    }).get_data(as_text=True)
    assert 'id="confirm-error"' in mismatch and "not the same" in mismatch


def test_changing_password_keeps_this_session_and_ends_others(app, make_person, login_as):
    person = make_person(email="jordan@library.example")
    other_device = app.test_client()
    with other_device.session_transaction() as session:
        session["_user_id"] = person.get_id()
    client = login_as(person)
    response = client.submit("/account/password", {
        "current_password": DEFAULT_PASSWORD, "new_password": "a brand new phrase",
        "confirm": "a brand new phrase",
    })
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other_device.get("/").status_code == 302
    client.submit("/sign-out")
    assert sign_in(client, "jordan@library.example", "a brand new phrase").status_code == 302


def test_temporary_password_must_be_changed_before_anything_else(client, make_person):
    make_person(email="new@library.example", must_change_password=True)
    response = sign_in(client, "new@library.example", DEFAULT_PASSWORD)
    assert response.headers["Location"].startswith("/account/password")
    blocked = client.get("/")
    assert blocked.status_code == 302
    assert blocked.headers["Location"].startswith("/account/password")
    client.submit("/account/password", {
        "current_password": DEFAULT_PASSWORD, "new_password": "my own phrase now",
        "confirm": "my own phrase now",
    })
    assert client.get("/").status_code == 200
