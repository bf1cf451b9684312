"""Hostile input for tests/test_hostile_input.py: the values (Hypothesis strategies), a
world of records to aim them at, and for every POST route of the app a person who may
use it and a valid form to start from (``ENDPOINTS``)."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from apprentice.competencies import services as frameworks
from apprentice.competencies.models import SupervisionLevel
from apprentice.core import receipts
from apprentice.credentials import services as credential_services
from apprentice.db import db_session
from apprentice.kb import glossary
from apprentice.kb import services as kb
from apprentice.kb.models import ProcedureRevision
from apprentice.people.models import StaffProfile
from apprentice.programmes import services as programmes
from apprentice.sharing import services as sharing
from apprentice.statements import services as statements
from apprentice.training import services as training
from apprentice.training.services import EntryDetails
from tests.factories import DEFAULT_PASSWORD
from tests.loop import as_person, make_loop
from tests.support import dates, tables
from tests.support.clients import form_token
from tests.support.credentials import issue_for_area

# -- the values ------------------------------------------------------------------------

SPECIAL = [
    "\u200f", "\u202e\u202d", "\u200b", "\ufeff", "\u00a0", "\u2028", "\x85", "\x1c\x1f",
    "😀", "👩🏽‍💻", "e\u0301\u0301\u0301\u0301", "\u0000", "a\x00b", " ", "\t", "\r\n", "\r",
    "=1+1", '=HYPERLINK("http://evil.example","x")', "@SUM(A1)", "-2", "+3", "\t=1", "'",
    '"', "<script>alert(1)</script>", "\\", "%00", "../../etc/passwd", "{{ 7*7 }}",
    "null", "None", "true", "[]", "{}", "\uff10\uff11", "İstanbul", "ß", "ﬁ",
]
NUMBERS = [
    "-1", "0", "1", "2147483647", "2147483648", str(2**63), str(-(2**63) - 1), "1.5",
    "1e999", "NaN", "inf", "-0", "٣", "1_000", " 5 ", "0x10", "9" * 30, "", "+7",
]
DATES = [
    "0000-00-00", "9999-12-31", "2026-02-30", "0001-01-01", "10000-01-01", "2026-13-01",
    "1970-01-01", "2026-1-1", "12/31/2025", "2025-12-31T00:00", "-2025-01-01",
]  # with tomorrow and today, read when the values are asked for: near_days()
LONG_SIZES = [41, 61, 65, 101, 121, 201, 255, 301, 501, 2_001, 4_001, 5_001, 200_001]
MEGABYTE = 1_000_000

control = st.text(st.characters(categories=["Cc"]), min_size=1, max_size=4)
surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1,
                     max_size=3)
pieces = st.one_of(st.text(max_size=12), st.sampled_from(SPECIAL), control, surrogates)
mixed_text = st.lists(pieces, min_size=1, max_size=5).map("".join)
long_text = st.builds(lambda ch, n: ch * n, st.sampled_from(["a", "é", "😀", "\u202e", " ", "="]),
                      st.sampled_from(LONG_SIZES))
# A megabyte now and then: more than a form may hold (the answer is a 413 page).
megabyte = st.just("x" * MEGABYTE)


def near_days() -> list[str]:
    """Tomorrow and today, as of now, not as of the import (see tests/support/dates.py)."""
    today = dates.today()
    return [(today + timedelta(days=1)).isoformat(), today.isoformat()]


def hostile_values(foreign_ids: list[str]) -> st.SearchStrategy[str]:
    """One hostile form value: odd text, long text, numbers and dates out of range, or
    the id of a record that belongs to someone else."""
    return st.one_of(
        mixed_text, mixed_text, st.sampled_from(NUMBERS), st.sampled_from([*DATES, *near_days()]),
        long_text, long_text, st.sampled_from(foreign_ids), st.sampled_from(SPECIAL),
        # a megabyte about once in 40 draws of this branch
        st.integers(0, 40).flatmap(lambda n: megabyte if n == 0 else mixed_text),
    )


def as_sent(value: str) -> str:
    """What the server reads for ``value``: lone surrogates cannot travel as UTF-8, and
    Werkzeug keeps bytes that are not UTF-8 as %XX escapes ("werkzeug.url_quote")."""
    import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" error handler

    return value.encode("utf-8", "surrogatepass").decode("utf-8", "werkzeug.url_quote")


def form_body(pairs: list[tuple[str, str]]) -> bytes:
    """An urlencoded body for ``pairs`` as a browser would send it, lone surrogates
    included (as the bytes a careless client would put there)."""
    return urlencode([(k.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass"))
                      for k, v in pairs]).encode("ascii")


# -- the database as a fingerprint ----------------------------------------------------------

# Tables a refused request may change: failed sign-ins are counted (the throttle), a
# form sent after the sign-in ended is kept for its author, and either write moves the
# data version (apprentice/core/versions.py).
VOLATILE_TABLES = {"apprentice_sign_in_failures", "apprentice_kept_forms",
                   "apprentice_data_version"}
# Audit records a refused request may add: every refused password is recorded (sign-in,
# a password change, a sign-off's password; apprentice/auth/services.py).
REFUSAL_AUDIT = "signin.%"


def fingerprint(app) -> dict[str, tuple[int, str]]:
    """Every apprentice table but :data:`VOLATILE_TABLES`, audit records of refused
    passwords left out (tests/support/tables.py)."""
    return tables.snapshot(app, skip=VOLATILE_TABLES, audit_excluding=REFUSAL_AUDIT)


# -- the world: records to aim at ------------------------------------------------------------

_serial = itertools.count(1)


def serial() -> int:
    return next(_serial)


# How the app documents it keeps each kind of text (what "stored as sent" means).

def _textarea(value: str) -> str:
    """A field with a TextLimit (apprentice/forms.py): line breaks as LF, then trimmed."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _line(value: str) -> str:
    """A one-line field: trimmed."""
    return value.strip()


