"""A save's trip to this server's search index: it never waits for another process
applying or merging (its change, in the log, is applied by that one after it lets go),
commits without merging, and leaves merging small segments to the timer
(apprentice.kb.search.tidy), so segments never pile up. Speed: bench/save_speed.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from apprentice.kb import search
from tests.support.procedures import create, edit, found

WAIT = 60  # seconds at most for another thread to reach a point (never a measured time)




@pytest.mark.parametrize("holder_runs", ["sync_quietly", "sync_all"])  # a save; index-sync
def test_a_save_committed_after_the_lock_holder_read_the_log_is_applied_by_it(
        app, make_person, monkeypatch, holder_runs):
    """The save finds the apply lock held by a sync that has already read the log: the
    save returns without waiting, and the holder applies its change after its round."""
    mentor = make_person(roles=["mentor"]).id
    opening = create(app, mentor, "Opening the branch", "Unlock the returns chute.")
    create(app, mentor, "Closing the branch", "Lock the returns chute.", sync=False)
    has_read, go_on = threading.Event(), threading.Event()
    documents = search._documents
    failures = []

    def held_up(ids):
        if threading.current_thread() is holder:
            has_read.set()
            go_on.wait(WAIT)
        return documents(ids)

    def hold():
        try:
            with app.app_context():
                getattr(search, holder_runs)(wait=search.WRITE_TIMEOUT)
        except Exception as exc:  # any failure is the finding
            failures.append(exc)

    monkeypatch.setattr(search, "_documents", held_up)
    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert has_read.wait(WAIT)
        edit(app, mentor, opening, "Unlock the returns chute, then feed the pelican.")
        with app.app_context():
            assert search.waiting() == 2  # the save left both to the holder
    finally:
        go_on.set()
        holder.join(WAIT)
    assert not holder.is_alive() and failures == []
    with app.app_context():
        assert search.waiting() == 0 and search.check().healthy
    assert found(app, "pelican") == ["Opening the branch"]
    assert found(app, "chute") == ["Closing the branch", "Opening the branch"]


@contextmanager
def apply_lock_held_elsewhere(app) -> Iterator[None]:
    """This server's apply lock held by another thread (a merge, another worker's sync)
    for as long as the block runs."""
    holding, let_go = threading.Event(), threading.Event()

    def hold():
        with app.app_context(), search._applying():
            holding.set()
            let_go.wait(WAIT)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(WAIT)
        yield
    finally:
        let_go.set()
        holder.join(WAIT)
    assert not holder.is_alive()


def test_a_change_left_during_a_merge_is_applied_when_the_merge_lets_go(app, make_person):
    """The timer's merge holds the lock (another thread here); a save meanwhile leaves its
    change, which the timer's round applies after the merge."""
    mentor = make_person(roles=["mentor"]).id
    opening = create(app, mentor, "Opening the branch", "Unlock the returns chute.")
    with apply_lock_held_elsewhere(app):  # as tidy() holds it while merging
        edit(app, mentor, opening, "Unlock the returns chute, then feed the pelican.")
        with app.app_context():
            assert search.waiting() == 1
    with app.app_context():
        search.tidy()
        assert search.waiting() == 0 and search.check().healthy
    assert found(app, "pelican") == ["Opening the branch"]


def test_saves_leave_few_segments_and_the_timer_merges_them(app, make_person):
    """Each save commits a segment of its own without merging; from MERGE_AT segments a
    save merges small ones itself (no timer here), and the timer's tidy() merges more."""
    mentor = make_person(roles=["mentor"]).id
    ids = [create(app, mentor, f"Shelving round {n}", "Left to right.") for n in range(4)]
    for n in range(3 * search.MERGE_AT):
        edit(app, mentor, ids[n % len(ids)], f"Left to right, pass {n}: pelican.")
        with app.app_context():
            assert search.segment_count() < search.MERGE_AT
    with app.app_context():
        for _ in range(2 * search.MERGE_AT):  # bounded: a failure, never a hang
            if search.segment_count() >= 3:
                break
            edit(app, mentor, ids[0], "Left to right, again: pelican.")
        assert search.segment_count() >= 3
        before = search.segment_count()
        assert search.tidy()
        assert search.segment_count() < before
        assert not search.tidy()  # nothing left to merge
        assert search.check().healthy
    assert found(app, "pelican") == [f"Shelving round {n}" for n in range(4)]


def test_the_timer_skips_a_round_while_another_process_applies(app, make_person):
    """The timer's round never waits for the apply lock (under load it waited 10 s, then
    logged a failure): it leaves the work to the holder and the next round does the rest."""
    from apprentice.kb import applier

    mentor = make_person(roles=["mentor"]).id
    create(app, mentor, "Opening the branch", "Unlock the returns chute.")
    create(app, mentor, "Closing the branch", "Lock the returns chute.", sync=False)
    with apply_lock_held_elsewhere(app), app.app_context():
        assert applier.tick().applied == 0  # at once, no LockError
        assert search.waiting() == 1
    with app.app_context():
        assert applier.tick().applied == 1
        assert search.waiting() == 0
