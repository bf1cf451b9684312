"""Backups of apprentice's database, and bringing one back (``flask apprentice backup``
and ``restore``).

A backup is one file holding apprentice's tables as they were at one moment, taken
while the app keeps serving:

- SQLite: a copy of the database file made with SQLite's online backup API, which
  copies a consistent snapshot while other processes write (a file copy could catch a
  write half done, or miss what is still in the ``-wal`` file). It is a plain SQLite
  database: ``sqlite3 FILE`` opens it.
- PostgreSQL: a ``pg_dump`` archive (custom format) of the ``apprentice_*`` tables only,
  so a host's own tables in the same database are neither copied nor overwritten.

Beside it, in a folder of the same name ending ``.keys`` (0700, each file 0600): the
issuer's signing keys (``<instance>/apprentice-keys``, or the folder
``APPRENTICE_CREDENTIAL_KEYS_DIR`` names), so that a restored installation
signs credentials as the same issuer and the credentials it issued still verify. The
caller hands the copying and the taking back to the keys' own module
(apprentice.credentials.keys, :data:`KeysHook`): this module only places the folder,
keeps its permissions, and never reads a key. Keep the two together, and as safe as the
keys themselves: whoever holds the folder can sign as the issuer.

Not in a backup, on purpose: the search index (restore rebuilds it from the database,
the source of truth) and the secret key (it only signs cookies; restored elsewhere,
people sign in again). Uploaded procedure files are read into the database when they
are imported, so there are no other files to keep.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from apprentice import migrate
from apprentice.core import versions
from apprentice.db import database, db_session

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
# Where Debian and Ubuntu keep the PostgreSQL client tools when they are not on PATH.
PG_TOOL_FOLDERS = "/usr/lib/postgresql/*/bin"
PG_TABLES = f"{migrate.TABLE_PREFIX}*"  # apprentice's tables (and their sequences) only
KEYS_SUFFIX = ".keys"  # the issuer's keys, beside the backup: apprentice-....sqlite3.keys/

# What a person wants to hear was backed up or restored, by table.
SUMMARY = {
    "apprentice_staff": ("person", "people"),
    "apprentice_log_entries": ("log entry", "log entries"),
    "apprentice_sign_offs": ("sign-off", "sign-offs"),
    "apprentice_revocations": ("revocation", "revocations"),
    "apprentice_procedures": ("procedure", "procedures"),
    "apprentice_audit": ("audit record", "audit records"),
}


class BackupProblem(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass
class BackupFile:
    """What a backup file is: which database made it, at which schema revision."""

    path: Path
    kind: str  # "sqlite" or "postgresql"
    revision: str | None
    counts: dict[str, int] = field(default_factory=dict)  # SQLite only: read from the file
    keys: Path | None = None  # the issuer's keys beside it, when they are there


@dataclass
class BackupReport:
    path: Path
    kind: str
    revision: str | None
    size: int  # bytes
    seconds: float
    keys: Path | None = None  # the issuer's keys, copied beside the backup
    key_count: int = 0


@dataclass
class RestoreReport:
    kind: str
    revision: str | None
    counts: dict[str, int]
    seconds: float
    keys: str | None = None  # what taking the keys back did, in a sentence


# The issuer keys' own module does the copying (apprentice/credentials/keys.py): backing
# up, copy_into(folder) -> how many keys; restoring, take_back(folder) -> a sentence.
KeysHook = Callable[[Path], object]


def summary(counts: dict[str, int]) -> str:
    """``3 people, 40 log entries, ...`` for the command's output."""
    return ", ".join(f"{counts.get(table, 0)} {one if counts.get(table, 0) == 1 else many}"
                     for table, (one, many) in SUMMARY.items())


# -- where the backup goes -------------------------------------------------------------

