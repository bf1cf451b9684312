"""The coordinator reports at 1,000 and 5,000 apprentices: time, size and CSV memory.

A made-up cohort on the default (LSSC-based) framework, written straight to the tables
(bulk inserts, seconds rather than the minutes ``programmes.enrol`` and the training
services would take): N apprentices enrolled over the last 30 months with three
electives each; N/10 mentors, everyone paired with one of them since their start
(a quarter of the pairings for two or three areas only, a tenth of the apprentices
with an earlier pairing that ended); about 20 entries per apprentice over the last 12
weeks (one or two competencies each, 80 % verified, 12 % waiting for review, the rest
drafts and returned; one apprentice in twenty stopped logging five weeks ago); four
sign-offs each over the last six months, each citing one of the entries.

Every report is asked the way a coordinator asks it: a Flask test client signed in as
a coordinator (the session, as tests/support/clients.py does), the default filters,
the whole body read. A CSV is read chunk by chunk and thrown away as it streams, so
the memory is the app's, not a copy of the file. Time: the median of three requests
after a warm-up page; "first row": until the CSV's first line after its header
arrived. Rows: the page's table rows (``<tr``, headers included) or the CSV's lines
after its header. Peak memory: tracemalloc's peak during one more request (CSVs only),
in a process of its own per size.

    .venv/bin/python bench/reports_scale.py [--sizes 1000 5000]

2026-12-01 (13:01 UTC), this 2-core machine (Intel Xeon, 24 GB) while a CI run used
both cores (load average 2 to 3 before this script's own process), Python 3.11.7,
SQLAlchemy 2.1.9, SQLite 3.40.1, ``APPRENTICE_PAGE_SIZE`` 50. Building the cohort took
2.6 s for 1,000 (20,000 entries, 4,000 sign-offs) and 16.7 s for 5,000 (100,000
entries, 125,000 entry competencies, 20,000 sign-offs); the whole run 3 min 5 s.

| apprentices | report | time: median of 3 (range) | CSV: first row | rows | size | peak memory |
|---|---|---|---|---|---|---|
| 1,000 | `/reports/cohort` | 0.06 s (0.06-0.13) |  | 51 | 162 KB |  |
| 1,000 | `/reports/cohort.csv` | 0.92 s (0.90-0.98) | 0.47 s | 6,000 | 568 KB | 20.2 MiB |
| 1,000 | `/reports/activity` | 0.12 s (0.12-0.14) |  | 14 | 42 KB |  |
| 1,000 | `/reports/activity.csv` | 0.11 s (0.10-0.11) | 0.11 s | 12 | 1 KB | 0.2 MiB |
| 1,000 | `/reports/hours` | 0.09 s (0.09-0.11) |  | 301 | 86 KB |  |
| 1,000 | `/reports/hours.csv` | 1.02 s (0.93-1.18) | 0.48 s | 6,000 | 536 KB | 20.2 MiB |
| 1,000 | `/reports/mentors` | 0.04 s (0.04-0.05) |  | 101 | 38 KB |  |
| 1,000 | `/reports/health` | 0.98 s (0.91-1.06) |  | 51 | 23 KB |  |
| 1,000 | `/reports/health.csv` | 0.91 s (0.90-0.99) | 0.90 s | 1,880 | 192 KB | 24.2 MiB |
| 5,000 | `/reports/cohort` | 0.14 s (0.14-0.24) |  | 51 | 178 KB |  |
| 5,000 | `/reports/cohort.csv` | 6.15 s (4.91-7.67) | 0.47 s | 30,000 | 2,867 KB | **20.8 MiB** |
| 5,000 | `/reports/activity` | 0.36 s (0.32-0.39) |  | 14 | 43 KB |  |
| 5,000 | `/reports/activity.csv` | 0.52 s (0.42-0.53) | 0.52 s | 12 | 2 KB | 0.2 MiB |
| 5,000 | `/reports/hours` | 0.10 s (0.10-0.11) |  | 301 | 103 KB |  |
| 5,000 | `/reports/hours.csv` | 4.47 s (4.28-4.50) | 0.45 s | 30,000 | 2,709 KB | **20.8 MiB** |
| 5,000 | `/reports/mentors` | 0.26 s (0.18-0.32) |  | 501 | 110 KB |  |
| 5,000 | `/reports/health` | **4.92 s** (4.21-5.78) |  | 51 | 23 KB |  |
| 5,000 | `/reports/health.csv` | 4.32 s (4.26-4.50) | **4.28 s** | 9,404 | 969 KB | **121.6 MiB** |

Times vary by up to 30 % between runs while the CI run shares the machine (an earlier
run: cohort.csv 4.8 s, health 5.4 s at 5,000). Rows of the pages: the table's, header
included (the cohort and hours pages: 50 people; health: its "behind" table, 50 of
them, the other two lists are capped at 50 too). The health CSV at 5,000: 4,779 behind,
250 with nothing logged for 30 days, 4,375 areas no pairing covers (this cohort has few
sign-offs, so nearly everyone is behind: a worst case for its length).

What the figures say:

- The paged pages (cohort, hours) and the grouped ones (activity, mentors) stay under
  0.4 s at 5,000: they read a page of people, or grouped rows.
- The cohort and hours CSVs stream: their first person arrives after about 0.45 s at
  either size and the peak memory is the same at 1,000 and 5,000 (one chunk of 500
  people at a time, ``reports.services.CSV_CHUNK``). The whole file grows with the
  cohort, about 1 ms per person, most of it ``records.load_evidence`` (every entry's
  row read and its three timestamps decoded) and the progress engine (a
  ``CompetencyProgress`` for each of the person's ~73 competencies).
- Programme health is the exception: the page and the CSV compute the whole active
  cohort at once (``records.cohort``, every current pairing with both people loaded),
  so the page takes 5 s at 5,000 to show 50 lines of each list, the CSV's first line
  waits for all of it, and its peak memory grows with the cohort (24 MiB at 1,000,
  122 MiB at 5,000; the page's peak is the same 122 MiB).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

URLS = ("/reports/cohort", "/reports/cohort.csv", "/reports/activity",
        "/reports/activity.csv", "/reports/hours", "/reports/hours.csv", "/reports/mentors",
        "/reports/health", "/reports/health.csv")
# The generator's names and words (bench/generate.py), one list for every bench.
from generate import FIRST, LAST, WORDS  # noqa: E402

BATCH = 20_000


def _insert(session, model, rows: list[dict]) -> None:
    """ORM bulk insert (one executemany per batch; Python-side defaults applied)."""
    from sqlalchemy import insert

    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start:start + BATCH])


def build_cohort(n: int) -> tuple[int, dict[str, int]]:
    """The coordinator's id and the rows written, for ``n`` apprentices."""
    from sqlalchemy import func, select

    from apprentice.competencies import services as frameworks
    from apprentice.db import db_session, utcnow
    from apprentice.people.models import StaffProfile, StaffRole
    from apprentice.people.services import PersonDetails, create_person
    from apprentice.programmes.models import ElectiveChoice, Enrolment
    from apprentice.programmes.services import add_months
    from apprentice.training.models import (
        EntryCompetency,
        LogEntry,
        Pairing,
        PairingArea,
        SignOff,
        SignOffEvidence,
    )

    coordinator = create_person(PersonDetails("Carmen Ortiz", "carmen@bench.example",
                                              "Programme coordinator", "Central Library",
                                              ["coordinator"]),
                                password="bench-password-1",  # noqa: S106
                                must_change_password=False)
    framework = frameworks.load_default_framework()
    required = [a for a in framework.current_areas if a.required]
    electives = framework.current_electives
    choose = framework.electives_required
    competencies = {a.id: a.current_competencies for a in framework.current_areas}
    session = db_session()
    today = date.today()
    now = utcnow()
    first_id = (session.scalar(select(func.max(StaffProfile.id))) or 0) + 1
    mentors_n = max(1, n // 10)
    mentor_ids = list(range(first_id, first_id + mentors_n))
    apprentice_ids = list(range(first_id + mentors_n, first_id + mentors_n + n))

    def name(k: int) -> str:
        return f"{FIRST[k % len(FIRST)]} {LAST[(k // len(FIRST)) % len(LAST)]} {k // 500 + 1}"

    staff = [{"id": i, "name": name(k), "email": f"staff{i}@bench.example",
              "job_title": "Library Assistant", "branch": f"Branch {k % 12 + 1}"}
             for k, i in enumerate(mentor_ids + apprentice_ids)]
    _insert(session, StaffProfile, staff)
    _insert(session, StaffRole, [{"staff_id": i, "role": "mentor"} for i in mentor_ids]
            + [{"staff_id": i, "role": "apprentice"} for i in apprentice_ids])

    enrolments, choices, pairings, pairing_areas = [], [], [], []
    entries, links, sign_offs, evidence = [], [], [], []
    entry_id = sign_off_id = pairing_id = 0
    for k, person in enumerate(apprentice_ids):
        start = today - timedelta(days=30 + (k * 7919) % 880)  # 1 to 30 months ago
        enrolments.append({"id": k + 1, "person_id": person, "framework_id": framework.id,
                           "start_date": start,
                           "target_date": add_months(start, framework.time_allowed_months),
                           "created_by_id": coordinator.id})
        picked = [electives[(k + j) % len(electives)] for j in range(choose)]
        choices += [{"enrolment_id": k + 1, "area_id": a.id} for a in picked]
        areas = required + picked
        mentor = mentor_ids[k % mentors_n]
        pairing_id += 1
        pairings.append({"id": pairing_id, "apprentice_id": person, "mentor_id": mentor,
                         "starts_on": start, "created_by_id": coordinator.id})
        if k % 4 == 0:  # paired for some areas only
            pairing_areas += [{"pairing_id": pairing_id, "area_id": a.id}
                              for a in areas[k % 3:k % 3 + 2 + (k // 4) % 2]]
        if k % 10 == 0 and mentors_n > 1:  # an earlier mentor, for the first weeks
            pairing_id += 1
            pairings.append({"id": pairing_id, "apprentice_id": person,
                             "mentor_id": mentor_ids[(k + 1) % mentors_n],
                             "starts_on": start - timedelta(days=14),
                             "ends_on": start - timedelta(days=1),
                             "created_by_id": coordinator.id})
        quiet = k % 20 == 0  # stopped logging five weeks ago
        verified_by_competency: dict[int, int] = {}
        for e in range(20):
            entry_id += 1
            days_ago = (35 if quiet else 0) + (e * 84 // 20 + k) % (49 if quiet else 84)
            roll = (e * 37 + k * 11) % 100
            state = ("verified" if roll < 80 else "submitted" if roll < 92
                     else "returned" if roll < 96 else "draft")
            logged_at = datetime.combine(today - timedelta(days=days_ago), clock(16),
                                         tzinfo=UTC)
            entries.append({
                "id": entry_id, "person_id": person, "mentor_id": mentor,
                "occurred_on": today - timedelta(days=days_ago), "minutes": 30 + (e * 13) % 150,
                "activity": 1 + (e + k) % 5, "state": state,
                "description": " ".join(WORDS[(e + k) % 7:(e + k) % 7 + 8]) + ".",
                "reflection": "Next time I would check the policy first." if e % 3 else "",
                "form_token": f"bench-{person}-{e}", "created_at": logged_at,
                "updated_at": logged_at,
                "submitted_at": None if state == "draft" else logged_at + timedelta(hours=1),
                "verified_at": logged_at + timedelta(days=2) if state == "verified" else None,
                "verified_by_id": mentor if state == "verified" else None,
                "return_comment": "Say which policy." if state == "returned" else ""})
            area = areas[(e + k) % len(areas)]
            first = competencies[area.id][(e * 7 + k) % len(competencies[area.id])]
            links.append({"entry_id": entry_id, "competency_id": first.id})
            if e % 4 == 0:  # a second competency, in another area
                other = areas[(e + k + 1) % len(areas)]
                second = competencies[other.id][(e + k) % len(competencies[other.id])]
                if second.id != first.id:
                    links.append({"entry_id": entry_id, "competency_id": second.id})
            if state == "verified":
                verified_by_competency.setdefault(first.id, entry_id)
        for j, (competency_id, cited) in enumerate(list(verified_by_competency.items())[:4]):
            sign_off_id += 1
            competency = next(c for cs in competencies.values() for c in cs
                              if c.id == competency_id)
            sign_offs.append({"id": sign_off_id, "person_id": person,
                              "competency_id": competency_id, "lineage": competency.lineage,
                              "level": framework.level_required - (j == 3),
                              "comment": "Seen it done well.", "signed_by_id": mentor,
                              "signed_at": now - timedelta(days=(k * 5 + j * 41) % 180)})
            evidence.append({"sign_off_id": sign_off_id, "entry_id": cited})
    _insert(session, Enrolment, enrolments)
    _insert(session, ElectiveChoice, choices)
    _insert(session, Pairing, pairings)
    _insert(session, PairingArea, pairing_areas)
    _insert(session, LogEntry, entries)
    _insert(session, EntryCompetency, links)
    _insert(session, SignOff, sign_offs)
    _insert(session, SignOffEvidence, evidence)
    session.commit()
    return coordinator.id, {"mentors": mentors_n, "pairings": len(pairings),
                            "entries": len(entries), "entry competencies": len(links),
                            "sign-offs": len(sign_offs)}


def read(client, url: str) -> tuple[float, float | None, int, int]:
    """Seconds for the whole response, seconds to a CSV's first row (its header comes
    at once), its size in bytes and its rows. A CSV's lines are counted and dropped as
    they stream, as a browser saving the file would."""
    started = time.perf_counter()
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.headers.get('Location')}")
    if url.endswith(".csv"):
        first, size, lines = None, 0, 0
        for chunk in response.iter_encoded():
            size += len(chunk)
            lines += chunk.count(b"\n")
            if first is None and lines > 1:
                first = time.perf_counter() - started
        response.close()
        return time.perf_counter() - started, first, size, lines - 1
    body = response.get_data()
    return time.perf_counter() - started, None, len(body), body.count(b"<tr")


def measure(app, coordinator_id: int) -> Iterator[dict]:
    """Each report's figures, as soon as they are measured."""
    from apprentice.db import db_session
    from apprentice.people.models import StaffProfile

    client = app.test_client()
    with app.app_context():  # signed in as tests/support/clients.py signs in
        user_id = db_session().get(StaffProfile, coordinator_id).get_id()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    read(client, "/reports/")  # warm-up: the migration check, templates, the session
    for url in URLS:
        runs = [read(client, url) for _ in range(3)]
        firsts = [r[1] for r in runs if r[1] is not None]
        row = {"url": url, "time": statistics.median(r[0] for r in runs),
               "range": (min(r[0] for r in runs), max(r[0] for r in runs)),
               "first": statistics.median(firsts) if firsts else None,
               "bytes": runs[-1][2], "rows": runs[-1][3], "peak": None}
        if url.endswith(".csv"):
            tracemalloc.start()
            read(client, url)
            row["peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        yield row


def one(n: int) -> None:
    """One size, in this process: its lines of the table."""
    from apprentice import create_app, migrate
    from apprentice.db import database

    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"APPRENTICE_INSTANCE_PATH": instance,
                          "SECRET_KEY": "bench-reports-scale"})
        with app.app_context():
            migrate.upgrade(database().engine)
            started = time.perf_counter()
            coordinator_id, written = build_cohort(n)
            built = time.perf_counter() - started
        print(f"<!-- {n:,} apprentices: built in {built:.1f} s: "
              + ", ".join(f"{v:,} {k}" for k, v in written.items()) + " -->", flush=True)
        for row in measure(app, coordinator_id):
            first = f"{row['first']:.2f} s" if row["first"] is not None else ""
            peak = f"{row['peak'] / 2**20:.1f} MiB" if row["peak"] is not None else ""
            low, high = row["range"]
            print(f"| {n:,} | `{row['url']}` | {row['time']:.2f} s ({low:.2f}-{high:.2f}) "
                  f"| {first} | {row['rows']:,} | {row['bytes'] / 1024:,.0f} KB | {peak} |",
                  flush=True)
        app.extensions["apprentice"].database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        one(args.one)
        return
    print("| apprentices | report | time: median of 3 (range) | CSV: first row | rows | size "
          "| peak memory |")
    print("|---|---|---|---|---|---|---|")
    for n in args.sizes:  # a process each: the memory is the size's own
        subprocess.run([sys.executable, __file__, "--one", str(n)], check=True)  # noqa: S603


if __name__ == "__main__":
    main()
