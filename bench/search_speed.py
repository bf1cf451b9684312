"""Search speed at 1,000 and 10,000 procedures, and the indexing rate.

The corpus is the FOLIO documentation (../shared/data/folio-docs), split into
one procedure per ``##`` section and replicated with changed titles until it
reaches the size asked for. Each size is timed three ways on the same index:
the app's search (parsing, glossary, permissions, snippets, facets: what the
page does), the app's search without facets (what the API does), and bare
Whoosh with the same schema and parser: Whoosh's own results page
(``search_page``: top 10, total, titles), the same with Whoosh's facets, and
the top 10 alone. The app's own overhead is the difference. In the same process, on
the same documents: the app through ``GET /api/search`` (a test client signed in as an
apprentice: the sign-in guard, the visibility filter, the JSON, what a user's request
runs, less the network), and SQLite FTS5 (porter stemmer, bm25 with the title weighted
as the app weights it; the query's words OR-ed): its top 10 and total, and the same with
``snippet()``. FTS5 has no fuzzy terms and no "did you mean": it only runs the short
queries.

    .venv/bin/python bench/search_speed.py [--sizes 1000 10000] [--data DIR]
        [--markdown FILE] [--whole-pages] [--vectors FILE]

With the search model installed (``make`` installs it), indexing computes each section's
vector, 50 to 90 ms each: ``--vectors FILE`` keeps them between runs (the instance folder
is thrown away), so a second run only indexes. The row "app search(), words alone" is the
same search without meaning, timed in the same run. Every app row reads each question as
new (the encoder keeps the vectors of questions asked, which would answer four of the
five rounds): what a question never asked before costs, as most at a desk are.

Search indexes each procedure's sections (``##`` headings) with the page and ranks the
best 50 pages again by their best section: with ``--whole-pages`` the procedures are the
documentation's 83 pages (long, several sections each) replicated, not its sections.
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
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


FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def pages(data: Path) -> list[tuple[str, str, str]]:
    """The documentation's pages: (path under ``data``, title, Markdown without its front
    matter). The title is the page's own, else its folder's name."""
    out = []
    for path in sorted(data.rglob("*.md")):
        text = path.read_text(encoding="utf-8").lstrip("\n")  # some start with a blank line
        front = FRONT.match(text)
        found = front and re.search(r"^title:\s*[\"']?(.*?)[\"']?\s*$", front.group(1), re.M)
        title = found.group(1) if found else path.parent.name
        out.append((path.relative_to(data).as_posix(), title,
                    re.sub(r"\A---.*?---\s*", "", text, flags=re.S)))
    return out


def sections(data: Path) -> list[tuple[str, str, str]]:
    """The documentation split at each ``## `` heading, sections of more than 20 words:
    (key, title, body). The key, ``<page path>#<heading>``, names a section in the staff
    questions' judgments (bench/staff_questions.jsonl); for the text before a page's
    first heading it is that text's first line, and its title is the page's own."""
    out = []
    for relative, page, text in pages(data):
        for number, part in enumerate(re.split(r"^## ", text, flags=re.M)):
            head, _, body = part.partition("\n")
            if len(body.split()) <= 20:
                continue
            heading = head.strip()
            if number == 0 and not text.startswith("## "):  # the page's opening text
                title, body = page, part
            else:
                title = f"{page}: {heading}"
            out.append((f"{relative}#{heading}", title[:190], body))
    return out


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def as_new(function):
    """``function`` with the questions' vectors forgotten before each call."""
    from apprentice.kb import semantic

    def run(text):
        semantic._question.cache_clear()
        return function(text)
    return run


def timed(function, queries, rounds=5):
    times = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            function(query)
            times.append(time.perf_counter() - started)
    return percentile(times, 0.5), percentile(times, 0.95)