def backup_path(dest: Path, kind: str, now: datetime | None = None) -> Path:
    """DEST as a file, or a new dated file inside DEST when it is a folder (for cron:
    one file a night, none overwritten)."""
    if dest.is_dir():
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        suffix = ".sqlite3" if kind == "sqlite" else ".pgdump"
        return dest / f"apprentice-{stamp}{suffix}"
    if not dest.parent.is_dir():
        raise BackupProblem(f"There is no folder {dest.parent} to write {dest.name} into.")
    return dest


def _written_atomically(target: Path, write) -> None:
    """Write through a temporary file beside ``target`` and rename it into place once it
    is complete and on disk, so a failed or interrupted backup never leaves a half
    file under the backup's name (nor replaces a good one with it)."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    temporary = Path(name)
    try:
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


# -- the issuer's keys beside it ------------------------------------------------------------

def keys_beside(path: Path) -> Path:
    """Where a backup's issuer keys are: ``<backup file>.keys``, a folder beside it."""
    path = Path(path)
    return path.with_name(path.name + KEYS_SUFFIX)


def _owner_only(folder: Path) -> None:
    """The folder 0700 and every file in it 0600, written to disk."""
    os.chmod(folder, 0o700)
    for path in folder.iterdir():
        if path.is_symlink() or not path.is_file():
            raise BackupProblem(f"{path} is not a plain file: the key folder was not copied.")
        os.chmod(path, 0o600)
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_keys(target: Path, copy_keys: KeysHook) -> tuple[Path | None, int]:
    """The keys copied into a new owner-only folder beside ``target`` (mkdtemp makes it
    0700), not yet under its name: (the folder, how many keys); (None, 0) for none."""
    folder = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{KEYS_SUFFIX}."))
    try:
        count = int(copy_keys(folder))
        _owner_only(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if count == 0:
        shutil.rmtree(folder, ignore_errors=True)
        return None, 0
    return folder, count


def _place_keys(folder: Path, target: Path) -> Path:
    """Put the copied keys under ``target``'s name, replacing an older copy there (a
    backup written over an older one gets its keys replaced too)."""
    place = keys_beside(target)
    if place.is_symlink() or place.is_file():
        raise BackupProblem(f"{place} is in the way of the backup's keys: move it, then "
                            "back up again.")
    old = None
    if place.exists():
        old = place.with_name(f".{place.name}.old.{os.getpid()}")
        os.replace(place, old)
    os.replace(folder, place)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return place


# -- SQLite ------------------------------------------------------------------------------

def _sqlite_file(engine: Engine) -> Path:
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file::memory:"):
        raise BackupProblem("This database lives in memory only: there is nothing to back up.")
    return Path(name)


def _sqlite_connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    else:
        connection = sqlite3.connect(path, timeout=30)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _sqlite_backup(engine: Engine, target: Path) -> None:
    def write(temporary: Path) -> None:
        source = _sqlite_connect(_sqlite_file(engine))
        copy = sqlite3.connect(temporary)
        try:
            # pages=-1: every page in one step, under one read transaction, so the copy is
            # the database at one moment; writers carry on meanwhile (WAL).
            source.backup(copy, pages=-1)
            # A single self-contained file: no -wal beside it to forget.
            copy.execute("PRAGMA journal_mode=DELETE")
            checked = copy.execute("PRAGMA quick_check").fetchone()[0]
            if checked != "ok":
                raise BackupProblem(f"The copy failed SQLite's check ({checked}); "
                                    "nothing was written.")
        finally:
            copy.close()
            source.close()

    _written_atomically(target, write)


def _sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    # Table names from SUMMARY, never from input.
    return {table: connection.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608
            .fetchone()[0] for table in SUMMARY}


def _read_sqlite_backup(path: Path) -> BackupFile:
    connection = _sqlite_connect(path, read_only=True)
    try:
        try:
            row = connection.execute(
                f"SELECT version_num FROM {migrate.VERSION_TABLE}").fetchone()  # noqa: S608
            counts = _sqlite_counts(connection)
        except sqlite3.DatabaseError:
            raise BackupProblem(f"{path} is an SQLite database but not an apprentice "
                                "backup (it has no apprentice tables).") from None
    finally:
        connection.close()
    return BackupFile(path, "sqlite", row[0] if row else None, counts)


def _sqlite_restore(engine: Engine, backup: BackupFile) -> None:
    """Copy the backup into the live database file with the backup API, the other way
    round: the live file is replaced page by page under SQLite's own write lock, so a
    worker serving meanwhile waits for it and then reads the restored data (never a
    file swapped under its open connection, never a half-copied one)."""
    source = _sqlite_connect(backup.path, read_only=True)
    live = _sqlite_connect(_sqlite_file(engine))
    try:
        source.backup(live, pages=-1)
    finally:
        live.close()
        source.close()


# -- PostgreSQL --------------------------------------------------------------------------

def pg_tool(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: from PATH, else the newest in /usr/lib/postgresql."""
    found = shutil.which(name)
    if found:
        return found

    def major(path: str) -> int:
        number = re.search(r"/(\d+)/bin/", path)
        return int(number.group(1)) if number else 0

    candidates = sorted(glob.glob(f"{PG_TOOL_FOLDERS}/{name}"), key=major, reverse=True)
    if candidates:
        return candidates[0]
    raise BackupProblem(
        f"{name} was not found (on PATH or in {PG_TOOL_FOLDERS}): install the PostgreSQL "
        "client tools of your server's version (Debian/Ubuntu: postgresql-client), "
        "or put their folder on PATH.")


def _pg_connection(engine: Engine) -> tuple[str, dict[str, str]]:
    """The database as a libpq URI for the command line, and an environment with the
    password: a password in the arguments would show in ``ps`` to everyone."""
    url = engine.url
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, environment


def _run(arguments: list[str], environment: dict[str, str], what: str) -> str:
    # The arguments are the tool's path, fixed options, the configured database and the
    # file named on the command line; no shell.
    result = subprocess.run(arguments, env=environment, capture_output=True,  # noqa: S603
                            text=True)
    if result.returncode != 0:
        raise BackupProblem(f"{what} failed: {result.stderr.strip() or result.returncode}")
    return result.stdout


def _pg_backup(engine: Engine, target: Path) -> None:
    uri, environment = _pg_connection(engine)

    def write(temporary: Path) -> None:
        # pg_dump reads everything in one snapshot (a repeatable-read transaction).
        _run([pg_tool("pg_dump"), "--format=custom", f"--table={PG_TABLES}",
              f"--file={temporary}", f"--dbname={uri}"], environment, "pg_dump")

    _written_atomically(target, write)


def _read_pg_backup(path: Path) -> BackupFile:
    """The revision inside a pg_dump archive: the version table's one row, as
    ``pg_restore`` prints it (``COPY ... FROM stdin;``, the row, ``\\.``)."""
    script = _run([pg_tool("pg_restore"), "--data-only",
                   f"--table={migrate.VERSION_TABLE}", "--file=-", str(path)],
                  dict(os.environ), "Reading the backup")
    rows = re.search(r"^COPY [^\n]*FROM stdin;\n(.*?)^\\\.$", script, re.M | re.S)
    if rows is None:
        raise BackupProblem(f"{path} is a pg_dump archive but not an apprentice backup "
                            "(it has no apprentice version table).")
    values = rows.group(1).split()
    return BackupFile(path, "postgresql", values[0] if values else None)


def _pg_restore(engine: Engine, backup: BackupFile) -> None:
    """pg_restore in one transaction: it drops and re-creates apprentice's tables from
    the archive, and a failure half way leaves the database as it was. Requests meanwhile
    wait for its locks."""
    uri, environment = _pg_connection(engine)
    _run([pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", f"--dbname={uri}", str(backup.path)],
         environment, "pg_restore")


# -- the two commands ------------------------------------------------------------------

def _kind(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise BackupProblem(f"apprentice backs up SQLite and PostgreSQL, not {name}: use "
                            "your database's own backup tools.")
    return name


def backup(dest: Path, copy_keys: KeysHook | None = None) -> BackupReport:
    """A consistent copy of the database, taken while the app serves, at DEST (a file, or
    a folder for a new dated file); with ``copy_keys``, the issuer's keys beside it
    (:func:`keys_beside`), copied first so that a failure leaves no backup without them."""
    engine = database().engine
    kind = _kind(engine)
    target = backup_path(Path(dest), kind)
    started = time.monotonic()
    keys, key_count = _copy_keys(target, copy_keys) if copy_keys else (None, 0)
    try:
        (_sqlite_backup if kind == "sqlite" else _pg_backup)(engine, target)
    except BaseException:
        if keys is not None:
            shutil.rmtree(keys, ignore_errors=True)
        raise
    if keys is not None:
        keys = _place_keys(keys, target)
    seconds = time.monotonic() - started
    made = read_backup(target)
    return BackupReport(target, kind, made.revision, target.stat().st_size, seconds,
                        keys, key_count)


def read_backup(path: Path) -> BackupFile:
    """What kind of backup ``path`` is and at which revision; BackupProblem for a file
    that is not an apprentice backup."""
    path = Path(path)
    if not path.is_file():
        raise BackupProblem(f"There is no backup file at {path}.")
    with open(path, "rb") as handle:
        start = handle.read(len(SQLITE_MAGIC))
    if start.startswith(SQLITE_MAGIC) or start.startswith(PG_DUMP_MAGIC):
        found = (_read_sqlite_backup if start.startswith(SQLITE_MAGIC) else _read_pg_backup)(path)
        keys = keys_beside(path)
        found.keys = keys if keys.is_dir() and not keys.is_symlink() else None
        return found
    raise BackupProblem(f"{path} is not an apprentice backup (neither an SQLite database nor "
                        "a pg_dump archive in custom format).")


def check_restorable(backup_file: BackupFile) -> None:
    """Refuse a backup this database or this version of apprentice cannot take back.

    A backup from another schema revision is refused rather than migrated: restoring
    it over newer tables would mix two layouts. Restore it with the apprentice version
    that made it, then upgrade apprentice (``db upgrade`` migrates the data).
    """
    kind = _kind(database().engine)
    if backup_file.kind != kind:
        raise BackupProblem(f"This is a {backup_file.kind} backup and the database is "
                            f"{kind}: restore it into a {backup_file.kind} database.")
    head = migrate.head_revision()
    if backup_file.revision != head:
        raise BackupProblem(
            f"The backup is at schema revision {backup_file.revision or 'none'} and this "
            f"apprentice is at {head}: nothing was restored. Restore it with the version of "
            "apprentice that made it, then upgrade apprentice (`db upgrade` migrates it).")


def table_counts() -> dict[str, int]:
    """Rows per table of ``SUMMARY`` in the live database."""
    session = db_session()
    return {table: session.scalar(select(func.count()).select_from(text(f'"{table}"')))
            for table in SUMMARY}


def restore(backup_file: BackupFile, take_back_keys: KeysHook | None = None) -> RestoreReport:
    """Bring the database back to the backup's moment, and with ``take_back_keys`` the
    issuer's keys beside it (first: they only add keys, and a key that cannot be read
    stops the restore before the database is touched). What depends on the database
    (the search index, everyone's sessions) is the caller's to renew: ``flask apprentice
    restore`` does both."""
    check_restorable(backup_file)
    engine = database().engine
    started = time.monotonic()
    keys = None
    if take_back_keys is not None and backup_file.keys is not None:
        keys = str(take_back_keys(backup_file.keys))
    session = db_session()
    live_version = versions.highest()
    session.close()  # hold nothing open on the live database while it is replaced
    (_sqlite_restore if backup_file.kind == "sqlite" else _pg_restore)(engine, backup_file)
    migrate.forget_ready()
    versions.carry_over(live_version)  # pages kept before the restore are not the data now
    counts = table_counts()
    session.commit()
    return RestoreReport(backup_file.kind, backup_file.revision, counts,
                         time.monotonic() - started, keys)
