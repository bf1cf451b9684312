"""In-process time and SQL statements per page, at the demo size: the read path's figures.

The demo (apprentice/demo.py) in a temporary instance folder, each page asked through
Flask's test client signed in as the person who uses it (the session, as
tests/support/clients.py signs in), no server and no network: what the app itself spends
on a request. Time: the median of ``--runs`` requests after two warm-up requests;
CPU: this process's CPU time for the request (steadier than the wall time when other
work shares the machine); statements: those the engine ran for one request
(``before_cursor_execute``). The writes (quick log, verify, sign-off) are timed the same
way, each request a new act; a sign-off includes checking the mentor's password, which
is slow on purpose. ``--profile PAGE`` (a label or URL of the table) prints a
pyinstrument profile of that page instead (pyinstrument: a test extra).

    .venv/bin/python bench/profile_pages.py [--runs 50] [--profile "apprentice home"]

2026-12-01 19:24 UTC, this 2-core machine shared with other work (load average 2 to 3),
Python 3.11, SQLite, ``--runs 50``: before (the tree at 0269dd8, the same script) and
after issue 13's read path (framework versions kept per process, the record's sign-offs
and the sign-in as compact rows, parsed queries kept per index version, the matrix paged).
CPU milliseconds (the wall times were up to twice as long while other work ran):

| page | CPU ms before | CPU ms after | statements before | after |
|---|---|---|---|---|
| apprentice home | 48.1 | 25.5 | 44 | 20 |
| mentor review queue | 9.3 | 7.9 | 16 | 10 |
| mentor home | 20.0 | 13.3 | 35 | 20 |
| coordinator home (matrix) | 19.0 | 12.9 | 29 | 22 |
| a procedure page | 7.7 | 5.9 | 10 | 9 |
| search page | 7.2 | 10.8 (*) | 4 | 3 |
| search API | 7.3 | 7.5 (*) | 4 | 3 |
| quick log (POST) | 16.2 | 10.8 | 37 | 18 |
| verify (POST) | 12.9 | 11.5 | 18 | 13 |
| sign-off (POST, checks a password) | 78.4 | 56.0 | 48 | 40 |

(*) Search figures swing by a few milliseconds from run to run here; the profile shows
the parse gone (kept per index version), and the rest is Whoosh's search, snippets and
the page.

Second pass, 2026-12-01 19:48 UTC, same command (``--runs 50``), the tree before it
(copied aside, run with ``PYTHONPATH``) and after it alternately, twice each (load
average about 2: figures swing by a third from run to run). What it did: statements
built once per process with bound parameters (``functools.cache`` on a builder; shapes
only, never data) where building cost more than running (the record's sign-offs and
citations, evidence, the statement, pairings, the hours per week, credentials, the
mentor suggestions, the coordinator's stalled lists, load_user); the record passes its
standing levels to progress instead of reading the sign-offs again; the statement read
as rows; the mentor home reads the pairings once; ORs of words scored by Whoosh's union
matchers (below 5,000 documents Whoosh clears a 2,048-score array per search).
CPU milliseconds, two runs each:

| page | before | after | statements before | after |
|---|---|---|---|---|
| apprentice home | 25.3 / 23.6 | 8.2 / 10.1 | 20 | 18 |
| mentor review queue | 9.3 / 11.3 | 6.2 / 7.3 | 10 | 10 |
| mentor home | 16.4 / 19.9 | 8.6 / 9.1 | 20 | 18 |
| coordinator home (matrix) | 16.1 / 19.7 | 8.1 / 10.5 | 22 | 22 |
| a procedure page | 5.0 / 6.5 | 5.2 / 8.1 | 9 | 9 |
| search page | 5.8 / 8.7 | 5.6 / 6.8 | 3 | 3 |
| search API | 6.6 / 7.3 | 5.9 / 8.2 | 3 | 3 |

What is left: ORM objects hydrated for the pages' lists (the cohort's and the mentor's
enrolments, review queue entries, pairings, the procedure with its links), the
templates (about a third of the apprentice home), and a floor of about 1.7 ms for any
signed-in page (a 404: the sign-in guard's one statement, the CSRF token, the layout).
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import date

from sqlalchemy import event, select

MENTOR = "mentor@example.org"
COORDINATOR = "coordinator@example.org"
APPRENTICE = "apprentice@example.org"

# (label, who signs in, url)
PAGES = [
    ("apprentice home", APPRENTICE, "/"),
    ("mentor review queue", MENTOR, "/review/"),
    ("mentor home", MENTOR, "/"),
    ("coordinator home (matrix)", COORDINATOR, "/"),
    ("a procedure page", APPRENTICE, "/procedures/{procedure}"),
    ("search page", APPRENTICE, "/procedures/?q=interlibrary+loan"),
    ("search API", APPRENTICE, "/api/search?q=circulation+desk"),
]
CSRF = re.compile(rb'name="csrf-token" content="([^"]+)"')


class Statements:
    """Counts the statements an engine runs while ``counting``."""

    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:
        self.count += 1

    @contextmanager
    def counting(self):
        self.count = 0
        yield self


def signed_in(app, email: str):
    from apprentice.people.services import find_by_email

    client = app.test_client()
    with app.app_context():
        user_id = find_by_email(email).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


def timed(client, statements, method: str, url: str, **kwargs) -> tuple[float, int, int, float]:
    """(wall time, statements, status, CPU time of this process) of one request."""
    with statements.counting():
        started, cpu = time.perf_counter(), time.process_time()
        response = client.open(url, method=method, **kwargs)
        response.get_data()
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
    return took, statements.count, response.status_code, cpu


def ids(app) -> dict[str, int]:
    """The demo's ids the URLs and forms need."""
    from apprentice.db import db_session
    from apprentice.kb.models import Procedure
    from apprentice.people.services import find_by_email
    from apprentice.programmes.services import programme_competencies

    with app.app_context():
        jordan = find_by_email(APPRENTICE)
        competencies = [c.id for c in programme_competencies(jordan.id)]
        procedure = db_session().scalar(select(Procedure.id).order_by(Procedure.id).limit(1))
        return {"procedure": procedure, "jordan": jordan.id, "competency": competencies[0],
                "competencies": competencies, "mentor": find_by_email(MENTOR).id}


