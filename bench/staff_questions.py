"""Search quality on staff questions: nDCG@10, MRR and success@5 for the app, through
``GET /api/search`` as a signed-in person, and for SQLite FTS5, on the same documents in
the same run.

The documents: ../shared/data/folio-docs (FOLIO's user documentation). The app gets its
83 pages whole, imported as a library would import them, into a throw-away instance:
``flask apprentice db upgrade``, ``create-user`` and ``import-procedures`` (the commands
the README shows); each question is asked as typed, signed in through the sign-in form,
exactly as the search box sends it, and each result counts as the sections it shows (the
one it links to, then those listed under it), named by page and heading. The questions
and their graded judgments (0-3, by reading the sections): bench/staff_questions.jsonl;
how they were written: bench/README.md.

FTS5 gets the pages split at each ``## `` heading, a row per section of more than 20
words (the text before the first heading is one too), titled "<page title>: <heading>"
(porter stemmer, bm25 with the title weighted 3 to the body's
1) and the question's words OR-ed, punctuation dropped.

    .venv/bin/python bench/staff_questions.py [--data ../shared/data/folio-docs]
        [--questions bench/staff_questions.jsonl] [--by-kind] [--misses]

Scores: gain = the grade; nDCG@10 against the ideal order of the judged grades; MRR and
success@5 count a result as right when graded 2 or 3 (MRR over the first page of
results); a section not judged counts 0. A section that comes back twice (two with one
heading on a page) counts once. nDCG@10, MRR and success@5 count each section shown as a
place of its own, so a page showing four sections fills four of the first five places.
success@5 is also counted per result, as the API returns them (a page with the sections
it shows: right when one of them is), and per page (right when a result's page holds a
right section: the issue's "the right page in the top five"); an FTS5 result is one
section.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from statistics import mean

from search_quality import HEADER, app_search, fts5, row, scores
from search_speed import DEFAULT_DATA, pages, sections

HERE = Path(__file__).resolve().parent
DEFAULT_QUESTIONS = HERE / "staff_questions.jsonl"
RIGHT = 2  # graded 2 or 3: an answer


def load_questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def fold(text: str | None) -> str:
    """A heading compared as words only: the app shows ``Settings \\> Users`` as
    ``Settings > Users``."""
    return re.sub(r"\W+", "", (text or "").lower())


def section_keys(docs: list[tuple], page_list: list[tuple]):
    """The app's answers as judged sections: a result links to a page's section by its
    heading (none: the page's opening text, keyed by its first line as ``sections()``
    keys it); the sections listed under it follow it."""
    judged = {(key.split("#", 1)[0], fold(key.split("#", 1)[1])): key for key, _t, _b in docs}
    opening = {page: f"{page}#{text.partition(chr(10))[0].strip()}"
               for page, _title, text in page_list if not text.startswith("## ")}

    def keys_of(page: str, hit: dict) -> list:
        shown = [hit["section"], *hit["more_sections"]]
        return [judged.get((page, fold(section["heading"])), f"{page}#?{section['heading']}")
                if section and section["heading"] else opening.get(page, f"{page}#")
                for section in shown]

    return keys_of


def first_five(results: list[tuple], judgments: dict) -> tuple[float, float]:
    """(success@5 by result, success@5 by page) of ``results``, each result the sections
    it shows, best first."""
    right = {key for key, grade in judgments.items() if grade >= RIGHT}
    pages = {key.split("#", 1)[0] for key in right}
    head = results[:5]
    return (float(any(key in right for shown in head for key in shown)),
            float(any(shown and shown[0].split("#", 1)[0] in pages for shown in head)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--by-kind", action="store_true", help="a table per kind of question")
    parser.add_argument("--misses", action="store_true",
                        help="list the questions the app answers with nothing right in the "
                             "first five")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"no documents at {args.data} (see ../shared/data/README.md)")
    docs = sections(args.data)
    questions = load_questions(args.questions)
    known = {key for key, _title, _body in docs}
    unknown = {key for q in questions for key in q["judgments"]} - known
    if unknown:
        sys.exit(f"judgments name sections that are not there: {sorted(unknown)[:5]}")
    with tempfile.TemporaryDirectory() as folder:
        page_list = pages(args.data)
        keys_of = section_keys(docs, page_list)
        by_section = fts5(docs)
        systems = {  # each a search returning results, each result the sections it shows
            "app: GET /api/search": app_search(
                page_list, Path(folder) / "instance",
                lambda page, hit: [tuple(keys_of(page, hit))]),
            "SQLite FTS5 (porter, bm25, title x3)": lambda text: [
                (key,) for key in by_section(text)]}
        answers = {name: [search(q["query"]) for q in questions]
                   for name, search in systems.items()}
    results = {name: [scores([key for shown in found for key in shown], q["judgments"], RIGHT)
                      for q, found in zip(questions, rows, strict=True)]
               for name, rows in answers.items()}
    firsts = {name: [first_five(found, q["judgments"])
                     for q, found in zip(questions, rows, strict=True)]
              for name, rows in answers.items()}
    print(f"{len(docs)} sections of {args.data}; {len(questions)} questions "
          f"({args.questions.name})\n")
    print(HEADER)
    for name, rows in results.items():
        print(row(name, rows))
    app_rows, fts_rows = results.values()
    ratio = mean(r[0] for r in app_rows) / mean(r[0] for r in fts_rows)
    print(f"\napp nDCG@10 / FTS5's: {ratio:.2f}")
    print("\n| system | success@5 by section shown | by result | by page |\n|---|---|---|---|")
    for name, rows in results.items():
        print(f"| {name} | {mean(r[2] for r in rows):.0%} | "
              f"{mean(f[0] for f in firsts[name]):.0%} | "
              f"{mean(f[1] for f in firsts[name]):.0%} |")
    if args.by_kind:
        kinds = defaultdict(list)
        for number, question in enumerate(questions):
            for kind in question["kinds"]:
                kinds[kind].append(number)
        print("\n| kind | questions | app nDCG@10 | FTS5 nDCG@10 | app success@5 |"
              "\n|---|---|---|---|---|")
        for kind, numbers in sorted(kinds.items()):
            print(f"| {kind} | {len(numbers)} | {mean(app_rows[n][0] for n in numbers):.3f} | "
                  f"{mean(fts_rows[n][0] for n in numbers):.3f} | "
                  f"{mean(app_rows[n][2] for n in numbers):.0%} |")
    if args.misses:
        print("\nNothing right in the app's first five sections shown (* nor in its first "
              "five results):")
        for question, scored, first in zip(questions, app_rows, next(iter(firsts.values())),
                                           strict=True):
            if not scored[2]:
                print(f"  {question['id']}{'' if first[0] else ' *'}: {question['query']}")


if __name__ == "__main__":
    main()
