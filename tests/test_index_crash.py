"""The search index when another process commits to it, or dies in the middle of doing so:
readers (searches, check-index) never see it empty or missing procedures, a save never
replaces it with an empty one, and a failed or killed writer never blocks the next."""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import shutil
import signal
import sys
import time

import pytest
from whoosh import index
from whoosh.index import TOC
from whoosh.writing import SegmentWriter

from apprentice.config import index_dir
from apprentice.kb import search, services
from apprentice.people.services import get_person
from tests.support.procedures import found

DRAFTS = [services.ProcedureDraft(title=f"Closing the branch, part {n}",
                                  body=f"Step {n}: lock the returns chute.\n", tags="closing")
          for n in range(3)]


@pytest.fixture
def library(app, make_person):
    mentor = make_person(roles=["mentor"])
    with app.app_context():
        author = get_person(mentor.id)
        ids = [services.create(draft, author, publish=True).id for draft in DRAFTS]
        assert search.check().healthy
    return {"ids": ids, "mentor": mentor.id}


def test_check_index_reads_through_a_commit_replacing_the_table_of_contents(
        app, library, monkeypatch):
    """Another worker's commit deletes the table of contents a reader has just listed (its
    clean-up): check-index once reported every procedure missing then."""
    from whoosh.filedb.filestore import FileStorage

    opened = FileStorage.open_file

    def deleted_once(storage, name, *args, **kwargs):
        if name.endswith(".toc") and not deleted_once.done:
            deleted_once.done = True
            raise FileNotFoundError(2, "No such file or directory", name)
        return opened(storage, name, *args, **kwargs)

    deleted_once.done = False
    monkeypatch.setattr(FileStorage, "open_file", deleted_once)
    search._open_indexes.clear()  # as in the check-index command's own process
    with app.app_context():
        report = search.check()
    assert deleted_once.done
    assert report.missing == [] and report.healthy


def _writing() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if isinstance(frame.f_locals.get("self"), SegmentWriter):
            return True
        frame = frame.f_back
    return False


@pytest.mark.parametrize("blind", range(1, 7), ids=lambda n: f"listing{n}")
def test_a_save_never_swaps_in_an_empty_index(app, library, monkeypatch, blind):
    """A folder listing taken while a commit renames the new table of contents in can show
    neither the old nor the new one. A save that took the index for missing then made an
    empty one and swapped it in: every other procedure vanished from search."""
    latest = TOC._latest_generation
    calls = []

    def listing(cls, storage, indexname):
        if _writing():  # a writer holds the lock: no commit can be under way
            return latest(storage, indexname)
        calls.append(storage)
        return -1 if len(calls) == blind else latest(storage, indexname)

    monkeypatch.setattr(TOC, "_latest_generation", classmethod(listing))
    search._open_indexes.clear()
    with app.app_context():
        services.create(services.ProcedureDraft(title="Opening the branch",
                                                body="Unlock the returns chute.\n",
                                                tags="closing"),
                        get_person(library["mentor"]), publish=True)
    monkeypatch.undo()
    with app.app_context():
        assert search.check().healthy
    assert found(app, "chute") == ["Closing the branch, part 0", "Closing the branch, part 1",
                                   "Closing the branch, part 2", "Opening the branch"]


def test_a_failed_commit_does_not_keep_the_index_locked(app, library, monkeypatch):
    """A commit that fails (a full disk, say) gave up without releasing the write lock, so
    every later save of that worker waited and failed to reach the index."""
    monkeypatch.setattr(search, "WRITE_TIMEOUT", 0.5)
    write = TOC.write

    def disk_full(toc, storage, indexname):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(TOC, "write", disk_full)
    with app.app_context():
        author = get_person(library["mentor"])
        first = services.create(services.ProcedureDraft(title="Emptying the book drop",
                                                        body="Twice a day.\n"),
                                author, publish=True)
        assert search.waiting() == 1  # saved; its index entry waits
        monkeypatch.setattr(TOC, "write", write)
        services.create(services.ProcedureDraft(title="Counting the float",
                                                body="Before opening.\n"), author, publish=True)
        assert search.waiting() == 0
        assert search.check().healthy
    assert found(app, "book drop") == [first.title]


def test_reindex_works_in_an_instance_copied_without_its_links(app, library):
    """``cp -r`` or ``shutil.copytree`` turn the ``current`` link into a folder; a rebuild
    then failed for good (a link cannot replace a folder)."""
    with app.app_context():
        current = index_dir(app) / "current"
        generation = current.resolve()
        current.unlink()
        shutil.copytree(generation, current)
        search._open_indexes.clear()
        assert search.rebuild() == len(DRAFTS)
        assert current.is_symlink()
        assert search.check().healthy
    assert len(found(app, "chute")) == len(DRAFTS)