def new_entry(app, known: dict[str, int], competency: int | None = None, *,
              verified: bool = False) -> int:
    """An entry of Jordan's waiting for review (for the verify write), or verified (the
    evidence a sign-off cites)."""
    from apprentice.people.services import find_by_email
    from apprentice.training import services

    with app.app_context():
        entry = services.save_entry(find_by_email(APPRENTICE), services.EntryDetails(
            occurred_on=date.today(), minutes=30, activity=5, mentor_id=known["mentor"],
            competency_ids=[competency or known["competency"]],
            description="Shelved returns with Marian."), submit=True)
        if verified:
            services.verify_entries([entry], find_by_email(MENTOR))
        return entry.id


def writes(app, known):
    """(label, who, url maker, form data maker) for the writes; each request a new act,
    with a one-time form token of its own where a browser's form has one (the quick log
    and the sign-off: apprentice/core/receipts.py), so the token's checks are counted."""
    from apprentice.demo import DEMO_PASSWORD

    competencies = iter(known["competencies"])

    def quick_log():
        return "/log/new", {
            "occurred_on": date.today().isoformat(), "minutes": "45", "activity": "3",
            "description": "Ran the holds shelf with Marian.",
            "competency_ids": str(known["competency"]), "mentor_id": str(known["mentor"]),
            "form_token": secrets.token_urlsafe(24), "submit": "Submit for review"}

    def verify():
        return "/review/verify", {"entry_id": str(new_entry(app, known))}

    def sign_off():
        competency = next(competencies)
        cited = new_entry(app, known, competency, verified=True)
        return (f"/sign-offs/new?person={known['jordan']}&competency={competency}",
                # Level 6: the demo has sign-offs at lower levels (one sent again is refused).
                {"level": "6", "entry_ids": str(cited), "comment": "Seen at the desk.",
                 "confirm_above_evidence": "y", "password": DEMO_PASSWORD,
                 "form_token": secrets.token_urlsafe(24), "submit": "Sign off"})

    return [("quick log", APPRENTICE, quick_log), ("verify", MENTOR, verify),
            ("sign-off", MENTOR, sign_off)]


