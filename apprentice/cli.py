"""``flask apprentice ...``: thin commands over the services, on the blueprint."""

from __future__ import annotations

import functools
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from apprentice import migrate
from apprentice.db import database
from apprentice.people.models import Role
from apprentice.validation import Invalid
from apprentice.web import bp

db_cli = AppGroup("db", help="Create and upgrade apprentice's tables (Alembic).")
bp.cli.add_command(db_cli)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the database to REVISION (default: the newest)."""
    engine = database().engine
    migrate.upgrade(engine, revision)
    click.echo(f"Database at {migrate.current_revision(engine)}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the database to REVISION ("base" removes every apprentice table)."""
    engine = database().engine
    migrate.downgrade(engine, revision)
    click.echo(f"Database at {migrate.current_revision(engine) or 'base'}.")


@db_cli.command("current")
def db_current() -> None:
    """Show the database's revision and the newest one."""
    current = migrate.current_revision(database().engine)
    click.echo(f"Database: {current or 'empty'}; newest: {migrate.head_revision()}.")


def needs_database(set_up: bool = False):
    """A command that reads or writes apprentice's tables: on a database not set up (or
    not upgraded) yet, it says what to run and exits 1, where it used to end in a
    traceback (``no such table: apprentice_staff``). With ``set_up``, an empty database
    is set up first instead (``demo``, for someone trying apprentice out)."""

    def decorate(command):
        @functools.wraps(command)
        def checked(*args, **kwargs):
            engine = database().engine
            if set_up and migrate.current_revision(engine) is None \
                    and not migrate.has_tables(engine):
                migrate.upgrade(engine)
                click.echo(f"Set up the database (now at {migrate.current_revision(engine)}).")
            problem = migrate.schema_problem(engine, migrate.upgrade_command(current_app))
            if problem:
                raise click.ClickException(problem)
            return command(*args, **kwargs)

        return checked

    return decorate


def _fail(exc: Invalid) -> None:
    for field, messages in exc.errors.items():
        for message in messages:
            click.echo(f"Error{f' ({field})' if field else ''}: {message}", err=True)
    raise SystemExit(1)


@bp.cli.command("create-user")
@click.option("--email", required=True, help="Their e-mail address (also their sign-in).")
@click.option("--name", required=True, help="Their full name.")
@click.option(
    "--role", "roles", multiple=True, required=True,
    type=click.Choice([role.value for role in Role]), help="A role; repeat for several.",
)
@click.option("--job-title", default="", help="For example: Library Assistant.")
@click.option("--branch", default="", help="Their branch or department.")
@click.option("--password", default=None, help="Prompted for when not given (standalone mode).")
@needs_database()
def create_user(email, name, roles, job_title, branch, password) -> None:
    """Add a person, for example the first coordinator."""
    from apprentice.people.services import PersonDetails, create_person

    if current_app.config["APPRENTICE_AUTH"] == "local" and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        person = create_person(
            PersonDetails(name, email, job_title, branch, roles),
            password=password, must_change_password=False,
        )
    except Invalid as exc:
        _fail(exc)
    click.echo(f"Added {person.name} <{person.email}> as {', '.join(sorted(roles))}.")


@bp.cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if anyone exists already.")
@click.option("--yes", is_flag=True, help="Load into a database with people without asking.")
@needs_database(set_up=True)
def demo(if_empty: bool, yes: bool) -> None:
    """Load demo people and content (never into a real install: the password is public)."""
    from apprentice.demo import DEMO_PASSWORD, load_demo
    from apprentice.people.services import has_anyone

    if has_anyone():
        if if_empty:
            click.echo("The database already has people; demo data not loaded.")
            return
        if not yes and not click.confirm(
            "This database already has people. Add demo accounts with a public password?"
        ):
            click.echo("Demo data not loaded.")
            return
    people = load_demo()
    click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for person in people:
        roles = ", ".join(Role(r).value for r in person.roles)
        click.echo(f"  {person.email:<28} {person.name} ({roles})")


