"""Another writer on SQLite, for tests of what waits for the write lock and what does not."""

from __future__ import annotations

import threading

from sqlalchemy import update

from apprentice.db import db_session
from apprentice.people.models import StaffProfile

WAIT = 30  # seconds at most for the other thread (never a measured time)


class HeldTurn:
    """Another writer (another worker, say) holding SQLite's write lock until ``end()``,
    so a test sees what waits for it; ``before_commit`` runs in that thread just before."""

    def __init__(self, app, person_id: int, *, before_commit=None, **change):
        self.writing, self.release = threading.Event(), threading.Event()
        change = change or {"job_title": "Holding the write lock"}

        def hold():
            with app.app_context():
                db_session().execute(update(StaffProfile).where(StaffProfile.id == person_id)
                                     .values(**change))
                self.writing.set()
                self.release.wait(WAIT)
                if before_commit is not None:
                    before_commit()
                db_session().commit()

        self.thread = threading.Thread(target=hold)
        self.thread.start()
        assert self.writing.wait(WAIT)

    def end(self):
        self.release.set()
        self.thread.join(WAIT)
