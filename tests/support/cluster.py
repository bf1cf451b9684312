"""Several app servers on one PostgreSQL database, as a consortium runs apprentice: for
the two-server tests (tests/test_multi_server.py) and bench/multi_server.py.

- :class:`Cluster`: one database and, per server, an instance folder of its own (its
  search index); every server gets the same APPRENTICE_SECRET_KEY and
  APPRENTICE_CREDENTIAL_KEYS_DIR, as the README's "Several app servers" says.
  ``start(name)`` serves a folder with gunicorn; ``flask(name, ...)`` runs the CLI there.
- :func:`demo_database`: a PostgreSQL database migrated and loaded with the demo once,
  with the real CLI, to copy for each cluster.
- :class:`Editor`: one person's browser editing procedures as the edit page lets them
  (the form opened, the body changed, a marker in "What you changed"), remembering which
  edits the server acknowledged.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

from tests.reliability.harness import WebClient, fill
from tests.support.gunicorn import Gunicorn, flask, run_flask

# A lost answer: the server was killed in the middle of the request, or is down.
LOST = (http.client.HTTPException, ConnectionError, TimeoutError, OSError)
LAST_EDIT = re.compile(r"\s*Last edit: [^\n]*\s*\Z")


def demo_database(databases, folder: Path) -> str:
    """A new database on ``databases`` (tests.conftest.PostgresDatabases), migrated and
    loaded with the demo through the CLI in ``folder``; its name."""
    name = databases.create()
    settings = {"APPRENTICE_DATABASE_URL": databases.url(name)}
    folder.mkdir(parents=True, exist_ok=True)
    flask(folder, "db", "upgrade", settings=settings)
    flask(folder, "demo", settings=settings)
    return name


@dataclass
class Cluster:
    """App servers named ``a``, ``b``, ... under ``root``, all on ``database_url``."""

    root: Path
    database_url: str
    workers: int = 2
    database_name: str = ""  # for dropping it afterwards
    # Extra APPRENTICE_ settings for every server (e.g. APPRENTICE_INDEX_SYNC_SECONDS).
    extra: dict[str, str] = field(default_factory=dict)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    servers: dict[str, Gunicorn] = field(default_factory=dict)

    @property
    def keys_dir(self) -> Path:
        return self.root / "shared-issuer-keys"

    def folder(self, name: str) -> Path:
        return self.root / f"server-{name}"

    def settings(self) -> dict[str, str]:
        """What every server shares: the database, the secret key, the issuer's keys."""
        return {"APPRENTICE_DATABASE_URL": self.database_url,
                "APPRENTICE_SECRET_KEY": self.secret,
                "APPRENTICE_CREDENTIAL_KEYS_DIR": str(self.keys_dir), **self.extra}

    def flask(self, name: str, *args: str) -> str:
        """``flask apprentice ARGS`` on server ``name``'s instance; must succeed."""
        return flask(self.folder(name), *args, settings=self.settings())

    def check_index(self, name: str):
        """``flask apprentice check-index`` on server ``name``'s replica (the process)."""
        return run_flask(self.folder(name), "check-index", settings=self.settings())

    def add_server(self, name: str) -> None:
        """A new server's instance folder, its replica built from the database (as the
        README tells an operator adding a server)."""
        self.folder(name).mkdir(parents=True, exist_ok=True)
        self.flask(name, "reindex")

    def start(self, name: str) -> Gunicorn:
        """gunicorn on server ``name``'s folder (again after a crash: same folder)."""
        log = self.root / f"gunicorn-{name}.log"
        self.servers[name] = Gunicorn(self.folder(name), log, workers=self.workers,
                                      settings=self.settings())
        return self.servers[name]

    def crash(self, name: str) -> None:
        """The server dies at once, as on a power cut: master frozen (it cannot start a
        new worker), every worker SIGKILLed in the middle of what it was doing, then the
        master too."""
        server = self.servers[name]
        os.kill(server.pid, signal.SIGSTOP)
        for pid in server.worker_pids():
            os.kill(pid, signal.SIGKILL)
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(timeout=30)

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def scalar(self, sql: str, **params):
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), params).scalar()
        finally:
            engine.dispose()

    def rows(self, sql: str, **params) -> list:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), params).all()
        finally:
            engine.dispose()

    def wait_until_index_agrees(self, name: str, within: float) -> tuple[bool, str]:
        """Run check-index on ``name`` until it exits 0 (True) or ``within`` seconds
        pass (False); the last report."""
        deadline = time.monotonic() + within
        while True:
            done = self.check_index(name)
            if done.returncode == 0 or time.monotonic() > deadline:
                return done.returncode == 0, done.stdout + done.stderr
            time.sleep(1)


