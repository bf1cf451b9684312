"""Browser journeys: Debian's Chromium, driven by Playwright, against the app under gunicorn.

Fixtures:

- ``server``: the base URL of gunicorn (2 workers) on 127.0.0.1, serving a fresh copy of
  a demo instance (migrated and loaded once per run), so every test starts from the demo.
- ``browser``: Chromium, started once per run.
- ``width`` (``phone`` 390 by 844, ``desktop`` 1280 by 800): a test asking for ``page`` runs
  at both; ``page_at(width)`` opens another page (another person) at a width.
- ``sign_in(page, email)``: through the sign-in form, as a person would.
- ``check_axe(page)``: axe-core on the whole page; every violation, of any impact, fails
  the test at its end (after its own steps), listed with rule, impact, targets and help.

On failure each open page is saved as a full-page screenshot in ``tests/browser/
screenshots/`` (or ``$APPRENTICE_SCREENSHOTS``), named after the test, and the end of
the server's log is shown. Without Chromium, Playwright or ``node_modules/axe-core`` the
tests skip with the reason; in CI (``CI=true``) that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import needs_service
from tests.support.demo_accounts import PASSWORD
from tests.support.gunicorn import ROOT, Gunicorn, flask

CHROMIUM = Path(os.environ.get("APPRENTICE_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("APPRENTICE_SCREENSHOTS",
                                  ROOT / "tests" / "browser" / "screenshots"))
WIDTHS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
# As root, in a closed network: no sandbox, and none of Chromium's own calls home.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


# -- the app under gunicorn ------------------------------------------------------------

@pytest.fixture(scope="session")
def demo_instance(tmp_path_factory) -> Path:
    """An instance folder (database, search index, secret key) with the demo loaded, once."""
    instance = tmp_path_factory.mktemp("browser") / "demo-instance"
    instance.mkdir()
    flask(instance, "db", "upgrade")
    flask(instance, "demo")
    return instance


@pytest.fixture
def server(request, demo_instance, tmp_path) -> str:
    """The base URL of gunicorn serving a fresh copy of the demo instance."""
    instance = tmp_path / "instance"
    shutil.copytree(demo_instance, instance)
    log = tmp_path / "gunicorn.log"
    request.node.apprentice_server_log = log
    served = Gunicorn(instance, log, workers=2)
    try:
        yield served.url
    finally:
        served.stop()


# -- Chromium ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium (Playwright cannot download a browser here)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        needs_service("Playwright is not installed: .venv/bin/pip install -e '.[test]'")
    if not CHROMIUM.exists():
        needs_service(f"Chromium not found at {CHROMIUM}: apt-get install chromium "
                      "(or set APPRENTICE_CHROMIUM)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Pages:
    """The pages a test opened (one browser context each, so each is its own person)."""

    def __init__(self, browser, base_url: str):
        self.browser, self.base_url = browser, base_url
        self.opened = []
        self.dialogs: list[str] = []
        self.script_errors: list[str] = []
        self.csp_violations: list[str] = []

    def open(self, width: str):
        context = self.browser.new_context(
            base_url=self.base_url, locale="en-GB", timezone_id="UTC", **WIDTHS[width])
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.apprentice_width = width
        # Any dialog is noted and dismissed: the app itself never opens one.
        page.on("dialog", lambda dialog: (self.dialogs.append(
            f"{dialog.type}: {dialog.message}"), dialog.dismiss()))
        page.on("pageerror", lambda error: self.script_errors.append(f"{page.url}: {error}"))
        # Anything the Content-Security-Policy refused (an inline style or script the
        # app came to need) is reported in the console; it fails the test (``pages``).
        page.on("console", lambda message: self.csp_violations.append(
            f"{page.url}: {message.text}") if "Content Security Policy" in message.text
            else None)
        self.opened.append(page)
        return page

    def close(self):
        for page in self.opened:
            page.context.close()


@pytest.fixture
def pages(request, browser, server):
    opened = Pages(browser, server)
    request.node.apprentice_pages = opened
    yield opened
    opened.close()
    assert opened.csp_violations == [], "the Content-Security-Policy refused:\n" + "\n".join(
        opened.csp_violations)


@pytest.fixture(params=list(WIDTHS))
def width(request) -> str:
    return request.param


@pytest.fixture
def page_at(pages):
    """``page_at("phone")`` or ``page_at("desktop")``: a new page, signed out."""
    return pages.open


@pytest.fixture
def page(page_at, width):
    return page_at(width)


@pytest.fixture
def sign_in():
    """Sign in through the form; returns the page, on the page the app went to."""

    def sign_in(page, email: str, password: str = PASSWORD):
        page.goto("/sign-in")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        assert "/sign-in" not in page.url, f"{email} could not sign in:\n" + page.locator(
            "main").inner_text()
        return page

    return sign_in


# -- axe-core -------------------------------------------------------------------------------

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    targets: v.nodes.map(n => n.target.join(" ")),
  }));
}"""