def _words(value: str) -> str:
    """A title or a glossary summary: runs of whitespace as one space."""
    return " ".join(value.split())


def _tags(value: str) -> str:
    cleaned: list[str] = []
    for tag in value.split(","):
        tag = " ".join(tag.strip().lower().split())
        if tag and tag not in cleaned:
            cleaned.append(tag)
    return ",".join(cleaned)


@dataclass
class Target:
    """One request to send: where, the valid form, and (for a form that stores text)
    how to read back what was stored, field by field, with the normalisation the app
    documents for that field."""

    path: str
    form: dict[str, str | list[str]]
    stored: Callable[[], dict[str, str] | None] | None = None  # None: nothing new saved
    normalise: dict[str, Callable[[str], str]] = field(default_factory=dict)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    client: object | None = None  # a client of its own (signing out ends the session)


class World:
    """The loop's cast (tests/loop.py) plus a second apprentice whose records are
    "other people's ids", and builders for a fresh record of every kind."""

    def __init__(self, app, make_person):
        self.app, self.make_person = app, make_person
        self.cast = make_loop(app, make_person)
        self.other = make_person(name="Sam Other", roles=["apprentice"])
        with app.app_context():
            programmes.enrol(self.staff(self.other), frameworks.get_framework(
                self.cast["framework"].id), start=date.today() - timedelta(days=30))
            training.create_pairing(self.staff(self.other), self.staff(self.cast["other"]),
                                    starts_on=date.today() - timedelta(days=30))
            self.competencies = [c.id for c in programmes.programme_competencies(
                self.cast["apprentice"].id)]
            framework = frameworks.get_framework(self.cast["framework"].id)
            self.areas = [a.id for a in framework.current_areas]
        self.other_entry = self.entry(person=self.other, mentor=self.cast["other"],
                                      state="submitted")
        self.procedure, _ = self.procedure_with_proposal()
        self.foreign_ids = [str(i) for i in (self.other.id, self.other_entry, self.procedure,
                                             self.cast["coordinator"].id, 2147483647)]
        self.clients: dict = {}

    def staff(self, person) -> StaffProfile:
        return db_session().get(StaffProfile, person if isinstance(person, int) else person.id)

    def client(self, role: str):
        """A signed-in client per role, kept for the whole run."""
        if role not in self.clients:
            person = {"apprentice": self.cast["apprentice"], "mentor": self.cast["mentor"],
                      "coordinator": self.cast["coordinator"]}.get(role)
            client = self.app.test_client()
            if person is not None:
                as_person(self.app, person, client)
            self.clients[role] = client
        return self.clients[role]

    # fresh records, one per example when the action uses them up ------------------------

    def person(self, roles=("apprentice",)) -> StaffProfile:
        return self.make_person(name=f"Fresh Person {serial()}", roles=list(roles))

    def entry(self, *, person=None, mentor=None, state="draft") -> int:
        person, mentor = person or self.cast["apprentice"], mentor or self.cast["mentor"]
        with self.app.app_context():
            saved = training.save_entry(self.staff(person), EntryDetails(
                occurred_on=date.today() - timedelta(days=1), minutes=30,
                activity=int(SupervisionLevel.INDEPENDENT), mentor_id=mentor.id,
                competency_ids=[self.competencies[0]], description="Shelved the returns."),
                submit=state != "draft")
            if state == "verified":
                training.verify_entries([saved], self.staff(mentor))
            return saved.id

    def apprentice(self) -> StaffProfile:
        """A fresh apprentice, enrolled and paired with the cast's mentor: nothing of
        theirs is signed off yet (a sign-off per competency and person)."""
        person = self.person()
        with self.app.app_context():
            programmes.enrol(self.staff(person), frameworks.get_framework(
                self.cast["framework"].id), start=date.today() - timedelta(days=30))
            training.create_pairing(self.staff(person), self.staff(self.cast["mentor"]),
                                    starts_on=date.today() - timedelta(days=30))
        return person

    def sign_off(self) -> int:
        """A standing sign-off by the paired mentor, of a fresh apprentice."""
        apprentice = self.apprentice()
        entry = self.entry(person=apprentice, state="verified")
        with self.app.app_context():
            return training.sign_off(
                self.staff(self.cast["mentor"]), self.staff(apprentice),
                frameworks.get_competency(self.competencies[0]),
                level=SupervisionLevel.INDEPENDENT, entry_ids=[entry],
                confirm_above_evidence=True).id

    def enrolment(self) -> int:
        person = self.person()
        with self.app.app_context():
            return programmes.enrol(self.staff(person), frameworks.get_framework(
                self.cast["framework"].id), start=date.today() - timedelta(days=10)).id

    def draft_framework(self) -> tuple[int, int, int]:
        """A draft framework with one area holding one competency: (ids)."""
        with self.app.app_context():
            framework = frameworks.create_framework(f"Draft {serial()}", "For editing.")
            area = frameworks.save_area(framework, None, name="Desk", description="",
                                        kind="required", min_hours=None)
            frameworks.save_area(framework, None, name="Stacks", description="",
                                 kind="required", min_hours=None)
            competency = frameworks.add_competency(area, code="D-1", statement="Greets people.")
            frameworks.add_competency(area, code="D-2", statement="Issues cards.")
            return framework.id, area.id, competency.id

    def procedure_with_proposal(self) -> tuple[int, int]:
        """A published procedure with a proposed change: (its id, the proposal's number)."""
        with self.app.app_context():
            procedure = kb.create(kb.ProcedureDraft(
                title=f"Issuing cards {serial()}", body="1. Ask for ID.", tags="desk"),
                self.staff(self.cast["coordinator"]), publish=True, sync=False)
            revision = kb.save(procedure, kb.ProcedureDraft(
                title=procedure.title, body="1. Ask for ID.\n2. Smile.", tags="desk"),
                self.staff(self.cast["apprentice"]), based_on=procedure.revision_number,
                sync=False)
            return procedure.id, revision.number

    def pairing(self) -> int:
        mentor = self.person(roles=("mentor",))
        with self.app.app_context():
            return training.create_pairing(self.staff(self.other), self.staff(mentor),
                                           starts_on=date.today() - timedelta(days=3)).id

    def glossary_version(self) -> int:
        with self.app.app_context():
            return glossary.save(f"quokka{serial()}, marsupial\n", "", self.staff(
                self.cast["coordinator"])).id

    def read(self, read: Callable[[], dict[str, str]]) -> Callable[[], dict[str, str]]:
        def reader():
            with self.app.app_context():
                return read()
        return reader


