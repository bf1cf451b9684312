"""A recent confirmation (standalone sign-in): a password typed in this browser session,
at sign-in or on a sign-off, spares the mentor typing it on sign-offs for
APPRENTICE_CONFIRM_MINUTES; after that, in a session brought back by "keep me signed in",
or in a session cookie used by another browser, the form asks for it as before."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from apprentice import config as settings
from apprentice.auth import sessions
from apprentice.auth.models import SignInFailure
from apprentice.competencies.models import SupervisionLevel
from apprentice.db import db_session
from apprentice.people.services import get_person
from apprentice.training import services
from apprentice.training.models import SignOff
from tests.factories import DEFAULT_PASSWORD
from tests.support.clients import T0

MINUTE = 60

PASSWORD_BOX = re.compile(r'<input[^>]*name="password"')


@pytest.fixture
def evidence(app, loop) -> int:
    """A verified entry by the loop's apprentice for its competency, assisting the mentor."""
    with app.app_context():
        entry = services.save_entry(get_person(loop["apprentice"].id), services.EntryDetails(
            occurred_on=datetime.now(UTC).date() - timedelta(days=3), minutes=40,
            activity=int(SupervisionLevel.ASSISTED), mentor_id=loop["mentor"].id,
            competency_ids=[loop["competency"].id], description="Assisted at the desk."),
            submit=True)
        services.verify_entries([entry], get_person(loop["mentor"].id))
        return entry.id


def form_url(loop) -> str:
    return f"/sign-offs/new?person={loop['apprentice'].id}&competency={loop['competency'].id}"


