"""Memory and time for a portfolio's PDF: a 3-year record of about 600 entries.

A made-up apprentice three years into the LSSC programme (three electives): entries
spread over the three years across every area of the programme, all verified; a
sign-off for most competencies, each citing five entries; a learning statement of
about 1,200 words. The PDF lists every competency (the bigger of its two forms). Peak
Python memory is tracemalloc's, for building the portfolio, rendering its HTML and
laying out the PDF; RSS growth is the process's peak resident size before and after
(it includes what Pango and HarfBuzz allocate in C, which tracemalloc does not see).

    .venv/bin/python bench/portfolio_pdf.py [--entries 150 600]

2026-12-01, this 2-core machine while other test runs shared it (load about 3),
WeasyPrint 70.0, letter paper, every competency listed, PDF/UA-1:

| entries | sign-offs | pages | PDF | time | tracemalloc peak | RSS before | RSS growth |
|---|---|---|---|---|---|---|---|
| 60 | 58 | 22 | 108 KB | 3.6 s | 28.5 MiB | 131 MiB | 25.9 MiB |
| 150 | 58 | 27 | 125 KB | 5.1 s | 34.5 MiB | 131 MiB | 27.4 MiB |
| **600** (3 years) | 58 | 36 | 170 KB | 6.3 s | **40.1 MiB** | 131 MiB | **48.0 MiB** |
| 1,200 | 58 | 36 | 170 KB | 5.4 s | 42.3 MiB | 131 MiB | 48.0 MiB |

("RSS before": the process with the app, WeasyPrint and the fonts loaded.) Building the
portfolio and its HTML takes about 0.2 s of that; the rest is WeasyPrint's layout (about
two thirds) and writing the tagged PDF.

Memory grows with what the document shows (the sign-offs and the entries they cite),
not with the log: the page and the PDF leave the log out (``entries=False``) and
WeasyPrint lays out one document, never one per entry.
"""

from __future__ import annotations

import argparse
import io
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta

WORDS = ["patron", "desk", "catalogue", "holds", "renewals", "shelving", "storytime",
         "reference", "interview", "collection", "weeding", "outreach", "privacy", "policy",
         "cash", "balance", "branch", "volunteers"]
STATEMENT = " ".join(WORDS[n % len(WORDS)] for n in range(1_200))


def build_record(entries: int) -> int:
    """The apprentice's id, their record written straight to the tables (fast)."""
    from apprentice.competencies import services as frameworks
    from apprentice.db import db_session, utcnow
    from apprentice.people.services import PersonDetails, create_person
    from apprentice.programmes import services as programmes
    from apprentice.statements import services as statements
    from apprentice.training import services as training
    from apprentice.training.models import EntryCompetency, LogEntry, SignOff, SignOffEvidence

    def person(name, email, role):
        return create_person(PersonDetails(name, email, "Library Assistant", "Central Library",
                                           [role]), password="bench-password-1")  # noqa: S106

    apprentice = person("Alex Bench", "alex@bench.example", "apprentice")
    mentor = person("Morgan Mentor", "morgan@bench.example", "mentor")
    framework = frameworks.load_default_framework()
    today = date.today()
    start = today - timedelta(days=3 * 365)
    electives = [a.id for a in framework.current_areas if not a.required][:3]
    programmes.enrol(apprentice, framework, start=start, electives=electives)
    training.create_pairing(apprentice, mentor, starts_on=start)
    areas = [a for a in framework.current_areas if a.required or a.id in electives]
    competencies = [c for a in areas for c in a.current_competencies]
    session = db_session()
    now = utcnow()
    logged = []
    for n in range(entries):
        competency = competencies[n % len(competencies)]
        entry = LogEntry(person_id=apprentice.id, mentor_id=mentor.id,
                         occurred_on=start + timedelta(days=n * 3 * 365 // entries),
                         minutes=30 + n % 90, activity=5, state="verified",
                         description=f"Session {n}: {' '.join(WORDS[n % 7:n % 7 + 9])}.",
                         form_token=f"bench{n}", submitted_at=now, verified_at=now,
                         verified_by_id=mentor.id)
        entry.competency_links = [EntryCompetency(competency_id=competency.id)]
        session.add(entry)
        logged.append((competency, entry))
    session.flush()
    for competency in competencies[: len(competencies) * 4 // 5]:
        cited = [e for c, e in logged if c.id == competency.id][:5]
        if not cited:
            continue
        sign_off = SignOff(person_id=apprentice.id, competency_id=competency.id,
                           lineage=competency.lineage, level=5, signed_by_id=mentor.id,
                           comment="Seen it done well, more than once.")
        sign_off.evidence_links = [SignOffEvidence(entry_id=e.id) for e in cited]
        session.add(sign_off)
    session.commit()
    statements.save(apprentice, statements.StatementDraft(STATEMENT), apprentice, based_on=0)
    return apprentice.id


def measure(app, person_id: int) -> dict:
    """Build, render and lay out the PDF after a warm-up PDF (WeasyPrint and the fonts
    loaded), so the figures are the document's own: once for the time and the RSS, once
    more under tracemalloc (which slows Python down several times) for its peak."""
    from pypdf import PdfReader  # the test extra's

    from apprentice.portfolios import pdf
    from apprentice.portfolios.services import portfolio_of

    def build() -> tuple[int, bytes]:
        with app.test_request_context(f"/apprentices/{person_id}/portfolio.pdf"):
            portfolio = portfolio_of(person_id, entries=False)
            return len(portfolio.sign_offs), pdf.portfolio_pdf(portfolio)

    pdf.write_pdf('<!doctype html><html lang="en"><title>warm-up</title><p>Warm-up.</p>')
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    sign_offs, body = build()
    seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    build()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"sign-offs": sign_offs, "pages": len(PdfReader(io.BytesIO(body)).pages),
            "PDF": f"{len(body) / 1024:,.0f} KB", "time": f"{seconds:.1f} s",
            "tracemalloc peak": f"{peak / 2**20:.1f} MiB",
            "RSS before": f"{rss_before / 1024:.0f} MiB",
            "RSS growth": f"{(rss_after - rss_before) / 1024:.1f} MiB"}


def one(entries: int) -> None:
    """One size, in this process: a row of the table."""
    from apprentice import create_app, migrate
    from apprentice.db import database

    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"APPRENTICE_INSTANCE_PATH": instance})
        with app.app_context():
            migrate.upgrade(database().engine)
            person_id = build_record(entries)
        row = measure(app, person_id)
        app.extensions["apprentice"].database.dispose()
    print(f"| {entries} | " + " | ".join(str(v) for v in row.values()) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[150, 600])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        one(args.one)
        return
    print("| entries | sign-offs | pages | PDF | time | tracemalloc peak | RSS before "
          "| RSS growth |")
    print("|---|---|---|---|---|---|---|---|")
    for entries in args.entries:  # a process each: the peak RSS is the process's own
        subprocess.run([sys.executable, __file__, "--one", str(entries)],  # noqa: S603
                       check=True)


if __name__ == "__main__":
    main()
