"""Several app servers on one PostgreSQL database (issue 13, point 3): two gunicorn
servers, each with its own instance folder and search index, sharing the database, the
secret key and the issuer's key folder (tests/support/cluster.py):

- a sign-in on one server holds on the other, forms included;
- an edit saved on one server is found by search on the other within seconds (each
  server applies the database's change log to its own replica on a timer);
- 1,000 procedure edits spread over both servers by four browsers leave both replicas
  equal to the database (``check-index`` on each exits 0), and every edit acknowledged
  is stored once;
- a server killed (SIGKILL) in the middle of writes loses no acknowledged edit, and once
  restarted its replica catches up with everything saved meanwhile on the other.

Needs PostgreSQL (APPRENTICE_TEST_POSTGRES_URL; a failure under CI=true); runs in the
PostgreSQL pass of ``make test`` only. About 2-3 minutes on a 2-core machine.
"""

from __future__ import annotations

import itertools
import random
import string
import threading
import time

import pytest

from tests.conftest import PostgresDatabases, postgres_server
from tests.reliability.harness import WebClient, log_problems
from tests.support.cluster import (
    Cluster,
    Editor,
    Edits,
    demo_database,
    procedure_ids,
    stored_markers,
)
from tests.support.demo_accounts import COORDINATOR

pytestmark = pytest.mark.multiserver

EDITS = 1_000
BROWSERS = 4
# Bounds that turn a hang into a failure (none is a speed target).
FOUND_WITHIN = 30
AGREES_WITHIN = 60
EDITS_WITHIN = 900


@pytest.fixture(scope="module")
def databases():
    databases = PostgresDatabases(postgres_server())
    yield databases
    databases.admin.dispose()


@pytest.fixture(scope="module")
def demo(databases, tmp_path_factory):
    """The demo, migrated and loaded with the CLI once for this module (a template)."""
    name = demo_database(databases, tmp_path_factory.mktemp("multiserver") / "template")
    yield name
    databases.drop(name)


def make_cluster(databases, demo, root) -> Cluster:
    """Two servers, ``a`` and ``b``, on a fresh copy of the demo database."""
    copy = databases.create(template=demo)
    # The timer at its default (APPRENTICE_INDEX_SYNC_SECONDS unset), as a site runs it.
    cluster = Cluster(root, databases.url(copy), database_name=copy)
    for name in ("a", "b"):
        cluster.add_server(name)
        cluster.start(name)
    return cluster


@pytest.fixture(scope="module")
def cluster(databases, demo, tmp_path_factory):
    """Two servers for the tests that only add to the data (each edits its own words)."""
    made = make_cluster(databases, demo, tmp_path_factory.mktemp("cluster"))
    yield made
    made.stop()
    databases.drop(made.database_name)


@pytest.fixture
def fresh_cluster(databases, demo, tmp_path):
    """Two servers of a test's own (one of them is killed)."""
    made = make_cluster(databases, demo, tmp_path)
    yield made
    made.stop()
    databases.drop(made.database_name)


def unique_word() -> str:
    """A word no procedure holds (letters only, as a person would search)."""
    return "zyx" + "".join(random.choices(string.ascii_lowercase, k=10))  # noqa: S311


def end_of_log(cluster: Cluster, name: str) -> str:
    return (cluster.root / f"gunicorn-{name}.log").read_text(errors="replace")[-3000:]


# -- sessions -----------------------------------------------------------------------------

def test_a_sign_in_on_one_server_is_valid_on_the_other(cluster):
    a, b = cluster.servers["a"], cluster.servers["b"]
    browser = WebClient(a.url).sign_in(COORDINATOR)
    on_b = WebClient(b.url)
    on_b.cookies = browser.cookies
    home = on_b.get("/")
    assert home.status == 200 and "Carmen Ortiz" in home.text, home.text[:500]
    # A stranger's browser on B (no cookie) is sent to sign in: B does check.
    assert WebClient(b.url).get("/").location.startswith("/sign-in")


# -- search on every server ------------------------------------------------------------------

@pytest.mark.parametrize(("saved_on", "searched_on"), [
    pytest.param("a", "b", id="a-to-b"),
    pytest.param("b", "a", id="b-to-a"),
])
def test_an_edit_on_one_server_is_found_by_search_on_the_other(cluster, saved_on, searched_on):
    saved, searched = cluster.servers[saved_on], cluster.servers[searched_on]
    editor = Editor(saved.url, COORDINATOR)
    procedure = procedure_ids(cluster)[0 if saved_on == "a" else 1]
    word, edits = unique_word(), Edits()
    assert editor.found(searched, word) == []  # nobody wrote it yet
    editor.edit(procedure, f"probe-{word}", edits, form_from=saved, send_to=saved, words=word)
    assert edits.acknowledged() == {f"probe-{word}"}, edits.failures
    deadline = time.monotonic() + FOUND_WITHIN
    while (found := editor.found(searched, word)) != [procedure]:
        assert time.monotonic() < deadline, (
            f"server {searched_on} did not find {word!r} within {FOUND_WITHIN} s of the "
            f"edit on {saved_on} (found {found}; {saved_on} finds "
            f"{editor.found(saved, word)}):\n{end_of_log(cluster, searched_on)}")
        time.sleep(0.2)


