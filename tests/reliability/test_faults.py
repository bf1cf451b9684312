"""Faults under gunicorn (4 workers), on SQLite and PostgreSQL (``--db postgresql``):

- a worker killed with SIGKILL in the middle of writes, 20 times: every acknowledged
  write survives, none is stored twice or half, the master keeps serving, and the search
  index holds every acknowledged procedure: only saves cut short may be behind, named by
  check-index and applied by index-sync;
- the search index folder deleted while serving: search says it is unavailable (the
  page and the API), never "no matches", and comes back after ``reindex`` or by itself
  at the next save.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.reliability.harness import Instance, WebClient, fill, log_problems
from tests.support.demo_accounts import APPRENTICE, COORDINATOR

pytestmark = pytest.mark.load

KILLS = 20
WRITERS = 3  # apprentices' browsers logging entries; one more saves procedures
DEADLINE = 150  # seconds for the whole kill run: a hang fails instead of stalling CI


# -- faults: which worker is serving a request, and killing it -----------------------------

def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def busy_workers(server) -> list[int]:
    """Workers holding a client's connection now, i.e. in the middle of a request (a
    sync worker serves one request per connection; the listening socket is excluded)."""
    port = f"{server.port:04X}"
    serving = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if local.endswith(f":{port}") and state == "01":  # ESTABLISHED
                serving.add(inode)
    return [pid for pid in server.worker_pids() if _socket_inodes(pid) & serving]


def wait_for_workers(server, count: int, gone: int | None = None, within: float = 30) -> None:
    """Until the master runs ``count`` workers again (``gone`` not among them)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pids = server.worker_pids()
        if len(pids) == count and gone not in pids:
            return
        time.sleep(0.05)
    pytest.fail(f"gunicorn did not restart its workers within {within:.0f} s: "
                f"{server.worker_pids()}")


# -- writers that remember what the server acknowledged -----------------------------------

@dataclass
class Writes:
    """What one kind of write sent: marker -> "acknowledged" or "unknown" (the answer never
    came, even to the form sent again); and how often the answer was lost."""

    outcome: dict[str, str] = field(default_factory=dict)
    interrupted: int = 0  # first answers lost to a kill
    already_saved: int = 0  # ...of which the form sent again found saved
    failures: list[str] = field(default_factory=list)  # any other answer: a finding
    slowest: float = 0.0  # seconds, of an answer that came
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged(self) -> set[str]:
        with self.lock:  # the writers add to ``outcome`` meanwhile
            return {m for m, o in self.outcome.items() if o == "acknowledged"}


LOST = (http.client.HTTPException, ConnectionError, TimeoutError, OSError)


def send(client: WebClient, path: str, data, writes: Writes, marker: str) -> None:
    """POST a form; when the answer is lost (the worker died), send the same form again,
    as a person would after an error, once the master has had time for a new worker."""
    outcome = "unknown"
    for attempt in range(3):
        try:
            answer = client.post(path, data)
        except LOST:
            if attempt == 0:
                with writes.lock:
                    writes.interrupted += 1
            time.sleep(0.5)
            continue
        with writes.lock:
            writes.slowest = max(writes.slowest, answer.seconds)
        if answer.redirected:
            outcome = "acknowledged"
        elif answer.already_saved:
            outcome = "acknowledged"
            if attempt:
                with writes.lock:
                    writes.already_saved += 1
        else:
            with writes.lock:
                problem = answer.text.find("There is a problem")
                writes.failures.append(f"{marker}: {answer.status} "
                                       f"{answer.text[max(problem, 0):][:600]}")
        break
    with writes.lock:
        writes.outcome[marker] = outcome


def keep_logging(client: WebClient, form, tag: str, stop: threading.Event,
                 writes: Writes) -> None:
    """Log entries one after another: the form as the page gave it, each with a new
    one-time token (a new form, as from a fresh page) and a marker in its description."""
    number = 0
    while not stop.is_set():
        number += 1
        marker = f"{tag}-{number}"
        send(client, "/log/new", fill(form, {
            "description": f"Fault run {marker}", "form_token": secrets.token_urlsafe(24)}),
            writes, marker)


def keep_writing_procedures(client: WebClient, form, tag: str, stop: threading.Event,
                            writes: Writes) -> None:
    """Save new procedures one after another (each save also updates the search index)."""
    number = 0
    while not stop.is_set():
        number += 1
        marker = f"{tag}-{number}"
        send(client, "/procedures/new", fill(form, {
            "title": f"Fault run procedure {marker}",
            "body": f"Kept through a crash: {marker}.\n", "tags": "faultrun",
            "form_token": secrets.token_urlsafe(24)}), writes, marker)


