"""Requests per second, latency, SQL statements and memory of the app's pages under load.

On an instance made by bench/generate.py: gunicorn (2 sync workers, as
tests/support/gunicorn.py starts it) serves the app, and in the same run serves a bare
Flask app answering "ok" (bench/bare_flask.py) the same way. wrk (20 connections, 2
threads, ``--seconds`` each) asks each page signed in (the session cookie of a real
sign-in, sent as a header), one page at a time, then the writes through their real
forms (CSRF token from the form page, a fresh one-time form token per request), as
the people of a write pool ``bench/generate.py --write-pool-only`` adds after the pages
are measured:

- quick log: POST /log/new as a pool apprentice (an entry sent for review);
- verify: POST /review/verify as the pool mentor, one waiting entry per request;
- sign-off: POST /sign-offs/new as the pool mentor, a new (competency, level) each
  time, citing a verified entry, within minutes of signing in (the password is not
  asked again: APPRENTICE_CONFIRM_MINUTES; the form sends it all the same, ignored).

Beside bare Flask, once per instance: bench/minimal_write.py, a save with nothing of
apprentice in it on the same stack (Flask-Login, Flask-WTF's CSRF check, WTForms, two
SQLAlchemy Core inserts into SQLite), sent as the quick log is: the ceiling a write
could reach here.

Every figure is also given as a share of the bare endpoint's requests/s in the same
run (the mean of its run before the app's and its run after). p50 and p95 come from
wrk's own latency histogram (a Lua ``done`` prints them). A write counts when the
database shows it afterwards (the "rows saved" column); a refusal also answers 302, so
wrk alone cannot tell. SQL statements per page: counted in this
process with a SQLAlchemy event, through a test client signed in as the same person,
the second request of each page. Resident memory (VmRSS from /proc) of each gunicorn
worker after the warm-up (each page asked 20 times; each write, too, is sent 20 times
before its run, neither counted nor measured) and after all the runs. Between
runs it waits until the server has answered what the last run left queued.

    .venv/bin/python bench/load.py INSTANCE [--seconds 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import environment  # noqa: E402

WRK = shutil.which("wrk") or "/usr/bin/wrk"
CONNECTIONS, THREADS, WORKERS = 20, 2, 2
WARM_UP = 20  # requests of each page and each write before its run
LOG_LINES = 40  # of a server's log, shown when it failed
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# One browser: the sign-ins (urllib) and wrk's requests with their cookie send the same
# User-Agent, as one browser would. Flask-Login marks a session whose cookie comes from
# another client not fresh, and a sign-off then asks for the password again.
USER_AGENT = "apprentice-bench/1"

# The table: (label, who, path). {procedure} is filled in from bench.json.
PAGES = [
    ("apprentice home", "apprentice", "/"),
    ("mentor review queue", "mentor", "/review/"),
    ("coordinator home (matrix)", "coordinator", "/"),
    ("a procedure page", "apprentice", "/procedures/{procedure}"),
    ("search page (`/procedures/?q=interlibrary loan`)", "apprentice",
     "/procedures/?q=interlibrary+loan"),
    ("`GET /api/search?q=circulation desk`", "apprentice", "/api/search?q=circulation+desk"),
]

# Printed by every run's Lua: the figures wrk's own summary leaves out (p95).
REPORT_LUA = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d "
    .. "connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
"""

# The writes: each thread takes its own slice of the items (or makes fresh tokens).
WRITE_LUA = """
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local n = 0
function init(args)
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
function request()
  n = n + 1
  local path, body = item(id, n)
  return wrk.format("POST", path, nil, body)
end
"""