# -- many edits over both servers ------------------------------------------------------------

def edit_in_turn(editor: Editor, procedures: list[int], servers: list, tag: str, count: int,
                 edits: Edits) -> None:
    """``count`` edits of this browser's own procedures (no two browsers edit one, so no
    edit meets a conflict), each form opened on one server and saved on the next."""
    turns = itertools.cycle(servers)
    for number in range(count):
        editor.edit(procedures[number % len(procedures)], f"{tag}-{number}", edits,
                    form_from=next(turns), send_to=next(turns))


def run_browsers(targets: list) -> None:
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(EDITS_WITHIN)
    assert not any(thread.is_alive() for thread in threads), "the editors hung"


def test_a_thousand_edits_over_both_servers_leave_both_replicas_equal_to_the_database(
        cluster):
    servers = [cluster.servers["a"], cluster.servers["b"]]
    procedures = procedure_ids(cluster)[2:]  # the first two are the search tests'
    editors = [Editor(servers[n % 2].url, COORDINATOR) for n in range(BROWSERS)]
    edits = Edits()
    run_browsers([
        lambda n=n: edit_in_turn(editors[n], procedures[n::BROWSERS], servers, f"many{n}",
                                 EDITS // BROWSERS, edits)
        for n in range(BROWSERS)])

    assert edits.failures == []
    acknowledged = edits.acknowledged()
    assert len(acknowledged) == EDITS  # both servers up: every edit answered and saved
    assert stored_markers(cluster, prefix="many") == dict.fromkeys(acknowledged, 1)
    for name in ("a", "b"):
        agrees, report = cluster.wait_until_index_agrees(name, AGREES_WITHIN)
        assert agrees, f"server {name}'s replica:\n{report}\n{end_of_log(cluster, name)}"
        assert log_problems(cluster.root / f"gunicorn-{name}.log") == []


# -- a server killed in the middle of writes -------------------------------------------------

def test_a_server_killed_mid_write_loses_nothing_and_catches_up_on_restart(fresh_cluster):
    cluster = fresh_cluster
    a, b = cluster.servers["a"], cluster.servers["b"]
    procedures = procedure_ids(cluster)
    editors = [Editor((a, b)[n % 2].url, COORDINATOR) for n in range(BROWSERS)]
    edits, stop = Edits(), threading.Event()

    def keep_editing(n: int) -> None:
        """Browsers 0 and 2 save on A, 1 and 3 on B (down after the crash: unknown)."""
        server = (a, b)[n % 2]
        for number in itertools.count():
            if stop.is_set():
                return
            editors[n].edit(procedures[n::BROWSERS][number % (len(procedures) // BROWSERS)],
                            f"kill{n}-{number}", edits, form_from=server, send_to=server)
            if edits.outcome.get(f"kill{n}-{number}") == "unknown":
                time.sleep(0.2)  # B is down: try again in a moment

    def acknowledged_on(server: str) -> int:
        wanted = {"a": ("kill0-", "kill2-"), "b": ("kill1-", "kill3-")}[server]
        return sum(marker.startswith(wanted) for marker in edits.acknowledged())

    def wait_for(condition, what: str) -> None:
        deadline = time.monotonic() + EDITS_WITHIN
        while not condition():
            assert time.monotonic() < deadline, f"{what} did not happen: {edits.failures}"
            time.sleep(0.05)

    threads = [threading.Thread(target=keep_editing, args=(n,)) for n in range(BROWSERS)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: acknowledged_on("b") >= 20, "20 edits saved on B")
        cluster.crash("b")  # in the middle of B's browsers' saves
        on_a_at_crash = acknowledged_on("a")
        wait_for(lambda: acknowledged_on("a") >= on_a_at_crash + 20,
                 "20 more edits saved on A while B is down")
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    # Nothing lost: every acknowledged edit is in the database, once.
    acknowledged = edits.acknowledged()
    stored = stored_markers(cluster, prefix="kill")
    assert {marker for marker in acknowledged if stored.get(marker) != 1} == set()
    assert all(count == 1 for count in stored.values())
    assert edits.failures == []
    # B, restarted on its folder, brings its replica up to date by itself: the edits A
    # saved while it was down, and any of its own cut short between commit and index.
    cluster.start("b")
    for name in ("b", "a"):
        agrees, report = cluster.wait_until_index_agrees(name, AGREES_WITHIN)
        assert agrees, f"server {name}'s replica:\n{report}\n{end_of_log(cluster, name)}"
    assert log_problems(cluster.root / "gunicorn-a.log") == []
    word = unique_word()
    editor = Editor(a.url, COORDINATOR)
    editor.edit(procedures[0], f"after-{word}", edits, form_from=a, send_to=a, words=word)
    deadline = time.monotonic() + FOUND_WITHIN
    while editor.found(cluster.servers["b"], word) != [procedures[0]]:
        assert time.monotonic() < deadline, "the restarted server stopped following A"
        time.sleep(0.2)
