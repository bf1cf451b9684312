"""Backup and restore, drilled as an operator would: ``flask apprentice backup`` while
people keep logging, changes after it, ``flask apprentice restore``, then the records,
the audit chain and search compared with the backup's moment. SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select, text

from apprentice import migrate
from apprentice.competencies import services as frameworks
from apprentice.core import backup as backups
from apprentice.db import Base, db_session
from apprentice.kb import services as kb
from apprentice.people.services import get_person
from apprentice.training import services
from apprentice.training.models import LogEntry, SignOff
from tests.factories import add_entries
from tests.loop import as_person, log_form

KEPT = kb.ProcedureDraft(title="Clearing the returns chute",
                         body="Empty the chute every hour and check in each item.\n",
                         tags="returns")
LATER = kb.ProcedureDraft(title="Zebra mussel check of the book drop",
                          body="Look for zebra mussels on book drop items from the lake.\n",
                          tags="returns")
WRITER_MARK = "written during the backup #"


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def cli(runner, *args, **kwargs):
    return runner.invoke(args=["apprentice", *args], **kwargs)


def all_counts(app) -> dict[str, int]:
    """Rows in every apprentice table (the search index's change log and replicas aside:
    a restore makes every server rebuild)."""
    with app.app_context():
        session = db_session()
        return {table.name: session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables
                if table.name not in ("apprentice_index_changes",
                                      "apprentice_index_replicas")}


def sign_off_content(app) -> list[tuple]:
    """Every sign-off as a person reads it: who, what, level, by whom, when, the comment,
    its evidence, and its revocation if any."""
    with app.app_context():
        return [(s.id, s.person_id, s.competency_id, s.level, s.signed_by_id,
                 s.signed_at.isoformat(), s.comment, s.corrects_id,
                 sorted(link.entry_id for link in s.evidence_links),
                 s.revocation and (s.revocation.reason, s.revocation.revoked_by_id,
                                   s.revocation.revoked_at.isoformat()))
                for s in db_session().scalars(select(SignOff).order_by(SignOff.id))]


def build_records(app, loop) -> None:
    """People (the loop's cast), 1,200 verified entries, sign-offs at three levels (one
    revoked, one correcting another), a published procedure, and their audit records."""
    add_entries(app, loop, 1200, states=("verified",))
    with app.app_context():
        mentor = get_person(loop["mentor"].id)
        person = get_person(loop["apprentice"].id)
        coordinator = get_person(loop["coordinator"].id)
        competency = frameworks.get_competency(loop["competency"].id)
        cited = [e.id for e in services.entries_of(person.id)][:3]
        first = services.sign_off(mentor, person, competency, level=3, entry_ids=cited[:1],
                                  comment="Ran the desk with me nearby.")
        services.sign_off(mentor, person, competency, level=4, entry_ids=cited[:2],
                          comment="Handled a difficult renewal alone.")
        services.sign_off(mentor, person, competency, level=2, entry_ids=cited,
                          corrects=services.get_sign_off(first.id), comment="Corrected.")
        services.revoke(services.get_sign_off(first.id), coordinator, "Signed too early.")
        kb.create(KEPT, mentor, publish=True)


def keep_logging(app, loop, stop: threading.Event, writes: list, failures: list) -> None:
    """The apprentice logs entries one after another until ``stop``; for each, its number
    and when it was sent and acknowledged (a refusal goes to ``failures``)."""
    client = as_person(app, loop["apprentice"])
    number = 0
    while not stop.is_set():
        number += 1
        data = log_form(client, loop["competency"].id,
                        description=f"{WRITER_MARK}{number}")
        sent = time.monotonic()
        response = client.submit("/log/new", data)
        acknowledged = time.monotonic()
        if response.status_code != 302:
            failures.append(response.get_data(as_text=True)[:500])
            return
        writes.append((number, sent, acknowledged))


def written_during(app, competency_id: int) -> set[int]:
    """The writer's entries in the database, by number; each must be whole (its
    competency and its audit record), never half."""
    with app.app_context():
        session = db_session()
        entries = session.scalars(select(LogEntry).where(
            LogEntry.description.like(f"{WRITER_MARK}%"))).all()
        audited = set(session.scalars(text(
            "SELECT object_id FROM apprentice_audit WHERE action = 'entry.submitted'")))
        for entry in entries:
            assert [link.competency_id for link in entry.competency_links] == \
                [competency_id], f"entry {entry.id} lost its competency"
            assert entry.id in audited, f"entry {entry.id} has no audit record"
        numbers = [int(e.description.removeprefix(WRITER_MARK)) for e in entries]
    assert len(numbers) == len(set(numbers)), "an entry was stored twice"
    return set(numbers)


def titles_found(client, query: str) -> list[str]:
    response = client.get(f"/api/search?q={query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [hit["title"] for hit in response.get_json()["results"]]


def test_a_backup_taken_while_people_log_restores_every_record(app, loop, runner, tmp_path):
    build_records(app, loop)
    before_writer = all_counts(app)
    signed = sign_off_content(app)

    # Back up while the apprentice keeps logging, as on a working day.
    stop, writes, failures = threading.Event(), [], []
    writer = threading.Thread(target=keep_logging, args=(app, loop, stop, writes, failures))
    writer.start()
    try:
        while len(writes) < 3 and writer.is_alive():
            time.sleep(0.02)
        started = time.monotonic()
        made = cli(runner, "backup", str(tmp_path))  # a folder: a dated file in it
        ended = time.monotonic()
        while len(writes) < sum(1 for w in writes if w[1] < ended) + 3 and writer.is_alive():
            time.sleep(0.02)
    finally:
        stop.set()
        writer.join(30)
    assert not failures, failures
    assert made.exit_code == 0, made.output
    [backup_file] = tmp_path.glob("apprentice-*")
    assert f"to {backup_file}:" in made.output and " bytes in " in made.output
    after_writer = all_counts(app)
    logged = len(writes)

    # After the backup: more logging, a revocation, a new procedure.
    coordinator_client = as_person(app, loop["coordinator"])
    with app.app_context():
        services.revoke(services.get_sign_off(signed[1][0]), get_person(loop["coordinator"].id),
                        "Revoked after the backup.")
        kb.create(LATER, get_person(loop["mentor"].id), publish=True)
    assert titles_found(coordinator_client, "zebra") == [LATER.title]

    restored = cli(runner, "restore", str(backup_file), "--yes")
    assert restored.exit_code == 0, restored.output

    # The writer's entries: every one acknowledged before the backup began is back, none
    # sent after it ended, and each is whole.
    back = written_during(app, loop["competency"].id)
    assert {n for n, _sent, acked in writes if acked < started} <= back
    assert not back & {n for n, sent, _acked in writes if sent > ended}
    # Every table as at the backup's moment: each write added the same rows, so the
    # counts are those before the writer plus the writes that made it into the backup.
    counts = all_counts(app)
    for table, base in before_writer.items():
        per_write, odd = divmod(after_writer[table] - base, logged)
        assert not odd, f"{table}: writes added uneven rows"
        assert counts[table] == base + per_write * len(back), table
    assert counts["apprentice_sign_offs"] == 3 and counts["apprentice_revocations"] == 1
    if backup_file.suffix == ".sqlite3":  # the file itself can be read: same counts
        with sqlite3.connect(backup_file) as copy:
            for table, count in counts.items():
                read = copy.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
                assert read.fetchone()[0] == count, table
    assert sign_off_content(app) == signed  # level, signer, dates, comment, revocation
    assert (f"{counts['apprentice_log_entries']} log entries, 3 sign-offs, 1 revocation, "
            f"1 procedure, {counts['apprentice_audit']} audit records" in restored.output)

    verified = cli(runner, "audit-verify")
    assert verified.exit_code == 0 and "Audit trail intact" in verified.output
    assert cli(runner, "check-index").exit_code == 0
    print(f"backup: {backup_file.stat().st_size:,} bytes, {ended - started:.2f} s; "
          f"{logged} entries logged meanwhile, {len(back)} in the backup")
    # Restore ended every session: the coordinator signs in again.
    assert coordinator_client.get("/api/search?q=chute").status_code in (302, 401)
    with app.app_context():  # signed in afresh: with the person's new session token
        coordinator_client = as_person(app, get_person(loop["coordinator"].id))
    assert titles_found(coordinator_client, "chute") == [KEPT.title]
    assert titles_found(coordinator_client, "zebra") == []


def test_restore_asks_first_and_no_changes_nothing(app, loop, runner, tmp_path):
    build_records(app, loop)
    made = cli(runner, "backup", str(tmp_path / "nightly.sqlite3"))
    assert made.exit_code == 0, made.output
    with app.app_context():
        kb.create(LATER, get_person(loop["mentor"].id), publish=True)
    answered = cli(runner, "restore", str(tmp_path / "nightly.sqlite3"), input="n\n")
    assert answered.exit_code == 1
    assert "Replace everything in the database" in answered.output
    assert "Nothing restored." in answered.output
    assert all_counts(app)["apprentice_procedures"] == 2


def test_a_backup_of_another_schema_revision_is_refused(app, loop, runner, tmp_path):
    build_records(app, loop)
    head = migrate.head_revision()
    version = text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = :v")  # noqa: S608
    with app.app_context():
        db_session().execute(version, {"v": "0006_glossary_entry_procedures"})
        db_session().commit()
    made = cli(runner, "backup", str(tmp_path / "old.bak"))
    with app.app_context():
        db_session().execute(version, {"v": head})
        db_session().commit()
        kb.create(LATER, get_person(loop["mentor"].id), publish=True)
    assert made.exit_code == 0, made.output
    refused = cli(runner, "restore", str(tmp_path / "old.bak"), "--yes")
    assert refused.exit_code == 1
    assert (f"The backup is at schema revision 0006_glossary_entry_procedures and this "
            f"apprentice is at {head}: nothing was restored") in refused.output
    assert all_counts(app)["apprentice_procedures"] == 2


def test_a_file_that_is_no_backup_is_refused(app, runner, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database")
    refused = cli(runner, "restore", str(notes), "--yes")
    assert refused.exit_code == 1
    assert "is not an apprentice backup" in refused.output


def test_a_backup_into_a_missing_folder_says_so(app, runner, tmp_path):
    refused = cli(runner, "backup", str(tmp_path / "no" / "such" / "file.bak"))
    assert refused.exit_code == 1
    assert f"There is no folder {tmp_path / 'no' / 'such'}" in refused.output


def test_missing_postgresql_tools_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(backups, "PG_TOOL_FOLDERS", str(tmp_path / "postgresql" / "*" / "bin"))
    with pytest.raises(backups.BackupProblem, match=r"pg_dump was not found .*postgresql-client"):
        backups.pg_tool("pg_dump")
    newer = tmp_path / "postgresql" / "16" / "bin"
    older = tmp_path / "postgresql" / "9" / "bin"
    for folder in (newer, older):
        folder.mkdir(parents=True)
        (folder / "pg_dump").touch()
    assert backups.pg_tool("pg_dump") == str(newer / "pg_dump")