@bp.cli.command("import-framework")
@click.argument(
    "path", type=click.Path(exists=True, dir_okay=False, allow_dash=True), required=False
)
@click.option("--default", "use_default", is_flag=True,
              help="Load the LSSC-based framework shipped with apprentice.")
@click.option("--name", default=None, help="The framework's name (CSV files have none).")
@needs_database()
def import_framework(path, use_default, name) -> None:
    """Import a framework from a JSON or CSV file (or --default)."""
    from apprentice.competencies import interchange
    from apprentice.competencies import services as frameworks

    if bool(path) == use_default:
        raise click.UsageError("Give a file, or --default.")
    try:
        if use_default:
            framework = frameworks.load_default_framework()
        else:
            with click.open_file(path, "rb") as handle:
                data = handle.read()
            if path.lower().endswith(".csv"):
                spec = interchange.read_csv(data, name or Path(path).stem.replace("_", " "))
            else:
                spec = interchange.read_json(data)
            framework = frameworks.create_from_spec(spec)
    except interchange.FileProblems as exc:
        click.echo(f"Nothing imported: {len(exc.problems)} problem(s) in {path}:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from None
    except Invalid as exc:
        _fail(exc)
    areas = framework.current_areas
    click.echo(f"Imported {framework.name} ({framework.status}): {len(areas)} areas, "
               f"{sum(len(a.current_competencies) for a in areas)} competencies.")


@bp.cli.command("export-framework")
@click.argument("framework", required=False)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default="-",
              help="File to write (default: standard output).")
@needs_database()
def export_framework(framework: str | None, fmt: str, output: str) -> None:
    """Export a framework (its id or name; may be left out when only one is active)."""
    from apprentice.competencies import interchange
    from apprentice.competencies import services as frameworks

    found = _find_framework(framework)
    spec = frameworks.spec_of(found)
    text = interchange.write_json(spec) if fmt == "json" else interchange.write_csv(spec)
    with click.open_file(output, "w", encoding="utf-8") as handle:
        handle.write(text)


def _find_framework(wanted: str | None):
    """A framework by id or name; without one, the only active framework."""
    from apprentice.competencies import services as frameworks

    every = frameworks.list_frameworks(include_unpublished=True)
    if wanted is None:
        candidates = [f for f in every if f.status == "active"]
    else:
        candidates = [f for f in every
                      if str(f.id) == wanted or f.name.casefold() == wanted.casefold()]
    if len(candidates) == 1:
        return candidates[0]
    names = "; ".join(f"{f.id}: {f.name} ({f.status})" for f in every) or "none yet"
    what = "Name the framework to export" if candidates else f"No framework {wanted!r}"
    raise click.ClickException(f"{what}. Frameworks: {names}.")


@bp.cli.command("list-frameworks")
@needs_database()
def list_frameworks() -> None:
    """Show every framework with its id, status and version."""
    from apprentice.competencies import services as frameworks

    for framework in frameworks.list_frameworks(include_unpublished=True):
        click.echo(f"{framework.id:>4}  {framework.status:<8} v{framework.version:<4} "
                   f"{framework.name}")


@bp.cli.command("audit-verify")
@needs_database()
def audit_verify() -> None:
    """Check the audit trail's hash chain; report the first broken link."""
    from apprentice.audit import services as audit

    report = audit.verify()
    if report.intact:
        click.echo(f"Audit trail intact: {report.records} records. "
                   f"Newest hash: {report.newest_hash}")
        return
    click.echo(f"Audit trail BROKEN at record #{report.broken_at}: {report.problem}. "
               f"({report.records} records read.)", err=True)
    raise SystemExit(1)


@bp.cli.command("send-reminders")
@click.option("--base-url", default=None,
              help="The address people open apprentice at, for links in the e-mail "
                   "(default: APPRENTICE_BASE_URL).")
