"""Share links (apprentice/sharing): the apprentice makes a link to their portfolio for
someone without an account, with an expiry date; the link opens the portfolio read-only
without signing in, every view counted; revoked, expired and unknown links show one
plain page with no data; only the token's hash is stored."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from apprentice.audit import describe
from apprentice.audit.models import AuditRecord
from apprentice.db import db_session
from apprentice.people.services import get_person
from apprentice.sharing import services as sharing
from apprentice.sharing.models import LinkState, ShareLink, ShareLinkViews
from apprentice.validation import Invalid
from tests.factories import sql_statements
from tests.loop import as_person
from tests.support.audit_activity import sign_off_in_the_loop
from tests.support.clients import form_token
from tests.support.tables import changed_tables, snapshot

GONE = "This link has expired or been withdrawn."
SHARED_URL = re.compile(r'value="(http://[^"]+/shared/([A-Za-z0-9_-]+))"')
LABEL = "Riverside Library hiring panel"


def links_url(person) -> str:
    return f"/apprentices/{person.id}/sharing"


def field_error(page: str, field_id: str) -> str:
    """The text of the message next to a field ("" when there is none)."""
    found = re.search(rf'<div class="ap-error" id="{field_id}-error">(.*?)</div>', page, re.S)
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())
                        ) if found else ""


def make(app, person, *, label=LABEL, days=30, signed_only=False, today=None):
    """A link made through the service: (its id, its token)."""
    with app.app_context():
        made = sharing.create(get_person(person.id), label=label,
                              expires_on=(today or date.today()) + timedelta(days=days),
                              signed_only=signed_only, by=get_person(person.id), today=today)
        return made.link.id, made.token


def counts(app, link_id) -> tuple[int, object]:
    with app.app_context():
        row = db_session().get(ShareLinkViews, link_id)
        return row.views, row.last_viewed_at


def link_rows(app) -> int:
    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(ShareLink))


@pytest.fixture
def signed(app, loop):
    """Jordan's first competency signed off by Marian at "does it independently"."""
    return sign_off_in_the_loop(app, loop)


# -- making a link ------------------------------------------------------------------------