@dataclass
class Run:
    label: str
    requests_per_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    errors: int = 0
    requests: int = 0
    saved: int | None = None
    statements: int | None = None
    command: str = ""
    load_average: float = 0.0  # the machine's, over the last minute, as the run ended
    notes: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving ``app`` on 127.0.0.1 at a free port, 2 workers."""

    def __init__(self, app: str, instance: Path, log: Path, *options: str,
                 probe: str = "/sign-in", settings: dict[str, str] | None = None):
        from gunicorn.config import KNOWN_SETTINGS

        self.probe = probe
        self.log_path = log
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
            options = ("--no-control-socket", *options)  # one per server would clash
        self.command = ["gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
                        *options, app]
        self.log = log.open("a")
        self.process = subprocess.Popen([sys.executable, "-m", *self.command],  # noqa: S603
                                        cwd=ROOT,
                                        env={**environment(instance), **(settings or {})},
                                        stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise self.failed("did not start")
            try:
                urllib.request.urlopen(self.url + self.probe, timeout=5).close()  # noqa: S310
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.1)

    def drain(self) -> None:
        """Wait until the requests a finished wrk run left queued are answered (wrk stops
        counting at the deadline; sync workers still owe the queue), so the next run
        starts on an idle server and a write run's saved rows are all in."""
        try:
            urllib.request.urlopen(self.url + self.probe, timeout=300).close()  # noqa: S310
        except urllib.error.HTTPError:
            pass  # it answered
        except OSError as exc:
            raise self.failed(f"stopped answering after a run ({exc})") from None

    def failed(self, what: str) -> SystemExit:
        """Stop the server and say what went wrong with the end of its log, which goes
        with the instance folder (``make bench`` makes it in a temporary one)."""
        running = self.process.poll() is None
        self.stop()
        lines = self.log_path.read_text(errors="replace").splitlines()[-LOG_LINES:]
        return SystemExit("\n".join([
            f"{' '.join(self.command)} {what}; "
            f"{'it was still running' if running else f'it had exited ({self.process.returncode})'}"
            f". The last {len(lines)} lines of its log ({self.log_path}):", *lines]))

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def rss_mib(self) -> list[float]:
        """Each worker's resident memory (VmRSS), MiB."""
        sizes = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            kib = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))
            sizes.append(kib / 1024)
        return sizes

    def stop(self) -> None:
        if self.log.closed:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Browser:
    """One person's cookies, signed in through the sign-in form."""

    def __init__(self, base: str, email: str, password: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.opener.addheaders = [("User-Agent", USER_AGENT)]
        token = self.csrf("/sign-in")
        status, _location = self.post("/sign-in", {"csrf_token": token, "email": email,
                                                  "password": password})
        if status != 302:
            raise SystemExit(f"signing in as {email} answered {status}")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def post(self, path: str, form: dict) -> tuple[int, str]:
        data = urllib.parse.urlencode(form, doseq=True).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as response:
                return response.status, response.headers.get("Location", "")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location", "")

    def csrf(self, path: str) -> str:
        status, page = self.get(path)
        found = CSRF.search(page)
        if status != 200 or not found:
            raise SystemExit(f"{path}: no form to read a CSRF token from ({status})")
        return found.group(1)

    @property
    def cookie(self) -> str:
        """The Cookie header a browser would send now. The session cookie carries the
        last request's time (the idle limit), rewritten once a minute: a cookie taken
        more than a minute before a run would have every request of it write the
        cookie again, which a browser, keeping the newest, never asks for."""
        return cookie_header(self.jar)


def cookie_header(jar: http.cookiejar.CookieJar) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in jar)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wrk(server: Server, path: str, seconds: float, *, cookie: str | None = None,
        lua: str = "", workdir: Path) -> tuple[Run, str]:
    """One wrk run on ``server``; its figures and the command (the Lua script named by
    its path). Returns once the server has answered what the run left queued."""
    url = server.url + path
    script = workdir / f"run{len(list(workdir.glob('run*.lua')))}.lua"
    script.write_text(lua + REPORT_LUA)
    command = [WRK, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency",
               "--timeout", "10s", "-s", str(script)]
    if cookie:  # the browser's cookie, from that browser (else the session is not fresh)
        command += ["-H", f"Cookie: {cookie}", "-H", f"User-Agent: {USER_AGENT}"]
    command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    load_average = os.getloadavg()[0]
    server.drain()
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed:\n{done.stdout}{done.stderr}")
    figures = dict(part.split("=") for part in line.split()[1:])
    run = Run(label="", load_average=load_average)
    run.requests = int(figures["requests"])
    run.requests_per_s = run.requests / (int(figures["duration_us"]) / 1e6)
    run.p50_ms = int(figures["p50_us"]) / 1000
    run.p95_ms = int(figures["p95_us"]) / 1000
    run.errors = sum(int(figures[k]) for k in ("connect", "read", "write", "status", "timeout"))
    if run.requests == 0:
        run.notes.append(f"no answer within the {seconds:g} s run")
    shown = " ".join(f"'{c}'" if " " in c else c for c in command)
    return run, shown.replace(cookie or "\0", "<session cookie>")


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string for these characters


