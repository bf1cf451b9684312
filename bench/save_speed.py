"""In-process time of saving a procedure (``services.save``: the revision, the change log
and this server's search index), the index's segment count after, and a search's time.

The demo (apprentice/demo.py, 41 procedures) in a temporary instance folder, no server,
the timer off (as in tests): each save brings the index up to date itself. ``--saves``
edits of the demo's procedures in turn, timed one by one; then ``--searches`` searches
("circulation desk") timed, to show that saves leave no pile of segments behind.
``--profile`` prints a pyinstrument profile of the saves instead (a test extra).
``--timer SECONDS``: the index applier runs in this process as in a server
(APPRENTICE_INDEX_SYNC_SECONDS; it merges segments in the background), else it is off
and each save merges when segments reach MERGE_AT. ``--merge-each-commit``: every
commit merges (Whoosh's default, as before issue 13's change), for a before/after in
the same run conditions.

    .venv/bin/python bench/save_speed.py [--saves 200] [--searches 200] [--profile]
                                         [--merge-each-commit] [--timer 2]

Figures: docs/benchmarks.md ("Saving a procedure").
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from profile_pages import build  # the demo, migrated, in an instance folder
from search_speed import percentile as ms  # milliseconds


def segments(app) -> int:
    from apprentice.kb import search

    with app.app_context():
        return search.segment_count()


def saves(app, count: int) -> list[float]:
    """Seconds per save: each procedure of the demo in turn, its body with a new line."""
    from sqlalchemy import select

    from apprentice.db import db_session
    from apprentice.kb import services
    from apprentice.kb.models import Procedure

    took = []
    with app.app_context():
        ids = db_session().scalars(select(Procedure.id).order_by(Procedure.id)).all()
        for number in range(count):
            procedure = db_session().get(Procedure, ids[number % len(ids)])
            draft = services.ProcedureDraft(
                title=procedure.title, body=f"{procedure.body}\n\nChecked again ({number}).",
                tags=procedure.tag_list, area_ids=[link.area_id for link in procedure.area_links],
                competency_ids=[link.competency_id for link in procedure.competency_links])
            started = time.perf_counter()
            services.save(procedure, draft, None, based_on=procedure.revision_number)
            took.append(time.perf_counter() - started)
            db_session().expire_all()
    return took


def searches(app, count: int) -> list[float]:
    from apprentice.kb import search

    took = []
    with app.app_context():
        for _ in range(count):
            started = time.perf_counter()
            search.search("circulation desk", viewer_id=None, sees_everything=True)
            took.append(time.perf_counter() - started)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--merge-each-commit", action="store_true")
    parser.add_argument("--timer", type=int, default=0)
    args = parser.parse_args()
    if args.merge_each_commit:
        from whoosh.writing import MERGE_SMALL

        from apprentice.kb import search

        search.MERGE_AT = 0
        search._merge_tiers = lambda writer, segments, **_: MERGE_SMALL(writer, segments)
    with tempfile.TemporaryDirectory() as instance:
        app = build(instance, args.timer)
        if args.timer:
            from apprentice.kb import applier

            applier.ensure_started(app)
        before = searches(app, args.searches)
        if args.profile:
            from pyinstrument import Profiler

            with Profiler() as profiler:
                saves(app, args.saves)
            print(profiler.output_text(unicode=True, color=False))
            return
        took = saves(app, args.saves)
        if args.timer:
            time.sleep(2 * args.timer)  # its next rounds, as between edits in a server
        after = searches(app, args.searches)
        print(f"{args.saves} saves: p50 {ms(took, 0.5):.1f} ms, p95 {ms(took, 0.95):.1f} ms, "
              f"max {1000 * max(took):.1f} ms, mean {1000 * statistics.mean(took):.1f} ms")
        print(f"segments after: {segments(app)}")
        print(f"search 'circulation desk' before the saves: p50 {ms(before, 0.5):.2f} ms; "
              f"after: p50 {ms(after, 0.5):.2f} ms, p95 {ms(after, 0.95):.2f} ms")


if __name__ == "__main__":
    main()