# -- every POST route: who may use it and a valid form ------------------------------------

@dataclass
class Endpoint:
    role: str  # apprentice, mentor, coordinator, anonymous, or "self" (a fresh person)
    prepare: Callable[[World], Target]
    # Field changes sent before the generated ones, every run (Hypothesis's @example,
    # for a test whose form is drawn field by field): the regressions found so far.
    examples: tuple[dict, ...] = ()


def _entry_form(world: World) -> dict:
    return {"occurred_on": date.today().isoformat(), "minutes": "45", "activity": "5",
            "mentor_id": str(world.cast["mentor"].id),
            "competency_ids": [str(world.competencies[1])],
            "description": "Ran the desk on my own.", "reflection": "Went well.",
            "submit": "1"}


def _entry_stored(world: World, entry_id: Callable[[], int | None]):
    def read():
        if (found := entry_id()) is None:
            return None  # nothing new (a token used before: "already saved")
        entry = training.get_entry(found)
        return {"description": entry.description, "reflection": entry.reflection}
    return world.read(read)


def new_entry(world: World) -> Target:
    token = form_token(world.client("apprentice"), "/log/new")
    with world.app.app_context():
        newest = db_session().scalar(select(func.max(training.LogEntry.id))) or 0

    def entry_id():
        # Not found by the token: the token sent may be a hostile one (or one used before).
        return db_session().scalar(select(training.LogEntry.id).where(
            training.LogEntry.id > newest))
    return Target("/log/new", {**_entry_form(world), "form_token": token},
                  stored=_entry_stored(world, entry_id),
                  normalise={"description": _textarea, "reflection": _textarea})


def edit_entry(world: World) -> Target:
    entry = world.entry()
    return Target(f"/log/{entry}", {**_entry_form(world), "save_draft": "1"},
                  stored=_entry_stored(world, lambda: entry),
                  normalise={"description": _textarea, "reflection": _textarea})


def person_form(n: int) -> dict:
    return {"name": f"Pat Example {n}", "email": f"pat{n}@library.example",
            "job_title": "Library Assistant", "branch": "Main", "roles": ["apprentice"]}


def _person_stored(world: World, email: str | None = None, person_id: int | None = None):
    def read():
        person = (db_session().get(StaffProfile, person_id) if person_id else
                  db_session().scalar(select(StaffProfile).where(StaffProfile.email == email)))
        return {"name": person.name, "job_title": person.job_title, "branch": person.branch}
    return world.read(read)