def fts5_index(rows: list[dict]):
    """The same procedures in an SQLite FTS5 table (in memory); its two searches."""
    database = sqlite3.connect(":memory:")
    database.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tags, "
                     "tokenize='porter unicode61')")
    database.executemany("INSERT INTO docs(rowid, title, body, tags) VALUES (?, ?, ?, ?)",
                         [(r["id"], r["title"], r["body"], r["tags"]) for r in rows])
    database.commit()

    def match(text: str) -> str:
        return " OR ".join(f'"{word}"' for word in re.findall(r"\w+", text.lower()))

    def page(text: str):
        """Top 10 titles by bm25 (title x3, tags x2, as the app) and the total."""
        query = match(text)
        total = database.execute("SELECT count(*) FROM docs WHERE docs MATCH ?",
                                 (query,)).fetchone()[0]
        top = database.execute("SELECT title FROM docs WHERE docs MATCH ? "
                               "ORDER BY bm25(docs, 3.0, 1.0, 2.0) LIMIT 10",
                               (query,)).fetchall()
        return total, top

    def with_snippets(text: str):
        query = match(text)
        total = database.execute("SELECT count(*) FROM docs WHERE docs MATCH ?",
                                 (query,)).fetchone()[0]
        top = database.execute("SELECT title, snippet(docs, 1, '<mark>', '</mark>', '…', 24) "
                               "FROM docs WHERE docs MATCH ? "
                               "ORDER BY bm25(docs, 3.0, 1.0, 2.0) LIMIT 10",
                               (query,)).fetchall()
        return total, top

    return database, page, with_snippets


def api_client(instance: str):
    """A test client signed in as an apprentice, through the sign-in form. Its own app
    on the same instance: requests made inside another app's context would share that
    context's ``g`` (and whoever it says is signed in)."""
    from apprentice import create_app
    from apprentice.people.services import PersonDetails, create_person

    app = create_app({"APPRENTICE_INSTANCE_PATH": instance, "APPRENTICE_INDEX_SYNC_SECONDS": 0})
    password = "bench-password-1"  # noqa: S105  (a made-up person in a throw-away instance)
    with app.app_context():
        create_person(PersonDetails("Sam Search", "sam@bench.example", "Library Assistant",
                                    "Central Library", ["apprentice"]),
                      password=password, must_change_password=False)
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/sign-in", data={"csrf_token": token, "email": "sam@bench.example",
                                          "password": password})
    assert answer.status_code == 302, answer.status_code
    return client