def procedure_ids(cluster: Cluster) -> list[int]:
    """The published procedures (the demo's), oldest first."""
    return [row[0] for row in cluster.rows(
        "SELECT id FROM apprentice_procedures WHERE status = 'published' ORDER BY id")]


@dataclass
class Edits:
    """What the editors sent: marker -> "acknowledged" (a redirect to the procedure)
    or "unknown" (no answer came); any other answer is a finding."""

    outcome: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # per acknowledged edit (GET + POST)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged(self) -> set[str]:
        with self.lock:
            return {m for m, o in self.outcome.items() if o == "acknowledged"}


class Editor:
    """A coordinator's browser (edits go live at once), signed in on one server; its
    cookies are good on every server sharing the secret key.

    Like a person saving one page again and again, it keeps the form it last saved: the
    next edit of that procedure sends it again with the next revision number and a new
    one-time token, without opening the page (an editor per browser owns its
    procedures, so nobody else moves them on). A conflict (409: a proposal had taken a
    number) opens the page again, once."""

    def __init__(self, url: str, email: str):
        self.client = WebClient(url).sign_in(email)
        self.forms: dict[int, list[tuple[str, str]]] = {}  # procedure id -> last form saved

    def on(self, server: Gunicorn) -> WebClient:
        """This browser talking to ``server`` (a load balancer's choice): one cookie jar,
        whichever server answers."""
        other = WebClient(server.url)
        other.cookies = self.client.cookies  # the same jar, not a copy
        other.email = self.client.email
        return other

    def _form(self, procedure_id: int, server: Gunicorn):
        """The edit form to fill: the last one saved, moved on a revision, or the page's
        (then a Response when the page did not come)."""
        kept = self.forms.pop(procedure_id, None)
        if kept is not None:
            based_on = int(dict(kept)["based_on"]) + 1
            return fill(kept, {"based_on": str(based_on),
                               "form_token": secrets.token_urlsafe(24)})
        path = f"/procedures/{procedure_id}/edit"
        page = self.on(server).get(path)
        if page.status != 200:
            return page
        return [*[(k, v) for k, v in page.form_data(path) if k != "csrf_token"],
                ("csrf_token", page.csrf_token())]

    def edit(self, procedure_id: int, marker: str, edits: Edits, *,
             form_from: Gunicorn, send_to: Gunicorn, words: str = "") -> None:
        """Edit procedure ``procedure_id``: its form from ``form_from`` (unless kept),
        saved on ``send_to`` with ``marker`` in the summary and at the end of the body."""
        path = f"/procedures/{procedure_id}/edit"
        started = time.perf_counter()
        outcome, answer = "unknown", None
        try:
            for _attempt in range(2):
                form = self._form(procedure_id, form_from)
                if not isinstance(form, list):  # the page did not come
                    answer = form
                    break
                body = LAST_EDIT.sub("", dict(form).get("body", "")).rstrip("\n")
                form = fill(form, {
                    "body": f"{body}\n\nLast edit: {marker}.{' ' + words if words else ''}\n",
                    "summary": f"Several servers: {marker}"})
                answer = self.on(send_to).post(path, form)
                if answer.status != 409:
                    break
        except LOST:  # killed in the middle, or down: open the page again next time
            answer = None
        if answer is not None:
            if answer.redirected and f"/procedures/{procedure_id}" in (answer.location or ""):
                outcome = "acknowledged"
                self.forms[procedure_id] = form
            else:
                with edits.lock:
                    edits.failures.append(f"{marker}: {answer.status} {answer.text[:400]}")
        with edits.lock:
            edits.outcome[marker] = outcome
            if outcome == "acknowledged":
                edits.seconds.append(time.perf_counter() - started)

    def found(self, server: Gunicorn, words: str) -> list[int]:
        """The procedure ids ``server``'s search API answers for ``words``."""
        answer = self.on(server).get(f"/api/search?q={quote(words)}")
        if answer.status != 200:
            return []
        return [hit["id"] for hit in json.loads(answer.text)["results"]]


def stored_markers(cluster: Cluster, prefix: str = "") -> dict[str, int]:
    """How many revisions in the database carry each edit marker (starting ``prefix``)."""
    found: dict[str, int] = {}
    for (summary,) in cluster.rows("SELECT summary FROM apprentice_procedure_revisions "
                                   "WHERE summary LIKE :like",
                                   like=f"Several servers: {prefix}%"):
        marker = summary.removeprefix("Several servers: ")
        found[marker] = found.get(marker, 0) + 1
    return found