def csrf_token(client) -> str:
    return CSRF.search(client.get("/log/").get_data()).group(1).decode()


def build(instance: str, timer: float = 0, kept: bool = True):
    """The demo, migrated, in ``instance``: an app for in-process benches (also
    bench/save_speed.py); ``timer``: APPRENTICE_INDEX_SYNC_SECONDS (0: no applier);
    ``kept``: pages asked again are kept (apprentice/core/pagecache.py), else every
    request builds its page (APPRENTICE_PAGE_CACHE_MB=0)."""
    from apprentice import create_app, migrate
    from apprentice.db import database
    from apprentice.demo import load_demo

    app = create_app({"APPRENTICE_INSTANCE_PATH": instance,
                      "SECRET_KEY": "bench-in-process",
                      "APPRENTICE_INDEX_SYNC_SECONDS": timer,
                      "APPRENTICE_PAGE_CACHE_MB": None if kept else 0})
    with app.app_context():
        migrate.upgrade(database().engine)
        load_demo()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--profile", help="a page's or write's label, or a page's url: "
                        "print its profile")
    parser.add_argument("--kept", action="store_true",
                        help="pages as served, a page asked again kept (default: each "
                        "request builds its page, what the app spends on it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        app = build(instance, kept=args.kept)
        known = ids(app)
        with app.app_context():
            from apprentice.db import database
            statements = Statements(database().engine)
        if args.profile:
            profile(app, statements, known, args.profile, args.runs)
            return
        print("| page | ms/request (median) | CPU ms/request (median) | statements | status |")
        print("|---|---|---|---|---|")
        for label, who, url in PAGES:
            client = signed_in(app, who)
            url = url.format(**known)
            for _ in range(2):
                timed(client, statements, "GET", url)
            runs = [timed(client, statements, "GET", url) for _ in range(args.runs)]
            print(f"| {label} (`{url}`) | {row(runs)} |", flush=True)
        for label, who, form in writes(app, known):
            client = signed_in(app, who)
            runs = []
            for _ in range(min(args.runs, 20)):
                url, data = form()
                data = {"csrf_token": csrf_token(client), **data}
                runs.append(timed(client, statements, "POST", url, data=data))
            print(f"| {label} (POST `{url.split('?')[0]}`) | {row(runs)} |", flush=True)
        database_dispose(app)


def row(runs) -> str:
    """The table's figures: median wall and CPU milliseconds, the last run's statements
    and status."""
    wall = statistics.median(r[0] for r in runs) * 1000
    cpu = statistics.median(r[3] for r in runs) * 1000
    return f"{wall:.1f} | {cpu:.1f} | {runs[-1][1]} | {runs[-1][2]}"


def profile(app, statements, known, which: str, runs: int) -> None:
    from pyinstrument import Profiler

    page = next((p for p in PAGES if which in (p[0], p[2])), None)
    write = next((w for w in writes(app, known) if which == w[0]), None)
    if page is None and write is None:
        raise SystemExit(f"no page or write called {which!r}")
    client = signed_in(app, (page or write)[1])
    if page is not None:
        url = page[2].format(**known)
        timed(client, statements, "GET", url)
        asks = [("GET", url, {})] * runs
    else:
        asks = []
        for _ in range(runs):
            url, data = write[2]()
            asks.append(("POST", url, {"data": {"csrf_token": csrf_token(client), **data}}))
    with Profiler(interval=0.0005) as profiler:
        for method, url, options in asks:
            timed(client, statements, method, url, **options)
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    database_dispose(app)


def database_dispose(app) -> None:
    app.extensions["apprentice"].database.dispose()


if __name__ == "__main__":
    main()