def test_the_new_link_is_shown_once_and_only_its_hash_is_stored(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    page = client.get(links_url(jordan)).get_data(as_text=True)
    default = (date.today() + timedelta(days=30)).isoformat()
    assert f'value="{default}"' in page  # 30 days unless changed
    response = client.post(links_url(jordan), data={
        "csrf_token": client.csrf_token(), "form_token": form_token(client, links_url(jordan)),
        "label": f"  {LABEL} ", "expires_on": default, "shows": "signed"})
    assert response.status_code == 200
    made = response.get_data(as_text=True)
    url, token = SHARED_URL.search(made).groups()
    assert "only time it is shown" in made
    assert len(token) == 43  # secrets.token_urlsafe(32)
    with app.app_context():
        [link] = db_session().scalars(select(ShareLink)).all()
        assert (link.person_id, link.label, link.expires_on, link.signed_only) == (
            jordan.id, LABEL, date.fromisoformat(default), True)
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
        stored = [str(getattr(link, c.key)) for c in ShareLink.__table__.columns]
        assert not any(token in value for value in stored)
        [audited] = db_session().scalars(select(AuditRecord).where(
            AuditRecord.action == "sharelink.created")).all()
        assert token not in audited.details and link.token_hash not in audited.details
    # Never again: the list shows the link, not its address.
    listed = client.get(links_url(jordan)).get_data(as_text=True)
    assert LABEL in listed and token not in listed
    assert app.test_client().get(url.removeprefix("http://localhost")).status_code == 200


@pytest.mark.parametrize("label, expires, field, message", [
    pytest.param(" \t ", "+30", "label", "Say whom the link is for", id="no label"),
    pytest.param("x" * 121, "+30", "label", "the limit is 120", id="label too long"),
    pytest.param(LABEL, "", "expires_on", "Enter the last day the link works.", id="no date"),
    pytest.param(LABEL, "-1", "expires_on", "has passed: choose today or a later day",
                 id="a past day"),
    pytest.param(LABEL, "+366", "expires_on", "A link works for a year at most",
                 id="over a year"),
    pytest.param(LABEL, "31/12/2026", "expires_on", "Not a valid date", id="not a date"),
])
def test_a_refused_link_says_why_next_to_the_field(app, loop, label, expires, field, message):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    if expires[:1] in "+-" and expires:
        expires = (date.today() + timedelta(days=int(expires))).isoformat()
    response = client.post(links_url(jordan), data={
        "csrf_token": client.csrf_token(), "label": label, "expires_on": expires,
        "shows": "all"})
    assert response.status_code == 200
    assert message in field_error(response.get_data(as_text=True), field)
    assert link_rows(app) == 0


def test_today_and_a_year_from_today_are_both_allowed(app, loop):
    with app.app_context():
        jordan = get_person(loop["apprentice"].id)
        for days in (0, 365):
            sharing.create(jordan, label=LABEL, expires_on=date.today() + timedelta(days=days),
                           signed_only=False, by=jordan)
    assert link_rows(app) == 2


def test_a_form_sent_twice_makes_one_link(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    data = {"csrf_token": client.csrf_token(), "form_token": form_token(client, links_url(jordan)),
            "label": LABEL, "expires_on": (date.today() + timedelta(days=5)).isoformat(),
            "shows": "all"}
    first = client.post(links_url(jordan), data=data).get_data(as_text=True)
    again = client.post(links_url(jordan), data=data).get_data(as_text=True)
    assert SHARED_URL.search(first) and not SHARED_URL.search(again)
    assert "already" in again.lower()
    assert link_rows(app) == 1


def test_only_the_apprentice_makes_a_link(app, loop):
    """A coordinator may revoke Jordan's links, not make one for Jordan (403, nothing
    made); the service refuses too."""
    jordan, carmen = loop["apprentice"], loop["coordinator"]
    client = as_person(app, carmen)
    assert client.get(links_url(jordan)).status_code == 200
    response = client.post(links_url(jordan), data={
        "csrf_token": client.csrf_token(), "label": LABEL, "shows": "all",
        "expires_on": (date.today() + timedelta(days=5)).isoformat()})
    assert response.status_code == 403
    with app.app_context(), pytest.raises(Invalid):
        sharing.create(get_person(jordan.id), label=LABEL, signed_only=False,
                       expires_on=date.today(), by=get_person(carmen.id))
    assert link_rows(app) == 0


def test_twenty_working_links_at_once_at_most(app, loop):
    for _ in range(sharing.MAX_ACTIVE):
        make(app, loop["apprentice"])
    with app.app_context(), pytest.raises(Invalid, match="Revoke one"):
        jordan = get_person(loop["apprentice"].id)
        sharing.create(jordan, label=LABEL, expires_on=date.today(), signed_only=False,
                       by=jordan)


# -- opening a link -----------------------------------------------------------------------

def test_the_link_opens_the_portfolio_without_signing_in_and_counts_views(app, loop, signed):
    link_id, token = make(app, loop["apprentice"])
    visitor = app.test_client()
    assert counts(app, link_id) == (0, None)
    response = visitor.get(f"/shared/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    code = loop["competency"].code
    assert "Jordan Lee" in page and code in page and "Marian Okafor" in page
    assert "does it independently" in page.lower()  # the level of the sign-off
    # Read-only, and nothing of the signed-in app: no form, no navigation, no cookie.
    assert "<form" not in page and "csrf-token" not in page
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert counts(app, link_id)[0] == 1
    visitor.get(f"/shared/{token}")
    as_person(app, loop["mentor"]).get(f"/shared/{token}")  # signed in: a view too
    views, last = counts(app, link_id)
    assert views == 3 and last is not None


def test_a_signed_off_only_link_leaves_out_the_rest(app, loop, signed):
    _, signed_token = make(app, loop["apprentice"], signed_only=True)
    _, all_token = make(app, loop["apprentice"], signed_only=False)
    with app.app_context():
        area = loop["framework"].current_areas[0]
        unsigned = [c.code for c in area.current_competencies if c.id != loop["competency"].id]
    client = app.test_client()
    only = client.get(f"/shared/{signed_token}").get_data(as_text=True)
    everything = client.get(f"/shared/{all_token}").get_data(as_text=True)
    assert loop["competency"].code in only and loop["competency"].code in everything
    assert unsigned[0] in everything and unsigned[0] not in only


def revoked(app, loop) -> str:
    link_id, token = make(app, loop["apprentice"])
    with app.app_context():
        sharing.revoke(db_session().get(ShareLink, link_id), get_person(loop["apprentice"].id))
    return token


def expired(app, loop) -> str:
    """Made ten days ago to work until yesterday."""
    return make(app, loop["apprentice"], days=9, today=date.today() - timedelta(days=10))[1]


def unknown(app, loop) -> str:
    make(app, loop["apprentice"])
    return "A" * 43


def near_miss(app, loop) -> str:
    """A working token with its last character changed."""
    token = make(app, loop["apprentice"])[1]
    return token[:-1] + ("B" if token[-1] != "B" else "C")


@pytest.mark.parametrize("which", [revoked, expired, unknown, near_miss],
                         ids=lambda f: f.__name__)
def test_a_link_that_opens_nothing_shows_one_plain_page(app, loop, signed, which):
    """Revoked, expired and unknown look the same (404, the same bytes), with nothing of
    anyone's record, and the visit is not counted."""
    token = which(app, loop)
    before = snapshot(app)
    response = app.test_client().get(f"/shared/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert GONE in page
    for shown in ("Jordan Lee", loop["competency"].code, "Marian Okafor", LABEL):
        assert shown not in page
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert changed_tables(before, snapshot(app)) == []
    plain = app.test_client().get("/shared/not-a-token").get_data()
    assert response.get_data() == plain


def test_the_service_takes_the_day_to_judge_expiry_by(app, loop):
    link_id, token = make(app, loop["apprentice"], days=3)
    last_day = date.today() + timedelta(days=3)
    with app.app_context():
        assert sharing.open_link(token, today=last_day).id == link_id
        assert sharing.open_link(token, today=last_day + timedelta(days=1)) is None
        assert db_session().get(ShareLink, link_id).state_on(
            last_day + timedelta(days=1)) == LinkState.EXPIRED


# -- revoking -----------------------------------------------------------------------------

def revoke_url(person_id, link_id) -> str:
    return f"/apprentices/{person_id}/sharing/{link_id}/revoke"


@pytest.mark.parametrize("who", ["apprentice", "coordinator"])
def test_the_apprentice_or_a_coordinator_revokes_a_link(app, loop, who):
    jordan = loop["apprentice"]
    link_id, token = make(app, jordan)
    client = as_person(app, loop[who])
    response = client.post(revoke_url(jordan.id, link_id),
                           data={"csrf_token": client.csrf_token()})
    assert response.status_code == 302
    assert app.test_client().get(f"/shared/{token}").status_code == 404
    listed = client.get(links_url(jordan)).get_data(as_text=True)
    assert "Revoked" in listed and "no longer opens" in listed
    again = client.post(revoke_url(jordan.id, link_id), data={"csrf_token": client.csrf_token()},
                        follow_redirects=True).get_data(as_text=True)
    assert "already revoked" in again
    with app.app_context():
        link = db_session().get(ShareLink, link_id)
        assert link.revoked_by_id == loop[who].id
        assert db_session().scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "sharelink.revoked")) == 1


@pytest.mark.parametrize("who, address, status", [
    pytest.param("other apprentice", "owner's", 404, id="another apprentice"),
    pytest.param("other apprentice", "own", 404, id="another apprentice, own address"),
    pytest.param("mentor", "owner's", 403, id="Jordan's mentor"),
    pytest.param("coordinator", "own", 404, id="a coordinator at the wrong address"),
])
def test_nobody_else_revokes_a_link(app, loop, make_person, who, address, status):
    jordan = loop["apprentice"]
    people = {"other apprentice": make_person(name="Sam Other", roles=["apprentice"]),
              "mentor": loop["mentor"], "coordinator": loop["coordinator"]}
    link_id, token = make(app, jordan)
    person = people[who]
    client = as_person(app, person)
    before = snapshot(app)
    owner = jordan.id if address == "owner's" else person.id
    response = client.post(revoke_url(owner, link_id), data={"csrf_token": client.csrf_token()})
    assert response.status_code == status
    assert changed_tables(before, snapshot(app)) == []  # zero rows changed
    assert app.test_client().get(f"/shared/{token}").status_code == 200


@pytest.mark.parametrize("roles", [pytest.param(["mentor"], id="a mentor"),
                                   pytest.param(["apprentice"], id="another apprentice")])
def test_the_service_refuses_to_revoke_for_anyone_else(app, loop, make_person, roles):
    """The rule is the service's (sharing.permissions.may_revoke_link), not only the page's."""
    person = make_person(name="Sam Other", roles=roles)
    link_id, token = make(app, loop["apprentice"])
    with app.app_context():
        link = db_session().get(ShareLink, link_id)
        with pytest.raises(Invalid, match="Only the apprentice or a coordinator"):
            sharing.revoke(link, get_person(person.id))
        assert db_session().get(ShareLink, link_id).revoked_at is None
    assert app.test_client().get(f"/shared/{token}").status_code == 200


def test_another_apprentice_cannot_see_or_use_the_list(app, loop, make_person):
    sam = make_person(name="Sam Other", roles=["apprentice"])
    make(app, loop["apprentice"])
    client = as_person(app, sam)
    assert client.get(links_url(loop["apprentice"])).status_code == 404
    assert as_person(app, loop["mentor"]).get(links_url(loop["apprentice"])).status_code == 403


# -- the list and where it is linked from -------------------------------------------------

def test_the_list_shows_each_link_with_its_views_and_state(app, loop):
    jordan = loop["apprentice"]
    _, working = make(app, jordan, label="Branch manager")
    make(app, jordan, label="Old application", days=1, today=date.today() - timedelta(days=5))
    gone_id, _ = make(app, jordan, label="Sent by mistake")
    with app.app_context():
        sharing.revoke(db_session().get(ShareLink, gone_id), get_person(jordan.id))
    app.test_client().get(f"/shared/{working}")
    page = as_person(app, jordan).get(links_url(jordan)).get_data(as_text=True)
    rows = {label: " ".join(re.sub(r"<[^>]+>", " ", row).split())
            for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
            for label in ("Branch manager", "Old application", "Sent by mistake")
            if label in row}
    today = date.today().isoformat()
    expires = (date.today() + timedelta(days=30)).isoformat()
    assert rows["Branch manager"].startswith(f"Branch manager Everything {today} {expires} 1 ")
    assert "Active" in rows["Branch manager"] and "Revoke the link" in rows["Branch manager"]
    assert " 0 Never Expired" in rows["Old application"]
    assert "Revoked" in rows["Sent by mistake"]
    assert "Revoke the link" not in rows["Old application"] + rows["Sent by mistake"]


def test_the_list_is_read_in_a_fixed_number_of_queries(app, loop):
    """However many links, revoked by whomever: the same few queries."""
    jordan = loop["apprentice"]

    def queries_for_the_list() -> int:
        with app.app_context(), sql_statements(app) as sent:
            for link in sharing.links_of(jordan.id):
                assert link.views >= 0 and (link.revoked_by is None or link.revoked_by.name)
        return len(sent)

    def add(n: int) -> None:
        for _ in range(n):
            link_id, _token = make(app, jordan)
            with app.app_context():
                sharing.revoke(db_session().get(ShareLink, link_id), get_person(
                    loop["coordinator"].id))

    add(1)
    few = queries_for_the_list()
    add(6)
    # The links with their counts, who revoked them, and those people's roles.
    assert queries_for_the_list() == few <= 3


def test_the_home_page_and_the_apprentice_page_link_to_the_list(app, loop):
    jordan = loop["apprentice"]
    home = as_person(app, jordan).get("/").get_data(as_text=True)
    assert f'href="{links_url(jordan)}"' in home
    record = f"/apprentices/{jordan.id}"
    by_coordinator = as_person(app, loop["coordinator"]).get(record).get_data(as_text=True)
    assert f'href="{links_url(jordan)}"' in by_coordinator
    by_mentor = as_person(app, loop["mentor"]).get(record).get_data(as_text=True)
    assert "Share links" not in by_mentor


# -- the audit trail ----------------------------------------------------------------------

def test_making_and_revoking_are_audited_in_words(app, loop):
    jordan, carmen = loop["apprentice"], loop["coordinator"]
    expires = date.today() + timedelta(days=30)
    link_id, _ = make(app, jordan, signed_only=True)
    with app.app_context():
        sharing.revoke(db_session().get(ShareLink, link_id), get_person(carmen.id))
        records = list(db_session().scalars(select(AuditRecord).where(
            AuditRecord.action.like("sharelink.%")).order_by(AuditRecord.id)))
        sentences = [str(s) for _, s in describe.describe_all(records)]
    assert sentences == [
        f"Jordan Lee made their share link for '{LABEL}' (signed-off competencies only), "
        f"working until {expires.day} {expires:%B %Y}",
        f"Carmen Ortiz revoked Jordan Lee's share link for '{LABEL}'",
    ]
