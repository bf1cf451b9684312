"""A lost sign-in loses nothing: a form sent after the sign-in ended is kept (never acted
on), and comes back filled in, once, after signing in again."""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import func, select

from apprentice.core import kept
from apprentice.core.models import KeptForm
from apprentice.db import db_session, utcnow
from tests.factories import DEFAULT_PASSWORD
from tests.loop import TYPED, apprentice_entries, as_person, log_form, typed_log_form
from tests.support.clients import form_token_on
from tests.support.host import host_login, intranet_app, load_intranet

SIGN_IN_LINK = re.compile(r'href="(/sign-in\?next=[^"]+)"')


def _end_session(client) -> None:
    """What an expired or signed-out session looks like to the server: nothing in it."""
    with client.session_transaction() as session:
        session.clear()


def _kept_rows(app) -> list[KeptForm]:
    with app.app_context():
        return list(db_session().scalars(select(KeptForm)))


def _text(page: str) -> str:
    """The page's words as a person reads them (no tags)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()).replace(" :", ":")


def _back_link(page: str) -> str:
    """The form page the sign-in link leads back to (with its one-time key)."""
    [link] = SIGN_IN_LINK.findall(page)
    return unquote(parse_qs(urlsplit(html.unescape(link)).query)["next"][0])


def test_a_form_sent_after_the_sign_in_ended_comes_back_filled_in_once(app, loop):
    client = as_person(app, loop["apprentice"])
    data = typed_log_form(client, loop)
    _end_session(client)

    response = client.post("/log/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Your sign-in has ended" in page
    assert ("What you typed is kept: sign in again and you will be taken back to the form "
            "with it filled in.") in _text(page)
    assert apprentice_entries(app, loop) == []  # nothing was done
    target = _back_link(page)
    assert target.startswith("/log/new?kept=")
    assert TYPED not in target  # the text stays on the server, not in the link

    # Signing in again leads straight back to the form.
    signed_in = client.submit("/sign-in", {"email": loop["apprentice"].email,
                                           "password": DEFAULT_PASSWORD, "next": target})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == target
    page = client.get(target).get_data(as_text=True)
    assert "We kept what you typed before your sign-in ended" in page
    assert TYPED in page and "Next time, check the branch first." in page
    assert re.search(r'<input checked[^>]*name="activity"[^>]*value="3"', page)
    assert re.search(rf'value="{loop["competency"].id}" checked', page)
    assert _kept_rows(app) == []  # taken

    again = client.get(target).get_data(as_text=True)
    assert TYPED not in again and "We kept what you typed" not in again

    # Sent again with the page's fresh token, it is saved once.
    fresh = form_token_on(page)
    data.pop("csrf_token")  # the old one died with the session; the page gives a new one
    response = client.submit("/log/new", {**data, "form_token": fresh})
    assert response.status_code == 302
    [entry] = apprentice_entries(app, loop)
    assert entry.description == TYPED


def test_passwords_and_the_csrf_token_are_never_kept(app, loop):
    client = as_person(app, loop["apprentice"])
    data = typed_log_form(client, loop, password="correct horse", current_password="x",
                      new_password="y")
    _end_session(client)
    target = _back_link(client.post("/log/new", data=data).get_data(as_text=True))
    [row] = _kept_rows(app)
    fields = json.loads(row.payload)
    assert fields["description"] == [TYPED]
    assert not {"password", "current_password", "new_password", "csrf_token"} & set(fields)
    assert data["csrf_token"] not in row.payload and "correct horse" not in row.payload
    # Only a hash is stored (of the key and this browser's keeper cookie); the key
    # itself is only in the link.
    key = parse_qs(urlsplit(target).query)["kept"][0]
    keeper = client.get_cookie(kept.KEEPER_COOKIE).value
    assert row.key_hash == hashlib.sha256(f"{keeper}:{key}".encode()).hexdigest()
    assert key not in row.payload


def test_too_much_text_is_not_kept_but_the_page_still_says_what_to_do(app, loop):
    client = as_person(app, loop["apprentice"])
    data = typed_log_form(client, loop, reflection="x" * (kept.MAX_KEPT_CHARS + 1))
    _end_session(client)
    response = client.post("/log/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Your sign-in has ended" in page and "too long to keep" in _text(page)
    assert "/sign-in?next=" in page
    assert _kept_rows(app) == [] and apprentice_entries(app, loop) == []


def test_a_cross_site_post_is_not_kept(app, loop):
    client = as_person(app, loop["apprentice"])
    data = typed_log_form(client, loop)
    _end_session(client)
    response = client.post("/log/new", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 401
    assert "What you typed is kept" not in response.get_data(as_text=True)
    assert _kept_rows(app) == []


@pytest.mark.parametrize("key", [
    pytest.param("unknown-key", id="unknown"),
    pytest.param("x" * 500, id="absurdly-long"),
])
def test_an_unknown_key_is_ignored_without_a_word(app, loop, key):
    response = as_person(app, loop["apprentice"]).get(f"/log/new?kept={key}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "We kept what you typed" not in page and "Log a session" in page


def _draft(app, loop, client):
    """A draft Jordan saved through the log form."""
    client.submit("/log/new", log_form(client, loop["competency"].id, save_draft="1",
                                       submit=""))
    [draft] = apprentice_entries(app, loop)
    return draft


def test_a_key_taken_on_another_page_is_ignored_and_stays_for_its_own(app, loop):
    client = as_person(app, loop["apprentice"])
    draft = _draft(app, loop, client)
    data = typed_log_form(client, loop)
    _end_session(client)
    target = _back_link(client.post("/log/new", data=data).get_data(as_text=True))
    key = parse_qs(urlsplit(target).query)["kept"][0]
    client = as_person(app, loop["apprentice"], client)
    page = client.get(f"/log/{draft.id}?kept={key}").get_data(as_text=True)
    assert TYPED not in page and "We kept what you typed" not in page
    assert TYPED in client.get(target).get_data(as_text=True)


def test_a_key_works_only_in_the_browser_that_typed_the_form(app, loop):
    """Anyone may send a form signed out; their link must not fill in someone else's form."""
    stranger = app.test_client()
    data = {**log_form(as_person(app, loop["apprentice"]), loop["competency"].id,
                       description="Signed off everything, ask no questions."),
            "csrf_token": "none"}
    target = _back_link(stranger.post("/log/new", data=data).get_data(as_text=True))
    assert len(_kept_rows(app)) == 1
    victim = as_person(app, loop["apprentice"])
    page = victim.get(target).get_data(as_text=True)
    assert "ask no questions" not in page and "We kept what you typed" not in page
    assert len(_kept_rows(app)) == 1  # not taken: still there for the one who typed it
    assert "ask no questions" in as_person(app, loop["apprentice"], stranger).get(
        target).get_data(as_text=True)


