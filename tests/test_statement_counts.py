"""SQL statements per page and per write stay flat as the data grows.

A world of 2 apprentices is measured, then grown to 12 (more entries for everyone,
more pairings, sign-offs and procedures) and measured again: every page the issue
names, and the writes of the daily loop, must send exactly as many statements. A page
that loads something once per apprentice, entry or pairing (an N+1) fails here.
Each count is of a request in a warm process (the same request asked once before), as
a server answers all day: published frameworks are kept per process (programmes.shapes).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from apprentice.competencies import services as frameworks
from apprentice.kb import services as kb
from apprentice.people.services import get_person
from apprentice.programmes import services as programmes
from apprentice.training import services
from tests.factories import DEFAULT_PASSWORD, sql_statements
from tests.loop import as_person
from tests.support import dates
from tests.support.clients import form_token

SMALL, LARGE = 2, 12


class World:
    """A coordinator, two mentors, apprentices enrolled and paired (with Marian for every
    area, every other one with Samuel for one area too), each with entries in every
    state and a sign-off; procedures in the wiki. ``grow(n)`` adds apprentices."""

    def __init__(self, app, make_person):
        self.app, self.make_person = app, make_person
        self.coordinator = make_person(name="Carmen Ortiz", roles=["coordinator"])
        self.mentor = make_person(name="Marian Okafor", roles=["mentor"])
        self.second = make_person(name="Samuel Reyes", roles=["mentor"])
        self.apprentices: list = []
        self.procedures: list[int] = []
        self.signed = 0  # competencies signed off by the sign-off write
        with app.app_context():
            framework = frameworks.load_default_framework()
            self.framework_id = framework.id
            areas = framework.current_areas
            self.electives = [a.id for a in areas if not a.required][:3]
            self.area_id = areas[0].id
            self.competencies = [c.id for c in areas[0].current_competencies]

    def grow(self, apprentices: int) -> None:
        start, today = len(self.apprentices), dates.today()
        new = [self.make_person(name=f"Apprentice {n:02}")
               for n in range(start, start + apprentices)]
        with self.app.app_context():
            framework = frameworks.get_framework(self.framework_id)
            mentor, second = get_person(self.mentor.id), get_person(self.second.id)
            for n, made in enumerate(new, start):
                person = get_person(made.id)
                self.apprentices.append(person)
                programmes.enrol(person, framework, start=today - timedelta(days=60),
                                 electives=self.electives)
                services.create_pairing(person, mentor, starts_on=today - timedelta(days=60))
                if n % 2:
                    services.create_pairing(person, second, starts_on=today - timedelta(days=9),
                                            area_ids=[self.area_id])
                self.procedures.append(kb.create(kb.ProcedureDraft(
                    title=f"Interlibrary loan requests, desk {n}",
                    body="Take the request at the circulation desk; check the interlibrary "
                         "loan form.", tags=["ill"], competency_ids=self.competencies[:1],
                ), mentor, publish=True).id)
            # Everyone logs more: the first apprentice's own pages grow too.
            for made in self.apprentices:
                person = get_person(made.id)
                for k in range(3):
                    competency = self.competencies[(len(self.apprentices) + k) % 4 + 1]
                    entry = services.save_entry(person, services.EntryDetails(
                        occurred_on=today - timedelta(days=k + 1), minutes=30, activity=5,
                        mentor_id=mentor.id, competency_ids=[competency],
                        description=f"Desk shift {k}."), submit=True)
                    if k == 0:
                        services.verify_entries([entry], mentor)
                    elif k == 1:
                        services.return_entry(entry, mentor, "Say which desk.")
                if made not in new:
                    continue
                verified = services.save_entry(person, services.EntryDetails(
                    occurred_on=today - timedelta(days=5), minutes=60, activity=5,
                    mentor_id=mentor.id, competency_ids=[self.competencies[0]],
                    description="Ran the desk alone."), submit=True)
                services.verify_entries([verified], mentor)
                services.sign_off(mentor, person, frameworks.get_competency(
                    self.competencies[0]), level=5, entry_ids=[verified.id])

    @property
    def first(self):
        return self.apprentices[0]


PAGES = [
    pytest.param("first", "/", id="apprentice-home"),
    pytest.param("mentor", "/review/", id="mentor-review-queue"),
    pytest.param("mentor", "/", id="mentor-home"),
    pytest.param("coordinator", "/", id="coordinator-home-matrix"),
    pytest.param("coordinator", "/programmes/", id="cohort-list"),
    pytest.param("coordinator", "/people/", id="people-list"),
    pytest.param("mentor", "/apprentices/{first}", id="apprentice-page"),
    pytest.param("first", "/programmes/mine", id="own-programmes"),
    pytest.param("first", "/log/", id="own-log"),
    pytest.param("first", "/log/new", id="quick-log-form"),
    pytest.param("first", "/procedures/{procedure}", id="procedure-page"),
    pytest.param("first", "/procedures/?q=interlibrary+loan", id="search-page"),
    pytest.param("first", "/api/search?q=circulation+desk", id="search-api"),
]


def statements_for(world: World, who: str, url: str) -> int:
    """Statements of a second identical request (the first warms the process)."""
    client = as_person(world.app, getattr(world, who))
    url = url.format(first=world.first.id, procedure=world.procedures[0])
    assert client.get(url).status_code == 200
    with sql_statements(world.app) as sent:
        response = client.get(url)
        response.get_data()
    assert response.status_code == 200, url
    return len(sent)


@pytest.fixture
def world(app, make_person) -> World:
    # What building each page costs: a page asked again is not kept here (a kept page
    # costs the sign-in check's one statement, tests/test_page_cache.py).
    app.config["APPRENTICE_PAGE_CACHE_MB"] = 0
    world = World(app, make_person)
    world.grow(SMALL)
    return world


@pytest.mark.parametrize(("who", "url"), PAGES)
def test_a_page_sends_as_many_statements_for_12_apprentices_as_for_2(world, who, url):
    small = statements_for(world, who, url)
    world.grow(LARGE - SMALL)
    large = statements_for(world, who, url)
    assert small == large, f"{url}: {small} statements for {SMALL}, {large} for {LARGE}"


def test_the_pages_found_the_world_they_count(world):
    """The counts above are of pages that show the data (not of empty pages)."""
    world.grow(LARGE - SMALL)
    coordinator = as_person(world.app, world.coordinator).get("/").get_data(as_text=True)
    assert "Apprentice 11" in coordinator and "Apprentice 00" in coordinator
    queue = as_person(world.app, world.mentor).get("/review/").get_data(as_text=True)
    assert all(f"Apprentice {n:02}" in queue for n in range(LARGE))
    found = as_person(world.app, world.first).get("/api/search?q=circulation+desk").get_json()
    assert found["total"] == LARGE


# -- the writes ------------------------------------------------------------------------

def quick_log(world: World, client) -> tuple[str, dict]:
    token = form_token(client, "/log/new")
    return "/log/new", {
        "occurred_on": dates.today().isoformat(), "minutes": "45", "activity": "3",
        "mentor_id": str(world.mentor.id), "competency_ids": [str(world.competencies[2])],
        "description": "Ran the holds shelf.", "form_token": token, "submit": "1"}


def verify(world: World, client) -> tuple[str, dict]:
    with world.app.app_context():
        entry = services.save_entry(get_person(world.first.id), services.EntryDetails(
            occurred_on=dates.today(), minutes=20, activity=3, mentor_id=world.mentor.id,
            competency_ids=[world.competencies[1]], description="Shelf check."), submit=True)
    return "/review/verify", {"entry_id": str(entry.id)}


def sign_off(world: World, client) -> tuple[str, dict]:
    """A sign-off of the next competency not signed off yet, citing a verified entry."""
    with world.app.app_context():
        world.signed += 1
        competency = world.competencies[world.signed]
        entry = services.save_entry(get_person(world.first.id), services.EntryDetails(
            occurred_on=dates.today(), minutes=20, activity=5, mentor_id=world.mentor.id,
            competency_ids=[competency], description="Did it alone."), submit=True)
        services.verify_entries([entry], get_person(world.mentor.id))
    url = f"/sign-offs/new?person={world.first.id}&competency={competency}"
    token = form_token(client, url)
    return url, {"level": "5", "entry_ids": [str(entry.id)], "comment": "Seen at the desk.",
                 "password": DEFAULT_PASSWORD, "form_token": token, "submit": "1"}


WRITES = [pytest.param("first", quick_log, id="quick-log"),
          pytest.param("mentor", verify, id="verify"),
          pytest.param("mentor", sign_off, id="sign-off")]


def write_statements(world: World, who: str, form) -> int:
    """Statements of the second of two such writes (the first warms the process and
    leaves one of its kind on record, as a server's day has)."""
    client = as_person(world.app, getattr(world, who))
    for _ in range(2):
        url, data = form(world, client)
        data["csrf_token"] = client.csrf_token()
        with sql_statements(world.app) as sent:
            response = client.post(url, data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return len(sent)


@pytest.mark.parametrize(("who", "form"), WRITES)
def test_a_write_sends_as_many_statements_for_12_apprentices_as_for_2(world, who, form):
    small = write_statements(world, who, form)
    world.grow(LARGE - SMALL)
    large = write_statements(world, who, form)
    assert small == large, f"{small} statements for {SMALL}, {large} for {LARGE}"


# -- pages listing people page ----------------------------------------------------------

@pytest.mark.parametrize("url", [pytest.param("/", id="coordinator-matrix"),
                                 pytest.param("/programmes/", id="cohort-list")])
def test_lists_of_apprentices_come_a_page_at_a_time(world, url):
    world.grow(LARGE - SMALL)
    world.app.config["APPRENTICE_PAGE_SIZE"] = 5
    client = as_person(world.app, world.coordinator)
    first = client.get(url).get_data(as_text=True)
    assert [n for n in range(LARGE) if f"Apprentice {n:02}" in first] == [0, 1, 2, 3, 4]
    assert "Page 1 of 3" in first
    last = client.get(f"{url}?page=9").get_data(as_text=True)  # past the end: the last
    assert [n for n in range(LARGE) if f"Apprentice {n:02}" in last] == [10, 11]
    assert "Page 3 of 3" in last and 'rel="next"' not in last


def test_pages_of_namesakes_show_each_programme_once_and_any_page_number_answers(world):
    """Namesakes who started on the same day still come in one fixed order, so paging
    shows each once; a page number of any kind answers (the first or the last page)."""
    namesakes = [world.make_person(name="Sam Lee") for _ in range(5)]
    with world.app.app_context():
        framework = frameworks.get_framework(world.framework_id)
        for made in namesakes:
            programmes.enrol(get_person(made.id), framework,
                             start=dates.today() - timedelta(days=30),
                             electives=world.electives)
    world.app.config["APPRENTICE_PAGE_SIZE"] = 2
    client = as_person(world.app, world.coordinator)
    seen, page, html = [], 0, 'rel="next"'
    while 'rel="next"' in html:  # every page, first to last
        page += 1
        html = client.get(f"/programmes/?page={page}").get_data(as_text=True)
        seen += re.findall(r'href="([^"]+)">Sam Lee</a>', html)
    assert len(seen) == len(set(seen)) == len(namesakes), seen
    for typed in ["abc", "-1", "0", "2.5", "", "9" * 40]:
        response = client.get(f"/?page={typed}")
        assert response.status_code == 200, typed
        html = response.get_data(as_text=True)
        # A number past the end shows the last page; anything else the first.
        assert re.search(r"Page (\d+) of \1\b" if typed == "9" * 40 else r"Page 1 of", html), typed