def test_a_seeded_random_never_gives_two_segments_one_name(app, library):
    """Whoosh names a new segment with the global ``random``: seeded alike before two saves
    (Hypothesis does so per example), the second save's segment took the first one's name
    and its commit failed, leaving the change waiting for the index."""
    with app.app_context():
        author = get_person(library["mentor"])
        for n in range(2):
            random.seed(1)
            services.create(services.ProcedureDraft(title=f"Shelving the returns, round {n}",
                                                    body="Left to right.\n"),
                            author, publish=True)
        random.seed()
        assert search.waiting() == 0 and search.check().healthy
    assert found(app, "shelving") == ["Shelving the returns, round 0",
                                      "Shelving the returns, round 1"]


FORM_TOKEN = re.compile(r'name="form_token"[^>]*value="([^"]+)"')


def test_a_form_sent_again_after_a_lost_answer_makes_the_procedure_findable(
        app, library, client, login_as, make_person, monkeypatch):
    """The worker saving a procedure is killed after its commit, before the index: the
    person sends the form again and reads "already saved", but search did not find it."""
    login_as(make_person(roles=["mentor"]))
    page = client.get("/procedures/new").get_data(as_text=True)
    data = {"title": "Refilling the receipt printer", "body": "Thermal rolls only.\n",
            "tags": "desk", "form_token": FORM_TOKEN.search(page).group(1)}
    monkeypatch.setattr(search, "sync_quietly", lambda: None)  # killed after the commit
    assert client.submit("/procedures/new", data).status_code == 302
    monkeypatch.undo()
    again = client.submit("/procedures/new", data)
    assert "already saved" in again.get_data(as_text=True).lower()
    assert found(app, "receipt printer") == ["Refilling the receipt printer"]
    with app.app_context():
        assert search.waiting() == 0


# -- real processes: one commits over and over (and is killed), this one reads ---------------

def _keep_committing(folder: str, documents: list[dict], ready, changes: bool = True) -> None:
    """Re-index the same procedures over and over, as saves in another worker do; without
    ``changes``, commits only (each replaces the table of contents as a save's does)."""
    ix = index.open_dir(folder)
    ready.set()
    while True:
        writer = ix.writer(timeout=10)
        if changes:
            writer.update_document(**random.choice(documents))  # noqa: S311 - not a secret
        writer.commit()


def _documents(app, ids) -> list[dict]:
    with app.app_context():
        return [search._document(services.get_procedure(i)) for i in ids]


def test_check_index_is_clean_while_another_process_commits(app, library):
    """check-index at the same moment as saves in other workers: never "missing"."""
    folder = str((index_dir(app) / "current").resolve())
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    writer = context.Process(target=_keep_committing, daemon=True,
                             args=(folder, _documents(app, library["ids"]), ready, False))
    writer.start()
    try:
        assert ready.wait(30)
        reports = []
        deadline = time.monotonic() + 3
        with app.app_context():
            while time.monotonic() < deadline:
                search._open_indexes.clear()  # each check as a new check-index process
                reports.append(search.check())
    finally:
        writer.kill()
        writer.join(10)
    bad = [(r.missing, r.stale) for r in reports if not r.healthy]
    assert len(reports) > 20 and not bad, f"{len(bad)} of {len(reports)} checks: {bad[:3]}"


def test_a_writer_killed_at_any_moment_leaves_every_procedure_indexed(app, library):
    """kill -9 a process in the middle of its commits, again and again: after each, the
    index opens and holds every procedure, and the next writer is not locked out."""
    folder = str((index_dir(app) / "current").resolve())
    documents = _documents(app, library["ids"])
    context = multiprocessing.get_context("fork")
    for _ in range(40):
        ready = context.Event()
        writer = context.Process(target=_keep_committing, args=(folder, documents, ready))
        writer.start()
        assert ready.wait(30)
        time.sleep(random.uniform(0, 0.05))  # noqa: S311 - timing, not a secret
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(10)
        search._open_indexes.clear()
        with app.app_context():
            report = search.check()
        assert report.healthy, (report.missing, report.stale, sorted(os.listdir(folder)))
    with app.app_context():  # the lock went with the killed process: a save indexes at once
        services.create(services.ProcedureDraft(title="Resetting the gate counter",
                                                body="Monthly.\n"),
                        get_person(library["mentor"]), publish=True)
        assert search.waiting() == 0 and search.check().healthy
