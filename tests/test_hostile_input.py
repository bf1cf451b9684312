"""Hostile input, property-based (issue 10, point 5): Hypothesis sends every form and
query of the app odd text (control characters, NUL, lone surrogates, right-to-left
marks, emoji, combining marks, a megabyte), numbers and dates out of range, other
people's ids, repeated and missing fields.

Whatever it sends: no 500 and no logged exception; a refusal says why (an error
summary, a field error, a flash, or a friendly error page); a refused request changes
no row; an accepted one stores what was sent (modulo the normalisation each field
documents: stripped, CR LF as LF), never cut short. JSON endpoints answer JSON. Every
CSV the app writes keeps cells that start like a formula from running.

The routes come from ``app.url_map``: a POST route missing from
tests/support/hostile.py ENDPOINTS fails ``test_every_post_route_has_a_hostile_case``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
import zlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from apprentice.competencies import services as frameworks
from apprentice.competencies.interchange import AreaSpec, CompetencySpec, FrameworkSpec
from apprentice.competencies.models import AreaKind
from apprentice.db import db_session
from apprentice.kb import glossary, search
from apprentice.people import services as people
from apprentice.people.models import StaffProfile
from apprentice.training import services as training
from tests.conftest import app_on_copy
from tests.factories import PersonFactory
from tests.support.hostile import (
    ENDPOINTS,
    EXTRA_FIELDS,
    QUERIES,
    QUERY_EXAMPLES,
    World,
    as_sent,
    fingerprint,
    form_body,
    hostile_values,
    upload,
)
from tests.support.tables import changed_tables

EXAMPLES = 15
# No shrinking phase: a failure is reported within the time budget (the drawn values
# are labelled, so the report still says which field got what).
HOSTILE = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                   phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                          HealthCheck.filter_too_much])
# What a page that refuses shows (apprentice/macros/forms.html, _flashes.html, errors/).
REFUSAL_MARKS = ("ap-error-summary", 'class="ap-error"', "ap-flash-error", "ap-error-page")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
APP = Path(__file__).parents[1] / "apprentice"


class ErrorLog(logging.Handler):
    """Every error the app logs (an exception caught and logged is still a failure)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(scope="module")
def world(migrated_db, tmp_path_factory):
    """One app and one world for the module (Hypothesis runs many examples per test;
    each example makes the fresh records it uses up)."""
    with app_on_copy(migrated_db, tmp_path_factory.mktemp("hostile")) as app:
        errors = ErrorLog()
        app.logger.addHandler(errors)
        made = World(app, PersonFactory(app))
        with app.app_context():
            search.rebuild()  # the world's procedures findable, whichever test runs first
        made.errors = errors
        yield made
        app.logger.removeHandler(errors)


def post_routes(app) -> set[tuple[str, str]]:
    return {(rule.rule, "POST") for rule in app.url_map.iter_rules()
            if "POST" in rule.methods and rule.endpoint.startswith("apprentice.")}


def test_every_post_route_has_a_hostile_case(world):
    """A new form gets hostile input too: add it to ENDPOINTS (tests/support/hostile.py)."""
    routes = post_routes(world.app)
    assert routes - set(ENDPOINTS) == set(), "POST routes without a hostile case"
    assert set(ENDPOINTS) - routes == set(), "hostile cases for routes that are gone"
    assert len(routes) >= 40


def pop_flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.pop("_flashes", []))


def pairs_of(form: dict) -> list[tuple[str, str]]:
    return [(name, value) for name, values in form.items()
            for value in (values if isinstance(values, list) else [values])]