@needs_database()
def send_reminders(base_url: str | None) -> None:
    """Send each mentor their daily digest (once a day; run it from cron)."""
    import logging
    import sys

    from apprentice.records.reminders import send_reminders as send

    if not current_app.config.get("APPRENTICE_MAIL_SERVER"):
        # No mail server: the digests go to the log, shown here.
        mail_log = logging.getLogger("apprentice.mail")
        mail_log.setLevel(logging.INFO)
        if not mail_log.handlers:
            mail_log.addHandler(logging.StreamHandler(sys.stdout))
    base = base_url or current_app.config.get("APPRENTICE_BASE_URL") or "http://127.0.0.1:5000"
    with current_app.test_request_context(base_url=base):
        run = send()
    click.echo(f"Sent {len(run.sent)}; already sent today {len(run.skipped_already_sent)}; "
               f"nothing waiting for {run.nothing_waiting}; failed {len(run.failed)}.")
    for failure in run.failed:
        click.echo(f"  failed: {failure}", err=True)
    if run.failed:
        raise SystemExit(1)


@bp.cli.command("import-procedures")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@needs_database()
def import_procedures(folder: str) -> None:
    """Import a folder of Markdown, HTML or text procedures (again: updates, no duplicates)."""
    from apprentice.kb import search
    from apprentice.kb.importer import import_folder

    report = import_folder(Path(folder))
    click.echo(f"Created {len(report.created)}, updated {len(report.updated)}, "
               f"unchanged {len(report.skipped)}, problems {len(report.problems)}.")
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    waiting = search.waiting()
    if waiting:  # the index was busy or broken: say so rather than claim success
        click.echo(f"{waiting} changes are not in the search index yet: run "
                   "`flask apprentice index-sync`.", err=True)
        raise SystemExit(1)


@bp.cli.command("reindex")
@needs_database()
def reindex() -> None:
    """Rebuild the procedures search index from the database (searches keep working)."""
    from apprentice.kb import search

    click.echo(f"Indexed {search.rebuild()} procedures.")


@bp.cli.command("index-sync")
@needs_database()
def index_sync() -> None:
    """Bring this server's search index up to the database: apply every change saved on any
    server since it last did, or rebuild it when it was never built here, was lost, or
    the glossary changed; then prune the changes every live server has applied. (Each
    app process also does this every APPRENTICE_INDEX_SYNC_SECONDS.)"""
    from datetime import timedelta

    from whoosh.index import LockError

    from apprentice.kb import changelog, search

    try:
        done = search.catch_up()
    except (LockError, search.SearchUnavailable) as exc:
        raise click.ClickException(f"The search index was not brought up to date: {exc}") \
            from None
    if done.rebuilt:
        click.echo(f"{done.rebuilt}: rebuilt the index ({done.indexed} procedures).")
    else:
        click.echo(f"Brought {done.applied} procedures up to date in the search index.")
    days = current_app.config["APPRENTICE_INDEX_REPLICA_TTL_DAYS"]
    pruned = changelog.prune(timedelta(days=days))
    if pruned.changes or pruned.replicas:
        click.echo(f"Pruned {pruned.changes} changes every live server had applied; forgot "
                   f"{pruned.replicas} servers' indexes not seen for {days} days.")


@bp.cli.command("check-index")
@needs_database()
def check_index() -> None:
    """Compare this server's search index with the database, and say where it stands in
    the change log; exit 1 if they disagree."""
    from apprentice.kb import search

    report = search.check()
    click.echo(_where(report))
    if report.old_glossary:
        click.echo("The index was built with an earlier search glossary: searches still find "
                   "the new terms, more slowly, until `flask apprentice index-sync` rebuilds it.")
    if report.old_layout:
        click.echo("The index was built by an earlier version of apprentice: searches still "
                   "work, more slowly, until `flask apprentice index-sync` rebuilds it.")
    if report.healthy:
        click.echo("The search index agrees with the database.")
        return
    # A worker stopped between a save's commit and the index (killed, say) leaves its
    # change beyond the cursor: index-sync applies just those; otherwise rebuild.
    fix = (f"{report.behind} changes wait for the index (a save stopped before it reached "
           "it, or made on another server): run `flask apprentice index-sync`"
           if report.behind else "Run `flask apprentice reindex`")
    if not report.built:
        fix = "Run `flask apprentice index-sync` (it builds this server's index)"
    if report.unreadable:  # then every procedure counts as missing: say why
        click.echo(f"The search index could not be read: {report.unreadable}", err=True)
        fix = "Run `flask apprentice reindex`"
    click.echo(f"Missing: {_some(report.missing)}; out of date: {_some(report.stale)}; "
               f"extra: {_some(report.extra)}. {fix}.", err=True)
    raise SystemExit(1)


