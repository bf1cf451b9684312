"""Factories: make people through the same services the app uses."""

from __future__ import annotations

import itertools

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
