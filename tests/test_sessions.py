"""Sessions that end (ASVS 5.0 V7), standalone sign-in: sign-out and other people's acts
end every session of a person, copied and remembered cookies included; idle timeout
and absolute lifetime; the cookies' attributes as the browser receives them."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from apprentice.auth import sessions
from tests.conftest import build_app, served
from tests.factories import DEFAULT_PASSWORD, queries, sql_statements
from tests.loop import apprentice_entries, as_person, typed_log_form
from tests.support.clients import T0

EMAIL = "jordan@library.example"
REMEMBER = "remember_token"
SESSION = "session"
MINUTE = 60
HOUR = 3600


def sign_in(client, remember=False):
    data = {"email": EMAIL, "password": DEFAULT_PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.submit("/sign-in", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def is_signed_in(client) -> bool:
    """True when the home page greets the person; False when it sends them to sign in."""
    response = client.get("/")
    if response.status_code == 302:
        assert "/sign-in" in response.headers["Location"]
        return False
    assert response.status_code == 200 and "Hello, Jordan Lee" in response.get_data(as_text=True)
    return True


def browser_with(app, **cookies):
    """A new browser holding only ``cookies`` (copied from another)."""
    browser = app.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    return browser


def set_cookie_header(response, name: str) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    return header


@pytest.fixture
def jordan(make_person):
    return make_person(name="Jordan Lee", email=EMAIL, roles=("apprentice", "mentor"))


# -- sign-out ends the session on the server ------------------------------------------

def test_signing_out_clears_the_remember_cookie_and_stays_signed_out(client, jordan):
    sign_in(client, remember=True)
    assert client.get_cookie(REMEMBER) is not None
    response = client.submit("/sign-out")
    cleared = set_cookie_header(response, REMEMBER)
    assert "Expires=Thu, 01 Jan 1970" in cleared
    assert client.get_cookie(REMEMBER) is None
    assert not is_signed_in(client)


def test_cookies_copied_before_sign_out_are_refused_after_it(app, client, jordan):
    sign_in(client, remember=True)
    session_cookie = client.get_cookie(SESSION).value
    remember_cookie = client.get_cookie(REMEMBER).value
    assert is_signed_in(browser_with(app, session=session_cookie))
    assert is_signed_in(browser_with(app, remember_token=remember_cookie))

    client.submit("/sign-out")

    assert not is_signed_in(browser_with(app, session=session_cookie))
    only_remembered = browser_with(app, remember_token=remember_cookie)
    assert not is_signed_in(only_remembered)
    assert only_remembered.get_cookie(REMEMBER) is None  # refused and deleted
    assert not is_signed_in(browser_with(app, session=session_cookie,
                                         remember_token=remember_cookie))


def test_signing_out_on_one_device_ends_the_others(app, client, jordan):
    other_device = app.test_client()
    sign_in(other_device, remember=True)
    sign_in(client)
    client.submit("/sign-out")
    assert not is_signed_in(other_device)


def test_a_sign_in_starts_a_new_session(client, jordan):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    sign_in(client)
    with client.session_transaction() as session:
        assert "planted" not in session


# -- other people's acts ----------------------------------------------------------

def test_taking_a_role_away_ends_that_persons_sessions(app, make_person, login_as, jordan):
    their_device = app.test_client()
    sign_in(their_device, remember=True)
    remembered = their_device.get_cookie(REMEMBER).value
    coordinator = make_person(roles=("coordinator",))
    response = login_as(coordinator).submit(f"/people/{jordan.id}/edit", {
        "name": jordan.name, "email": jordan.email, "roles": ["apprentice"],
    })
    assert response.status_code == 302
    assert not is_signed_in(their_device)
    assert not is_signed_in(browser_with(app, remember_token=remembered))


def test_taking_a_role_from_oneself_keeps_this_session(app, make_person, login_as):
    coordinator = make_person(name="Carmen Ortiz", roles=("coordinator", "mentor"))
    other_device = as_person(app, coordinator)
    client = login_as(coordinator)
    response = client.submit(f"/people/{coordinator.id}/edit", {
        "name": coordinator.name, "email": coordinator.email, "roles": ["coordinator"],
    })
    assert response.status_code == 302
    assert "Hello, Carmen Ortiz" in client.get("/").get_data(as_text=True)
    assert other_device.get("/").status_code == 302


def test_deactivation_refuses_the_remember_cookie_too(app, client, make_person, jordan):
    sign_in(client, remember=True)
    remembered = client.get_cookie(REMEMBER).value
    as_coordinator = as_person(app, make_person(roles=("coordinator",)))
    as_coordinator.submit(f"/people/{jordan.id}/active", {"active": "0"})
    assert not is_signed_in(browser_with(app, remember_token=remembered))


# -- idle timeout and absolute lifetime -------------------------------------------

def test_thirty_minutes_without_a_request_ends_the_session(client, jordan, clock):
    sign_in(client)
    clock.at = T0 + 29 * MINUTE
    assert is_signed_in(client)  # and that request counts as activity
    clock.at += 29 * MINUTE
    assert is_signed_in(client)
    clock.at += 31 * MINUTE
    assert not is_signed_in(client)
    clock.at += MINUTE
    assert not is_signed_in(client)  # ended for good, not only for one request


def test_the_idle_limit_is_a_setting(app, client, jordan, clock):
    app.config["APPRENTICE_SESSION_IDLE_MINUTES"] = 5
    sign_in(client)
    clock.at = T0 + 6 * MINUTE
    assert not is_signed_in(client)


def test_last_seen_is_written_at_most_once_a_minute(client, jordan, clock):
    sign_in(client)
    client.get("/")  # the first page also writes the new session's form token
    clock.at = T0 + 50
    assert "Set-Cookie" not in client.get("/").headers  # not rewritten on every request
    clock.at = T0 + 2 * MINUTE
    assert "Set-Cookie" in client.get("/").headers  # noted as seen


def test_twelve_hours_after_sign_in_the_session_ends_even_when_in_use(app, client, jordan,
                                                                      clock):
    sign_in(client, remember=True)  # kept signed in: no idle limit, but still the lifetime
    remembered = client.get_cookie(REMEMBER).value
    clock.at = T0 + 6 * HOUR
    assert is_signed_in(client)
    assert is_signed_in(browser_with(app, remember_token=remembered))  # browser reopened
    clock.at = T0 + 11 * HOUR + 59 * MINUTE
    assert is_signed_in(client)
    clock.at = T0 + 12 * HOUR + MINUTE
    assert not is_signed_in(client)
    assert not is_signed_in(browser_with(app, remember_token=remembered))


def test_the_remember_cookie_lasts_no_longer_than_a_session(client, jordan):
    sent = datetime.now(UTC)
    response = sign_in(client, remember=True)
    [expires] = re.findall(r"Expires=([^;]+)", set_cookie_header(response, REMEMBER))
    # Flask-Login's own default is a year; a minute's leeway for the test's own pace.
    assert abs(parsedate_to_datetime(expires) - sent - timedelta(hours=12)) < timedelta(
        minutes=1)


def _queries(app, client, path: str) -> list[str]:
    with sql_statements(app) as sent:
        assert client.get(path).status_code == 200
    return queries(sent)


SIGN_IN_CHECK_TABLES = {"apprentice_staff", "apprentice_staff_roles", "apprentice_data_version"}


def test_a_kept_page_costs_the_sign_in_check_alone(app, client, make_person):
    make_person(name="Jordan Lee", email=EMAIL, roles=())  # a home page of no dashboards
    sign_in(client)
    for _ in range(2):  # the first page after signing in changes the session: not kept
        client.get("/")
    # One statement (auth.services.load_user): the person's facts, their roles and the
    # data version pages are kept by; nothing written.
    [check] = _queries(app, client, "/")
    assert check.lstrip().upper().startswith("SELECT")
    assert set(re.findall(r"\b(?:FROM|JOIN) (\w+)", check)) == SIGN_IN_CHECK_TABLES


def test_a_page_built_adds_only_the_profile_it_shows(app, client, make_person):
    make_person(name="Jordan Lee", email=EMAIL, roles=())
    app.config["APPRENTICE_PAGE_CACHE_MB"] = 0  # every page built
    sign_in(client)
    client.get("/")
    check, profile = _queries(app, client, "/")
    assert set(re.findall(r"\b(?:FROM|JOIN) (\w+)", check)) == SIGN_IN_CHECK_TABLES
    assert profile.lstrip().upper().startswith("SELECT")
    assert set(re.findall(r"\b(?:FROM|JOIN) (\w+)", profile)) == {
        "apprentice_staff", "apprentice_staff_roles"}


@pytest.mark.parametrize(
    ("seen", "kept", "at", "ended"),
    [
        (None, False, T0 + 30 * MINUTE, False),
        (None, False, T0 + 30 * MINUTE + 1, True),
        (T0 + 11 * HOUR, False, T0 + 11 * HOUR + 20 * MINUTE, False),
        (T0 + HOUR, True, T0 + 5 * HOUR, False),  # kept signed in: no idle limit
        (T0 + 12 * HOUR, True, T0 + 12 * HOUR + 1, True),  # but the lifetime holds
        (T0 + 12 * HOUR, False, T0 + 12 * HOUR + 1, True),
        (None, False, T0 - 1, True),  # a sign-in from the future is not believed
    ],
)
def test_the_rule(seen, kept, at, ended):
    assert sessions.expired(T0, seen, kept, at, idle_minutes=30, max_hours=12) is ended


def test_a_form_sent_after_the_idle_timeout_is_kept_not_acted_on(app, loop, clock):
    client = as_person(app, loop["apprentice"])
    data = typed_log_form(client, loop)
    clock.at = T0 + 31 * MINUTE
    response = client.post("/log/new", data=data)
    assert response.status_code == 401
    assert "Your sign-in has ended" in response.get_data(as_text=True)
    assert apprentice_entries(app, loop) == []


def test_an_id_without_a_sign_in_time_is_refused(app, jordan):
    """Cookies signed before sign-in times existed ("<id>:<token>") do not sign in."""
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = f"{jordan.id}:{jordan.session_token}"
    assert not is_signed_in(browser)


# -- the cookies' attributes, as sent ------------------------------------------------

def test_sign_in_cookies_are_http_only_and_same_site_lax(client, jordan):
    response = sign_in(client, remember=True)
    for name in (SESSION, REMEMBER):
        header = set_cookie_header(response, name)
        assert "HttpOnly" in header and "SameSite=Lax" in header
        assert "Secure" not in header  # plain HTTP by default, or the browser drops them


@pytest.fixture
def https_app(tmp_path, migrated_db):
    kind, source, _ = migrated_db
    if kind != "sqlite":
        pytest.skip("the cookie attributes do not depend on the database")
    shutil.copy(source, tmp_path / "apprentice.sqlite3")
    app = served(build_app(tmp_path, APPRENTICE_SECURE_COOKIES="true"))
    yield app
    app.extensions["apprentice"].database.dispose()


def test_with_secure_cookies_both_cookies_are_secure(https_app):
    from tests.factories import PersonFactory

    PersonFactory(https_app)(name="Jordan Lee", email=EMAIL)
    client = https_app.test_client()
    page = client.get("/sign-in", base_url="https://localhost").get_data(as_text=True)
    [token] = re.findall(r'name="csrf-token" content="([^"]+)"', page)
    response = client.post("/sign-in", base_url="https://localhost", data={
        "email": EMAIL, "password": DEFAULT_PASSWORD, "remember": "y", "csrf_token": token,
    })
    assert response.status_code == 302
    for name in (SESSION, REMEMBER):
        header = set_cookie_header(response, name)
        assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


# -- several app servers (issue 13) --------------------------------------------------------

def test_a_sign_in_on_one_server_holds_on_another_sharing_the_secret_key(app, two_servers,
                                                                         jordan):
    """Behind a load balancer the next request may reach another server: with one
    APPRENTICE_SECRET_KEY its session cookie and CSRF token are good there too, while a
    server with a key of its own (the ``app`` fixture's) refuses the same cookie."""
    server_a, server_b = two_servers
    on_a = server_a.test_client()
    sign_in(on_a)
    token = on_a.csrf_token()  # a form opened on A ...
    session_cookie = on_a.get_cookie(SESSION).value
    on_b = browser_with(server_b, session=session_cookie)
    assert is_signed_in(on_b)
    assert not is_signed_in(browser_with(app, session=session_cookie))
    # ... sent to B: B takes A's CSRF token, and the sign-out ends the session on A too.
    assert on_b.post("/sign-out", data={"csrf_token": token}).status_code == 302
    assert not is_signed_in(on_a)
    for server in two_servers:  # the shared key came from the environment, not a file
        assert not (Path(server.instance_path) / "secret_key").exists()