def new_person(world: World) -> Target:
    form = {**person_form(serial()), "password": "a temporary one", "form_token":
            receipts.new_token()}
    return Target("/people/new", form, stored=_person_stored(world, email=form["email"]),
                  normalise={"name": _line, "job_title": _line, "branch": _line})


def edit_person(world: World) -> Target:
    person = world.person()
    return Target(f"/people/{person.id}/edit", person_form(serial()),
                  stored=_person_stored(world, person_id=person.id),
                  normalise={"name": _line, "job_title": _line, "branch": _line})


def _framework_stored(world, framework_id):
    def read():
        framework = frameworks.get_framework(framework_id)
        return {"name": framework.name, "description": framework.description}
    return world.read(read)


def new_framework(world: World) -> Target:
    name = f"Framework {serial()}"

    def read():
        [framework] = [f for f in frameworks.list_frameworks(include_unpublished=True)
                       if f.id not in before]
        return {"name": framework.name, "description": framework.description}
    with world.app.app_context():
        before = {f.id for f in frameworks.list_frameworks(include_unpublished=True)}
    return Target("/frameworks/new", {"name": name, "description": "A draft.",
                                      "form_token": receipts.new_token()},
                  stored=world.read(read), normalise={"name": _line, "description": _textarea})


def edit_framework(world: World) -> Target:
    framework, _area, _competency = world.draft_framework()
    return Target(f"/frameworks/{framework}/edit", {
        "name": f"Edited {serial()}", "description": "Changed.", "electives_required": "0",
        "level_required": "5", "area_completion_percent": "80", "time_allowed_months": "48",
    }, stored=_framework_stored(world, framework),
        normalise={"name": _line, "description": _textarea})


def _area_form() -> dict:
    return {"name": f"Area {serial()}", "kind": "required", "description": "What it covers.",
            "min_hours": "10"}


def _area_stored(world, area_id=None, framework_id=None, before=()):
    def read():
        if area_id is not None:
            area = frameworks.get_area(area_id)
        else:
            [area] = [a for a in frameworks.get_framework(framework_id).current_areas
                      if a.id not in before]
        return {"name": area.name, "description": area.description}
    return world.read(read)


def new_area(world: World) -> Target:
    framework, _area, _competency = world.draft_framework()
    with world.app.app_context():
        before = {a.id for a in frameworks.get_framework(framework).current_areas}
    return Target(f"/frameworks/{framework}/areas/new",
                  {**_area_form(), "form_token": receipts.new_token()},
                  stored=_area_stored(world, framework_id=framework, before=before),
                  normalise={"name": _line, "description": _textarea})


def edit_area(world: World) -> Target:
    _framework, area, _competency = world.draft_framework()
    return Target(f"/frameworks/areas/{area}/edit", _area_form(),
                  stored=_area_stored(world, area_id=area),
                  normalise={"name": _line, "description": _textarea})


def _competency_stored(world, area_id, code_of=None, competency_id=None):
    def read():
        if competency_id is not None:
            competency = frameworks.get_competency(competency_id)
        else:
            [competency] = [c for c in frameworks.get_area(area_id).current_competencies
                            if c.code not in ("D-1", "D-2")]
        return {"code": competency.code, "statement": competency.statement}
    return world.read(read)


def new_competency(world: World) -> Target:
    _framework, area, _competency = world.draft_framework()
    return Target(f"/frameworks/areas/{area}/competencies/new",
                  {"code": "D-9", "statement": "Answers the phone.",
                   "form_token": receipts.new_token()},
                  stored=_competency_stored(world, area),
                  normalise={"code": _line, "statement": _textarea})


def edit_competency(world: World) -> Target:
    _framework, area, competency = world.draft_framework()
    return Target(f"/frameworks/competencies/{competency}/edit",
                  {"code": "D-1", "statement": "Greets every patron."},
                  stored=_competency_stored(world, area, competency_id=competency),
                  normalise={"code": _line, "statement": _textarea})


FRAMEWORK_CSV = ("area,required,code,statement\r\nDesk,required,D-1,Greets people.\r\n"
                 "Desk,required,D-2,Issues cards.\r\n")


def import_framework(world: World) -> Target:
    return Target("/frameworks/import", {"name": f"Imported {serial()}"},
                  files={"file": (FRAMEWORK_CSV.encode(), "framework.csv")})


def procedure_form(world: World) -> dict:
    return {"title": f"Renewing a card {serial()}", "body": "1. Check the ID.\n2. Renew.",
            "tags": "desk, cards", "area_ids": [str(world.areas[0])],
            "competency_ids": [str(world.competencies[0])], "summary": "First version."}


