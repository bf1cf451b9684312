"""Search speed at 1,000 and 10,000 procedures, and the indexing rate.

The corpus is the FOLIO documentation (../shared/data/folio-docs), split into
one procedure per ``##`` section and replicated with changed titles until it
reaches the size asked for. Each size is timed three ways on the same index:
the app's search (parsing, glossary, permissions, snippets, facets: what the
page does), the app's search without facets (what the API does), and bare
Whoosh with the same schema and parser: Whoosh's own results page
(``search_page``: top 10, total, titles), the same with Whoosh's facets, and
the top 10 alone. The app's own overhead is the difference.

    .venv/bin/python bench/search_speed.py [--sizes 1000 10000] [--data DIR]
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "folio-docs"
QUERIES_SHORT = ["loan", "check out", "fee fine", "request queue", "patron block", "invoice",
                 "holdings record", "renewal policy", "overdue notice", "inventory item",
                 "course reserves", "title level request", "receiving pieces", "user barcode",
                 "ILL", "circ rules", "lost item fee", "service point", "export", "bulk edit"]
QUERIES_FUZZY = ["loann~", "recieving~", "invoce~", "circulaton~", "patorn~"]
QUERIES_TYPO = ["recieving", "invoce", "circulaton", "patorn", "fien"]  # "did you mean"


def sections(data: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted(data.rglob("*.md")):
        text = re.sub(r"\A---.*?---\s*", "", path.read_text(encoding="utf-8"), flags=re.S)
        title = path.parent.name
        for part in re.split(r"^## ", text, flags=re.M):
            head, _, body = part.partition("\n")
            if len(body.split()) > 20:
                out.append((f"{title}: {head.strip()}"[:190], body))
    return out


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def timed(function, queries, rounds=5):
    times = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            function(query)
            times.append(time.perf_counter() - started)
    return percentile(times, 0.5), percentile(times, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    corpus = sections(args.data)
    print(f"corpus: {len(corpus)} sections from {args.data}")

    from sqlalchemy import delete, insert
    from whoosh import sorting

    from apprentice import create_app, migrate
    from apprentice.db import database, db_session, utcnow
    from apprentice.kb import search
    from apprentice.kb.models import Procedure

    random.seed(7)
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as instance:
            app = create_app({"APPRENTICE_INSTANCE_PATH": instance})
            with app.app_context():
                migrate.upgrade(database().engine)
                now = utcnow()
                rows = []
                for n in range(size):
                    title, body = corpus[n % len(corpus)]
                    copy = n // len(corpus)
                    rows.append({"id": n + 1, "title": f"{title} ({copy})" if copy else title,
                                 "body": body, "status": "published", "revision_number": 1,
                                 "tags": random.choice(["circulation", "acquisitions",  # noqa: S311
                                                        "desk", "inventory", "users"]),
                                 "review_interval_days": 90, "created_at": now,
                                 "updated_at": now})
                db_session().execute(delete(Procedure))
                db_session().execute(insert(Procedure), rows)
                db_session().commit()
                started = time.perf_counter()
                search.rebuild()
                rate = size / (time.perf_counter() - started)

                ix = search._open(create=False)
                bare_parser = search._parser(ix.schema)
                bare_searcher = ix.searcher()

                def bare(text, searcher=bare_searcher, parse=bare_parser.parse):
                    """Whoosh's own results page: top 10 of the page, the total, titles."""
                    page = searcher.search_page(parse(text), 1, pagelen=10)
                    return page.total, [hit["title"] for hit in page]

                def bare_top(text, searcher=bare_searcher, parse=bare_parser.parse):
                    """Top 10 titles only, no total: the least a search can do."""
                    return [hit["title"] for hit in searcher.search(parse(text), limit=10)]

                overlap = {name: sorting.FieldFacet(name, allow_overlap=True)
                           for name in ("area", "tags")}

                def bare_facets(text, searcher=bare_searcher, parse=bare_parser.parse,
                                overlap=overlap):
                    page = searcher.search_page(parse(text), 1, pagelen=10, groupedby=overlap)
                    return page.total, [page.results.groups(name) for name in overlap]

                def app_search(text):
                    return search.search(text, viewer_id=None, sees_everything=True)

                def app_no_facets(text):
                    return search.search(text, viewer_id=None, sees_everything=True,
                                         facets=False)

                for function in (bare, bare_top, bare_facets, app_search, app_no_facets):
                    function("loan")  # warm caches
                rows = [
                    ("1-3 words, bare Whoosh: top 10 only", timed(bare_top, QUERIES_SHORT)),
                    ("1-3 words, bare Whoosh: page + total", timed(bare, QUERIES_SHORT)),
                    ("1-3 words, app (API: no facets)", timed(app_no_facets, QUERIES_SHORT)),
                    ("1-3 words, bare Whoosh with facets", timed(bare_facets, QUERIES_SHORT)),
                    ("1-3 words, app with facets (page)", timed(app_search, QUERIES_SHORT)),
                    ("fuzzy word~, bare Whoosh: page + total", timed(bare, QUERIES_FUZZY)),
                    ("fuzzy word~, app with facets", timed(app_search, QUERIES_FUZZY)),
                    ("typos (did you mean), app with facets", timed(app_search, QUERIES_TYPO)),
                ]
                bare_searcher.close()
            print(f"\n{size} procedures: indexing {rate:.0f} procedures/s")
            for label, (p50, p95) in rows:
                print(f"  {label:42s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
            ratio = rows[2][1][1] / rows[1][1][1]
            print(f"  app (no facets) / bare page at p95: {ratio:.2f}x; "
                  f"app / bare with facets: {rows[4][1][1] / rows[3][1][1]:.2f}x")

if __name__ == "__main__":
    main()