def sign_in(client, person, remember=False):
    """Through the sign-in form, typing the password."""
    data = {"email": person.email, "password": DEFAULT_PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.submit("/sign-in", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def sign_off(client, loop, evidence, **extra):
    """Open the sign-off form and send it, as the page offers it, with ``extra`` added."""
    page = client.get(form_url(loop)).get_data(as_text=True)
    token = re.search(r'name="form_token"[^>]*value="([^"]*)"', page).group(1)
    return client.submit(form_url(loop), {
        "form_token": html.unescape(token), "level": str(int(SupervisionLevel.ASSISTED)),
        "entry_ids": [str(evidence)], **extra})


def sign_offs(app) -> int:
    with app.app_context():
        return len(db_session().scalars(select(SignOff)).all())


def form_page(client, loop) -> str:
    response = client.get(form_url(loop))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def confirmed_line(confirmed: int, minutes: int = 10) -> str:
    def clock_time(moment: int) -> str:
        return datetime.fromtimestamp(moment, UTC).strftime("%H:%M")

    return (f"You confirmed it is you at {clock_time(confirmed)} UTC; no password needed "
            f"until {clock_time(confirmed + minutes * MINUTE)} UTC.")


ASKED = "Error: Type your password to confirm it is you."


def asked_then_saved(app, client, loop, evidence, message: str = ASKED) -> None:
    """A sign-off without the password is refused with ``message`` next to the box and
    nothing saved; the same with the password is saved."""
    without = sign_off(client, loop, evidence)
    assert without.status_code == 200
    assert password_error(without.get_data(as_text=True)) == message
    assert sign_offs(app) == 0
    assert sign_off(client, loop, evidence, password=DEFAULT_PASSWORD).status_code == 302
    assert sign_offs(app) == 1


def password_error(page: str) -> str:
    """The message next to the password box ("" when there is none)."""
    match = re.search(r'<div class="ap-error" id="password-error">(.*?)</div>', page, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).split()) \
        if match else ""


# -- the rule on its own ----------------------------------------------------------------------

@pytest.mark.parametrize(("confirmed", "fresh", "at", "minutes", "open_"), [
    pytest.param(T0, True, T0, 10, True, id="just-typed"),
    pytest.param(T0, True, T0 + 10 * MINUTE - 1, 10, True, id="last-second"),
    pytest.param(T0, True, T0 + 10 * MINUTE, 10, False, id="ten-minutes-on"),
    pytest.param(T0, False, T0 + MINUTE, 10, False, id="session-not-fresh"),
    pytest.param(T0, True, T0, 0, False, id="zero-minutes-always-asks"),
    pytest.param(None, True, T0, 10, False, id="never-typed-in-this-session"),
    pytest.param(T0, True, T0 - MINUTE, 10, False, id="typed-in-the-future"),
])
def test_the_rule(confirmed, fresh, at, minutes, open_):
    assert sessions.confirmation_open(confirmed, fresh, at, minutes) is open_


def test_the_setting_is_a_whole_number_from_zero(app):
    assert app.config["APPRENTICE_CONFIRM_MINUTES"] == 10
    assert settings.environment_settings({"APPRENTICE_CONFIRM_MINUTES": "0"}) == {
        "APPRENTICE_CONFIRM_MINUTES": 0}
    with pytest.raises(settings.ConfigError,
                       match="APPRENTICE_CONFIRM_MINUTES must be 0 or more, got -1"):
        settings.environment_settings({"APPRENTICE_CONFIRM_MINUTES": "-1"})


@pytest.mark.parametrize(("confirmed_ago", "fresh", "minutes", "ran_out"), [
    (11 * 60, True, 10, True),  # confirmed, longer ago than the time allows
    (5 * 60, True, 10, False),  # still inside the time
    (None, True, 10, False),  # never confirmed in this browser session: nothing ran out
    (11 * 60, False, 10, False),  # brought back by "keep me signed in": never confirmed here
    (11 * 60, True, 0, False),  # 0 minutes: the password every time, nothing runs out
])
def test_what_ran_out_and_what_the_form_says(app, monkeypatch, confirmed_ago, fresh, minutes,
                                              ran_out):
    """The rules in the services (sessions.confirmation_ran_out, identity.confirm_identity)."""
    from flask import session

    from apprentice.auth.identity import confirm_identity

    monkeypatch.setattr(sessions, "now", lambda: T0)
    app.config["APPRENTICE_CONFIRM_MINUTES"] = minutes
    with app.test_request_context("/sign-offs/new", method="POST"):
        session["_fresh"] = fresh
        if confirmed_ago is not None:
            session[sessions.CONFIRMED_KEY] = T0 - confirmed_ago
        assert sessions.confirmation_ran_out() is ran_out
        said = confirm_identity("")
        if ran_out:
            assert said == (f"More than {minutes} minutes have passed since you confirmed "
                            "it is you: type your password.")
        elif minutes and fresh and confirmed_ago is not None:
            assert said is None  # inside the time: nothing asked
        else:
            assert said == "Type your password to confirm it is you."


# -- through the pages --------------------------------------------------------------------------

def test_a_sign_off_right_after_signing_in_needs_no_password(app, client, loop, evidence,
                                                            clock):
    sign_in(client, loop["mentor"])
    page = form_page(client, loop)
    assert not PASSWORD_BOX.search(page)
    assert confirmed_line(T0) in page  # "... at 15:06 UTC; ... until 15:16 UTC."

    clock.at = T0 + 9 * MINUTE
    response = sign_off(client, loop, evidence)
    assert response.status_code == 302
    assert sign_offs(app) == 1


def test_a_password_sent_inside_the_window_is_not_checked(app, client, loop, evidence, clock):
    """What a page opened before the window closed, or the bench, sends: ignored."""
    sign_in(client, loop["mentor"])
    assert sign_off(client, loop, evidence, password="not my password").status_code == 302
    assert sign_offs(app) == 1
    with app.app_context():
        assert db_session().scalars(select(SignInFailure)).all() == []


def test_after_the_window_the_password_is_asked_again(app, client, loop, evidence, clock):
    sign_in(client, loop["mentor"])
    clock.at = T0 + 10 * MINUTE
    page = form_page(client, loop)
    assert PASSWORD_BOX.search(page) and "You confirmed it is you" not in page

    without = sign_off(client, loop, evidence)
    assert without.status_code == 200
    assert password_error(without.get_data(as_text=True)) == (
        "Error: More than 10 minutes have passed since you confirmed it is you: "
        "type your password.")
    wrong = sign_off(client, loop, evidence, password="not my password")
    assert password_error(wrong.get_data(as_text=True)) == "Error: That is not your password."
    assert sign_offs(app) == 0
    # A wrong password opened nothing: the form still asks.
    page = form_page(client, loop)
    assert PASSWORD_BOX.search(page) and "You confirmed it is you" not in page

    clock.at = T0 + 12 * MINUTE
    assert sign_off(client, loop, evidence, password=DEFAULT_PASSWORD).status_code == 302
    assert sign_offs(app) == 1
    # The password typed on the sign-off starts the time again.
    page = form_page(client, loop)
    assert not PASSWORD_BOX.search(page)
    assert confirmed_line(T0 + 12 * MINUTE) in page


def test_with_zero_minutes_the_password_is_always_asked(app, client, loop, evidence, clock):
    app.config["APPRENTICE_CONFIRM_MINUTES"] = 0
    sign_in(client, loop["mentor"])
    assert PASSWORD_BOX.search(form_page(client, loop))
    asked_then_saved(app, client, loop, evidence)
    assert PASSWORD_BOX.search(form_page(client, loop))  # typing it opened nothing either


def test_a_session_brought_back_by_keep_me_signed_in_asks(app, client, loop, evidence, clock):
    sign_in(client, loop["mentor"], remember=True)
    assert not PASSWORD_BOX.search(form_page(client, loop))  # this browser session: spared
    remembered = client.get_cookie("remember_token").value

    clock.at = T0 + MINUTE  # the browser closed and opened again a minute later
    reopened = app.test_client()
    reopened.set_cookie("remember_token", remembered)
    page = form_page(reopened, loop)
    assert PASSWORD_BOX.search(page) and "You confirmed it is you" not in page
    asked_then_saved(app, reopened, loop, evidence)
    # Typed in the reopened browser: from now on that session is spared too.
    assert confirmed_line(T0 + MINUTE) in form_page(reopened, loop)


def test_a_session_cookie_in_another_browser_asks(app, client, loop, evidence, clock):
    """Flask-Login's session protection calls a session seen from another browser not
    fresh; the confirmation does not travel with the copied cookie."""
    sign_in(client, loop["mentor"])
    copied = app.test_client()
    copied.set_cookie("session", client.get_cookie("session").value)
    copied.environ_base["HTTP_USER_AGENT"] = "Another browser/1.0"
    page = form_page(copied, loop)
    assert PASSWORD_BOX.search(page) and "You confirmed it is you" not in page
    assert sign_off(copied, loop, evidence).status_code == 200
    assert sign_offs(app) == 0
