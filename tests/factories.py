"""Factories: make people through the same services the app uses."""

from __future__ import annotations

import itertools
from contextlib import contextmanager

from apprentice.people.services import PersonDetails, create_person

DEFAULT_PASSWORD = "correct horse battery"

_counter = itertools.count(1)


class PersonFactory:
    """``make_person(roles=[...], password=..., **details)`` inside the app's context."""

    def __init__(self, app):
        self.app = app

    def __call__(self, *, name=None, email=None, roles=("apprentice",), job_title="",
                 branch="", password=DEFAULT_PASSWORD, must_change_password=False, active=True):
        n = next(_counter)
        with self.app.app_context():
            from apprentice.db import db_session

            person = create_person(
                PersonDetails(
                    name=name or f"Person {n}",
                    email=email or f"person{n}@library.example",
                    job_title=job_title,
                    branch=branch,
                    roles=roles,
                ),
                password=password,
                must_change_password=must_change_password,
            )
            if not active:
                person.active = False
                db_session().commit()
            return person


@contextmanager
def sql_statements(app):
    """The SQL statements sent to the app's database inside the block, as a list.

    ``with sql_statements(app) as sent: ...`` then ``len(sent)``: for tests that a
    page or service runs a fixed number of queries, whatever the data.
    """
    from sqlalchemy import event

    engine = app.extensions["apprentice"].database.engine
    sent: list[str] = []

    def listener(_conn, _cursor, statement, *_args):
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def data_versions(app) -> dict[int, int]:
    """The counter rows of apprentice.core.versions (the data's, the structure's)."""
    from sqlalchemy import select

    from apprentice.core.models import DataVersion
    from apprentice.db import db_session

    with app.app_context():
        return dict(db_session().execute(select(DataVersion.id, DataVersion.version)).all())


def queries(sent: list[str]) -> list[str]:
    """``sent`` (from :func:`sql_statements`) without transaction control (BEGIN,
    COMMIT, ROLLBACK): the statements that read or write."""
    return [statement for statement in sent
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]


def add_entries(app, loop, count: int, first: int = 0, *, competency_id: int | None = None,
                states=("submitted", "verified"), procedures=lambda n: ()) -> None:
    """``count`` submitted or verified log entries for the loop's apprentice, inserted
    directly (fast); ``procedures(n)`` gives the procedure ids entry ``n`` links."""
    from datetime import date, timedelta

    from apprentice.db import db_session, utcnow
    from apprentice.training.models import EntryCompetency, EntryProcedure, LogEntry

    with app.app_context():
        session = db_session()
        for n in range(first, first + count):
            entry = LogEntry(person_id=loop["apprentice"].id, mentor_id=loop["mentor"].id,
                             occurred_on=date.today() - timedelta(days=n % 300), minutes=30,
                             activity=5, description=f"Entry {n}", state=states[n % len(states)],
                             form_token=f"t{n}", submitted_at=utcnow())
            entry.competency_links = [EntryCompetency(
                competency_id=competency_id or loop["competency"].id)]
            entry.procedure_links = [EntryProcedure(procedure_id=p) for p in procedures(n)]
            session.add(entry)
        session.commit()