def _procedure_stored(world, procedure_id=None, after=None):
    """The procedure's newest revision: ``procedure_id``'s, or (a new one) the first
    made after procedure ``after`` (None when none was: "already saved")."""
    def read():
        if procedure_id is not None:
            procedure = kb.get_procedure(procedure_id)
        else:
            procedure = db_session().scalar(select(kb.Procedure).where(
                kb.Procedure.id > after).order_by(kb.Procedure.id).limit(1))
            if procedure is None:
                return None
        revision = db_session().scalar(select(ProcedureRevision).where(
            ProcedureRevision.procedure_id == procedure.id).order_by(
            ProcedureRevision.number.desc()).limit(1))
        return {"title": revision.title, "body": revision.body, "tags": revision.tags,
                "summary": revision.summary}
    return world.read(read)


PROCEDURE_TEXT = {"title": _words, "tags": _tags, "summary": _textarea,
                  "body": lambda v: v.replace("\r\n", "\n").replace("\r", "\n")}


def new_procedure(world: World) -> Target:
    with world.app.app_context():
        newest = db_session().scalar(select(func.max(kb.Procedure.id))) or 0
    return Target("/procedures/new", {**procedure_form(world),
                                      "form_token": receipts.new_token()},
                  stored=_procedure_stored(world, after=newest), normalise={
                      **PROCEDURE_TEXT, "summary": lambda v: _textarea(v) or "Created"})


def edit_procedure(world: World) -> Target:
    procedure, _number = world.procedure_with_proposal()
    with world.app.app_context():
        based_on = kb.get_procedure(procedure).revision_number
    return Target(f"/procedures/{procedure}/edit", {
        **procedure_form(world), "based_on": str(based_on), "form_token": receipts.new_token(),
    }, stored=_procedure_stored(world, procedure_id=procedure), normalise=PROCEDURE_TEXT)


def glossary_edit(world: World) -> Target:
    with world.app.app_context():
        based_on = glossary.newest_id()

    def read():
        version = glossary.newest()
        return {"summary": version.summary}
    return Target("/procedures/glossary/edit", {
        "text": f"circulation desk, front desk, issue desk\nquokka{serial()}, marsupial\n",
        "summary": "Desk words.", "based_on": str(based_on)},
        stored=world.read(read), normalise={"summary": _words})


def procedure_import(world: World) -> Target:
    return Target("/procedures/import", {}, files={
        "files": (b"# Opening the branch\n\n1. Unlock the doors.\n", f"opening-{serial()}.md")})


def unlock(world: World) -> Target:
    entry = world.entry(state="verified")

    def read():
        comment = training.get_entry(entry).return_comment
        return {"reason": comment.split(": ", 1)[1]}  # "Unlocked by <name>: <reason>"
    return Target(f"/log/{entry}/unlock", {"reason": "The date was wrong."},
                  stored=world.read(read), normalise={"reason": _textarea})


def return_entry(world: World) -> Target:
    entry = world.entry(state="submitted")

    def read():
        return {"comment": training.get_entry(entry).return_comment}
    return Target(f"/review/{entry}/return", {"comment": "Which branch was it?"},
                  stored=world.read(read), normalise={"comment": _textarea})


def revoke(world: World) -> Target:
    record = world.sign_off()

    def read():
        return {"reason": training.get_sign_off(record).revocation.reason}
    return Target(f"/sign-offs/{record}", {"reason": "Signed too early."},
                  stored=world.read(read), normalise={"reason": _textarea})


def new_sign_off(world: World) -> Target:
    person = world.apprentice()
    entry = world.entry(person=person, state="verified")
    competency, apprentice = world.competencies[0], person.id
    return Target(f"/sign-offs/new?person={apprentice}&competency={competency}", {
        "level": "5", "entry_ids": [str(entry)], "comment": "Watched it twice.",
        "password": DEFAULT_PASSWORD, "confirm_above_evidence": "y",
        "form_token": receipts.new_token()})


def new_pairing(world: World) -> Target:
    mentor = world.person(roles=("mentor",))
    apprentice = world.person()
    with world.app.app_context():
        programmes.enrol(world.staff(apprentice), frameworks.get_framework(
            world.cast["framework"].id), start=date.today())
    return Target("/pairings/", {
        "apprentice_id": str(apprentice.id), "mentor_id": str(mentor.id),
        "starts_on": date.today().isoformat(), "ends_on": "", "area_ids": [str(world.areas[0])],
        "form_token": receipts.new_token()})


def enrol(world: World) -> Target:
    person = world.person()
    return Target("/programmes/enrol", {
        "person": str(person.id), "framework": str(world.cast["framework"].id),
        "start_date": date.today().isoformat(), "target_date": "",
        "form_token": receipts.new_token()})


def electives(world: World) -> Target:
    enrolment = world.enrolment()
    with world.app.app_context():
        framework = programmes.get_enrolment(enrolment).framework
        chosen = [str(a.id) for a in framework.current_electives[:3]]
    return Target(f"/programmes/{enrolment}/electives", {"electives": chosen})