def quick_log_form(csrf: str, mentor_id: int, competency_id: int) -> tuple[str, str]:
    """The quick log as the form sends it (path, body), less its one-time form token."""
    return "/log/new", urllib.parse.urlencode({
        "csrf_token": csrf, "occurred_on": date.today().isoformat(), "minutes": 45,
        "activity": 3, "mentor_id": mentor_id, "competency_ids": competency_id,
        "description": "Covered the circulation desk over lunch; two holds, one renewal.",
        "submit": "Submit for review"})


def verify_form(csrf: str, entry_id: int) -> tuple[str, str]:
    """The review queue's form with one entry ticked."""
    return "/review/verify", urllib.parse.urlencode({"csrf_token": csrf, "entry_id": entry_id})


def sign_off_form(csrf: str, password: str, item: list[int]) -> tuple[str, str]:
    """The sign-off form for (person, competency, level, cited entry), less its token."""
    person, competency, level, cited = item
    return (f"/sign-offs/new?person={person}&competency={competency}",
            urllib.parse.urlencode({"csrf_token": csrf, "level": level, "entry_ids": cited,
                                    "comment": "Seen it done well.", "password": password,
                                    "submit": "Sign off"}))


def writes_lua(forms: list[tuple[str, str]], *, fresh_tokens: bool) -> str:
    """Each request sends the next form of this thread's share of ``forms`` (thread k
    takes k, k + threads, ...); with ``fresh_tokens``, each with a one-time form token
    of its own, as a browser gets one per form page."""
    stamp = int(time.time())
    rows = ",\n".join(f"{{{lua_string(path)}, {lua_string(body)}}}" for path, body in forms)
    token = (f'.. "&form_token=bench-{stamp}-" .. id .. "-" .. n' if fresh_tokens else "")
    return WRITE_LUA + f"""
local forms = {{
{rows}
}}
function item(id, n)
  local form = forms[((n - 1) * {THREADS} + id - 1) % #forms + 1]
  return form[1], form[2] {token}
end
"""


def count(database: Path, sql: str, *args) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, args).fetchone()[0]


def statements_per_page(instance: Path, facts: dict, paths: dict[str, tuple[str, str]],
                        *, kept: bool) -> dict[str, int]:
    """SQL statements of each page's third request, through a test client: ``kept``,
    as served (a page asked again with nothing changed is kept, apprentice/core/pagecache.py),
    else with no page kept (``APPRENTICE_PAGE_CACHE_MB=0``: what building the page costs)."""
    from sqlalchemy import event

    from apprentice import create_app
    from apprentice.db import database

    app = create_app({"APPRENTICE_INSTANCE_PATH": str(instance),
                      # no index applier thread: its statements would be counted too
                      "APPRENTICE_INDEX_SYNC_SECONDS": 0,
                      "APPRENTICE_PAGE_CACHE_MB": None if kept else 0})
    counted: dict[str, int] = {}
    with app.app_context():
        engine = database().engine
    statements = []

    def listen(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        clients = {}
        for who, (email, password) in facts["sign_in"].items():
            client = app.test_client()
            page = client.get("/sign-in").get_data(as_text=True)
            client.post("/sign-in", data={"csrf_token": CSRF.search(page).group(1),
                                          "email": email, "password": password})
            clients[who] = client
        for label, (who, path) in paths.items():
            clients[who].get(path)
            clients[who].get(path)
            statements.clear()
            response = clients[who].get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path} as {who}: {response.status_code} in-process")
            counted[label] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return counted


