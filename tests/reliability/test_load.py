"""Load: many people writing at once through gunicorn with 4 workers (issue 10, point 6).

Three apprentices log 1,000 sessions and four mentors sign off 500 competencies, all at
once from 24 browsers, while 100 forms are each sent twice at the same moment with the
same one-time token. Everything goes through the real pages: the form is opened, then
sent (one in ten then opens the page it leads to). Afterwards every acknowledged
write (a redirect, or "already saved") is in the database exactly once, nothing failed,
the server never said "database is locked", the audit trail verifies and holds one
record per write, and the search index agrees with the database.

Run with ``-s`` for the figures; ``--db postgresql`` for the PostgreSQL run.
"""

from __future__ import annotations

import random
import re
import secrets
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import partial

import pytest

from tests.reliability.harness import Response, WebClient, at_once, fill, log_problems
from tests.support.demo_accounts import (
    APPRENTICE,
    BRANCH_HEAD,
    CATALOGUER,
    CLERK,
    COORDINATOR,
    MENTOR,
    PARA,
    PASSWORD,
)

pytestmark = pytest.mark.load

ENTRIES = 1000
SIGN_OFFS = 500
DOUBLE_ENTRIES = 70  # of the 100 double submits; the rest are sign-offs
DOUBLE_SIGN_OFFS = 30
BROWSERS = 24  # requests in flight at once
# Open the page a saved form leads to (and check what it says) for one form in this many:
# the log page lists every entry, so opening it after each of 1,000 would be most of the run.
FOLLOW_EVERY = 10
LEVELS = range(1, 7)  # apprentice.competencies.models.SupervisionLevel
CAN_TRAIN = 6
SIGN_OFF_LINK = re.compile(r'href="/sign-offs/new\?person=(\d+)&amp;competency=(\d+)"')


# -- the cast: three apprentices, each with a mentor and verified evidence ------------------

@dataclass
class Cast:
    ids: dict[str, int]  # e-mail -> staff id
    browsers: dict[str, WebClient]  # e-mail -> signed in once; threads use clones
    # apprentice e-mail -> (their mentor's e-mail, their programme's competency ids)
    apprentices: dict[str, tuple[str, list[str]]] = field(default_factory=dict)


def _redirected(answer: Response, what: str) -> None:
    assert answer.redirected, f"{what}: {answer.status} {answer.errors or answer.text[:1500]}"


def set_up_cast(instance, sign_in) -> Cast:
    """Through the pages, as the coordinator and the people would: enrol Priya and
    Tomás, pair Tomás with Samuel, and give each apprentice verified entries covering
    their whole programme (the evidence the sign-offs will cite)."""
    ids = {email: person for person, email in instance.rows(
        "SELECT id, email FROM apprentice_staff")}
    carmen = sign_in(COORDINATOR)
    for email in (CLERK, PARA):
        _redirected(carmen.submit("/programmes/enrol", {"person": ids[email]}),
                    f"enrolling {email}")
    _redirected(carmen.submit("/pairings/", {"apprentice_id": ids[PARA],
                                             "mentor_id": ids[CATALOGUER]}),
                "pairing Tomás with Samuel")
    cast = Cast(ids, {email: sign_in(email) for email in
                      (APPRENTICE, CLERK, PARA, MENTOR, CATALOGUER, BRANCH_HEAD)})
    for apprentice, mentor in ((APPRENTICE, MENTOR), (CLERK, BRANCH_HEAD), (PARA, CATALOGUER)):
        browser = cast.browsers[apprentice]
        competencies = [value for value, _ in browser.get("/log/new").choices("competency_ids")]
        assert competencies, f"{apprentice} has no programme"
        cast.apprentices[apprentice] = (mentor, competencies)
        for start in range(0, len(competencies), 10):
            _redirected(browser.submit("/log/new", {
                "occurred_on": date.today().isoformat(), "minutes": 30, "activity": CAN_TRAIN,
                "mentor_id": ids[mentor], "competency_ids": competencies[start:start + 10],
                "description": "Evidence for the load run", "submit": "Submit for review",
            }), f"evidence of {apprentice}")
    for mentor in (MENTOR, BRANCH_HEAD, CATALOGUER):
        browser = cast.browsers[mentor]
        queue = browser.get("/review/")
        waiting = [value for value, _ in queue.choices("entry_id", action="/review/verify")]
        _redirected(browser.post("/review/verify", [("csrf_token", queue.csrf_token()),
                                                    *(("entry_id", e) for e in waiting)]),
                    f"{mentor} verifying")
    return cast


