"""The search-quality benches (bench/search_quality.py, bench/staff_questions.py) at a
tiny size, so their figures cannot rot silently: the scores are the textbook ones, the
question set is well formed, and the app is searched through its API as staff search it.

The documents are two small pages written here, not ../shared/data, which a clone does
not have. The app's import and search run on SQLite only (the bench's instance), so the
PostgreSQL pass would run the same thing again: marked slow.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
KINDS = {"keywords", "question", "how-do-i", "jargon", "acronym", "synonym", "typo",
         "half-remembered"}


def bench_module(name: str):
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_the_scores_are_ndcg_reciprocal_rank_and_success_at_five():
    quality = bench_module("search_quality")
    gains = {"b": 3, "d": 2, "e": 1}
    ndcg, rr, success = quality.scores(["a", "b", "c"], gains, right=2)
    ideal = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg == pytest.approx((3 / math.log2(3)) / ideal)
    assert (rr, success) == (0.5, 1.0)
    # Best order first: 1.0; a key twice counts once; right only from the grade asked.
    assert quality.scores(["b", "b", "d", "e"], gains, right=2)[0] == pytest.approx(1.0)
    assert quality.scores(["a", "c", "x", "y", "z", "e"], gains, right=2)[1:] == (0.0, 0.0)
    assert quality.scores(["a", "c", "x", "y", "z", "b"], gains, right=2)[1:] == (1 / 6, 0.0)


def test_the_staff_questions_are_well_formed():
    questions = [json.loads(line) for line in
                 (BENCH / "staff_questions.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    assert len(questions) >= 80
    assert len({q["id"] for q in questions}) == len(questions)
    assert len({q["query"].lower() for q in questions}) == len(questions)
    for question in questions:
        assert set(question["kinds"]) <= KINDS, question["id"]
        grades = question["judgments"].values()
        assert set(grades) <= {0, 1, 2, 3}, question["id"]
        assert max(grades) >= 2, f"{question['id']}: nothing answers it"
        assert all("#" in key and key.split("#")[0].endswith(".md")
                   for key in question["judgments"]), question["id"]


PAGE = """---
title: "Check in"
---
The Check in app processes items at a service point.

It covers items patrons return to the library, items another patron requested, items in
process, and in-house use of items that never leave the building at all.

## Backdating a check in

When the book drop was not emptied on a closed day, change the check in date and time
before you scan the items so that no overdue fines are charged for the days the library
was closed.

## Checking in an item

Scan the item barcode in the Scan items box and press Enter; the item status changes to
Available unless somebody has requested the item.
"""


@pytest.mark.slow
def test_the_app_is_searched_through_its_api_and_answers_with_sections(tmp_path):
    questions = bench_module("staff_questions")
    quality = bench_module("search_quality")
    data = tmp_path / "docs"
    (data / "Check in").mkdir(parents=True)
    (data / "Check in" / "checkin.md").write_text("\n" + PAGE, encoding="utf-8")
    docs = questions.sections(data)  # FTS5's rows, and the judged keys
    assert [(key.split("#")[1], title) for key, title, _body in docs] == [
        ("The Check in app processes items at a service point.", "Check in"),
        ("Backdating a check in", "Check in: Backdating a check in"),
        ("Checking in an item", "Check in: Checking in an item")]
    pages = questions.pages(data)  # the app's: the page whole, front matter read
    assert [(path, title) for path, title, _text in pages] == [("Check in/checkin.md",
                                                                "Check in")]
    search = quality.app_search(pages, tmp_path / "instance",
                                questions.section_keys(docs, pages))
    assert search("library closed snow day overdue fines")[0] == \
        "Check in/checkin.md#Backdating a check in"
    assert search("in-house use")[0] == \
        "Check in/checkin.md#The Check in app processes items at a service point."
    assert quality.fts5(docs)("scan barcode")[0] == "Check in/checkin.md#Checking in an item"