def statement_edit(world: World) -> Target:
    """A new revision of the cast apprentice's statement, from the newest, with the first
    area's box filled in too (its text is kept: LF line breaks, trimmed)."""
    person = world.cast["apprentice"].id
    with world.app.app_context():
        based_on = statements.newest_number(person)
        area = statements.areas_to_write(person)[0].id

    def read():
        revision = statements.newest(person)
        if revision is None:
            return None
        sections = {s.area_id: s.body for s in revision.sections}
        return {"overall": revision.overall, f"area_{area}": sections.get(area, "")}
    return Target(f"/apprentices/{person}/statement/edit", {
        "overall": f"I learned to run the desk ({serial()}).", f"area_{area}": "Shelving.",
        "based_on": str(based_on), "form_token": receipts.new_token()},
        stored=world.read(read), normalise={"overall": _textarea, f"area_{area}": _textarea})


def share_link_new(world: World) -> Target:
    """A link made by a fresh apprentice (each has at most sharing.services.MAX_ACTIVE
    working links), shown once on a page of its own: a 200, not a redirect."""
    person = world.person()
    return Target(f"/apprentices/{person.id}/sharing", {
        "label": "Riverside Library hiring panel", "shows": "signed",
        "expires_on": (date.today() + timedelta(days=30)).isoformat(),
        "form_token": receipts.new_token()}, client=as_person(world.app, person))


def share_link_revoke(world: World) -> Target:
    person = world.person()
    with world.app.app_context():
        made = sharing.create(world.staff(person), label="Branch manager",
                              expires_on=date.today() + timedelta(days=7), signed_only=False,
                              by=world.staff(person))
    return Target(f"/apprentices/{person.id}/sharing/{made.link.id}/revoke", {},
                  client=as_person(world.app, person))


def credential_issue(world: World) -> Target:
    """The cast apprentice's first area, not complete: every form is refused with a flash
    (issuing itself: tests/test_credential_issuing.py), and odd values must be too."""
    person = world.cast["apprentice"].id
    return Target(f"/apprentices/{person}/credentials/issue", {
        "framework_id": str(world.cast["framework"].id), "area_id": str(world.areas[0]),
        "form_token": receipts.new_token()})


def credential_revoke(world: World) -> Target:
    """A fresh apprentice's standing credential, revoked by the coordinator with a reason
    (kept as sent: LF line breaks, trimmed)."""
    person = world.person()
    with world.app.app_context():
        area = frameworks.get_framework(world.cast["framework"].id).current_areas[0]
        made = issue_for_area(world.staff(person), area, world.staff(world.cast["coordinator"]))
        credential_id = made.id
    field_name = f"c{credential_id}-reason"

    def read():
        revocation = credential_services.get_credential(credential_id).revocation
        return None if revocation is None else {field_name: revocation.reason}
    return Target(f"/apprentices/{person.id}/credentials/{credential_id}/revoke",
                  {field_name: "Issued to the wrong person."}, stored=world.read(read),
                  normalise={field_name: _textarea})


def _fixed(path: Callable[[World], str], form: dict | None = None):
    return lambda world: Target(path(world), dict(form or {}))


def _self(path: str, form: Callable[[], dict] | None = None):
    """A route a person uses on their own account: a fresh person and client each time."""
    def prepare(world: World) -> Target:
        person = world.person()
        return Target(path, form() if form else {},
                      client=as_person(world.app, person))
    return prepare


# A tag over 40 characters was stored cut to 40 (kb/services.py normalise_tags); a
# blank summary of a new procedure was stored blank instead of "Created".
TAG_CASES = ({"tags": "desk, " + "a" * 41}, {"tags": "é" * 40}, {"tags": "😀" * 255},
             {"summary": " \x1c "})