def sign_off_slots(instance, cast: Cast) -> list[tuple[str, int, str, int]]:
    """Every (mentor, person, competency, level) the mentors may still sign off, from the
    Sign off links on each mentor's page of the apprentice, less what is signed already."""
    lineage = dict(instance.rows("SELECT id, lineage FROM apprentice_competencies"))
    signed = {(by, person, line, level) for by, person, line, level in instance.rows(
        "SELECT signed_by_id, person_id, lineage, level FROM apprentice_sign_offs")}
    slots = []
    for mentor, apprentice in ((MENTOR, APPRENTICE), (CATALOGUER, APPRENTICE),
                               (BRANCH_HEAD, CLERK), (CATALOGUER, PARA)):
        person = cast.ids[apprentice]
        page = cast.browsers[mentor].get(f"/apprentices/{person}")
        offered = {int(c) for p, c in SIGN_OFF_LINK.findall(page.text) if int(p) == person}
        assert offered, f"{mentor} is offered no sign-off for {apprentice}"
        slots += [(mentor, person, str(c), level) for c in sorted(offered) for level in LEVELS
                  if (cast.ids[mentor], person, lineage[c], level) not in signed]
    return slots


# -- the load -----------------------------------------------------------------------

@dataclass
class Outcome:
    kind: str  # "entry", "sign-off", "double entry", "double sign-off"
    marker: str
    answers: list[Response]  # the POSTs (two for a double submit)
    landings: list[Response]  # the pages their redirects led to


class Browsers(threading.local):
    """Each thread's own tab per person (a clone of the signed-in browser)."""

    def __init__(self, cast: Cast, history: list):
        self.cast, self.history = cast, history
        self.tabs: dict[str, WebClient] = {}

    def __call__(self, email: str) -> WebClient:
        if email not in self.tabs:
            self.tabs[email] = self.cast.browsers[email].clone(self.history)
        return self.tabs[email]


def _entry_fields(cast: Cast, apprentice: str, marker: str, rng: random.Random) -> dict:
    mentor, competencies = cast.apprentices[apprentice]
    return {"occurred_on": date.today().isoformat(), "minutes": rng.randint(10, 240),
            "activity": rng.choice(LEVELS), "mentor_id": cast.ids[mentor],
            "competency_ids": rng.sample(competencies, rng.randint(1, 3)),
            "description": f"Helped at the desk during the load run ({marker}).",
            "submit": "Submit for review"}


def _sign_off_fields(level: int, marker: str) -> dict:
    return {"level": level, "comment": f"Seen at the desk ({marker}).", "password": PASSWORD}


def _send(browser: WebClient, path: str, form, answers, landings, follow: bool) -> None:
    """Send a filled-in form; open the page it leads to if ``follow``."""
    answer = browser.post(path, form)
    answers.append(answer)
    if answer.redirected and follow:
        landings.append(browser.follow(answer))


def _twice_at_once(tabs: list[WebClient], path: str, form, answers, landings,
                   follow: bool) -> None:
    """The same filled-in form sent from two tabs at the same moment (a double tap)."""
    at_once(*(lambda tab=tab: _send(tab, path, form, answers, landings, follow)
              for tab in tabs))


def plan(cast: Cast, slots, run: str, rng: random.Random) -> list:
    """The tasks, shuffled: each a function of the thread's browsers returning an Outcome."""
    tasks = []
    apprentices = list(cast.apprentices)

    def entry(n: int, double: bool):
        apprentice = apprentices[n % len(apprentices)]
        marker = f"load-{run}-{'d' if double else 'e'}{n:04d}"
        fields = _entry_fields(cast, apprentice, marker, rng)

        def task(browsers: Browsers) -> Outcome:
            answers, landings = [], []
            tab = browsers(apprentice)
            form = fill(tab.form("/log/new"), fields)
            send = _twice_at_once if double else _send
            send([tab, tab.clone(tab.history)] if double else tab, "/log/new", form, answers,
                 landings, follow=n % FOLLOW_EVERY == 0)
            return Outcome("double entry" if double else "entry", marker, answers, landings)

        return task

    def sign_off(n: int, slot, double: bool):
        mentor, person, competency, level = slot
        marker = f"load-{run}-{'t' if double else 's'}{n:04d}"
        path = f"/sign-offs/new?person={person}&competency={competency}"

        def task(browsers: Browsers) -> Outcome:
            answers, landings = [], []
            tab = browsers(mentor)
            form = fill(tab.form(path), _sign_off_fields(level, marker))
            send = _twice_at_once if double else _send
            send([tab, tab.clone(tab.history)] if double else tab, path, form, answers,
                 landings, follow=n % FOLLOW_EVERY == 0)
            return Outcome("double sign-off" if double else "sign-off", marker, answers,
                           landings)

        return task

    chosen = rng.sample(slots, SIGN_OFFS + DOUBLE_SIGN_OFFS)
    tasks += [entry(n, double=False) for n in range(ENTRIES)]
    tasks += [entry(n, double=True) for n in range(DOUBLE_ENTRIES)]
    tasks += [sign_off(n, slot, double=False) for n, slot in enumerate(chosen[:SIGN_OFFS])]
    tasks += [sign_off(n, slot, double=True)
              for n, slot in enumerate(chosen[SIGN_OFFS:])]
    rng.shuffle(tasks)
    return tasks


