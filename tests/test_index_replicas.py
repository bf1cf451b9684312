"""Several app servers on one database: each keeps its own search index (a replica) and
applies every server's changes from the log in the database. Nothing is lost to a
rebuild or to pruning on another server, to a sync killed midway, or to a transaction
that commits after a later one; a glossary saved anywhere reaches every index; a server
gone for long is forgotten and rebuilds when it comes back. SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from whoosh.writing import SegmentWriter

from apprentice.config import index_dir
from apprentice.db import db_session, utcnow
from apprentice.kb import applier, changelog, glossary, search
from apprentice.kb.models import IndexChange, IndexReplica, Procedure
from apprentice.people.services import get_person
from tests.conftest import build_app, served
from tests.support.procedures import create, edit, found

WAIT = 60  # seconds at most for another thread to reach a point (never a measured time)


@pytest.fixture
def other(app, tmp_path):
    """A second app server on the ``app`` fixture's database, with an instance folder
    (and so a search index) of its own."""
    server = served(build_app(tmp_path / "other-server",
                              APPRENTICE_DATABASE_URL=app.extensions["apprentice"].database.url))
    yield server
    applier.stop(server)
    server.extensions["apprentice"].database.dispose()


@pytest.fixture
def mentor(make_person) -> int:
    return make_person(roles=["mentor"]).id


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["apprentice", *args])


def replica_of(app) -> changelog.Replica:
    with app.app_context():
        return changelog.this_replica()


def log_ids(app) -> list[int]:
    with app.app_context():
        return list(db_session().scalars(select(IndexChange.id).order_by(IndexChange.id)))


def cursor_of(app, server) -> int:
    with app.app_context():
        return changelog.position(replica_of(server).id).applied_upto


def test_an_edit_on_one_server_is_found_on_the_other_after_its_sync(app, other, mentor):
    opening = create(app, mentor, "Opening the branch", "Unlock the returns chute.")
    assert found(app, "chute") == ["Opening the branch"]
    built = cli(other, "index-sync")  # a new server: its index is built from the database
    assert built.exit_code == 0, built.output
    assert "not built here yet: rebuilt the index (1 procedures)" in built.output
    assert found(other, "chute") == ["Opening the branch"]

    edit(app, mentor, opening, "Switch on the self-check kiosks.")
    create(app, mentor, "Closing the branch", "Switch off the kiosks.")
    assert found(app, "kiosks") == ["Closing the branch", "Opening the branch"]
    assert found(other, "kiosks") == []  # not applied there yet
    behind = cli(other, "check-index")
    assert behind.exit_code == 1
    assert "2 waiting" in behind.output and "2 changes wait for the index" in behind.output

    synced = cli(other, "index-sync")
    assert "Brought 2 procedures up to date" in synced.output
    assert found(other, "kiosks") == ["Closing the branch", "Opening the branch"]
    assert found(other, "chute") == []  # the old text is gone there too
    for server in (app, other):
        checked = cli(server, "check-index")
        assert checked.exit_code == 0, checked.output
        assert f"replica {replica_of(server).id}" in checked.output
        assert "0 waiting" in checked.output
    assert replica_of(app).id != replica_of(other).id


def test_a_glossary_saved_on_one_server_reaches_the_other(app, other, mentor, coordinator):
    create(app, mentor, "Safe shelving", "Use the kickstool for the top shelf.")
    cli(other, "index-sync")
    with app.app_context():
        glossary.save(glossary.current() + "kickstool, step stool, elephant stool\n",
                      "Stools", get_person(coordinator.id))
        assert search.built_with_current_glossary()  # rebuilt at once where it was saved
    with other.app_context():
        assert not search.built_with_current_glossary()
        assert applier.tick().rebuilt == "The search glossary changed"
        assert search.built_with_current_glossary()
        assert applier.tick().rebuilt is None  # once
    assert found(other, "elephant stool") == ["Safe shelving"]


def test_a_rebuild_and_pruning_on_one_server_keep_what_the_other_has_not_applied(
        app, other, mentor):
    opening = create(app, mentor, "Opening the branch", "Unlock the returns chute.")
    cli(other, "index-sync")
    edit(app, mentor, opening, "Mind the kickstool.")
    create(app, mentor, "Counting the float", "Before opening, count the float.")
    assert cli(app, "reindex").exit_code == 0
    assert cli(app, "index-sync").exit_code == 0  # prunes below the lowest live cursor
    lagging = cursor_of(app, other)
    assert cursor_of(app, app) > lagging
    assert log_ids(app) and min(log_ids(app)) == lagging + 1  # kept: the other needs them
    assert found(other, "kickstool") == []

    assert "Brought 2 procedures" in cli(other, "index-sync").output
    assert found(other, "kickstool") == ["Opening the branch"]
    assert found(other, "float") == ["Counting the float"]
    cli(app, "index-sync")
    assert log_ids(app) == []  # every live server has applied every change


def test_a_server_not_seen_for_the_time_to_live_is_forgotten_and_rebuilds_on_return(
        app, other, mentor):
    create(app, mentor, "Opening the branch", "Unlock the returns chute.")
    cli(other, "index-sync")
    create(app, mentor, "Closing the branch", "Switch off the kiosks.")
    gone = replica_of(other)
    with app.app_context():
        db_session().execute(update(IndexReplica).where(IndexReplica.id == gone.id)
                             .values(last_seen_at=utcnow() - timedelta(days=8)))
        db_session().commit()
    pruned = cli(app, "index-sync")
    assert "forgot 1 servers' indexes not seen for 7 days" in pruned.output
    assert log_ids(app) == []  # the one live server had applied them all
    with other.app_context():
        assert not changelog.position(gone.id).registered
        done = applier.tick()  # the server comes back
        assert done.rebuilt == "This server's search index was not built here yet"
        assert done.indexed == 2
        assert search.check().healthy
    assert found(other, "kiosks") == ["Closing the branch"]


@pytest.mark.parametrize("dies", [
    pytest.param("update_document", id="while-writing-the-index"),
    pytest.param("advance", id="after-the-index-before-the-cursor"),
])
def test_a_sync_killed_midway_loses_nothing(app, other, mentor, monkeypatch, dies):
    ids = [create(app, mentor, f"Desk task {n}", "Tidy the desk.") for n in range(3)]
    cli(other, "index-sync")
    for n, procedure_id in enumerate(ids):
        edit(app, mentor, procedure_id, f"Step {n}: restart the kiosk.")

    def killed(*args, **kwargs):
        raise RuntimeError("killed")

    if dies == "advance":
        monkeypatch.setattr(changelog, "advance", killed)
    else:
        written = SegmentWriter.update_document

        def second_dies(writer, **fields):  # the first document in, then the end
            if getattr(writer, "apprentice_wrote", False):
                killed()
            writer.apprentice_wrote = True
            return written(writer, **fields)

        monkeypatch.setattr(SegmentWriter, "update_document", second_dies)
    with other.app_context():
        with pytest.raises(RuntimeError, match="killed"):
            search.sync_all()
        assert search.waiting() == 3
    monkeypatch.undo()
    with other.app_context():
        assert search.sync_all() == 3
        assert search.waiting() == 0 and search.check().healthy
    assert found(other, "kiosk") == ["Desk task 0", "Desk task 1", "Desk task 2"]


def _ungranted_advisory_locks(app) -> int:
    with app.app_context():
        return db_session().scalar(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))


def test_a_change_that_commits_after_a_later_one_is_not_skipped(app, other, mentor, request):
    """PostgreSQL hands out ids at INSERT: a save holding id 7 may commit after one
    holding id 8. Had another server applied 8 meanwhile, its cursor would have gone
    past 7 for good. A second save now waits for the first to commit."""
    early = create(app, mentor, "Early save", "Nothing yet.")
    late = create(app, mentor, "Late save", "Nothing yet.")
    cli(other, "index-sync")
    failures = []

    def save_late():
        try:
            edit(app, mentor, late, "The later save: pelican.")
        except Exception as exc:  # any failure is the finding
            failures.append(exc)

    saving = threading.Thread(target=save_late)
    with app.app_context():
        session = db_session()
        session.execute(update(Procedure).where(Procedure.id == early).values(
            body="The earlier save: flamingo.", revision_number=Procedure.revision_number + 1))
        changelog.record(early)  # its id is taken; the transaction is still open
        saving.start()
        if request.config.getoption("--db") == "postgresql":
            deadline = time.monotonic() + WAIT
            while not _ungranted_advisory_locks(other) and time.monotonic() < deadline:
                assert saving.is_alive(), "the later save committed before the earlier one"
                time.sleep(0.02)
            assert _ungranted_advisory_locks(other) == 1
        with other.app_context():  # the other server applies what is committed so far
            search.sync_all()
        session.commit()
    saving.join(WAIT)
    assert not saving.is_alive() and failures == []
    with other.app_context():
        search.sync_all()
        assert search.check().healthy
    assert found(other, "flamingo") == ["Early save"]
    assert found(other, "pelican") == ["Late save"]


def test_an_index_folder_copied_to_another_server_becomes_a_replica_of_its_own(
        app, other, mentor):
    """Two servers sharing one cursor would each skip what the other applied."""
    create(app, mentor, "Opening the branch", "Unlock the returns chute.")
    shutil.copytree(index_dir(app), index_dir(other), symlinks=True, dirs_exist_ok=True)
    with other.app_context():
        assert changelog.this_replica() is None  # its file names the first server's folder
        assert search.catch_up().rebuilt == "This server's search index was not built here yet"
    assert replica_of(other) is not None and replica_of(other).id != replica_of(app).id
    assert found(other, "chute") == ["Opening the branch"]


def test_each_process_applies_other_servers_changes_on_a_timer(app, tmp_path, mentor):
    timed = served(build_app(tmp_path / "timed-server",
                             APPRENTICE_DATABASE_URL=app.extensions["apprentice"].database.url,
                             APPRENTICE_INDEX_SYNC_SECONDS=1))
    try:
        app.test_client().get("/sign-in")
        assert app.extensions["apprentice"].index_applier is None  # a testing app: off
        assert timed.extensions["apprentice"].index_applier is None  # not before a page
        timed.test_client().get("/sign-in")
        running = timed.extensions["apprentice"].index_applier
        assert running is not None and running.thread.is_alive()
        create(app, mentor, "Opening the branch", "Unlock the returns chute.")
        deadline, titles = time.monotonic() + WAIT, []
        while not titles and time.monotonic() < deadline:
            with contextlib.suppress(search.SearchUnavailable):  # not built there yet
                titles = found(timed, "chute")
            time.sleep(0.1)
        assert titles == ["Opening the branch"]
    finally:
        applier.stop(timed)
        timed.extensions["apprentice"].database.dispose()
    assert not running.thread.is_alive()


def test_an_applier_thread_that_died_is_started_again_at_the_next_page(app, tmp_path):
    timed = served(build_app(tmp_path / "timed-server",
                             APPRENTICE_DATABASE_URL=app.extensions["apprentice"].database.url,
                             APPRENTICE_INDEX_SYNC_SECONDS=1))
    try:
        timed.test_client().get("/sign-in")
        first = timed.extensions["apprentice"].index_applier
        first.stop.set()  # as if it had died
        first.thread.join(WAIT)
        assert not first.thread.is_alive()
        timed.test_client().get("/sign-in")
        again = timed.extensions["apprentice"].index_applier
        assert again is not first and again.thread.is_alive()
    finally:
        applier.stop(timed)
        timed.extensions["apprentice"].database.dispose()
