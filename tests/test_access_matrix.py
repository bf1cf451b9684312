"""The access matrix: every route of ``app.url_map`` x GET/POST x eight roles, against
the POLICY table below; then other people's objects tried by id, and forms sent with
fields they do not have. A route missing from POLICY fails the test: a new page must
say who may open it.

The roles and the one world of records they act on are in tests/support/access_world.py
(A's entries are in area X, but ``entry_y`` in area Y; the area-only mentor covers Y).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from apprentice.auth.passwords import verify_password
from apprentice.db import db_session
from apprentice.kb.models import Procedure, ProcedureRevision
from apprentice.people.services import get_person
from apprentice.training.models import LogEntry, SignOff
from tests.conftest import app_on_copy
from tests.factories import DEFAULT_PASSWORD, PersonFactory
from tests.support import dates
from tests.support.access_world import (
    ANON,
    AREA_MENTOR,
    COORDINATOR,
    DEACTIVATED,
    MENTOR,
    ROLES,
    UNPAIRED,
    A,
    B,
    build_world,
    snapshot,
)
from tests.support.clients import form_token, signed_in
from tests.support.tables import changed_tables

SIGNED_IN = (A, B, MENTOR, AREA_MENTOR, UNPAIRED, COORDINATOR)
MENTORS = (MENTOR, AREA_MENTOR, UNPAIRED)
PUBLISHERS = (*MENTORS, COORDINATOR)  # apprentice.kb.permissions.may_publish


# -- the policy table ---------------------------------------------------------------------
# Outcomes, coarse but able to fail:
#   ok        2xx, or a redirect that is not to the sign-in page (a POST may answer 200
#             with its form's errors: the role got past the door);
#   noop      as "ok" (or 409), but the POST changed no row: the page or its service said no;
#   refused   403 or 404; a POST changed no row;
#   sign-in   401 or a redirect to the sign-in page; a POST changed no row;
#   signed-out  a redirect to the sign-in page, rows may change (signing out).

def only(*ok: str, noop: tuple[str, ...] = ()) -> dict[str, str]:
    """``ok`` roles get in, ``noop`` ones get in but change nothing, other signed-in
    roles are refused; nobody signed in (anonymous, deactivated) is sent to sign in."""
    return {role: "sign-in" if role in (ANON, DEACTIVATED)
            else "ok" if role in ok else "noop" if role in noop else "refused"
            for role in ROLES}


PUBLIC = {role: "ok" for role in ROLES}
NOBODY = only()


@dataclass(frozen=True)
class Case:
    """One route (as the URL map writes it, converters left out) with its URL's objects:
    ``args`` name the world's ids (tests/support/access_world.py) for URL parameters,
    ``query`` is formatted with them; ``data`` is what a POST sends (besides its CSRF
    token), chosen to get past the door without spoiling the world for later cases (a
    ``timedelta`` in it is the day that far from today, read when the case is sent)."""

    rule: str
    variant: str = ""
    GET: dict[str, str] | None = None
    POST: dict[str, str] | None = None
    args: dict[str, str | int] = field(default_factory=dict)
    query: str = ""
    data: dict[str, str | timedelta] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.rule} [{self.variant}]" if self.variant else self.rule

    @property
    def methods(self) -> dict[str, dict[str, str]]:
        return {m: e for m, e in (("GET", self.GET), ("POST", self.POST)) if e is not None}


# URL parameters, unless a case says otherwise: a world id's name, or the value itself.
DEFAULT_ARGS = {
    "person_id": "person_a", "framework_id": "framework", "area_id": "area_x",
    "competency_id": "competency_x", "entry_id": "submitted", "pairing_id": "pairing_y",
    "procedure_id": "procedure_published", "enrolment_id": "enrolment_a",
    "sign_off_id": "sign_off", "version_id": "glossary_version", "number": 1,
    "filename": "apprentice.css", "fmt": "csv", "link_id": "share_link",
    "token": "share_token", "version": 1, "kid": "issuer_kid",
    "credential_uuid": "credential_uuid_a", "credential_id": "credential_a",
    "list_number": 1,
}

SIGN_OFF_X = "?person={person_a}&competency={competency_x}"
SIGN_OFF_Y = "?person={person_a}&competency={competency_y}"

POLICY: list[Case] = [
    Case("/", GET=only(*SIGNED_IN)),
    Case("/favicon.ico", GET=PUBLIC),
    Case("/assets/<filename>", GET=PUBLIC),
    Case("/sign-in", GET=PUBLIC, POST=PUBLIC),  # signed in: sent home
    Case("/sign-out", POST={role: "signed-out" for role in ROLES}),
    Case("/account/password", GET=only(*SIGNED_IN), POST=only(*SIGNED_IN)),
    Case("/api/search", GET=only(*SIGNED_IN), query="?q=branch"),
    Case("/api/search/suggest", GET=only(*SIGNED_IN), query="?q=bra"),
    # -- an apprentice as their mentors see them; the log and its review
    Case("/apprentices/<person_id>", GET=only(MENTOR, AREA_MENTOR, COORDINATOR)),
    Case("/apprentices/<person_id>", "B, paired with nobody", GET=only(COORDINATOR),
         args={"person_id": "person_b"}),
    Case("/log/", GET=only(A, B)),
    Case("/log/new", GET=only(A, B), POST=only(A, B)),
    Case("/log/procedure-suggestions", GET=only(*SIGNED_IN),
         query="?competency={competency_x}"),
    Case("/log/<entry_id>", "A's draft", GET=only(A, COORDINATOR),
         POST=only(A, noop=(COORDINATOR,)), args={"entry_id": "draft"}),
    Case("/log/<entry_id>", "A's submitted entry, area X", GET=only(A, MENTOR, COORDINATOR),
         POST=only(noop=(A, MENTOR, COORDINATOR))),
    Case("/log/<entry_id>", "A's verified entry", GET=only(A, MENTOR, COORDINATOR),
         POST=only(noop=(A, MENTOR, COORDINATOR)), args={"entry_id": "verified"}),
    Case("/log/<entry_id>", "A's submitted entry, area Y",
         GET=only(A, MENTOR, AREA_MENTOR, COORDINATOR),
         POST=only(noop=(A, MENTOR, AREA_MENTOR, COORDINATOR)), args={"entry_id": "entry_y"}),
    Case("/log/<entry_id>/delete", "A's draft", POST=only(A), args={"entry_id": "draft"}),
    Case("/log/<entry_id>/delete", "A's submitted entry", POST=only(noop=(A,))),
    Case("/log/<entry_id>/unlock", "A's verified entry (cited)",
         POST=only(noop=(COORDINATOR,)), args={"entry_id": "verified"}),
    # -- A's learning statement: A writes it; who may open A's page reads it
    Case("/apprentices/<person_id>/statement", GET=only(A, MENTOR, AREA_MENTOR, COORDINATOR)),
    Case("/apprentices/<person_id>/statement", "B's, paired with nobody",
         GET=only(B, COORDINATOR), args={"person_id": "person_b"}),
    Case("/apprentices/<person_id>/statement/revisions/<number>",
         GET=only(A, MENTOR, AREA_MENTOR, COORDINATOR)),
    # Sent without its text: refused next to the box, nothing saved.
    Case("/apprentices/<person_id>/statement/edit", GET=only(A), POST=only(noop=(A,))),
    Case("/apprentices/<person_id>/statement/edit", "B's", GET=only(B), POST=only(noop=(B,)),
         args={"person_id": "person_b"}),
    # -- A's portfolio, in each format: who may read A's record (the area-only mentor
    #    gets area Y's part of it); B's for B and coordinators only
    *(Case(f"/apprentices/<person_id>/portfolio{suffix}",
           GET=only(A, MENTOR, AREA_MENTOR, COORDINATOR))
      for suffix in ("", ".pdf", ".json", ".csv")),
    *(Case(f"/apprentices/<person_id>/portfolio{suffix}", "B's, paired with nobody",
           GET=only(B, COORDINATOR), args={"person_id": "person_b"})
      for suffix in ("", ".pdf", ".json", ".csv")),
    Case("/portfolio-schema/v<version>.json", GET=only(*SIGNED_IN)),
    # -- A's share links: A makes them; A and coordinators list and revoke them
    #    (apprentice/sharing/permissions.py); a working link opens for anyone, signed in or
    #    not, and a revoked one for nobody (the same plain 404 as an unknown one)
    Case("/apprentices/<person_id>/sharing", GET=only(A, COORDINATOR), POST=only(A),
         data={"label": "Branch manager", "shows": "all",
               "expires_on": timedelta(days=30)}),
    # Sent without a label or a date: refused next to the fields, no link made.
    Case("/apprentices/<person_id>/sharing", "B's", GET=only(B, COORDINATOR),
         POST=only(noop=(B,)), args={"person_id": "person_b"}),
    Case("/apprentices/<person_id>/sharing/<link_id>/revoke", POST=only(A, COORDINATOR)),
    Case("/apprentices/<person_id>/sharing/<link_id>/revoke", "A's link, B's address",
         POST=NOBODY, args={"person_id": "person_b"}),
    Case("/shared/<token>", GET=PUBLIC),
    Case("/shared/<token>", "revoked", GET={role: "refused" for role in ROLES},
         args={"token": "share_token_revoked"}),
    Case("/shared/<token>", "unknown", GET={role: "refused" for role in ROLES},
         args={"token": "not-a-token-of-ours"}),
    # -- the issuer's Profile and public keys: for anyone, signed in or not (a verifier
    #    elsewhere has no account here); an unknown key id is a 404 for everyone, and the
    #    did:web document is served only for an https issuer URL on a real domain (none
    #    here). Private keys have no route at all (tests/test_issuer_keys.py).
    Case("/issuer", GET=PUBLIC),
    Case("/issuer/keys", GET=PUBLIC),
    Case("/issuer/keys/<kid>", GET=PUBLIC),
    Case("/issuer/keys/<kid>", "unknown", GET={role: "refused" for role in ROLES},
         args={"kid": "A" * 43}),
    Case("/.well-known/did.json", "no https issuer URL", GET={role: "refused" for role in ROLES}),
    # -- A's credential as files (apprentice/credentials/handover.py): A, a coordinator,
    #    and a mentor who may read A's whole record; not the area-only mentor (a
    #    credential may speak for areas beyond theirs); an unknown id is a 404 for all
    *(Case(f"/credentials/<credential_uuid>{suffix}", GET=only(A, MENTOR, COORDINATOR))
      for suffix in (".jwt", ".json")),
    *(Case(f"/credentials/<credential_uuid>{suffix}", "unknown",
           GET=only(), args={"credential_uuid": "00000000-0000-4000-8000-000000000000"})
      for suffix in (".jwt", ".json")),
    # -- issuing and revoking A's credentials: coordinators only (A's areas are not
    #    complete, so issuing is refused on the page; a revocation without a reason too);
    #    the status list for anyone, and an unused list number is a 404 for everyone
    Case("/apprentices/<person_id>/credentials", GET=only(COORDINATOR)),
    Case("/apprentices/<person_id>/credentials/issue", POST=only(noop=(COORDINATOR,))),
    Case("/apprentices/<person_id>/credentials/<credential_id>/revoke",
         POST=only(noop=(COORDINATOR,))),
    Case("/apprentices/<person_id>/credentials/<credential_id>/revoke",
         "A's credential, B's address", POST=NOBODY, args={"person_id": "person_b"}),
    Case("/issuer/status/<list_number>", GET=PUBLIC),
    Case("/issuer/status/<list_number>", "unused", GET={role: "refused" for role in ROLES},
         args={"list_number": 2}),
    # -- the credential verifier: anyone, signed in or not; what is checked is forgotten,
    #    so a POST changes no row
    Case("/verify", GET=PUBLIC, POST={role: "noop" for role in ROLES},
         data={"credential": "not a credential"}),
    Case("/review/", GET=only(*MENTORS)),
    Case("/review/verify", POST=only(noop=MENTORS)),  # nothing ticked
    Case("/review/<entry_id>/return", "area X", POST=only(noop=(MENTOR,))),
    Case("/review/<entry_id>/return", "area Y", POST=only(noop=(MENTOR, AREA_MENTOR)),
         args={"entry_id": "entry_y"}),
    # -- sign-offs: A's is in area X, which the area-only mentor does not cover
    Case("/sign-offs/<sign_off_id>", GET=only(A, MENTOR, COORDINATOR),
         POST=only(noop=(A, MENTOR, COORDINATOR))),  # no reason given: nothing revoked
    Case("/sign-offs/new", "no apprentice named", GET=NOBODY, POST=NOBODY),
    Case("/sign-offs/new", "A, area X", GET=only(MENTOR), POST=only(MENTOR), query=SIGN_OFF_X),
    Case("/sign-offs/new", "A, area Y", GET=only(MENTOR, AREA_MENTOR),
         POST=only(MENTOR, AREA_MENTOR), query=SIGN_OFF_Y),
    Case("/sign-offs/new", "correcting A's", GET=only(MENTOR, COORDINATOR),
         POST=only(MENTOR, COORDINATOR), query="?corrects={sign_off}"),
    # -- pairings, programmes, people, audit: coordinators (and an apprentice's own)
    Case("/pairings/", GET=only(COORDINATOR), POST=only(COORDINATOR)),
    Case("/pairings/<pairing_id>", GET=only(COORDINATOR), POST=only(COORDINATOR),
         data={"ends_on": "not a date"}),
    Case("/programmes/", GET=only(COORDINATOR)),
    Case("/programmes/mine", GET=only(*SIGNED_IN)),
    Case("/programmes/enrol", GET=only(COORDINATOR), POST=only(COORDINATOR)),
    Case("/programmes/<enrolment_id>", "A's", GET=only(A, COORDINATOR)),
    Case("/programmes/<enrolment_id>", "B's", GET=only(B, COORDINATOR),
         args={"enrolment_id": "enrolment_b"}),
    # A's programme is not complete: its certificate is the same 404 for everyone.
    Case("/programmes/<enrolment_id>/certificate", "A's, not complete", GET=NOBODY),
    Case("/programmes/<enrolment_id>/electives", GET=only(A, COORDINATOR),
         POST=only(A, COORDINATOR)),
    Case("/programmes/<enrolment_id>/target", POST=only(noop=(COORDINATOR,)),
         data={"target_date": "not a date"}),
    Case("/programmes/<enrolment_id>/finish", POST=only(COORDINATOR),
         data={"status": "withdrawn"}),
    Case("/people/", GET=only(COORDINATOR)),
    Case("/people/new", GET=only(COORDINATOR), POST=only(COORDINATOR)),
    # An address that is not one: the form's errors (a form without roles takes them all).
    Case("/people/<person_id>/edit", GET=only(COORDINATOR), POST=only(COORDINATOR),
         data={"email": "not an address"}),
    Case("/people/<person_id>/active", POST=only(COORDINATOR), data={"active": "1"}),
    Case("/audit/", GET=only(COORDINATOR), POST=only(COORDINATOR)),
    Case("/audit/records.csv", GET=only(COORDINATOR)),
    # -- reports: who may see the whole cohort (coordinators), each page and its CSV
    *(Case(f"/reports/{name}", GET=only(COORDINATOR)) for name in (
        "", "cohort", "cohort.csv", "activity", "activity.csv", "hours", "hours.csv",
        "mentors", "mentors.csv", "health", "health.csv")),
    Case("/reports/activity", "A's weeks", GET=only(COORDINATOR), query="?person={person_a}"),
    Case("/reports/progress/<person_id>", GET=only(COORDINATOR)),
    Case("/reports/progress/<person_id>.csv", GET=only(COORDINATOR)),
    # -- frameworks: everyone reads the active one, coordinators change it
    Case("/frameworks/", GET=only(*SIGNED_IN)),
    Case("/frameworks/<framework_id>", GET=only(*SIGNED_IN)),
    Case("/frameworks/<framework_id>/export.<fmt>", GET=only(*SIGNED_IN)),
    Case("/frameworks/<framework_id>/history", GET=only(*SIGNED_IN)),
    Case("/frameworks/competencies/<competency_id>", GET=only(*SIGNED_IN)),
    Case("/frameworks/new", GET=only(COORDINATOR), POST=only(COORDINATOR)),
    Case("/frameworks/import", GET=only(COORDINATOR), POST=only(COORDINATOR)),
    Case("/frameworks/load-default", POST=only(COORDINATOR)),
    Case("/frameworks/<framework_id>/edit", GET=only(COORDINATOR), POST=only(COORDINATOR)),
    Case("/frameworks/<framework_id>/status", POST=only(COORDINATOR),
         data={"status": "active"}),
    Case("/frameworks/<framework_id>/areas/new", GET=only(COORDINATOR),
         POST=only(COORDINATOR)),
    Case("/frameworks/areas/<area_id>/edit", GET=only(COORDINATOR), POST=only(COORDINATOR)),
    Case("/frameworks/areas/<area_id>/move", POST=only(COORDINATOR),
         args={"area_id": "area_spare"}),
    Case("/frameworks/areas/<area_id>/retire", POST=only(COORDINATOR),
         args={"area_id": "area_spare"}),
    Case("/frameworks/areas/<area_id>/competencies/new", GET=only(COORDINATOR),
         POST=only(COORDINATOR)),
    Case("/frameworks/competencies/<competency_id>/edit", GET=only(COORDINATOR),
         POST=only(COORDINATOR)),
    Case("/frameworks/competencies/<competency_id>/move", POST=only(COORDINATOR),
         args={"competency_id": "competency_spare"}),
    Case("/frameworks/competencies/<competency_id>/retire", POST=only(COORDINATOR),
         args={"competency_id": "competency_spare"}),
    # -- procedures: published ones for everyone; A's draft for A and those who publish
    Case("/procedures/", GET=only(*SIGNED_IN)),
    Case("/procedures/new", GET=only(*SIGNED_IN), POST=only(*SIGNED_IN)),
    Case("/procedures/import", GET=only(COORDINATOR), POST=only(COORDINATOR)),
    Case("/procedures/<procedure_id>", "published", GET=only(*SIGNED_IN)),
    Case("/procedures/<procedure_id>", "A's draft", GET=only(A, *PUBLISHERS),
         args={"procedure_id": "procedure_draft"}),
    Case("/procedures/<procedure_id>/edit", "published", GET=only(*SIGNED_IN),
         POST=only(*SIGNED_IN)),
    Case("/procedures/<procedure_id>/edit", "A's draft", GET=only(A, *PUBLISHERS),
         POST=only(A, *PUBLISHERS), args={"procedure_id": "procedure_draft"}),
    Case("/procedures/<procedure_id>/history", "published", GET=only(*SIGNED_IN)),
    Case("/procedures/<procedure_id>/history", "A's draft", GET=only(A, *PUBLISHERS),
         args={"procedure_id": "procedure_draft"}),
    Case("/procedures/<procedure_id>/accept/<number>", "published, A's proposal",
         POST=only(*PUBLISHERS, noop=(A, B)), args={"number": 2}),
    Case("/procedures/<procedure_id>/accept/<number>", "A's draft",
         POST=only(noop=(A, *PUBLISHERS)), args={"procedure_id": "procedure_draft"}),
    Case("/procedures/<procedure_id>/restore/<number>", "published", POST=only(*SIGNED_IN)),
    Case("/procedures/<procedure_id>/restore/<number>", "A's draft",
         POST=only(A, *PUBLISHERS), args={"procedure_id": "procedure_draft"}),
    Case("/procedures/<procedure_id>/status", "published", POST=only(*PUBLISHERS, noop=(A, B)),
         data={"status": "published"}),
    Case("/procedures/<procedure_id>/status", "A's draft", POST=only(*PUBLISHERS, noop=(A,)),
         args={"procedure_id": "procedure_draft"}, data={"status": "draft"}),
    Case("/procedures/<procedure_id>/checked", "published", POST=only(*PUBLISHERS, noop=(A, B))),
    Case("/procedures/<procedure_id>/checked", "A's draft", POST=only(A, *PUBLISHERS),
         args={"procedure_id": "procedure_draft"}),
    Case("/procedures/glossary", GET=only(*SIGNED_IN)),
    Case("/procedures/glossary/edit", GET=only(COORDINATOR), POST=only(COORDINATOR)),
    Case("/procedures/glossary/history", GET=only(COORDINATOR)),
    Case("/procedures/glossary/reset", POST=only(COORDINATOR)),
    Case("/procedures/glossary/restore/<version_id>", POST=only(COORDINATOR)),
]

# POSTs that change the world for good, sent after every other case, in this order.
RUN_LAST = ("/programmes/<enrolment_id>/finish", "/log/<entry_id>/delete",
            "/frameworks/areas/<area_id>/retire",
            "/frameworks/competencies/<competency_id>/retire", "/sign-out")

PARAMETER = re.compile(r"<(?:[^<>]*:)?(\w+)>")


def route_of(rule) -> str:
    """A URL rule as POLICY writes it: ``/log/<entry_id>`` (converters left out)."""
    return PARAMETER.sub(r"<\1>", rule.rule)


def routes(app) -> dict[str, set[str]]:
    """Every route of the app with its methods (HEAD and OPTIONS come with GET)."""
    return {route_of(rule): set(rule.methods) - {"HEAD", "OPTIONS"}
            for rule in app.url_map.iter_rules()}


def policy_problems(app) -> list[str]:
    """What is missing from POLICY, or in it for a route that no longer exists."""
    found = routes(app)
    problems = []
    for route, methods in sorted(found.items()):
        cases = [case for case in POLICY if case.rule == route]
        if not cases:
            problems.append(f"add {route} ({', '.join(sorted(methods))}) to POLICY")
        for case in cases:
            for method in sorted(methods - set(case.methods)):
                problems.append(f"add {method} to POLICY's {case.name}")
            for method in sorted(set(case.methods) - methods):
                problems.append(f"POLICY's {case.name} has {method}, which the route has not")
    for case in POLICY:
        if case.rule not in found:
            problems.append(f"POLICY's {case.name} matches no route: remove it")
        for method, expected in case.methods.items():
            if set(expected) != set(ROLES):
                problems.append(f"POLICY's {method} {case.name} does not name every role")
    return problems


def url_of(case: Case, ids: dict[str, int]) -> str:
    def value(match):
        chosen = case.args.get(match.group(1), DEFAULT_ARGS[match.group(1)])
        return str(ids.get(chosen, chosen)) if isinstance(chosen, str) else str(chosen)

    return PARAMETER.sub(value, case.rule) + case.query.format(**ids)


def outcome(response) -> str:
    """The coarse outcome of a response (see the table's legend)."""
    status = response.status_code
    if status == 401 or (300 <= status < 400
                         and urlsplit(response.headers.get("Location", "")).path == "/sign-in"):
        return "sign-in"
    if status in (403, 404):
        return "refused"
    if status == 409:
        return "conflict"
    return "ok" if 200 <= status < 400 else f"HTTP {status}"


def matches(expected: str, got: str) -> bool:
    return {"ok": got in ("ok", "conflict"), "noop": got in ("ok", "conflict"),
            "signed-out": got == "sign-in"}.get(expected, got == expected)


def test_every_route_is_in_the_policy_table(app):
    assert not policy_problems(app), "\n".join(policy_problems(app))


def test_the_policy_table_notices_a_new_route(app):
    """A page added tomorrow without a POLICY row fails the matrix."""
    app.add_url_rule("/reports/<int:report_id>", "reports_show", lambda report_id: "")
    assert "add /reports/<report_id> (GET) to POLICY" in policy_problems(app)


def test_the_policy_table_notices_a_route_that_is_gone(app, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "POLICY",
                        [*POLICY, Case("/nowhere/", GET=only(COORDINATOR))])
    assert "POLICY's /nowhere/ matches no route: remove it" in policy_problems(app)


def test_access_matrix(app, make_person):
    """Every route x method x role answers as POLICY says; no refused POST, and no GET at
    all, changes a row."""
    problems = policy_problems(app)
    assert not problems, "\n".join(problems)
    world = build_world(app, make_person)
    ids = world["ids"]
    clients = {role: signed_in(app, world["people"].get(role)) for role in ROLES}
    wrong: list[str] = []

    def send(role, method, case):
        client, token = clients[role]
        url = url_of(case, ids)
        if method == "GET":
            with client.get(url) as response:
                return outcome(response)
        data = {"csrf_token": token, **dates.from_today(case.data)}
        with client.post(url, data=data) as response:
            return outcome(response)

    last = {}  # the newest snapshot: the next request's "before" (one read per request)

    def check(role, method, case, *, unchanged: bool):
        got = send(role, method, case)
        expected = case.methods[method][role]
        if not matches(expected, got):
            wrong.append(f"{method} {case.name} as {role}: expected {expected}, got {got}")
        if unchanged:
            before, last["tables"] = last["tables"], snapshot(app)
            changed = changed_tables(before, last["tables"])
            if changed:
                wrong.append(f"{method} {case.name} as {role} ({got}) changed "
                             f"{', '.join(changed)}")

    # 1. Every GET, as everyone: nothing may change.
    before_gets = snapshot(app)
    for case in POLICY:
        if case.GET is not None:
            for role in ROLES:
                check(role, "GET", case, unchanged=False)
    changed = changed_tables(before_gets, snapshot(app))
    assert not changed, f"opening pages changed {changed}"
    # 2. Every POST that must change nothing (refused, sent to sign in, or said no to),
    #    while the world is as built.
    last["tables"] = snapshot(app)
    for case in POLICY:
        for role, expected in (case.POST or {}).items():
            if expected in ("refused", "sign-in", "noop"):
                check(role, "POST", case, unchanged=True)
    # 3. The POSTs that get in, the ones that change the world for good last.
    for case in sorted(POLICY, key=lambda c: RUN_LAST.index(c.rule) + 1
                       if c.rule in RUN_LAST else 0):
        for role, expected in (case.POST or {}).items():
            if expected in ("ok", "signed-out"):
                check(role, "POST", case, unchanged=False)
    assert not wrong, f"{len(wrong)} answers differ from POLICY:\n" + "\n".join(wrong)


# -- other people's objects, by id --------------------------------------------------------
# Each attempt names an object by id: A's own, one that does not exist, 0, the largest id
# a route takes, and one past it. None may succeed (a page shown, a change made).

NOT_THERE, LARGEST = 1_000_000, 2_147_483_647
ATTEMPT_IDS = (NOT_THERE, 0, LARGEST, LARGEST + 1)
ENTRY_TEXTS = ("A draft about the issue desk.", "Ran the issue desk alone.",
               "Closed the branch; the cash balanced.")


def valid_entry(ids, mentor_id) -> dict:
    """A log form that would save, if the door let it through."""
    return {"occurred_on": (date.today() - timedelta(days=1)).isoformat(), "minutes": "30",
            "activity": "5", "mentor_id": str(mentor_id),
            "competency_ids": [str(ids["competency_x"])], "description": "Rewritten.",
            "submit": "1"}


def attempts(kind: str, ids: dict, person_ids: dict) -> list[tuple[str, str, dict]]:
    """(method, URL with ``{id}``, data) for one kind of object; ``{id}`` takes each id."""
    mentor = person_ids[MENTOR]
    today = date.today().isoformat()
    return {
        "entries": [
            ("GET", "/log/{id}", {}),
            ("POST", "/log/{id}", valid_entry(ids, mentor)),
            ("POST", "/log/{id}/delete", {}),
            ("POST", "/log/{id}/unlock", {"reason": "Reopened by someone else."}),
            ("POST", "/review/{id}/return", {"comment": "Redo it."}),
            ("POST", "/review/verify", {"entry_id": "{id}"}),
        ],
        "sign-offs": [
            ("GET", "/sign-offs/{id}", {}),
            ("POST", "/sign-offs/{id}", {"reason": "Withdrawn by someone else."}),
            ("GET", "/sign-offs/new?corrects={id}", {}),
            ("POST", "/sign-offs/new?corrects={id}",
             {"level": "4", "entry_ids": str(ids["verified"]), "password": DEFAULT_PASSWORD,
              "comment": "A correction by someone else."}),
        ],
        "pairings": [
            ("GET", "/pairings/{id}", {}),
            ("POST", "/pairings/{id}", {"ends_on": "", "area_ids": str(ids["area_x"])}),
        ],
        "programmes": [
            ("GET", "/programmes/{id}", {}),
            ("GET", "/programmes/{id}/electives", {}),
            ("GET", "/programmes/{id}/certificate", {}),
            ("POST", "/programmes/{id}/electives", {"electives": []}),
            ("POST", "/programmes/{id}/target", {"target_date": today}),
            ("POST", "/programmes/{id}/finish", {"status": "withdrawn"}),
        ],
        "procedure drafts": [
            ("GET", "/procedures/{id}", {}),
            ("GET", "/procedures/{id}/edit", {}),
            ("GET", "/procedures/{id}/history", {}),
            ("POST", "/procedures/{id}/edit",
             {"title": "Taken over", "body": "New text.", "based_on": "1"}),
            ("POST", "/procedures/{id}/status", {"status": "published"}),
            ("POST", "/procedures/{id}/checked", {}),
            ("POST", "/procedures/{id}/restore/1", {}),
            ("POST", "/procedures/{id}/accept/1", {}),
        ],
        "statements": [
            ("GET", "/apprentices/{id}/statement", {}),
            ("GET", "/apprentices/{id}/statement/revisions/1", {}),
            ("GET", "/apprentices/{id}/statement/edit", {}),
            ("POST", "/apprentices/{id}/statement/edit",
             {"overall": "Written by someone else.", "based_on": "1"}),
        ],
        "share links": [
            ("GET", "/apprentices/{id}/sharing", {}),
            ("POST", "/apprentices/{id}/sharing",
             {"label": "Made by someone else", "expires_on": today, "shows": "all"}),
            ("POST", "/apprentices/{id}/sharing/" + str(ids["share_link"]) + "/revoke", {}),
        ],
        "portfolios": [("GET", "/apprentices/{id}/portfolio" + suffix, {})
                       for suffix in ("", ".pdf", ".json", ".csv")],
        # A's link, revoked through the attacker's own address.
        "share link ids": [("POST", "/apprentices/{me}/sharing/{id}/revoke", {})],
        "credentials": [
            ("GET", "/apprentices/{id}/credentials", {}),
            ("POST", "/apprentices/{id}/credentials/issue",
             {"framework_id": str(ids["framework"]), "area_id": str(ids["area_x"])}),
            ("POST", f"/apprentices/{{id}}/credentials/{ids['credential_a']}/revoke",
             {f"c{ids['credential_a']}-reason": "Revoked by someone else."}),
        ],
        # A's credential, revoked through the attacker's own address.
        "credential ids": [("POST", "/apprentices/{me}/credentials/{id}/revoke",
                            {"c{id}-reason": "Revoked by someone else."})],
        "people": [
            ("GET", "/apprentices/{id}", {}),
            ("GET", "/sign-offs/new?person={id}&competency=" + str(ids["competency_x"]), {}),
            ("POST", "/sign-offs/new?person={id}&competency=" + str(ids["competency_x"]),
             {"level": "4", "entry_ids": str(ids["verified"]), "password": DEFAULT_PASSWORD}),
            ("POST", "/pairings/", {"apprentice_id": "{id}", "mentor_id": "{me}",
                                    "starts_on": today}),
            ("GET", "/people/{id}/edit", {}),
            ("POST", "/people/{id}/active", {"active": "0"}),
        ],
    }[kind]


# Whose objects each kind tries, and who tries them (mentors see every procedure draft:
# they publish; the area-only mentor tries what lies in the area they do not cover).
CROSS_OWNER = {
    "entries": (("submitted", "verified", "draft"), (B, UNPAIRED, AREA_MENTOR)),
    "sign-offs": (("sign_off",), (B, UNPAIRED, AREA_MENTOR)),
    "pairings": (("pairing_all", "pairing_y"), (B, UNPAIRED)),
    "programmes": (("enrolment_a",), (B, UNPAIRED)),
    "procedure drafts": (("procedure_draft",), (B,)),
    "statements": (("person_a",), (B, UNPAIRED)),
    "portfolios": (("person_a",), (B, UNPAIRED)),
    "share links": (("person_a",), (B, MENTOR, UNPAIRED)),
    "share link ids": (("share_link",), (B, MENTOR, UNPAIRED, COORDINATOR)),
    "credentials": (("person_a",), (B, MENTOR, UNPAIRED)),
    "credential ids": (("credential_a",), (B, MENTOR, UNPAIRED, COORDINATOR)),
    "people": (("person_a",), (B, UNPAIRED)),
}


@pytest.fixture(scope="module")
def untouched_world(migrated_db, tmp_path_factory):
    """(app, world) for the attempts by id: none may change a row, so every kind tries
    its ids on one world, built once for the module."""
    with app_on_copy(migrated_db, tmp_path_factory.mktemp("matrix")) as app:
        yield app, build_world(app, PersonFactory(app))


@pytest.mark.parametrize("kind", list(CROSS_OWNER))
def test_other_peoples_objects_cannot_be_opened_or_changed_by_id(untouched_world, kind):
    app, world = untouched_world
    ids, person_ids = world["ids"], world["person_ids"]
    owned, attackers = CROSS_OWNER[kind]
    succeeded, tried = [], 0
    after = snapshot(app)
    for role in attackers:
        client, token = signed_in(app, world["people"][role])
        for method, template, data in attempts(kind, ids, person_ids):
            for object_id in [ids[name] for name in owned] + list(ATTEMPT_IDS):
                def fill(text, object_id=object_id, role=role):
                    return text.replace("{id}", str(object_id)).replace(
                        "{me}", str(person_ids[role]))
                url = fill(template)
                form = {name: [fill(v) for v in value] if isinstance(value, list)
                        else fill(value) for name, value in data.items()}
                before = after
                if method == "GET":
                    response = client.get(url)
                else:
                    response = client.post(url, data={"csrf_token": token, **form})
                tried += 1
                page = response.get_data(as_text=True)
                after = snapshot(app)
                changed = changed_tables(before, after)
                named_in_url = "{id}" in template
                if changed:
                    succeeded.append(f"{method} {url} as {role} changed {', '.join(changed)}")
                elif named_in_url and response.status_code not in (403, 404):
                    succeeded.append(f"{method} {url} as {role}: {response.status_code}")
                elif response.status_code >= 500 or any(t in page for t in ENTRY_TEXTS):
                    succeeded.append(f"{method} {url} as {role}: {response.status_code}, "
                                     "showing A's entries")
    assert tried >= 20
    assert not succeeded, f"{len(succeeded)} of {tried} attempts got through:\n" + "\n".join(
        succeeded)


# -- fields a form does not have ------------------------------------------------------------
# Sent along with the normal forms, as someone editing the page in their browser would:
# each names another person, a role, or a state the record should not be put in by hand.

def smuggled(world) -> dict[str, str]:
    """Extra fields naming B, the coordinator, and states and roles A does not hold."""
    other, coordinator = world["person_ids"][B], world["person_ids"][COORDINATOR]
    return {"role": "coordinator", "roles": "coordinator", "person_id": str(other),
            "staff_id": str(other), "apprentice_id": str(other), "owner_id": str(other),
            "author_id": str(coordinator), "signed_by": str(coordinator),
            "signed_by_id": str(coordinator), "verified_by": str(coordinator),
            "verified_by_id": str(coordinator), "state": "verified", "status": "published"}


@pytest.mark.parametrize("button, state", [
    pytest.param("submit", "submitted", id="submitted"),
    pytest.param("save_draft", "draft", id="draft"),
])
def test_a_new_log_entry_ignores_fields_naming_other_people_or_states(
        app, make_person, button, state):
    world = build_world(app, make_person)
    ids, person_ids = world["ids"], world["person_ids"]
    client, token = signed_in(app, world["people"][A])
    response = client.post("/log/new", data={
        "csrf_token": token, **valid_entry(ids, person_ids[MENTOR]), "submit": None,
        button: "1", "form_token": form_token(client, "/log/new"), **smuggled(world)})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        [entry] = db_session().scalars(select(LogEntry).where(
            LogEntry.description == "Rewritten.")).all()
        assert (entry.person_id, entry.state, entry.verified_by_id, entry.verified_at) == (
            person_ids[A], state, None, None)
        assert not db_session().scalars(select(LogEntry).where(
            LogEntry.person_id == person_ids[B])).all()
        assert [r.value for r in get_person(person_ids[A]).roles] == ["apprentice"]


def test_editing_a_draft_with_extra_fields_stays_the_apprentices_and_unverified(app, make_person):
    world = build_world(app, make_person)
    ids, person_ids = world["ids"], world["person_ids"]
    client, token = signed_in(app, world["people"][A])
    response = client.post(f"/log/{ids['draft']}", data={
        "csrf_token": token, **valid_entry(ids, person_ids[MENTOR]), **smuggled(world)})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        entry = db_session().get(LogEntry, ids["draft"])
        assert (entry.person_id, entry.state, entry.verified_by_id, entry.description) == (
            person_ids[A], "submitted", None, "Rewritten.")


def test_the_log_form_refuses_a_mentor_who_is_not_paired(app, make_person):
    """``mentor_id`` is the form's own field: a forged one is refused, with a message."""
    world = build_world(app, make_person)
    ids, person_ids = world["ids"], world["person_ids"]
    client, token = signed_in(app, world["people"][A])
    before = snapshot(app)
    response = client.post("/log/new", data={
        "csrf_token": token, **valid_entry(ids, person_ids[UNPAIRED]),
        "form_token": form_token(client, "/log/new")})
    assert response.status_code == 200
    assert "Choose one of your current mentors." in response.get_data(as_text=True)
    assert not changed_tables(before, snapshot(app))


def test_a_sign_off_is_signed_by_who_sends_it_for_the_person_in_the_address(app, make_person):
    world = build_world(app, make_person)
    ids, person_ids = world["ids"], world["person_ids"]
    client, token = signed_in(app, world["people"][MENTOR])
    url = f"/sign-offs/new?person={ids['person_a']}&competency={ids['competency_x']}"
    response = client.post(url, data={
        "csrf_token": token, "level": "4", "entry_ids": str(ids["verified"]),
        "password": DEFAULT_PASSWORD, "form_token": form_token(client, url),
        "comment": "Watched it twice.", **smuggled(world),
        "mentor_id": str(person_ids[AREA_MENTOR])})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        [record] = db_session().scalars(select(SignOff).where(
            SignOff.comment == "Watched it twice.")).all()
        assert (record.person_id, record.signed_by_id, record.competency_id, record.level) == (
            person_ids[A], person_ids[MENTOR], ids["competency_x"], 4)


def test_changing_ones_password_with_extra_fields_changes_only_ones_password(
        app, make_person):
    world = build_world(app, make_person)
    person_ids = world["person_ids"]
    client, token = signed_in(app, world["people"][A])
    new = "a brand new passphrase 42"
    response = client.post("/account/password", data={
        "csrf_token": token, "current_password": DEFAULT_PASSWORD, "new_password": new,
        "confirm": new, **smuggled(world)})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        a, b = get_person(person_ids[A]), get_person(person_ids[B])
        assert verify_password(a.password_hash, new)
        assert verify_password(b.password_hash, DEFAULT_PASSWORD)
        assert [r.value for r in a.roles] == ["apprentice"]
        assert [r.value for r in b.roles] == ["apprentice"]


def test_an_apprentices_procedure_stays_their_own_draft_whatever_the_form_says(
        app, make_person):
    world = build_world(app, make_person)
    ids, person_ids = world["ids"], world["person_ids"]
    client, token = signed_in(app, world["people"][A])
    response = client.post("/procedures/new", data={
        "csrf_token": token, "title": "Returning books", "body": "Scan, then shelve.",
        "form_token": form_token(client, "/procedures/new"), **smuggled(world)})
    assert response.status_code == 302, response.get_data(as_text=True)
    published = ids["procedure_published"]
    response = client.post(f"/procedures/{published}/edit", data={
        "csrf_token": token, "title": "Opening the branch", "body": "Just open it.",
        "based_on": "1", "form_token": form_token(client, f"/procedures/{published}/edit"),
        **smuggled(world)})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        [procedure] = db_session().scalars(select(Procedure).where(
            Procedure.title == "Returning books")).all()
        assert (procedure.owner_id, procedure.status) == (person_ids[A], "draft")
        page = db_session().get(Procedure, published)
        [proposal] = db_session().scalars(select(ProcedureRevision).where(
            ProcedureRevision.procedure_id == published,
            ProcedureRevision.body == "Just open it.")).all()
        assert (proposal.author_id, proposal.state) == (person_ids[A], "proposed")
        assert page.body == "Unlock, lights, tills."