def hostile_form(data, base: dict, foreign_ids: list[str], stored=()) -> dict:
    """``base`` with one to three fields (or forged extra ones) replaced by hostile
    values, repeated, or left out. Half the time the first is a field whose text is
    stored (``stored``): where text is cut short or mangled, if anywhere."""
    values = hostile_values(foreign_ids)
    names = sorted(set(base) | set(EXTRA_FIELDS))
    form = dict(base)
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3,
                                unique=True), label="fields")
    if stored and data.draw(st.booleans(), label="a stored field first"):
        first_field = data.draw(st.sampled_from(sorted(stored)), label="stored field")
        chosen = [first_field, *(name for name in chosen if name != first_field)]
    for name in chosen:
        how = data.draw(st.sampled_from(["replace", "replace", "replace", "repeat", "drop"]),
                        label=f"how {name}")
        if how == "drop":
            form.pop(name, None)
        elif how == "repeat":
            form[name] = [data.draw(values, label=name), data.draw(values, label=name)]
        else:
            form[name] = data.draw(values, label=name)
    return form


def send(world, client, target, form):
    pairs = [*pairs_of(form), ("csrf_token", csrf(client))]
    if target.files:
        body, content_type = upload(target, pairs)
        return client.post(target.path, data=body, content_type=content_type)
    return client.post(target.path, data=form_body(pairs),
                       content_type="application/x-www-form-urlencoded")


def csrf(client) -> str:
    if not hasattr(client, "hostile_token"):
        client.hostile_token = client.csrf_token()
    return client.hostile_token


def first(value):
    return value[0] if isinstance(value, list) else value


def check_answer(world, target, form, response, flashes, before) -> None:
    """The rules every answer keeps (see the module's docstring)."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert not world.errors.records, [r.getMessage() for r in world.errors.records]
    body = response.get_data(as_text=True)
    categories = {category for category, _message in flashes}
    refused = (response.status_code >= 400 or "error" in categories
               or (response.status_code == 200 and any(m in body for m in REFUSAL_MARKS)))
    if response.status_code >= 400:
        assert response.mimetype == "text/html"
        assert any(mark in body for mark in REFUSAL_MARKS), body[:1000]
    if refused:
        changed = changed_tables(before, fingerprint(world.app))
        assert changed == [], "a refused request changed these tables"
        return
    if response.status_code in (302, 303) and target.stored is not None:
        stored = target.stored()
        if stored is None:  # answered "already saved": nothing may have changed
            assert fingerprint(world.app) == before
            return
        for name, normalise in target.normalise.items():
            if name in form:
                assert stored[name] == normalise(as_sent(first(form[name]))), name


def send_and_check(world, spec, make_form) -> None:
    """One request to a fresh target of ``spec``, with the form ``make_form(target)``
    gives, and the rules every answer keeps."""
    target = spec.prepare(world)
    client = target.client or world.client(spec.role)
    pop_flashes(client)
    world.errors.records.clear()
    form = make_form(target)
    before = fingerprint(world.app)
    response = send(world, client, target, form)
    check_answer(world, target, form, response, pop_flashes(client), before)


def run_endpoint(world, key) -> None:
    spec = ENDPOINTS[key]
    for changes in spec.examples:  # the regressions found so far, every run
        send_and_check(world, spec, lambda target, changes=changes: {**target.form,
                                                                      **changes})

    @HOSTILE
    @seed(zlib.crc32(repr(key).encode()))  # derandomized, but not the same draws everywhere
    @given(data=st.data())
    def hostile(data):
        send_and_check(world, spec, lambda target: hostile_form(
            data, target.form, world.foreign_ids, stored=target.normalise))

    hostile()


@pytest.mark.parametrize("key", sorted(ENDPOINTS), ids=lambda key: key[0])
def test_hostile_forms(world, key):
    run_endpoint(world, key)


# -- regressions Hypothesis found, kept as plain examples ------------------------------------

def field_error(page: str, field_id: str) -> str:
    """The text of the message shown next to a field ("" when there is none)."""
    found = re.search(rf'<div class="ap-error" id="{field_id}-error">(.*?)</div>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else ""


def test_a_tag_too_long_is_refused_not_cut_short(world):
    """A 41-character tag was stored as its first 40 characters without a word."""
    target = ENDPOINTS[("/procedures/new", "POST")].prepare(world)
    client = world.client("apprentice")
    before = fingerprint(world.app)
    response = send(world, client, target, {**target.form, "tags": "desk, " + "a" * 41})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_error(page, "tags") == "Error: Keep each tag to 40 characters (one has 41)."
    assert fingerprint(world.app) == before
    # 40 characters are a tag like any other, stored whole.
    response = send(world, client, target, {**target.form, "tags": "a" * 40})
    assert response.status_code == 302
    assert target.stored()["tags"] == "a" * 40


@pytest.mark.parametrize("sent, stored", [
    pytest.param("   ", "Created", id="blank"),
    pytest.param("\x1c First draft ", "First draft", id="padded"),
])
def test_a_new_procedures_summary_is_trimmed_as_an_edits_is(world, sent, stored):
    """A new procedure kept its summary as sent (a blank one instead of "Created"),
    while an edit's was trimmed."""
    target = ENDPOINTS[("/procedures/new", "POST")].prepare(world)
    response = send(world, world.client("apprentice"), target, {**target.form, "summary": sent})
    assert response.status_code == 302
    assert target.stored()["summary"] == stored


