"""Each app process keeps its server's search index up with every server's saves: a
daemon thread applies the change log every ``APPRENTICE_INDEX_SYNC_SECONDS``
(apprentice/kb/changelog.py says what the log and the cursors are).

The thread starts with the process's first page (:func:`ensure_started`, from a
blueprint hook), so under gunicorn it runs in each worker and never in the master
that forks them: a thread does not survive a fork, and a process forked after
starting one starts its own. Its reads begin as page views' do and never hold
SQLite's write lock; each write (the cursor, "still live") is a short transaction of
its own. With the setting 0 no thread starts (in a testing app too, unless set).
"""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app
from whoosh.index import LockError

from apprentice.kb import changelog

SYNC_SECONDS = 2  # APPRENTICE_INDEX_SYNC_SECONDS when not set (0 in a testing app)
TOUCH_EVERY = 600  # seconds: how often an idle replica says it is still live
PRUNE_EVERY = 600  # seconds: how often a process prunes the log
TIDY_WAIT = 1  # seconds the timer waits for the lock to merge (saves never wait)
SAY_AGAIN = 600  # seconds: a problem that lasts is logged again this often


@dataclass
class Applier:
    """The thread of one app in one process."""

    pid: int
    thread: threading.Thread
    stop: threading.Event


_starting = threading.Lock()


def ensure_started(app: Flask) -> None:
    """Start ``app``'s applier in this process unless it runs already (cheap: called for
    every page)."""
    seconds = app.config.get("APPRENTICE_INDEX_SYNC_SECONDS")
    if seconds is None:
        seconds = 0 if app.testing else SYNC_SECONDS
    state = app.extensions["apprentice"]
    if not seconds or _running_here(state.index_applier):
        return
    with _starting:
        if _running_here(state.index_applier):
            return
        stop = threading.Event()
        # A weak reference: the thread never keeps an app alive (tests make many).
        thread = threading.Thread(target=_run, args=(weakref.ref(app), seconds, stop),
                                  name="apprentice-index-applier", daemon=True)
        state.index_applier = Applier(os.getpid(), thread, stop)
        thread.start()


def _running_here(applier: Applier | None) -> bool:
    """Started in this process (a forked worker starts its own) and still alive (a
    thread that died is started again at the next page, not left dead for ever)."""
    return (applier is not None and applier.pid == os.getpid()
            and applier.thread.is_alive())


def stop(app: Flask, timeout: float = 30) -> None:
    """Stop ``app``'s applier in this process, waiting for the round under way."""
    running = app.extensions["apprentice"].index_applier
    if running is not None and running.pid == os.getpid():
        running.stop.set()
        running.thread.join(timeout)
    app.extensions["apprentice"].index_applier = None


def _run(app_ref, seconds: float, stop: threading.Event) -> None:
    # The last problem logged and when: said again only every SAY_AGAIN seconds while
    # it lasts, not every few seconds, nor once and then never.
    said, said_at = None, -math.inf
    while not stop.wait(seconds):
        app = app_ref()
        if app is None:
            return
        try:
            with app.app_context():
                tick()
            said = None
        except Exception as exc:  # the next round tries again
            problem = f"{type(exc).__name__}: {exc}"
            if problem != said or time.monotonic() - said_at >= SAY_AGAIN:
                app.logger.warning("search index not brought up to date: %s", problem,
                                   exc_info=not isinstance(exc, OSError))
                said, said_at = problem, time.monotonic()
        finally:
            del app


# (what, replica id) -> when this process last did it (time.monotonic)
_last: dict[tuple[str, str], float] = {}


def tick():
    """One round, as the thread runs it: rebuild this server's index when needed (never
    waiting for another process's rebuild), else apply the changes beyond its cursor;
    merge the index's small segments (apprentice.kb.search.tidy); now and then say the
    replica is live and prune the log. What it did (apprentice.kb.search.CatchUp)."""
    from apprentice.kb import search  # search reads the glossary, which needs the app

    try:
        done = search.catch_up(wait=False, thorough=False)
    except LockError:
        # Another process of this server is applying the log (a save, a merge, index-sync):
        # it reads every change beyond the cursor, and this timer's next round the rest.
        # Waiting here held the timer up to 10 s under load, then logged it as a failure.
        done = search.CatchUp()
    search.tidy(wait=TIDY_WAIT)  # merges what saves left unmerged, not in a request
    replica = changelog.this_replica()
    if replica is not None:
        now = time.monotonic()
        if now - _last.get(("touch", replica.id), -math.inf) >= TOUCH_EVERY:
            changelog.touch(replica)
            _last["touch", replica.id] = now
        if now - _last.get(("prune", replica.id), -math.inf) >= PRUNE_EVERY:
            changelog.prune(timedelta(days=current_app.config[
                "APPRENTICE_INDEX_REPLICA_TTL_DAYS"]))
            _last["prune", replica.id] = now
    return done
