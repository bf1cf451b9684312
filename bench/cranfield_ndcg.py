"""Search quality on the Cranfield collection: nDCG@10 over its 225 queries, for the app
through GET /api/search and for SQLite FTS5, on the same documents in the same run.

The 1,400 abstracts are imported as procedures (title = .T, body = .W) into a
throw-away instance with ``import-procedures``, and each query is asked as a signed-in
person asks it: GET /api/search, the query as typed (the parser, the glossary and
visibility included; bench/search_quality.py), and again with its punctuation removed, as
issue 14 measured it from outside.

    .venv/bin/python bench/cranfield_ndcg.py [--data ../shared/data/cranfield]

Scoring follows ../shared/data/README.md: the query number in cranqrel is the
query's position in cran.qry; codes -1 are dropped; gain = 5 - code;
DCG = sum(gain / log2(rank + 1)) over the first 10 results; nDCG = DCG / ideal DCG.
MRR and success@5 count any judged document as right.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from search_quality import HEADER, app_search, fts5, row, scores

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "cranfield"


def fields(text: str) -> list[dict]:
    """Split a Cranfield file into records of their .X fields."""
    records = []
    for chunk in re.split(r"^\.I ", text, flags=re.M)[1:]:
        number, _, rest = chunk.partition("\n")
        record = {"I": number.strip()}
        pattern = r"^\.([A-Z])\n(.*?)(?=^\.[A-Z]\n|\Z)"
        for name, value in re.findall(pattern, rest, flags=re.M | re.S):
            record[name] = " ".join(value.split())
        records.append(record)
    return records


def unpunctuated(text: str) -> str:
    """The query as the issue measured it from outside: punctuation removed, so
    "boundary-layer" reaches the search as "boundarylayer"."""
    return re.sub(r"[^\w\s]", "", text)


def load(data: Path):
    docs = fields((data / "cran.all.1400").read_text())
    queries = [q.get("W", "") for q in fields((data / "cran.qry").read_text())]
    judged: dict[int, dict[int, int]] = defaultdict(dict)
    for line in (data / "cranqrel").read_text().split("\n"):
        parts = line.split()
        if len(parts) == 3 and int(parts[2]) > 0:
            judged[int(parts[0])][int(parts[1])] = 5 - int(parts[2])
    return docs, queries, judged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    docs, queries, judged = load(args.data)

    # Documents 471 and 995 have no abstract: their title stands for the body too.
    documents = [(int(d["I"]), d.get("T", "") or f"Document {d['I']}",
                  d.get("W", "") or d.get("T", "") or "(no abstract)") for d in docs]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        app = app_search(documents, Path(folder) / "instance")
        systems = {"app: GET /api/search": app,
                   "app, query punctuation removed": lambda text: app(unpunctuated(text)),
                   "SQLite FTS5 (porter, bm25, title x3)": fts5(documents)}
        setting_up = time.perf_counter() - started
        results, took = {}, {}
        for name, search in systems.items():
            started = time.perf_counter()
            results[name] = [scores(search(text), judged[position], 1)
                             for position, text in enumerate(queries, start=1)]
            took[name] = time.perf_counter() - started
    print(f"{len(documents)} documents imported and indexed in {setting_up:.1f} s; "
          f"{len(queries)} queries: " + ", ".join(f"{name} {seconds:.1f} s"
                                                   for name, seconds in took.items()))
    print(HEADER)
    for name, rows in results.items():
        print(row(name, rows))
    print("(reference, ../shared/data/README.md: plain BM25 0.354, SQLite FTS5 0.362)")


if __name__ == "__main__":
    main()
