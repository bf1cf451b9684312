"""Lengths of time in the words people use: "4 h 45 min", never "4.8"."""

from __future__ import annotations

import re

import pytest

from apprentice.formatting import duration
from apprentice.people.services import get_person
from apprentice.training import services
from tests.loop import as_person, log_one


@pytest.mark.parametrize("minutes, words", [
    pytest.param(0, "0 min", id="nothing"),
    pytest.param(None, "0 min", id="none"),
    pytest.param(1, "1 min", id="one-minute"),
    pytest.param(45, "45 min", id="under-an-hour"),
    pytest.param(60, "1 h", id="an-hour"),
    pytest.param(120, "2 h", id="whole-hours"),
    pytest.param(285, "4 h 45 min", id="hours-and-minutes"),
    pytest.param(1439, "23 h 59 min", id="a-day-less-a-minute"),
    pytest.param(600_000, "10,000 h", id="large"),
    pytest.param(600_061, "10,001 h 1 min", id="large-with-minutes"),
    pytest.param(44.6, "45 min", id="rounded"),
])
def test_duration_in_words(minutes, words):
    assert duration(minutes) == words


def test_the_log_and_the_home_page_say_4_h_45_min(app, loop):
    entry = log_one(app, loop, minutes="285")
    client = as_person(app, loop["apprentice"])
    log_page = client.get("/log/").get_data(as_text=True)
    assert re.search(r"· 4 h 45 min</a>", log_page)
    with app.app_context():
        services.verify_entries([services.get_entry(entry.id)], get_person(loop["mentor"].id))
    home = client.get("/").get_data(as_text=True)
    assert "<strong>4 h 45 min</strong> verified" in home
    words = re.sub(r"<svg.*?</svg>", "", home, flags=re.S)  # not the drawing's coordinates
    assert "4.8" not in words and "4.75" not in words
    programme = client.get("/programmes/mine").get_data(as_text=True)
    assert "Time: 4 h 45 min verified" in programme