@pytest.mark.parametrize("path", ["/api/search?q=desk%00", "/api/search/suggest?q=des%00",
                                  "/log/procedure-suggestions?competency=1%00"])
def test_a_json_endpoint_refuses_in_json(world, path):
    """A NUL byte is refused (400) with a JSON error, not the HTML error page its script
    cannot read."""
    response = world.client("apprentice").get(path)
    assert response.status_code == 400
    assert response.is_json
    assert response.get_json()["error"] == ("The request held a character that cannot be "
                                             "stored (NUL).")


def test_a_carriage_return_in_a_statement_stays_in_its_cell(world):
    """A framework export wrote a CR inside a cell unquoted: read back (or opened in a
    spreadsheet), the row broke in two and the file could not be imported again."""
    with world.app.app_context():
        framework = frameworks.create_from_spec(FrameworkSpec(name="Carriage", areas=[
            AreaSpec("Desk", AreaKind.REQUIRED, "First line\rsecond line", None,
                     [CompetencySpec("C-1", "Greets\rpatrons.")])]))
    exported = world.client("coordinator").get(f"/frameworks/{framework.id}/export.csv")
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True), newline="")))
    assert [(row["code"], row["statement"], row["area_description"]) for row in rows] == [
        ("C-1", "Greets\rpatrons.", "First line\rsecond line")]


def test_a_blank_role_filter_is_refused_with_a_message(world):
    """"?role=%20" passed the filter's Optional() as " ", and Role(" ") was a 500."""
    response = world.client("coordinator").get("/people/?role=%20&q=Jordan")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_error(page, "role") == "Error: Choose from the list."
    assert world.cast["apprentice"].name in page  # found, by name only


def test_json_endpoints_are_the_marked_ones(world):
    """The query test below expects JSON from exactly the views marked answers_json."""
    marked = {rule.rule for rule in world.app.url_map.iter_rules()
              if getattr(world.app.view_functions[rule.endpoint], "apprentice_json", False)}
    assert marked == JSON_PATHS


# -- GET endpoints with a query string ---------------------------------------------------

JSON_PATHS = {"/api/search", "/api/search/suggest", "/log/procedure-suggestions",
              # the issuer's public documents (apprentice/credentials/views.py)
              "/issuer", "/issuer/keys", "/issuer/keys/<string(length=43):kid>",
              "/.well-known/did.json"}


@pytest.mark.parametrize("path", sorted(QUERIES))
def test_hostile_queries(world, path):
    role, names = QUERIES[path]
    client = world.client(role)
    values = hostile_values(world.foreign_ids)

    def hostile(query):
        world.errors.records.clear()
        before = fingerprint(world.app)
        response = client.get(path, query_string=form_body(query).decode("ascii"))
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        assert not world.errors.records, [r.getMessage() for r in world.errors.records]
        if path in JSON_PATHS:
            assert response.is_json, (response.status_code, response.mimetype)
            assert "error" in response.get_json() or response.status_code == 200
        elif response.status_code >= 400:
            assert any(mark in response.get_data(as_text=True) for mark in REFUSAL_MARKS)
        assert fingerprint(world.app) == before, "a GET changed the database"
        pop_flashes(client)

    test = seed(zlib.crc32(path.encode()))(given(query=st.lists(
        st.tuples(st.sampled_from([*names, *EXTRA_FIELDS]), values), min_size=1,
        max_size=4))(hostile))
    for query in QUERY_EXAMPLES.get(path, ()):  # the regressions found so far
        test = example(query=query)(test)
    HOSTILE(test)()


