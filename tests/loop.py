"""The daily loop's common set-up for tests: a framework, an enrolled apprentice,
a paired mentor, an unpaired one and a coordinator; and clients acting as them."""

from __future__ import annotations

import re
from datetime import date, timedelta

from apprentice.competencies import services as frameworks
from apprentice.people.services import get_person
from apprentice.programmes import services as programmes
from apprentice.records import dashboards
from apprentice.training import services
from tests.factories import sql_statements


def make_loop(app, make_person) -> dict:
    apprentice = make_person(name="Jordan Lee", roles=["apprentice"])
    mentor = make_person(name="Marian Okafor", roles=["mentor"])
    other_mentor = make_person(name="Unpaired Mentor", roles=["mentor"])
    coordinator = make_person(name="Carmen Ortiz", roles=["coordinator"])
    with app.app_context():
        framework = frameworks.load_default_framework()
        electives = [a.id for a in framework.current_areas if not a.required][:3]
        programmes.enrol(apprentice, framework, start=date.today() - timedelta(days=30),
                         electives=electives)
        services.create_pairing(apprentice, mentor,
                                starts_on=date.today() - timedelta(days=30))
        competency = framework.current_areas[0].current_competencies[0]
    return {"apprentice": apprentice, "mentor": mentor, "other": other_mentor,
            "coordinator": coordinator, "competency": competency, "framework": framework}


def as_person(app, person, client=None):
    """A test client signed in as ``person`` (``client``: that browser, signed in again)."""
    client = client or app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = person.get_id()
        session["_fresh"] = True
    return client


def log_form(client, competency_id, **changes):
    """The quick-log form as the page offers it, filled in, with ``changes``."""
    page = client.get("/log/new").get_data(as_text=True)
    token = re.search(r'name="form_token"[^>]*value="([^"]+)"', page).group(1)
    # The mentor they pick: the first offered (the list may start at "Choose...").
    select_box = re.search(r'<select[^>]*id="mentor_id".*?</select>', page, re.S).group(0)
    mentor = re.search(r'<option[^>]*value="(\d+)"', select_box).group(1)
    data = {"occurred_on": date.today().isoformat(), "minutes": "45", "activity": "5",
            "mentor_id": mentor, "competency_ids": [str(competency_id)],
            "description": "Ran the desk on my own for an hour.", "form_token": token,
            "submit": "1"}
    data.update(changes)
    return data


# What a person typed into the log form, for tests of forms sent after a sign-in ended.
TYPED = "Helped a patron place a hold on the new Le Guin; explained the pickup shelf."


def typed_log_form(client, loop, **changes) -> dict:
    """The log form as the person filled it in while signed in, with its CSRF token."""
    data = log_form(client, loop["competency"].id, **{
        "description": TYPED, "activity": "3",
        "reflection": "Next time, check the branch first.", **changes})
    data["csrf_token"] = client.csrf_token()
    return data


def apprentice_entries(app, loop):
    """The loop apprentice's entries, as stored."""
    with app.app_context():
        return services.entries_of(loop["apprentice"].id)


def log_one(app, loop, **changes):
    """The apprentice logs their first entry through the quick-log form (submitted, unless
    ``changes`` say otherwise); that entry."""
    client = as_person(app, loop["apprentice"])
    response = client.submit("/log/new", log_form(client, loop["competency"].id, **changes))
    assert response.status_code == 302
    with app.app_context():
        [entry] = services.entries_of(loop["apprentice"].id)
    return entry


def build_dashboards(app, loop) -> None:
    """The apprentice's, the mentor's and the coordinator's dashboards, in a request of
    their own (nothing cached from an earlier one)."""
    with app.app_context(), app.test_request_context():
        dashboards.apprentice_dashboard(get_person(loop["apprentice"].id))
        dashboards.mentor_dashboard(get_person(loop["mentor"].id))
        dashboards.coordinator_dashboard()


def statements_sent(app, build) -> int:
    """How many SQL statements ``build()`` sends (it pushes its own contexts)."""
    with sql_statements(app) as sent:
        build()
    return len(sent)


def sign_off_after_practice(app, apprentice_id: int, mentor_id: int, competency_id: int,
                            level: int = 5) -> None:
    """An hour's entry two days ago, verified by the mentor and signed off at ``level``
    (Independent by default): the shortest real path to a signed-off competency."""
    with app.app_context():
        apprentice, mentor = get_person(apprentice_id), get_person(mentor_id)
        entry = services.save_entry(apprentice, services.EntryDetails(
            occurred_on=date.today() - timedelta(days=2), minutes=60, activity=level,
            mentor_id=mentor.id, competency_ids=[competency_id],
            description="Ran the desk alone all afternoon."), submit=True)
        services.verify_entries([entry], mentor)
        services.sign_off(mentor, apprentice, frameworks.get_competency(competency_id),
                          level=level, entry_ids=[entry.id])
