"""The app under gunicorn, driven from outside: an instance, the server, a web client.

- :class:`Instance`: an instance folder (and its PostgreSQL database, if any) set up with
  the real CLI; ``flask(...)`` runs a command against it, ``rows``/``scalar`` read the
  database through SQLAlchemy (for counts after a run, never to set anything up).
- :func:`log_problems`: what must never appear in the server's log.
- :class:`WebClient`: a person's browser, as far as the server can tell: cookies, the
  sign-in form, the CSRF token from ``<meta name="csrf-token">`` and a form's one-time
  token from its hidden ``form_token`` field. The standard library only (http.client).
"""

from __future__ import annotations

import http.client
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import Engine, create_engine, text

from tests.support.clients import CSRF_META
from tests.support.demo_accounts import PASSWORD
from tests.support.gunicorn import flask, run_flask
from tests.support.html import parse

# What never belongs in the server's log: a lock the app failed to wait for, an error
# page's traceback, a worker gunicorn had to kill for taking too long.
LOG_PROBLEMS = ("database is locked", "Traceback", "WORKER TIMEOUT", "Exception on ")


# -- the instance and its database ------------------------------------------------------

@dataclass
class Instance:
    """An instance folder; ``settings`` are the APPRENTICE_ settings every process gets
    (``APPRENTICE_DATABASE_URL`` on PostgreSQL; none on SQLite, the default file)."""

    folder: Path
    settings: dict[str, str] = field(default_factory=dict)
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def database_url(self) -> str:
        return self.settings.get("APPRENTICE_DATABASE_URL",
                                 f"sqlite:///{self.folder / 'apprentice.sqlite3'}")

    @property
    def kind(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"

    def flask(self, *args: str) -> str:
        """``flask apprentice ARGS``, which must succeed; its output."""
        return flask(self.folder, *args, settings=self.settings)

    def run_flask(self, *args: str) -> subprocess.CompletedProcess:
        """``flask apprentice ARGS`` whatever its outcome (``returncode``, ``stdout``, ...)."""
        return run_flask(self.folder, *args, settings=self.settings)

    def audit_verify(self) -> subprocess.CompletedProcess:
        return self.run_flask("audit-verify")

    def check_index(self) -> subprocess.CompletedProcess:
        return self.run_flask("check-index")

    def engine(self) -> Engine:
        """A plain SQLAlchemy engine on the database, for reading after a run."""
        if self._engine is None:
            self._engine = create_engine(self.database_url)
        return self._engine

    def rows(self, sql: str, **params) -> list:
        with self.engine().connect() as connection:
            return connection.execute(text(sql), params).all()

    def scalar(self, sql: str, **params):
        with self.engine().connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def log_problems(log: Path) -> list[str]:
    """The lines of the server's log that show something went wrong (LOG_PROBLEMS)."""
    text_ = log.read_text(errors="replace") if log.exists() else ""
    return [line for line in text_.splitlines() if any(p in line for p in LOG_PROBLEMS)]


# -- a browser, as far as the server can tell ----------------------------------------

@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    text: str
    seconds: float  # from sending the request to the end of the answer

    @property
    def location(self) -> str | None:
        """Where a redirect goes: a path on this site (host and port removed)."""
        target = self.headers.get("Location")
        if not target:
            return None
        parts = urlsplit(target)
        return parts.path + (f"?{parts.query}" if parts.query else "") + (
            f"#{parts.fragment}" if parts.fragment else "")

    @property
    def redirected(self) -> bool:
        return self.status in (301, 302, 303, 307, 308)

    @property
    def already_saved(self) -> bool:
        """The answer to a form sent again: nothing saved a second time."""
        return self.status == 200 and "This form was already saved" in self.text

    def csrf_token(self) -> str:
        match = CSRF_META.search(self.text)
        assert match, f"no csrf-token meta tag on the page ({self.status}):\n{self.text[:500]}"
        return match.group(1)

    def _form(self, action: str | None = None):
        """The page's form: among the POST forms sent to ``action`` (or to the page
        itself), the first with a one-time token, else the first."""
        forms = [f for f in parse(self.text).find_all("form")
                 if f.attrs.get("method", "get").lower() == "post"]
        if action is not None:
            forms = [f for f in forms if not f.attrs.get("action")
                     or f.attrs["action"].startswith(action)]
        forms = [f for f in forms if f.find_all("input", name="form_token")] or forms
        assert forms, f"no form on the page ({self.status}):\n{self.text[:500]}"
        return forms[0]

    @property
    def errors(self) -> list[str]:
        """The messages a refused form shows next to its fields and at its top."""
        return [e.text for e in parse(self.text).iter()
                if {"ap-error", "ap-error-summary"} & set(e.classes)]

    def form_data(self, action: str | None = None) -> list[tuple[str, str]]:
        """What a browser would send from the page's form as it is (no button): hidden
        and filled-in fields, ticked boxes and chosen options."""
        sent = []
        for element in self._form(action).iter():
            name = element.attrs.get("name")
            if not name or "disabled" in element.attrs:
                continue
            kind = element.attrs.get("type", "text").lower()
            if element.tag == "input" and kind in ("checkbox", "radio"):
                if "checked" in element.attrs:
                    sent.append((name, element.attrs.get("value", "on")))
            elif element.tag == "input" and kind not in ("submit", "button", "image", "file"):
                sent.append((name, element.attrs.get("value", "")))
            elif element.tag == "textarea":
                sent.append((name, element._raw_text().removeprefix("\n")))
            elif element.tag == "select":
                options = element.find_all("option")
                chosen = [o for o in options if "selected" in o.attrs] or options[:1]
                sent.extend((name, o.attrs.get("value", o.text)) for o in chosen)
        return sent

    def choices(self, name: str, action: str | None = None) -> list[tuple[str, str]]:
        """The values a field offers (select options, checkboxes, radios) with labels."""
        form = self._form(action)
        found = []
        for select in form.find_all("select", name=name):
            found += [(o.attrs.get("value", ""), o.text)
                      for o in select.find_all("option")]
        labels = {label.attrs.get("for"): label.text
                  for label in form.find_all("label")}
        found += [(i.attrs.get("value", "on"), labels.get(i.attrs.get("id"), ""))
                  for i in form.find_all("input", name=name)
                  if i.attrs.get("type") in ("checkbox", "radio")]
        return found


Fields = dict[str, str | int | list] | list[tuple[str, str | int]]


def fill(form: list[tuple[str, str]], fields: Fields) -> list[tuple[str, str]]:
    """A form's data with ``fields`` in place of what it held under those names."""
    pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
    replaced = {name for name, _ in pairs}
    return [(k, v) for k, v in form if k not in replaced] + pairs


class WebClient:
    """One person's browser: cookies kept, redirects not followed (``follow`` does)."""

    def __init__(self, base_url: str, timeout: float = 120):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.email: str | None = None
        # Every (method, path, response) this client saw, when a list is given.
        self.history: list[tuple[str, str, Response]] | None = None

    def clone(self, history: list | None = None) -> WebClient:
        """Another tab of this browser with its own copy of the cookies (so threads
        do not share one cookie jar); signed in as the same person."""
        other = WebClient(f"http://{self.host}:{self.port}", self.timeout)
        other.cookies = dict(self.cookies)
        other.email = self.email
        other.history = history
        return other

    def request(self, method: str, path: str, fields: Fields | None = None) -> Response:
        headers = {"Accept": "text/html"}
        body = None
        if fields is not None:
            body = urlencode(fields, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            content = answer.read()
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        self._keep_cookies(answer.headers.get_all("Set-Cookie") or [])
        response = Response(answer.status, answer.headers,
                            content.decode("utf-8", errors="replace"), seconds)
        if self.history is not None:
            self.history.append((method, path, response))
        return response

    def _keep_cookies(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel["expires"].endswith(" 1970 00:00:00 GMT") \
                        or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.coded_value

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, fields: Fields) -> Response:
        return self.request("POST", path, fields)

    def follow(self, response: Response) -> Response:
        """The page a redirect leads to, as a browser would open it (and its messages)."""
        assert response.redirected, f"not a redirect: {response.status}"
        return self.get(response.location)

    def form(self, path: str, action: str | None = None) -> list[tuple[str, str]]:
        """Open a form page: what its form would send as it is (the one-time
        ``form_token`` among it) and ``csrf_token`` from the page's meta tag."""
        page = self.get(path)
        assert page.status == 200, f"GET {path}: {page.status}\n{page.text[:500]}"
        return [*[(k, v) for k, v in page.form_data(action) if k != "csrf_token"],
                ("csrf_token", page.csrf_token())]

    def submit(self, path: str, fields: Fields, form_path: str | None = None) -> Response:
        """Open the form at ``form_path`` (default ``path``) and send it with ``fields``
        in place of what the form held under those names."""
        return self.post(path, fill(self.form(form_path or path, action=path.split("?")[0]),
                                    fields))

    def sign_in(self, email: str, password: str = PASSWORD) -> WebClient:
        """Through the sign-in form, as a person would; returns this client."""
        answer = self.submit("/sign-in", {"email": email, "password": password})
        assert answer.redirected and "/sign-in" not in (answer.location or ""), (
            f"{email} could not sign in: {answer.status}\n{answer.text[:1000]}")
        self.email = email
        landing = self.follow(answer)  # as a browser would: the CSRF token is made there
        assert landing.status == 200, f"{email} landed on {landing.status}"
        return self


def at_once(*calls):
    """Run the callables in threads released together (two clicks at the same moment);
    what each returned, in order."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(60)
            results[index] = calls[index]()
        except BaseException as exc:  # re-raised below, in the caller's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    if failures:
        raise failures[0]
    return results