def measure(instance: Path, seconds: float, log: Path) -> dict:
    """Every run at this instance; the figures as a dict for the table."""
    facts = json.loads((instance / "bench.json").read_text())
    database = instance / "apprentice.sqlite3"
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    paths = {label: (who, path.format(procedure=facts["procedure_id"]))
             for label, who, path in PAGES}
    result: dict = {"instance": str(instance), "seconds": seconds, "runs": [], "facts": {
        k: facts[k] for k in ("apprentices", "procedures", "written")}}

    # The bare endpoint is measured first and last, its server idle in between: the
    # shares use the mean of both, so a machine that got busier or quieter during the
    # runs shows as the two differing, not as a wrong share.
    bare = Server("bare_flask:app", instance, log, "--pythonpath", str(HERE), probe="/")
    app = None
    try:
        for _ in range(50):
            urllib.request.urlopen(bare.url + "/").close()  # noqa: S310
        run, command = wrk(bare, "/", seconds, workdir=workdir)
        run.label, run.command = "bare Flask `ok`, first", command
        result["bare_first"] = run
        result["bare_server"] = " ".join(bare.command)
        result["minimal_write"] = minimal_write(instance, log, seconds, workdir)

        app = Server("wsgi:app", instance, log)
        result["app_server"] = " ".join(app.command)
        result["runs"] = page_runs(app, facts, paths, seconds, workdir,
                                   warmed=lambda: result.update(rss_warm=app.rss_mib()))
        app.stop()

        # The same pages built for every request, as they are after any write.
        app = Server("wsgi:app", instance, log, settings={"APPRENTICE_PAGE_CACHE_MB": "0"})
        result["built_server"] = f"APPRENTICE_PAGE_CACHE_MB=0 {' '.join(app.command)}"
        result["built_runs"] = page_runs(app, facts, paths, seconds, workdir)
        app.stop()

        app = Server("wsgi:app", instance, log)
        # The pool the writes use, added now: the pages above read the generated data alone.
        pool = ["bench/generate.py", str(instance), "--write-pool-only", "10000"]
        subprocess.run([sys.executable, *pool], cwd=ROOT, check=True,  # noqa: S603
                       env=environment(instance), stdout=subprocess.DEVNULL)
        facts = json.loads((instance / "bench.json").read_text())
        for run in write_runs(app, facts["pool"], database, seconds, workdir):
            result["runs"].append(run)
        result["rss_after"] = app.rss_mib()
        app.stop()

        run, command = wrk(bare, "/", seconds, workdir=workdir)
        run.label, run.command = "bare Flask `ok`, last", command
        result["bare_last"] = run
        result["bare_rss"] = bare.rss_mib()
    finally:
        bare.stop()
        if app is not None:
            app.stop()
    first, last = result["bare_first"], result["bare_last"]
    result["bare"] = Run(label="bare Flask `ok`, mean",
                         requests_per_s=(first.requests_per_s + last.requests_per_s) / 2,
                         p50_ms=(first.p50_ms + last.p50_ms) / 2,
                         p95_ms=(first.p95_ms + last.p95_ms) / 2,
                         errors=first.errors + last.errors,
                         requests=first.requests + last.requests,
                         load_average=(first.load_average + last.load_average) / 2)

    for runs, kept in ((result["runs"], True), (result["built_runs"], False)):
        for label, number in statements_per_page(instance, facts, paths, kept=kept).items():
            next(r for r in runs if r.label == label).statements = number
    return result


def minimal_write(instance: Path, log: Path, seconds: float, workdir: Path) -> Run:
    """bench/minimal_write.py's save under wrk, as the quick log is sent: the ceiling a
    write could reach on this stack (its own server, stopped after its run)."""
    database = workdir / "minimal-write.sqlite3"
    server = Server("minimal_write:app", instance, log, "--pythonpath", str(HERE),
                    probe="/sign-in",
                    settings={"MINIMAL_WRITE_DB": str(database),
                              "MINIMAL_WRITE_SECRET": secrets.token_hex(32)})
    try:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.addheaders = [("User-Agent", USER_AGENT)]
        with opener.open(server.url + "/sign-in", timeout=60) as response:
            csrf = response.read().decode()
        form = quick_log_form(csrf, mentor_id=2, competency_id=1)
        run, command = wrk(server, form[0], seconds, workdir=workdir,
                           cookie=cookie_header(jar),
                           lua=writes_lua([form], fresh_tokens=False))
    finally:
        server.stop()
    run.label = "minimal write on the same stack (bench/minimal_write.py)"
    run.command = command
    run.saved = count(database, "SELECT count(*) FROM entries")
    return run


