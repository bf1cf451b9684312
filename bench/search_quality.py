"""What the search-quality benches share: the documents imported into a new instance as a
library imports them and searched as staff search them (GET /api/search, signed in
through the sign-in form), SQLite FTS5 on the same documents, and the scores.

Used by bench/staff_questions.py and bench/cranfield_ndcg.py. A document is ``(key,
title, body)``; judgments map keys to gains (0 for not relevant); a search returns keys,
best first.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from statistics import mean
from urllib.parse import urlencode

PASSWORD = "bench-search-quality-1"  # noqa: S105  (a throw-away instance)
EMAIL = "reader@bench.example"

Search = Callable[[str], list]


def scores(ranked: Iterable, gains: dict, right: int) -> tuple[float, float, float]:
    """(nDCG@10, reciprocal rank, success@5) of one ranking: gain = the judgment, against
    the ideal order of all judged gains; a result is right from gain ``right`` up (MRR
    over the whole ranking returned). A key that comes back twice counts once."""
    unique = list(dict.fromkeys(ranked))
    dcg = sum(gains.get(key, 0) / math.log2(rank + 2) for rank, key in enumerate(unique[:10]))
    ideal = sorted(gains.values(), reverse=True)[:10]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    first = next((rank for rank, key in enumerate(unique) if gains.get(key, 0) >= right),
                 None)
    return (dcg / idcg if idcg else 0.0, 0.0 if first is None else 1 / (first + 1),
            1.0 if first is not None and first < 5 else 0.0)


def row(name: str, results: list[tuple[float, float, float]]) -> str:
    """A Markdown table row: the means of nDCG@10, MRR and success@5."""
    ndcg, rr, success = (mean(column) for column in zip(*results, strict=True))
    return f"| {name} | {ndcg:.3f} | {rr:.3f} | {success:.0%} |"


HEADER = "| system | nDCG@10 | MRR | success@5 |\n|---|---|---|---|"


def fts5(docs: list[tuple]) -> Search:
    """The documents in an in-memory FTS5 table (porter stemmer, bm25 with the title
    weighted 3 to the body's 1); its search ORs the words of the question, punctuation
    dropped."""
    database = sqlite3.connect(":memory:")
    database.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, "
                     "tokenize='porter unicode61')")
    database.executemany("INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)",
                         [(n, title, body) for n, (_key, title, body) in enumerate(docs)])

    def search(text: str, limit: int = 20) -> list:
        words = re.findall(r"\w+", text.lower())
        if not words:
            return []
        rows = database.execute(
            "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 3.0, 1.0) LIMIT ?",
            (" OR ".join(f'"{word}"' for word in words), limit))
        return [docs[rowid][0] for (rowid,) in rows]

    return search


def app_search(docs: list[tuple], instance: Path,
               keys_of: Callable[[str, dict], list] | None = None) -> Search:
    """The documents as Markdown files imported into a new instance with the commands the
    README shows (``db upgrade``, ``create-user``, ``import-procedures``); its search
    through GET /api/search, signed in through the sign-in form as an apprentice (who
    sees every published procedure). A result is its document's key, or what
    ``keys_of(key, result)`` makes of it (the sections it links to, in the order shown)."""
    from apprentice import create_app
    from apprentice.db import db_session
    from apprentice.kb.models import Procedure

    folder = instance.parent / "procedures"
    folder.mkdir(parents=True)
    files = {}
    for number, (key, title, body) in enumerate(docs):
        name = f"{number:05d}.md"
        files[name] = key
        (folder / name).write_text(f"---\ntitle: {json.dumps(title)}\n---\n{body}",
                                   encoding="utf-8")
    app = create_app({"APPRENTICE_INSTANCE_PATH": str(instance),
                      "APPRENTICE_INDEX_SYNC_SECONDS": 0})
    cli = app.test_cli_runner()
    for command in (["apprentice", "db", "upgrade"],
                    ["apprentice", "create-user", "--email", EMAIL, "--name", "Bench Reader",
                     "--role", "apprentice", "--password", PASSWORD],
                    ["apprentice", "import-procedures", str(folder)]):
        result = cli.invoke(args=command)
        if result.exit_code:
            sys.exit(f"{' '.join(command)} failed: {result.output}")
    with app.app_context():
        keys = {row.id: files[Path(row.source_key.removeprefix("import:")).name]
                for row in db_session().query(Procedure.id, Procedure.source_key)}
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    signed = client.post("/sign-in", data={"email": EMAIL, "password": PASSWORD,
                                           "csrf_token": csrf})
    if signed.status_code != 302:
        sys.exit(f"signing in failed: {signed.status_code}")

    def search(text: str) -> list:
        answer = client.get("/api/search?" + urlencode({"q": text}))
        if answer.status_code != 200:
            sys.exit(f"GET /api/search?q={text!r}: {answer.status_code}")
        results = answer.get_json()["results"]
        if keys_of is None:
            return [keys[hit["id"]] for hit in results]
        return [key for hit in results for key in keys_of(keys[hit["id"]], hit)]

    return search