ENDPOINTS: dict[tuple[str, str], Endpoint] = {
    # people and sign-in
    ("/sign-in", "POST"): Endpoint("anonymous", _fixed(lambda w: "/sign-in", {
        "email": "nobody@library.example", "password": "a wrong guess", "next": "/"})),
    ("/sign-out", "POST"): Endpoint("self", _self("/sign-out")),
    ("/account/password", "POST"): Endpoint("self", _self("/account/password", lambda: {
        "current_password": DEFAULT_PASSWORD, "new_password": "a much better one",
        "confirm": "a much better one"})),
    ("/people/new", "POST"): Endpoint("coordinator", new_person),
    ("/people/<int(max=2147483647):person_id>/edit", "POST"):
        Endpoint("coordinator", edit_person),
    ("/people/<int(max=2147483647):person_id>/active", "POST"): Endpoint(
        "coordinator", lambda w: Target(f"/people/{w.person().id}/active", {"active": "0"})),
    # frameworks
    ("/frameworks/new", "POST"): Endpoint("coordinator", new_framework),
    ("/frameworks/load-default", "POST"): Endpoint("coordinator", _fixed(
        lambda w: "/frameworks/load-default")),
    ("/frameworks/import", "POST"): Endpoint("coordinator", import_framework),
    ("/frameworks/<int(max=2147483647):framework_id>/edit", "POST"):
        Endpoint("coordinator", edit_framework),
    ("/frameworks/<int(max=2147483647):framework_id>/status", "POST"): Endpoint(
        "coordinator", lambda w: Target(f"/frameworks/{w.draft_framework()[0]}/status",
                                        {"status": "active"})),
    ("/frameworks/<int(max=2147483647):framework_id>/areas/new", "POST"):
        Endpoint("coordinator", new_area),
    ("/frameworks/areas/<int(max=2147483647):area_id>/edit", "POST"):
        Endpoint("coordinator", edit_area),
    ("/frameworks/areas/<int(max=2147483647):area_id>/move", "POST"): Endpoint(
        "coordinator", lambda w: Target(f"/frameworks/areas/{w.draft_framework()[1]}/move",
                                        {"step": "down"})),
    ("/frameworks/areas/<int(max=2147483647):area_id>/retire", "POST"): Endpoint(
        "coordinator", lambda w: Target(f"/frameworks/areas/{w.draft_framework()[1]}/retire",
                                        {})),
    ("/frameworks/areas/<int(max=2147483647):area_id>/competencies/new", "POST"):
        Endpoint("coordinator", new_competency),
    ("/frameworks/competencies/<int(max=2147483647):competency_id>/edit", "POST"):
        Endpoint("coordinator", edit_competency),
    ("/frameworks/competencies/<int(max=2147483647):competency_id>/move", "POST"): Endpoint(
        "coordinator", lambda w: Target(
            f"/frameworks/competencies/{w.draft_framework()[2]}/move", {"step": "down"})),
    ("/frameworks/competencies/<int(max=2147483647):competency_id>/retire", "POST"): Endpoint(
        "coordinator", lambda w: Target(
            f"/frameworks/competencies/{w.draft_framework()[2]}/retire", {})),
    # programmes and pairings
    ("/programmes/enrol", "POST"): Endpoint("coordinator", enrol),
    ("/programmes/<int(max=2147483647):enrolment_id>/electives", "POST"):
        Endpoint("coordinator", electives),
    ("/programmes/<int(max=2147483647):enrolment_id>/target", "POST"): Endpoint(
        "coordinator", lambda w: Target(f"/programmes/{w.enrolment()}/target", {
            "target_date": (date.today() + timedelta(days=400)).isoformat()})),
    ("/programmes/<int(max=2147483647):enrolment_id>/finish", "POST"): Endpoint(
        "coordinator", lambda w: Target(f"/programmes/{w.enrolment()}/finish",
                                        {"status": "withdrawn"})),
    ("/pairings/", "POST"): Endpoint("coordinator", new_pairing),
    ("/pairings/<int(max=2147483647):pairing_id>", "POST"): Endpoint(
        "coordinator", lambda w: Target(f"/pairings/{w.pairing()}", {
            "ends_on": (date.today() + timedelta(days=90)).isoformat(),
            "area_ids": [str(w.areas[0])]})),
    # the daily loop
    ("/log/new", "POST"): Endpoint("apprentice", new_entry),
    ("/log/<int(max=2147483647):entry_id>", "POST"): Endpoint("apprentice", edit_entry),
    ("/log/<int(max=2147483647):entry_id>/delete", "POST"): Endpoint(
        "apprentice", lambda w: Target(f"/log/{w.entry()}/delete", {})),
    ("/log/<int(max=2147483647):entry_id>/unlock", "POST"): Endpoint("coordinator", unlock),
    ("/review/verify", "POST"): Endpoint(
        "mentor", lambda w: Target("/review/verify", {
            "entry_id": [str(w.entry(state="submitted")), str(w.entry(state="submitted"))]})),
    ("/review/<int(max=2147483647):entry_id>/return", "POST"):
        Endpoint("mentor", return_entry),
    ("/sign-offs/new", "POST"): Endpoint("mentor", new_sign_off),
    ("/sign-offs/<int(max=2147483647):sign_off_id>", "POST"): Endpoint("coordinator", revoke),
    ("/apprentices/<int(max=2147483647):person_id>/statement/edit", "POST"):
        Endpoint("apprentice", statement_edit),
    # share links: a fresh apprentice makes and revokes their own
    ("/apprentices/<int(max=2147483647):person_id>/sharing", "POST"):
        Endpoint("self", share_link_new),
    ("/apprentices/<int(max=2147483647):person_id>/sharing/<int(max=2147483647):link_id>"
     "/revoke", "POST"): Endpoint("self", share_link_revoke),
    # credentials: the coordinator issues (refused here: nothing is complete) and revokes
    ("/apprentices/<int(max=2147483647):person_id>/credentials/issue", "POST"):
        Endpoint("coordinator", credential_issue),
    ("/apprentices/<int(max=2147483647):person_id>/credentials/<int(max=2147483647):"
     "credential_id>/revoke", "POST"): Endpoint("coordinator", credential_revoke),
    # procedures
    ("/procedures/new", "POST"): Endpoint("apprentice", new_procedure, examples=TAG_CASES),
    ("/procedures/<int(max=2147483647):procedure_id>/edit", "POST"):
        Endpoint("coordinator", edit_procedure, examples=TAG_CASES),
    ("/procedures/<int(max=2147483647):procedure_id>/status", "POST"): Endpoint(
        "coordinator", lambda w: Target(
            f"/procedures/{w.procedure_with_proposal()[0]}/status", {"status": "archived"})),
    ("/procedures/<int(max=2147483647):procedure_id>/checked", "POST"): Endpoint(
        "mentor", lambda w: Target(f"/procedures/{w.procedure_with_proposal()[0]}/checked", {})),
    ("/procedures/<int(max=2147483647):procedure_id>/accept/<int(max=1000000):number>",
     "POST"): Endpoint("mentor", lambda w: Target(
        "/procedures/{}/accept/{}".format(*w.procedure_with_proposal()), {})),
    ("/procedures/<int(max=2147483647):procedure_id>/restore/<int(max=1000000):number>",
     "POST"): Endpoint("coordinator", lambda w: Target(
        f"/procedures/{w.procedure_with_proposal()[0]}/restore/1", {})),
    ("/procedures/glossary/edit", "POST"): Endpoint("coordinator", glossary_edit),
    ("/procedures/glossary/reset", "POST"): Endpoint("coordinator", _fixed(
        lambda w: "/procedures/glossary/reset")),
    ("/procedures/glossary/restore/<int(max=2147483647):version_id>", "POST"): Endpoint(
        "coordinator", lambda w: Target(
            f"/procedures/glossary/restore/{w.glossary_version()}", {})),
    ("/procedures/import", "POST"): Endpoint("coordinator", procedure_import),
    # the audit trail: "check the chain" is a POST
    ("/audit/", "POST"): Endpoint("coordinator", _fixed(lambda w: "/audit/")),
    # the public credential verifier: checks what is pasted, stores nothing
    ("/verify", "POST"): Endpoint("anonymous", _fixed(lambda w: "/verify", {
        "credential": "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.e30.AAAA"})),
}