def page_runs(app: Server, facts: dict, paths: dict[str, tuple[str, str]], seconds: float,
              workdir: Path, warmed=None) -> list[Run]:
    """Each page under wrk, signed in as its reader: every page asked WARM_UP times first (a
    warm-up, and a check that it answers; then ``warmed()``), and again after its run (a
    sign-in that ended meanwhile would have had wrk count redirects)."""
    browsers = {who: Browser(app.url, *credentials)
                for who, credentials in facts["sign_in"].items()}
    for who, path in paths.values():
        for _ in range(WARM_UP):
            status, _page = browsers[who].get(path)
            if status != 200:
                raise SystemExit(f"{path} as {who} answered {status}")
    if warmed is not None:
        warmed()
    runs = []
    for label, (who, path) in paths.items():
        browsers[who].get(path)  # the cookie as a browser holds it now (Browser.cookie)
        run, command = wrk(app, path, seconds, cookie=browsers[who].cookie, workdir=workdir)
        run.label, run.command = label, command
        status, _page = browsers[who].get(path)
        if status != 200:
            raise SystemExit(f"{path} as {who} answered {status} after the run")
        runs.append(run)
    return runs


def write_runs(app: Server, pool: dict, database: Path, seconds: float, workdir: Path):
    """The three writes through their forms, each counted in the database afterwards,
    each after WARM_UP of its kind (nor counted, nor measured)."""
    writer = Browser(app.url, *pool["apprentice"])
    mentor = Browser(app.url, *pool["mentor"])
    csrf = writer.csrf("/log/new")
    mentor_csrf = mentor.csrf("/review/")
    runs = [
        ("write: quick log (POST /log/new)", writer, "/log/new",
         [quick_log_form(csrf, pool["mentor_id"], pool["competency_id"])], True,
         "SELECT count(*) FROM apprentice_log_entries WHERE person_id = ?",
         pool["apprentice_id"]),
        ("write: verify an entry (POST /review/verify)", mentor, "/review/verify",
         [verify_form(mentor_csrf, i) for i in pool["verify"]], False,
         "SELECT count(*) FROM apprentice_log_entries WHERE verified_by_id = ? "
         "AND state = 'verified'", pool["mentor_id"]),
        ("write: sign-off (POST /sign-offs/new)", mentor, "/sign-offs/new",
         [sign_off_form(mentor_csrf, pool["mentor"][1], item) for item in pool["sign_offs"]],
         True, "SELECT count(*) FROM apprentice_sign_offs WHERE signed_by_id = ?",
         pool["mentor_id"]),
    ]
    for label, browser, path, forms, fresh, counting, who in runs:
        # A warm-up, as each page has: the first forms of a kind build what the process
        # keeps (the person's programme, the statements), which no later one pays again.
        # Sent from the end of the list, which wrk then leaves out.
        warm_up, forms = (forms, forms) if fresh else (forms[-WARM_UP:], forms[:-WARM_UP])
        for n, (form_path, body) in enumerate(warm_up[:WARM_UP]):
            form = dict(urllib.parse.parse_qsl(body))
            if fresh:
                form["form_token"] = f"bench-warm-{int(time.time())}-{n}"
            status, _location = browser.post(form_path, form)
            if status != 302:
                raise SystemExit(f"{form_path} (warm-up) answered {status}")
        before = count(database, counting, who)
        run, command = wrk(app, path, seconds, cookie=browser.cookie, workdir=workdir,
                           lua=writes_lua(forms, fresh_tokens=fresh))
        run.label, run.command = label, command
        run.saved = count(database, counting, who) - before
        if len(forms) > 1 and run.requests > len(forms):
            run.notes.append(f"only {len(forms):,} to send: the rest were refused")
        yield run


