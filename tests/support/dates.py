"""Today's date for the tests, read when a test or fixture runs, never at import.

The app reads ``date.today()`` each time it needs the day. A module constant such as
``TODAY = date.today()`` keeps the day the module was imported instead, and the full
suite runs for long enough (about 40 minutes) that a run started before midnight ends
on the next day: the app and the constant then disagree and tests that compare the two
fail ("a future date is refused", "this week's hours", "logged today"). Call
``today()`` inside the test or fixture that needs the day; where a value is chosen at
import (a pytest parameter, a module-level table), give the day as a ``timedelta`` from
today and pass the form through ``from_today()`` when it is sent.

(Not named "clock": the ``clock`` fixture in tests/conftest.py is the sessions' clock,
moved by hand.)
"""

from __future__ import annotations

from datetime import date, timedelta


def today() -> date:
    """The day as the app sees it now (it reads ``date.today()`` too)."""
    return date.today()


def from_today(form: dict) -> dict:
    """``form`` with each ``timedelta`` value made the day that far from today, written
    as a form sends it ("2026-12-31"); other values as they are."""
    day = today()
    return {name: (day + value).isoformat() if isinstance(value, timedelta) else value
            for name, value in form.items()}