def markers(instance: Instance, sql: str, like: str, pattern: str) -> dict[str, int]:
    """How many rows (``sql`` selecting one text column ``LIKE :like``) carry each marker."""
    found: dict[str, int] = {}
    for (value,) in instance.rows(sql, like=like):
        marker = re.search(pattern, value).group(1)
        found[marker] = found.get(marker, 0) + 1
    return found


def test_workers_killed_mid_write_lose_no_acknowledged_write(instance, server, sign_in):
    tag = secrets.token_hex(3)
    apprentice = sign_in(APPRENTICE)
    competency = apprentice.get("/log/new").choices("competency_ids")[0][0]
    coordinator = sign_in(COORDINATOR)
    # The forms as the pages give them, opened before any worker is killed.
    log_form = fill(apprentice.form("/log/new"), {"competency_ids": competency,
                                                     "activity": "3", "submit": "1"})
    procedure_form = coordinator.form("/procedures/new")
    entries, procedures = Writes(), Writes()
    stop = threading.Event()
    threads = [threading.Thread(target=keep_logging, args=(
        apprentice.clone(), log_form, f"{tag}w{n}", stop, entries)) for n in range(WRITERS)]
    threads.append(threading.Thread(target=keep_writing_procedures, args=(
        coordinator.clone(), procedure_form, f"{tag}p", stop, procedures)))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    killed_busy = 0
    try:
        for _ in range(KILLS):
            assert time.monotonic() - started < DEADLINE, "the kill run took too long"
            # Writes keep landing between kills: at least one more acknowledged (up to 3 s).
            done = len(entries.acknowledged()) + len(procedures.acknowledged())
            for _ in range(30):
                if len(entries.acknowledged()) + len(procedures.acknowledged()) > done:
                    break
                time.sleep(0.1)
            time.sleep(random.uniform(0.0, 0.3))  # noqa: S311 - timing, not secrets
            busy = []
            for _ in range(60):  # a worker in the middle of a request, within 3 s
                busy = busy_workers(server)
                if busy:
                    break
                time.sleep(0.05)
            victim = random.choice(busy or server.worker_pids())  # noqa: S311
            killed_busy += bool(busy)
            os.kill(victim, signal.SIGKILL)
            wait_for_workers(server, 4, gone=victim)
        time.sleep(1)  # a last few writes on the full set of workers
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    seconds = time.monotonic() - started

    assert not entries.failures and not procedures.failures, \
        entries.failures[:3] + procedures.failures[:3]
    assert server.process.poll() is None, "the gunicorn master died"
    page = apprentice.get("/")
    assert page.status == 200 and "Jordan" in page.text  # still serving, still signed in

    # Every acknowledged entry once; the others once or not at all; none twice.
    stored = markers(instance, "SELECT description FROM apprentice_log_entries "
                               "WHERE description LIKE :like", f"Fault run {tag}%",
                     r"Fault run (\S+)")
    assert entries.acknowledged() <= set(stored), \
        f"acknowledged but lost: {sorted(entries.acknowledged() - set(stored))[:10]}"
    assert all(count == 1 for count in stored.values()), \
        f"stored twice: {[m for m, c in stored.items() if c > 1]}"
    assert set(stored) <= set(entries.outcome)
    # ...and whole: each with its competency and its audit record (its form's token is
    # in its own row).
    half = instance.rows(
        "SELECT e.id FROM apprentice_log_entries e WHERE e.description LIKE :like AND ("
        " NOT EXISTS (SELECT 1 FROM apprentice_log_entry_competencies c"
        "             WHERE c.entry_id = e.id AND c.competency_id = :competency)"
        " OR NOT EXISTS (SELECT 1 FROM apprentice_audit a WHERE a.action = 'entry.submitted'"
        "                AND a.object_id = e.id))",
        like=f"Fault run {tag}%", competency=int(competency))
    assert not half, f"entries stored in part: {half}"
    saved = markers(instance, "SELECT title FROM apprentice_procedures WHERE title LIKE :like",
                    f"Fault run procedure {tag}%", r"procedure (\S+)")
    assert procedures.acknowledged() <= set(saved)
    assert all(count == 1 for count in saved.values())
    without_revision = instance.rows(
        "SELECT p.id FROM apprentice_procedures p WHERE p.title LIKE :like AND NOT EXISTS "
        "(SELECT 1 FROM apprentice_procedure_revisions r WHERE r.procedure_id = p.id)",
        like=f"Fault run procedure {tag}%")
    assert not without_revision

    verified = instance.audit_verify()
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The index right after the kills: every acknowledged procedure in it (its save indexed
    # it before answering). Only a save cut short by a kill may be behind, its change
    # waiting beyond the server's cursor in the change log; check-index names those and
    # index-sync applies them (the server's timer may apply them first).
    # Never an unreadable index, never "every procedure missing".
    ids = dict(instance.rows("SELECT title, id FROM apprentice_procedures "
                             "WHERE title LIKE :like", like=f"Fault run procedure {tag}%"))
    acknowledged = {ids[f"Fault run procedure {marker}"] for marker in procedures.acknowledged()}
    waiting = [row.procedure_id for row in instance.rows(
        "SELECT procedure_id FROM apprentice_index_changes WHERE id > "
        "(SELECT coalesce(min(applied_upto), 0) FROM apprentice_index_replicas)")]
    checked = instance.check_index()
    report = checked.stdout + checked.stderr
    assert "could not be read" not in report, report
    behind = reported(report, "Missing") | reported(report, "out of date")
    assert not reported(report, "extra"), report
    assert behind <= set(waiting), f"behind with nothing waiting: {report}"
    assert not behind & acknowledged, f"acknowledged but not findable: {report}"
    if behind:
        assert "changes wait for the index" in report, report
        assert "Brought" in instance.flask("index-sync")
        repaired = instance.check_index()
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    else:
        assert checked.returncode == 0, report
    answer = coordinator.submit("/procedures/new", {
        "title": f"After the faults {tag}", "body": "The last save, once the kills were over.\n",
        "tags": "faultrun"})
    assert answer.redirected, answer.text[:500]
    after = instance.check_index()
    assert after.returncode == 0, after.stdout + after.stderr
    assert api_titles(coordinator, "kills") == [f"After the faults {tag}"]
    assert not [line for line in log_problems(server.log)
                if "database is locked" in line or "Exception on " in line]
    print(f"\n{instance.kind}: {KILLS} kills ({killed_busy} of a worker mid-request) in "
          f"{seconds:.0f} s; entries: {len(entries.outcome)} sent, "
          f"{len(entries.acknowledged())} acknowledged, {len(stored)} stored, "
          f"{entries.interrupted} answers lost ({entries.already_saved} found saved when "
          f"sent again); procedures: {len(procedures.outcome)} sent, "
          f"{len(procedures.acknowledged())} acknowledged, {len(saved)} stored, "
          f"{procedures.interrupted} answers lost; slowest answers {entries.slowest:.1f} s, "
          f"{procedures.slowest:.1f} s; check-index after the kills: "
          f"{'clean' if checked.returncode == 0 else checked.stderr.strip()}")


def reported(report: str, label: str) -> set[int]:
    """The procedure ids check-index lists after ``label`` ("Missing", "out of date", ...)."""
    listed = re.search(rf"{label}: ([^;.]*)", report)
    if listed is None or listed.group(1) == "none":
        return set()
    assert "…" not in listed.group(1), f"more than 20 behind: {report}"
    return {int(number) for number in listed.group(1).split(", ")}


def api_titles(client: WebClient, query: str) -> list[str]:
    answer = client.get(f"/api/search?q={query}")
    assert answer.status == 200, f"{answer.status}: {answer.text[:300]}"
    return sorted(hit["title"] for hit in json.loads(answer.text)["results"])


def says_unavailable(client: WebClient, query: str) -> None:
    """The page and the API say search is unavailable: no error page, no "0 procedures"."""
    page = client.get(f"/procedures/?q={query}")
    assert page.status == 200, page.text[:300]
    assert "Search is unavailable" in page.text
    assert not re.search(r"\b0 procedures\b", page.text)
    answer = client.get(f"/api/search?q={query}")
    assert answer.status == 503
    assert "unavailable" in json.loads(answer.text)["error"]


@pytest.fixture
def without_index_timer(instance):
    """The server's workers apply the index's change log only after their own saves (no
    timer, apprentice/kb/applier.py), which would otherwise rebuild a deleted index
    within seconds, before the test has seen search say it is unavailable."""
    instance.settings["APPRENTICE_INDEX_SYNC_SECONDS"] = "0"


def test_a_deleted_index_is_said_and_comes_back(instance, without_index_timer, server, sign_in):
    coordinator = sign_in(COORDINATOR)
    before = api_titles(coordinator, "returns")
    assert before, "the demo library has procedures about returns"

    shutil.rmtree(instance.folder / "index")
    for _ in range(8):  # every worker, each with the index it had open
        says_unavailable(coordinator, "returns")
    instance.flask("reindex")
    for _ in range(8):
        assert api_titles(coordinator, "returns") == before

    # Lost again, then someone saves a procedure: the save rebuilds the whole index
    # (a small library), never an index holding only the new procedure.
    shutil.rmtree(instance.folder / "index")
    says_unavailable(coordinator, "returns")
    answer = coordinator.submit("/procedures/new", {
        "title": "Wiping down the self-checkout screens", "body": "Use the isopropyl wipes.\n",
        "tags": "cleaning"})
    assert answer.redirected, answer.text[:500]
    for _ in range(8):
        assert api_titles(coordinator, "returns") == before
        assert api_titles(coordinator, "isopropyl") == [
            "Wiping down the self-checkout screens"]
    checked = instance.check_index()
    assert checked.returncode == 0, checked.stdout + checked.stderr