def table(result: dict) -> str:
    """The markdown table of one instance's runs."""
    bare = result["bare"]
    lines = ["| page or write | requests/s | share of bare Flask | p50 | p95 | SQL statements "
             "| errors | rows saved | load average |", "|---|---|---|---|---|---|---|---|---|",
             *(f"| {b.label} | {b.requests_per_s:,.0f} "
               f"| {b.requests_per_s / bare.requests_per_s:.2f} | {b.p50_ms:.1f} ms "
               f"| {b.p95_ms:.1f} ms |  | {b.errors} |  | {b.load_average:.1f} |"
               for b in (result["bare_first"], result["bare_last"]))]
    if result.get("minimal_write") is not None:
        m = result["minimal_write"]
        lines.append(f"| {m.label} | {m.requests_per_s:,.0f} "
                     f"| {m.requests_per_s / bare.requests_per_s:.2f} | {m.p50_ms:.1f} ms "
                     f"| {m.p95_ms:.1f} ms | 3 | {m.errors} | {m.saved:,} "
                     f"| {m.load_average:.1f} |")
    for run in result["runs"]:
        share = run.requests_per_s / bare.requests_per_s
        saved = "" if run.saved is None else f"{run.saved:,}"
        notes = "; ".join(run.notes)
        latency = (f"{run.p50_ms:.1f} ms | {run.p95_ms:.1f} ms" if run.requests else "— | —")
        lines.append(
            f"| {run.label} | {run.requests_per_s:,.0f} | {share:.2f} | {latency} "
            f"| {'' if run.statements is None else run.statements} "
            f"| {run.errors} | {saved}{' (' + notes + ')' if notes else ''} "
            f"| {run.load_average:.1f} |")
    if result.get("built_runs"):
        lines += ["", "The same pages built for every request (`APPRENTICE_PAGE_CACHE_MB=0`: "
                  "what a page costs the first time after a write):", "",
                  "| page | requests/s | share of bare Flask | p50 | p95 | SQL statements "
                  "| errors |", "|---|---|---|---|---|---|---|"]
        for run in result["built_runs"]:
            lines.append(
                f"| {run.label} | {run.requests_per_s:,.0f} "
                f"| {run.requests_per_s / bare.requests_per_s:.2f} | {run.p50_ms:.1f} ms "
                f"| {run.p95_ms:.1f} ms | {'' if run.statements is None else run.statements} "
                f"| {run.errors} |")
    warm = ", ".join(f"{m:.0f}" for m in result["rss_warm"])
    after = ", ".join(f"{m:.0f}" for m in result["rss_after"])
    lines.append("")
    lines.append("Load average: the machine's over the minute before the run ended (2 cores: "
                 "above 2, the run shared them with other work).")
    lines.append("")
    lines.append("Rows saved: what the database gained during the write run (a refused form "
                 "also answers 302; wrk's own count leaves out the requests still queued "
                 "when it stopped, which the server then answers).")
    lines.append("")
    lines.append(f"Resident memory per app worker (MiB): {warm} after the warm-up, {after} "
                 f"after the runs (bare Flask: "
                 f"{', '.join(f'{m:.0f}' for m in result['bare_rss'])}).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not Path(WRK).exists():
        raise SystemExit("wrk is missing: apt-get install wrk")
    log = args.instance / "gunicorn-bench.log"
    result = measure(args.instance, args.seconds, log)
    print(table(result))
    print(f"\nservers: {result['bare_server']} / {result['app_server']}")
    for run in [result["bare_first"], result["minimal_write"], *result["runs"],
                result["bare_last"]]:
        print(f"  {run.label}: {run.command}")
    print(f"built every time: {result['built_server']}")
    for run in result["built_runs"]:
        print(f"  {run.label}: {run.command}")
    if args.json:
        args.json.write_text(json.dumps(as_json(result), indent=1))


def from_json(data: dict) -> dict:
    """as_json's output with its runs as Run objects again."""
    out = dict(data)
    for name in ("bare", "bare_first", "bare_last"):
        out[name] = Run(**data[name])
    if data.get("minimal_write"):
        out["minimal_write"] = Run(**data["minimal_write"])
    out["runs"] = [Run(**run) for run in data["runs"]]
    out["built_runs"] = [Run(**run) for run in data.get("built_runs", [])]
    return out


def as_json(result: dict) -> dict:
    """The result with its runs as plain dicts."""
    from dataclasses import asdict

    out = dict(result)
    for name in ("bare", "bare_first", "bare_last"):
        out[name] = asdict(result[name])
    if result.get("minimal_write") is not None:
        out["minimal_write"] = asdict(result["minimal_write"])
    out["runs"] = [asdict(r) for r in result["runs"]]
    out["built_runs"] = [asdict(r) for r in result["built_runs"]]
    return out


if __name__ == "__main__":
    main()