# -- every CSV the app writes ---------------------------------------------------------------

formula = st.builds(lambda start, rest: start + rest,
                    st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'=", "''+", "=\r"]),
                    st.text(st.characters(blacklist_categories=["Cs"],
                                          blacklist_characters="\x00"), max_size=30))


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.removeprefix("\ufeff")))
            for cell in row]


def formula_cells(cells: list[str]) -> list[str]:
    return [cell for cell in cells if cell.startswith(FORMULA_STARTS)]


def as_exported(stored: str) -> str:
    """A stored text as its CSV cell: with an apostrophe in front if a spreadsheet would
    read it as a formula (after any apostrophes of its own)."""
    return "'" + stored if stored.lstrip("'").startswith(FORMULA_STARTS) else stored


def test_every_csv_writer_is_known():
    """A new CSV download is added to the test below: these are all the app writes."""
    writers = sorted(str(path.relative_to(APP)) for path in APP.rglob("*.py")
                     if re.search(r"csv\.writer|text/csv", path.read_text()))
    assert writers == ["audit/views.py", "competencies/interchange.py",
                       "competencies/views.py", "core/downloads.py", "csvsafe.py",
                       "portfolios/views.py"]


def test_csv_downloads_neutralise_formulas(world):
    client = world.client("coordinator")
    serial = iter(range(10**6))

    @HOSTILE
    @given(name=formula, title=formula, note=formula, statement=formula)
    # A CR inside a statement was written bare (and the row broke in two).
    @example(name="=cmd", title="@area", note="-1\r+2", statement="=1\r+2")
    def hostile(name, title, note, statement):
        n = next(serial)
        app = world.app
        with app.app_context():
            person = db_session().get(StaffProfile, world.make_person(
                name=f"Temp {n}", roles=["coordinator"]).id)
            people.update_person(person, people.PersonDetails(
                name=name.strip() or "=x", email=person.email, job_title=title.strip()[:120],
                branch=note.strip()[:120], roles=["coordinator"]), by=person)
            # The glossary refuses a summary with control characters (its own test).
            glossary.save(f"quokka{n}, marsupial\n", "".join(
                c for c in note[:300] if unicodedata.category(c)[0] not in "CZ"), person)
            entry = training.get_entry(world.entry(state="submitted"))
            training.return_entry(entry, db_session().get(StaffProfile, world.cast["mentor"].id),
                                  note.strip() or "=x")
            framework = frameworks.create_from_spec(FrameworkSpec(
                name=f"Hostile {n}", areas=[AreaSpec(
                    title.strip() or "@x", AreaKind.REQUIRED, note, None,
                    [CompetencySpec(f"H-{n}", statement.strip() or "+x")])]))
            stored_name = db_session().get(StaffProfile, person.id).name
            stored_statement = framework.current_areas[0].current_competencies[0].statement
        audit = client.get("/audit/records.csv", query_string={
            "since": (date.today() - timedelta(days=1)).isoformat()})
        assert audit.status_code == 200 and audit.mimetype == "text/csv"
        cells = csv_cells(audit.get_data(as_text=True))
        assert formula_cells(cells) == []
        assert as_exported(stored_name) in cells  # the actor's name, as one cell
        exported = client.get(f"/frameworks/{framework.id}/export.csv")
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
        assert formula_cells([c for row in rows for c in row.values() if c]) == []
        assert rows[0]["statement"] == as_exported(stored_statement)

    hostile()