def _where(report) -> str:
    """Which replica this server's index is and how far it has applied the change log."""
    if report.replica is None:
        return "This server's index folder is not a replica yet (never built here)."
    at = report.position
    name = f"replica {report.replica.id} ({report.replica.location})"
    if not report.built:
        return f"This server's index, {name}, is registered but not built yet."
    seen = at.last_seen_at.strftime("%Y-%m-%d %H:%M UTC") if at.last_seen_at else "never"
    # The log is pruned once every server has applied it, so its newest id may be gone.
    return (f"This server's index, {name}: applied the change log up to change "
            f"{at.applied_upto}, {report.behind} waiting; last seen {seen}.")


def _some(ids: list[int], shown: int = 20) -> str:
    """Procedure ids for a person to read: a count and the first few, not 900 numbers."""
    if not ids:
        return "none"
    listed = ", ".join(map(str, ids[:shown]))
    return listed if len(ids) <= shown else f"{len(ids)} ({listed}, …)"


# -- backup and restore (apprentice/core/backup.py) ---------------------------------------

@bp.cli.command("backup")
@click.argument("dest", type=click.Path(file_okay=True, dir_okay=True, writable=True))
@needs_database()
def backup(dest: str) -> None:
    """Copy the database to DEST while the app keeps serving.

    DEST is a file, or a folder for a new file named by the date and time
    (apprentice-YYYYmmdd-HHMMSS.sqlite3 or .pgdump). SQLite: SQLite's online backup;
    PostgreSQL: pg_dump (custom format) of apprentice's tables. The search index is
    not copied: restore rebuilds it. The issuer's signing keys go in a folder beside
    it, named as the file with .keys added (owner-only): keep the two together, and as
    safe as the keys.
    """
    from apprentice.core import backup as backups
    from apprentice.credentials import keys

    try:
        report = backups.backup(Path(dest), copy_keys=keys.copy_into)
    except (backups.BackupProblem, keys.KeyStoreProblem) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up the {report.kind} database (revision {report.revision}) to "
               f"{report.path}: {report.size:,} bytes in {report.seconds:.1f} s.")
    if report.keys is not None:
        many = report.key_count != 1
        click.echo(f"The issuer's {report.key_count} signing key{'s' if many else ''} "
                   f"{'are' if many else 'is'} in {report.keys} (private: keep the folder "
                   "with the backup, and as safe).")


@bp.cli.command("restore")
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
def restore(src: str, yes: bool) -> None:
    """Replace the database with the backup SRC, then rebuild the search index.

    Everything changed since the backup is lost, and everyone signs in again. Works on
    an empty database too (a new server), so it needs no `db upgrade` first; a backup
    from another version of apprentice's tables is refused. The issuer's keys in the
    folder beside SRC (SRC.keys) are added to this installation's, so what they signed
    verifies and the issuer signs as before.
    """
    from apprentice.core import backup as backups
    from apprentice.credentials import keys
    from apprentice.kb import changelog, search
    from apprentice.people import services as people

    try:
        found = backups.read_backup(Path(src))
        backups.check_restorable(found)
        held = f" ({backups.summary(found.counts)})" if found.counts else ""
        if not yes and not click.confirm(
                f"Replace everything in the database with the backup {src}{held}? "
                "Changes made since it was taken are lost"):
            click.echo("Nothing restored.")
            raise SystemExit(1)
        report = backups.restore(found, take_back_keys=keys.take_back)
    except (backups.BackupProblem, keys.KeyStoreProblem) as exc:
        raise click.ClickException(str(exc)) from None
    people.end_everyones_sessions()
    # The change log and every server's index are from another moment than the data:
    # every server rebuilds (this one now, the others on their next round).
    changelog.forget_all()
    indexed = search.rebuild()
    click.echo(f"Restored {src} (revision {report.revision}) in {report.seconds:.1f} s: "
               f"{backups.summary(report.counts)}. Search index rebuilt "
               f"({indexed} procedures). Everyone signs in again.")
    if report.keys is not None:
        click.echo(f"Issuer keys from {found.keys}: {report.keys}")
    else:
        click.echo(f"No issuer keys beside the backup ({backups.keys_beside(Path(src))}): "
                   "this installation keeps the keys it has; credentials signed with "
                   "others verify only where their keys are published.")
    # The status lists are built from the database: what happened after the backup is
    # not in them any more (README, Backup and restore).
    click.echo("Credentials issued or revoked after this backup was made are not in it: "
               "revoke again any credential withdrawn since, so its status list says so.")