def run_all(cast: Cast, tasks) -> tuple[list[Outcome], list, float]:
    """Run the tasks from BROWSERS threads: the outcomes, every request, the seconds."""
    history: list = []
    browsers = Browsers(cast, history)
    started = time.perf_counter()
    with ThreadPoolExecutor(BROWSERS) as pool:
        outcomes = list(pool.map(lambda task: task(browsers), tasks))
    return outcomes, history, time.perf_counter() - started


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _latency(times: list[float]) -> str:
    return (f"p50 {statistics.median(times) * 1000:.0f} ms, "
            f"p95 {_percentile(times, .95) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")


def report(instance, history: list, seconds: float) -> str:
    """The figures: requests, seconds, requests/s, latency overall and per page."""
    lines = [
        f"\nload on {instance.kind}, gunicorn 4 workers, {BROWSERS} browsers: "
        f"{len(history)} requests in {seconds:.1f} s = {len(history) / seconds:.1f} "
        f"requests/s; latency {_latency([r.seconds for _, _, r in history])}"]
    pages: dict[str, list[float]] = {}
    for method, path, response in history:
        page = re.sub(r"\d+", "<id>", path.split("?")[0].split("#")[0])
        pages.setdefault(f"{method} {page}", []).append(response.seconds)
    lines += [f"  {page:<30} {len(times):>5}  {_latency(times)}"
              for page, times in sorted(pages.items())]
    return "\n".join(lines)


# -- the test ------------------------------------------------------------------------

def _counts(instance) -> dict[str, int]:
    return {
        "entries": instance.scalar("SELECT count(*) FROM apprentice_log_entries"),
        "sign-offs": instance.scalar("SELECT count(*) FROM apprentice_sign_offs"),
        "entry audit": instance.scalar(
            "SELECT count(*) FROM apprentice_audit WHERE action = 'entry.submitted'"),
        "sign-off audit": instance.scalar(
            "SELECT count(*) FROM apprentice_audit WHERE action = 'signoff.created'"),
    }


def test_many_writes_at_once_are_each_stored_once(server, instance, sign_in):
    rng = random.Random(10)  # noqa: S311 - a repeatable plan, not a secret
    run = secrets.token_hex(3)
    cast = set_up_cast(instance, sign_in)
    slots = sign_off_slots(instance, cast)
    assert len(slots) >= SIGN_OFFS + DOUBLE_SIGN_OFFS, f"only {len(slots)} sign-offs possible"
    before = _counts(instance)

    outcomes, history, seconds = run_all(cast, plan(cast, slots, run, rng))
    print(report(instance, history, seconds))

    # No error page, and every form was acknowledged: saved (a redirect to what was
    # saved) or, for the second of a double submit, "already saved".
    failed = [(method, path, r.status, r.text[:300]) for method, path, r in history
              if r.status >= 500]
    assert failed == [], f"{len(failed)} server errors, first: {failed[:3]}"
    refused = [(o.kind, o.marker, a.status, a.errors or a.text[:1500])
               for o in outcomes for a in o.answers if not (a.redirected or a.already_saved)]
    assert refused == [], f"{len(refused)} forms not acknowledged, first: {refused[:2]}"
    singles = [o for o in outcomes if not o.kind.startswith("double")]
    assert all(o.answers[0].redirected for o in singles)
    # A double submit: one saved, the other answered "already saved" with a link to
    # the record the first one saved.
    doubles = [o for o in outcomes if o.kind.startswith("double")]
    assert len(doubles) == DOUBLE_ENTRIES + DOUBLE_SIGN_OFFS
    for o in doubles:
        assert sorted(a.status for a in o.answers) == [200, 302], (o.marker, o.answers)
        [again] = [a for a in o.answers if a.already_saved]
        table, column, path = (("apprentice_log_entries", "description", "/log/")
                               if o.kind == "double entry" else
                               ("apprentice_sign_offs", "comment", "/sign-offs/"))
        record = re.search(rf'href="{path}(\d+)"', again.text)
        assert record, again.text
        assert o.marker in instance.scalar(
            f"SELECT {column} FROM {table} WHERE id = :id",  # noqa: S608 - our names
            id=int(record.group(1)))

    print(f"{ENTRIES} entries and {SIGN_OFFS} sign-offs sent once, {len(doubles)} forms "
          f"sent twice at once: {len(doubles)} answered 'already saved' the second time")

    # The page a saved form leads to says so.
    followed = [(o, landing) for o in singles for landing in o.landings]
    assert len(followed) >= (ENTRIES + SIGN_OFFS) // FOLLOW_EVERY
    for o, landing in followed:
        assert landing.status == 200, (o.kind, o.marker, landing.status)
        said = ("Sent to your mentor for review." if o.kind == "entry" else "signed off for")
        assert said in landing.text, (o.kind, o.marker, landing.text[:1000])

    # Every acknowledged write is stored exactly once, and nothing else was.
    stored = Counter(
        re.search(r"\((load-\w+-\w+)\)", text).group(1) for (text,) in instance.rows(
            "SELECT description FROM apprentice_log_entries WHERE description LIKE :m "
            "UNION ALL SELECT comment FROM apprentice_sign_offs WHERE comment LIKE :m",
            m=f"%(load-{run}-%"))
    sent = Counter(o.marker for o in outcomes)
    assert stored == sent, (
        f"missing: {sorted(sent - stored)[:10]}; more than once: "
        f"{sorted(m for m, n in stored.items() if n > 1)[:10]}")
    after = _counts(instance)
    entries, sign_offs = ENTRIES + DOUBLE_ENTRIES, SIGN_OFFS + DOUBLE_SIGN_OFFS
    assert {k: after[k] - before[k] for k in after} == {
        "entries": entries, "sign-offs": sign_offs,
        "entry audit": entries, "sign-off audit": sign_offs}

    # The server never waited in vain for a lock, nor logged an error.
    assert log_problems(server.log) == []

    verified = instance.audit_verify()
    assert verified.returncode == 0 and "Audit trail intact" in verified.stdout, (
        verified.stdout + verified.stderr)
    checked = instance.check_index()
    assert checked.returncode == 0 and "agrees with the database" in checked.stdout, (
        checked.stdout + checked.stderr)