def markdown(results: list[tuple[int, float, list]]) -> str:
    """One table: a row per search, a column per size, p50 / p95 in ms."""
    lines = ["| search | " + " | ".join(f"{size:,} procedures" for size, _, _ in results) + " |",
             "|---|" + "---|" * len(results),
             "| indexing (procedures/s) | " + " | ".join(f"{rate:.0f}" for _, rate, _ in results)
             + " |"]
    for i, (label, _) in enumerate(results[0][2]):
        cells = [f"{rows[i][1][0]:.1f} / {rows[i][1][1]:.1f}" for _, _, rows in results]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    parser.add_argument("--vectors", type=Path,
                        help="keep the sections' vectors in this file between runs")
    parser.add_argument("--whole-pages", action="store_true",
                        help="a procedure per page of the documentation (83, with their "
                             "sections) instead of one per ## section")
    args = parser.parse_args()
    results = []
    corpus = pages(args.data) if args.whole_pages else sections(args.data)
    print(f"corpus: {len(corpus)} {'pages' if args.whole_pages else 'sections'} "
          f"from {args.data}")

    from sqlalchemy import delete, insert
    from whoosh import sorting

    from apprentice import create_app, migrate
    from apprentice.db import database, db_session, utcnow
    from apprentice.kb import ranking, search, semantic
    from apprentice.kb.models import Procedure

    if args.vectors:  # an absolute path: the instance folder's own is not used
        semantic.STORE = str(args.vectors.resolve())
    random.seed(7)
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as instance:
            # The index is built whole: an applier thread would only compete for the
            # CPU and for SQLite's lock while the documents are written.
            app = create_app({"APPRENTICE_INSTANCE_PATH": instance,
                              "APPRENTICE_INDEX_SYNC_SECONDS": 0})
            with app.app_context():
                migrate.upgrade(database().engine)
                now = utcnow()
                documents = []
                for n in range(size):
                    _key, title, body = corpus[n % len(corpus)]
                    copy = n // len(corpus)
                    documents.append({"id": n + 1, "title": f"{title} ({copy})" if copy else title,
                                 "body": body, "status": "published", "revision_number": 1,
                                 "tags": random.choice(["circulation", "acquisitions",  # noqa: S311
                                                        "desk", "inventory", "users"]),
                                 "review_interval_days": 90, "created_at": now,
                                 "updated_at": now})
                db_session().execute(delete(Procedure))
                db_session().execute(insert(Procedure), documents)
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

                def app_whoosh_scored(text):
                    """search() as before ranking.py: every query scored by Whoosh's
                    matchers, a posting at a time (the row to compare it with)."""
                    best, ranking.best = ranking.best, lambda *args, **kwargs: None
                    try:
                        return app_no_facets(text)
                    finally:
                        ranking.best = best

                def app_words_alone(text):
                    """search() without meaning (semantic.py): the row to compare it with."""
                    by_meaning, search._by_meaning = search._by_meaning, lambda *args: None
                    try:
                        return app_no_facets(text)
                    finally:
                        search._by_meaning = by_meaning

                client = api_client(instance)

                def app_api(text, client=client):
                    """The app through its API, as a signed-in user asks it."""
                    answer = client.get("/api/search", query_string={"q": text})
                    assert answer.status_code == 200, answer.status_code
                    return answer.get_json()["total"]

                fts, fts_page, fts_snippets = fts5_index(documents)
                for function in (bare, bare_top, bare_facets, app_search, app_no_facets,
                                 app_whoosh_scored, app_words_alone, app_api, fts_page,
                                 fts_snippets):
                    function("loan")  # warm caches
                    function("lona")  # and the English words a typo is checked against
                rows = [
                    ("1-3 words, bare Whoosh: top 10 only", timed(bare_top, QUERIES_SHORT)),
                    ("1-3 words, bare Whoosh: page + total", timed(bare, QUERIES_SHORT)),
                    ("1-3 words, SQLite FTS5: top 10 + total", timed(fts_page, QUERIES_SHORT)),
                    ("1-3 words, FTS5 + snippet()", timed(fts_snippets, QUERIES_SHORT)),
                    ("1-3 words, app search() (API: no facets)",
                     timed(as_new(app_no_facets), QUERIES_SHORT)),
                    ("1-3 words, app search(), Whoosh scoring",
                     timed(as_new(app_whoosh_scored), QUERIES_SHORT)),
                    ("1-3 words, app search(), words alone",
                     timed(as_new(app_words_alone), QUERIES_SHORT)),
                    ("1-3 words, app: GET /api/search", timed(as_new(app_api), QUERIES_SHORT)),
                    ("1-3 words, bare Whoosh with facets", timed(bare_facets, QUERIES_SHORT)),
                    ("1-3 words, app with facets (page)",
                     timed(as_new(app_search), QUERIES_SHORT)),
                    ("fuzzy word~, bare Whoosh: page + total", timed(bare, QUERIES_FUZZY)),
                    ("fuzzy word~, app with facets", timed(as_new(app_search), QUERIES_FUZZY)),
                    ("typos (did you mean), app with facets",
                     timed(as_new(app_search), QUERIES_TYPO)),
                ]
                bare_searcher.close()
                fts.close()
            print(f"\n{size} procedures: indexing {rate:.0f} procedures/s")
            for label, (p50, p95) in rows:
                print(f"  {label:42s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
            at95 = {label: figures[1] for label, figures in rows}
            api = at95["1-3 words, app: GET /api/search"]
            whoosh = at95["1-3 words, bare Whoosh: page + total"]
            fts5 = at95["1-3 words, SQLite FTS5: top 10 + total"]
            snippets = at95["1-3 words, FTS5 + snippet()"]
            print(f"  GET /api/search at p95: {api / whoosh:.2f}x bare Whoosh's page + total, "
                  f"{api / fts5:.2f}x FTS5's top 10 + total, "
                  f"{api / snippets:.2f}x FTS5 with snippets")
            results.append((size, rate, rows))
    if args.markdown:
        args.markdown.write_text(markdown(results) + "\n")


if __name__ == "__main__":
    main()