# -- the issuer's signing keys (apprentice/credentials/keys.py) ---------------------------

keys_cli = AppGroup("keys", help="The issuer's signing keys (Open Badges credentials).")
bp.cli.add_command(keys_cli)


@keys_cli.command("list")
def keys_list() -> None:
    """Show every key: its id, when it was made, and whether it signs or is retired.
    Private keys are never shown; they stay in the instance folder."""
    from apprentice.credentials import keys

    try:
        found = keys.public_keys()
    except keys.KeyStoreProblem as exc:
        raise click.ClickException(str(exc)) from None
    if not found:
        click.echo("No signing key yet: the first credential issued makes one "
                   "(`keys rotate` makes one now).")
    for key in found:
        state = "current" if key.current else f"retired {key.retired_at:%Y-%m-%d %H:%M:%S} UTC"
        click.echo(f"{key.kid}  made {key.created_at:%Y-%m-%d %H:%M:%S} UTC  {state}")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key; the old ones stay published so what they signed verifies."""
    from apprentice.credentials import keys

    try:
        new = keys.rotate()
        retired = [key.kid for key in keys.public_keys() if not key.current]
    except keys.KeyStoreProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"New signing key {new.kid}. Retired, still published: "
               f"{', '.join(retired) or 'none'}.")


# -- verifying a credential (apprentice/credentials/verify.py) ----------------------------

@bp.cli.command("verify-credential")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--issuer-key", type=click.Path(dir_okay=False), default=None,
              help="The issuer's public key: a JWK or a JWK Set file (its /issuer/keys).")
@click.option("--status-list", type=click.Path(dir_okay=False), default=None,
              help="The issuer's status list as a file (what the credential's "
                   "statusListCredential URL serves), to check revocation offline.")
@click.option("--offline", is_flag=True,
              help="Fetch nothing: only this installation's keys and the files given.")
def verify_credential(path: str, issuer_key: str | None, status_list: str | None,
                      offline: bool) -> None:
    """Check the Open Badges credential in FILE (a VC-JWT, or the .json handed over) and
    say what each check found. Exit 0 when valid, 1 when invalid or unverified, 2 when a
    file cannot be read."""
    from apprentice.credentials import verify

    def read(name: str) -> bytes:
        try:
            with open(name, "rb") as file:
                # One byte over the limit is enough for the verifier to refuse it unread.
                return file.read(verify.MAX_INPUT_BYTES + 1)
        except OSError as exc:
            click.echo(f"Cannot read {name}: {exc.strerror or exc}", err=True)
            raise SystemExit(2) from None

    data = read(path)
    key_file = read(issuer_key) if issuer_key else None
    if key_file is not None:
        try:
            verify.read_key_file(key_file)
        except ValueError as exc:
            click.echo(f"Cannot use {issuer_key}: {exc}", err=True)
            raise SystemExit(2) from None
    # The list must still be signed by the issuer and be the one the credential names.
    listed = read(status_list) if status_list else None
    report = verify.verify_credential(
        data, key_file=key_file, online=not offline,
        status_lookup=(lambda url: listed) if listed is not None else None)
    for line in report.lines():
        click.echo(line)
    raise SystemExit(0 if report.valid else 1)