# Fields no form has, that a forger might add.
EXTRA_FIELDS = ["role", "person_id", "signed_by", "state", "id", "roles", "mentor_id",
                "activity", "status", "next"]

# -- GET endpoints with a query string: the parameters each reads ---------------------------

QUERIES: dict[str, tuple[str, list[str]]] = {
    "/api/search": ("apprentice", ["q", "page", "area", "tag", "sort"]),
    "/api/search/suggest": ("apprentice", ["q"]),
    "/procedures/": ("apprentice", ["q", "page", "area", "tag", "sort"]),
    "/log/procedure-suggestions": ("apprentice", ["competency"]),
    "/log/new": ("apprentice", ["competency", "procedure", "form"]),
    "/people/": ("coordinator", ["q", "role", "inactive", "page"]),
    "/audit/": ("coordinator", ["person", "kind", "since", "until", "page"]),
    "/audit/records.csv": ("coordinator", ["person", "kind", "since", "until"]),
    "/programmes/": ("coordinator", ["framework", "status"]),
    # reports: filters (a bad one is a message by its field), one person by id (else 404)
    **{f"/reports/{name}": ("coordinator", ["framework", "mentor", "since", "until", "page"])
       for name in ("cohort", "cohort.csv", "hours", "hours.csv")},
    **{f"/reports/{name}": ("coordinator", ["person", "framework", "since", "until"])
       for name in ("activity", "activity.csv")},
    "/reports/health": ("coordinator", ["framework"]),
    "/programmes/enrol": ("coordinator", ["person", "form"]),
    "/pairings/": ("coordinator", ["apprentice", "area", "form"]),
    "/sign-offs/new": ("mentor", ["person", "competency", "corrects", "form"]),
    "/procedures/new": ("apprentice", ["competency", "form"]),
    "/sign-in": ("anonymous", ["next"]),
}


# Queries sent before the generated ones, every run: the regressions found so far. A NUL
# byte was refused with an HTML page on the JSON endpoints; "?role=%20" was a 500.
QUERY_EXAMPLES: dict[str, tuple[list[tuple[str, str]], ...]] = {
    "/api/search": ([("q", "desk\x00")],),
    "/api/search/suggest": ([("q", "des\x00")],),
    "/log/procedure-suggestions": ([("competency", "1\x00")],),
    "/people/": ([("role", " ")], [("role", "\t"), ("q", "Jordan")]),
    # A blank framework passed Optional unchecked and was read as an id (a 500).
    "/reports/activity": ([("framework", " ")],),
}


def upload(target: Target, pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
    """A multipart body (and its content type): the pairs and the target's files.

    Encoded here, in memory: the test client spools a body over 500 KB to a temporary
    file it never closes (a ResourceWarning, an error under ``filterwarnings``)."""
    data = MultiDict([(name, as_sent(value)) for name, value in pairs])
    for name, (content, filename) in target.files.items():
        data.add(name, FileStorage(io.BytesIO(content), filename=filename))
    boundary, body = encode_multipart(data)
    return body, f"multipart/form-data; boundary={boundary}"