def test_two_tabs_signing_off_the_same_at_once_sign_off_once(server, instance, sign_in):
    """One mentor, two tabs, the same competency at the same level, each citing a
    different entry, sent at the same moment: one sign-off; the other tab says why.
    (PostgreSQL signed off twice before sign-offs of a competency took turns.)"""
    ids = {email: person for person, email in instance.rows(
        "SELECT id, email FROM apprentice_staff")}
    jordan, marian = sign_in(APPRENTICE), sign_in(MENTOR)
    person = ids[APPRENTICE]
    signed = {c for (c,) in instance.rows(
        "SELECT competency_id FROM apprentice_sign_offs WHERE person_id = :p", p=person)}
    page = marian.get(f"/apprentices/{person}")
    competency = next(c for p, c in SIGN_OFF_LINK.findall(page.text)
                      if int(p) == person and int(c) not in signed)
    for _ in range(2):
        _redirected(jordan.submit("/log/new", {
            "activity": CAN_TRAIN, "mentor_id": ids[MENTOR], "competency_ids": [competency],
            "description": "Practised it again", "submit": "Submit for review"}), "logging")
    queue = marian.get("/review/")
    _redirected(marian.post("/review/verify", [
        ("csrf_token", queue.csrf_token()),
        *(("entry_id", e) for e, _ in queue.choices("entry_id", action="/review/verify"))]),
        "verifying")

    path = f"/sign-offs/new?person={person}&competency={competency}"
    for level in LEVELS:
        tabs = [marian.clone(), marian.clone()]
        forms = [tab.get(path) for tab in tabs]
        evidence = [value for value, _ in forms[0].choices("entry_ids")]
        assert len(evidence) >= 2, evidence
        sent = [fill([*form.form_data(), ("csrf_token", form.csrf_token())], {
            **_sign_off_fields(level, f"tab {n}"), "entry_ids": [evidence[n]]})
            for n, form in enumerate(forms)]
        answers = at_once(*(partial(tab.post, path, form)
                            for tab, form in zip(tabs, sent, strict=True)))
        assert sorted(a.status for a in answers) == [200, 302], [a.errors for a in answers]
        [refused] = [a for a in answers if a.status == 200]
        assert "You have signed this off at this level already." in " ".join(refused.errors)

    assert instance.rows(
        "SELECT level, count(*) FROM apprentice_sign_offs WHERE person_id = :p AND "
        "competency_id = :c AND signed_by_id = :m GROUP BY level ORDER BY level",
        p=person, c=int(competency), m=ids[MENTOR]) == [(level, 1) for level in LEVELS]
    assert log_problems(server.log) == []