def test_a_change_to_an_entry_comes_back_to_the_entrys_page(app, loop):
    client = as_person(app, loop["apprentice"])
    draft = _draft(app, loop, client)
    data = typed_log_form(client, loop)
    _end_session(client)
    target = _back_link(client.post(f"/log/{draft.id}", data=data).get_data(as_text=True))
    assert target.startswith(f"/log/{draft.id}?kept=")
    page = as_person(app, loop["apprentice"], client).get(target).get_data(as_text=True)
    assert TYPED in page and "We kept what you typed" in page
    assert apprentice_entries(app, loop)[0].description != TYPED  # nothing changed meanwhile


def test_old_kept_forms_are_swept_when_one_is_written(app, loop):
    with app.app_context():
        db_session().add(KeptForm(key_hash="0" * 64, path="/log/new", payload="{}",
                                  created_at=utcnow() - timedelta(hours=25)))
        db_session().commit()
    client = as_person(app, loop["apprentice"])
    data = typed_log_form(client, loop)
    _end_session(client)
    client.post("/log/new", data=data)
    assert [row.key_hash for row in _kept_rows(app)] != ["0" * 64]
    assert len(_kept_rows(app)) == 1


def test_a_page_that_cannot_give_text_back_keeps_nothing_and_says_so(app, loop):
    """The review queue's verify button: nothing typed to keep, nothing promised."""
    client = as_person(app, loop["mentor"])
    token = client.csrf_token()
    _end_session(client)
    response = client.post("/review/verify", data={"csrf_token": token, "entry_ids": ["1"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Your sign-in has ended" in page and "What you typed is kept" not in page
    with app.app_context():
        assert db_session().scalar(select(func.count()).select_from(KeptForm)) == 0


def test_a_signed_in_person_whose_form_expired_gets_the_text_back(app, loop):
    """Signed in still, but the form's CSRF token expired (a long reflection)."""
    client = as_person(app, loop["apprentice"])
    data = {**typed_log_form(client, loop), "csrf_token": "expired"}
    response = client.post("/log/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "nothing was changed" in page and "What you typed is kept" in _text(page)
    link = html.unescape(re.search(r'href="(/log/new\?kept=[^"]+)"', page).group(1))
    assert TYPED in client.get(link).get_data(as_text=True)
    assert apprentice_entries(app, loop) == []


# -- host mode: the intranet's own sign-in page -------------------------------------------

@pytest.fixture(scope="module")
def intranet():
    yield from load_intranet("apprentice_tests_kept_forms_intranet")


def test_in_a_host_the_link_goes_through_the_hosts_sign_in(intranet, tmp_path):
    with intranet_app(intranet, tmp_path) as app:
        with app.app_context():
            user = intranet.User(email="dana@library.example", name="Dana Reyes")
            user.set_password("reading is fun 42")
            intranet.db.session.add(user)
            intranet.db.session.commit()
        client = host_login(app, "dana@library.example", "reading is fun 42")
        token = client.csrf_token()
        _end_session(client)
        response = client.post("/training/log/new", data={
            "csrf_token": token, "description": TYPED, "minutes": "30"})
        page = response.get_data(as_text=True)
        assert response.status_code == 401 and "Your sign-in has ended" in page
        link = html.unescape(re.search(r'href="(/login\?next=[^"]+)"', page).group(1))
        target = unquote(parse_qs(urlsplit(link).query)["next"][0])
        assert target.startswith("/training/log/new?kept=")


def test_a_new_procedure_written_while_the_sign_in_ended_comes_back(app, loop):
    client = as_person(app, loop["coordinator"])
    body = "1. Check the patron's card.\n2. Place the hold.\n" * 50
    data = {"csrf_token": client.csrf_token(), "title": "Placing a hold", "body": body,
            "tags": "holds, desk"}
    _end_session(client)
    response = client.post("/procedures/new", data=data)
    assert response.status_code == 401
    target = _back_link(response.get_data(as_text=True))
    assert target.startswith("/procedures/new?kept=")
    page = as_person(app, loop["coordinator"], client).get(target).get_data(as_text=True)
    assert 'value="Placing a hold"' in page and 'value="holds, desk"' in page
    text = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert html.unescape(text).lstrip("\r\n") == body
    assert "We kept what you typed" in page


def _sign_off_url(app, loop) -> str:
    return f"/sign-offs/new?person={loop['apprentice'].id}&competency={loop['competency'].id}"


@pytest.mark.parametrize(("who", "url", "fields", "shown"), [
    pytest.param("mentor", _sign_off_url, {"level": "3", "comment": "Saw it at the desk."},
                 ["Saw it at the desk.", r'<input[^>]*\bchecked\b[^>]*name="level"[^>]*value="3"'],
                 id="sign-off"),
    pytest.param("coordinator", lambda app, loop: "/pairings/",
                 {"starts_on": "2026-01-05", "ends_on": "2026-06-30"},
                 ['value="2026-01-05"', 'value="2026-06-30"'], id="pairing"),
    pytest.param("coordinator", lambda app, loop: "/programmes/enrol",
                 {"start_date": "2026-02-02"}, ['value="2026-02-02"'], id="enrolment"),
    pytest.param("coordinator", lambda app, loop: "/people/new",
                 {"name": "Ada Kept", "email": "ada.kept@example.org", "password": "secret-1234",
                  "roles": "mentor"},
                 ['value="Ada Kept"', 'value="ada.kept@example.org"',
                  r'<input checked[^>]*name="roles"[^>]*value="mentor"'],
                 id="person"),
])
def test_other_create_forms_come_back_after_the_sign_in_ended(app, loop, who, url, fields,
                                                              shown):
    """Not only the log: every create form gives back what was typed (never a password)."""
    client = as_person(app, loop[who])
    address = url(app, loop)
    data = {"csrf_token": client.csrf_token(), **fields}
    _end_session(client)
    response = client.post(address, data=data)
    assert response.status_code == 401
    target = _back_link(response.get_data(as_text=True))
    assert target.startswith(address.split("?")[0])
    page = as_person(app, loop[who], client).get(target).get_data(as_text=True)
    assert "We kept what you typed" in page
    for piece in shown:
        assert re.search(piece, page), piece
    assert "secret-1234" not in page