class Axe:
    """axe-core on each page checked; the violations fail the test at its end."""

    def __init__(self, node):
        self.node = node
        self.checked: list[str] = []
        self.violations: list[str] = []

    def __call__(self, page) -> list[dict]:
        page.wait_for_load_state()
        if not page.evaluate("() => typeof window.axe === 'object'"):
            # Evaluated, not added as a <script>: the app's Content-Security-Policy
            # refuses inline scripts, and evaluation from the test is exempt from it.
            page.evaluate(AXE.read_text() + "\n;undefined")
        found = page.evaluate(AXE_RUN)
        where = f"{page.url} ({page.apprentice_width})"
        self.checked.append(where)
        if found:
            shot = _screenshot(page, self.node, f"axe-{len(self.violations) + 1}")
            lines = [f"{where}: {len(found)} axe violation(s); screenshot {shot}"]
            for v in found:
                lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
                lines.extend(f"      at {target}" for target in v["targets"])
            self.violations.append("\n".join(lines))
        return found

    def report(self) -> str:
        return ("axe-core found violations (any impact fails):\n"
                + "\n".join(self.violations))


@pytest.fixture
def check_axe(request):
    if not AXE.exists():
        needs_service(f"axe-core is not installed ({AXE.relative_to(ROOT)}): run "
                      "`npm ci` (make test does)")
    axe = Axe(request.node)
    request.node.apprentice_axe = axe
    return axe


# -- failure reports: axe at the end of the test, screenshots, the server's log ------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail a test whose pages had axe violations once its own steps are done."""
    try:
        result = yield
    except BaseException:
        axe = getattr(item, "apprentice_axe", None)
        if axe is not None and axe.violations:
            item.add_report_section("call", "axe", axe.report())
        raise
    axe = getattr(item, "apprentice_axe", None)
    if axe is not None and axe.violations:
        raise pytest.fail.Exception(axe.report(), pytrace=False)
    return result


def _screenshot(page, node, suffix: str = "") -> Path:
    name = re.sub(r"[^\w.\[\]-]+", "_", node.nodeid.split("tests/browser/")[-1])
    path = SCREENSHOTS / (f"{name}-{suffix}.png" if suffix else f"{name}.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and report.when == "call":
        pages = getattr(item, "apprentice_pages", None)
        saved = []
        for number, page in enumerate(pages.opened if pages else [], start=1):
            if page.is_closed():
                continue
            try:
                saved.append(f"{_screenshot(page, item, str(number))}  ({page.url})")
            except Exception as exc:  # a failed screenshot must not hide the failure
                saved.append(f"page {number}: no screenshot ({exc})")
        if saved:
            report.sections.append(("screenshots of the pages at failure", "\n".join(saved)))
        if pages and (pages.script_errors or pages.dialogs):
            report.sections.append(("script errors and dialogs",
                                    "\n".join(pages.script_errors + pages.dialogs)))
        log = getattr(item, "apprentice_server_log", None)
        if log is not None and log.exists():
            report.sections.append(("end of the server's log", log.read_text()[-4000:]))
    return report
