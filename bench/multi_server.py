"""Two app servers on one PostgreSQL database: edit throughput, and how long an edit
saved on one server takes to be found by search on the other.

The set-up of tests/test_multi_server.py (tests/support/cluster.py): the demo, loaded
once with the CLI into a PostgreSQL database; two gunicorn servers (``--workers`` each),
each with its own instance folder and search index, sharing the database, the secret key
and the issuer's key folder. Then:

1. ``--edits`` procedure edits by ``--browsers`` coordinators' browsers at once, each
   edit's form opened on one server and saved on the other (a load balancer's doing; a
   browser saving a procedure again sends its last form with the next revision number,
   as tests/support/cluster.py's Editor does): edits per second, and p50/p95 of one
   edit as the browser waits for it;
2. how long after the burst both replicas agree with the database (``check-index`` on
   each, polled every second);
3. ``--probes`` edits one at a time, alternately on A and on B, each with a new word,
   and the other server's search API asked every 50 ms until it finds the procedure:
   p50/p95/max of the delay from the saving server's answer to the other's first hit.

The servers apply the change log on their timer (APPRENTICE_INDEX_SYNC_SECONDS; its
default unless ``--sync-seconds`` is given), so delay 3 is about half that interval
plus the time to apply.

    eval "$(scripts/postgres-for-tests.sh start /tmp/apprentice-pg)"
    .venv/bin/python bench/multi_server.py [--edits 1000] [--browsers 4] [--probes 40]
        [--workers 2] [--sync-seconds N]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import string
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apprentice.kb.applier import SYNC_SECONDS  # noqa: E402
from tests.conftest import PostgresDatabases  # noqa: E402
from tests.support.cluster import (  # noqa: E402
    Cluster,
    Editor,
    Edits,
    demo_database,
    procedure_ids,
)
from tests.support.demo_accounts import COORDINATOR  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_speed import percentile  # noqa: E402  (milliseconds)


def burst(cluster: Cluster, edits_wanted: int, browsers: int) -> tuple[Edits, float]:
    """``edits_wanted`` edits by ``browsers`` browsers, forms opened on one server and
    saved on the other; the edits and the seconds the burst took."""
    servers = [cluster.servers["a"], cluster.servers["b"]]
    procedures = procedure_ids(cluster)
    editors = [Editor(servers[n % 2].url, COORDINATOR) for n in range(browsers)]
    edits = Edits()

    def run(n: int) -> None:
        own = procedures[n::browsers]
        turns = itertools.cycle(servers)
        for number in range(edits_wanted // browsers):
            editors[n].edit(own[number % len(own)], f"bench{n}-{number}", edits,
                            form_from=next(turns), send_to=next(turns))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(browsers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return edits, time.perf_counter() - started


def until_both_agree(cluster: Cluster, within: float = 600) -> dict[str, float | None]:
    """Seconds until check-index exits 0 on each server (None: not within ``within``)."""
    started = time.perf_counter()
    agreed: dict[str, float | None] = {}
    for name in ("a", "b"):
        ok, _report = cluster.wait_until_index_agrees(name, within)
        agreed[name] = time.perf_counter() - started if ok else None
    return agreed


def propagation(cluster: Cluster, probes: int, give_up: float = 60) -> tuple[list[float], int]:
    """Seconds from an edit's answer on one server to the other server's search finding
    it, for ``probes`` edits one at a time; and how many were never found."""
    servers = [cluster.servers["a"], cluster.servers["b"]]
    editor = Editor(servers[0].url, COORDINATOR)
    procedure = procedure_ids(cluster)[0]
    delays, missed = [], 0
    for number in range(probes):
        saved, searched = servers[number % 2], servers[1 - number % 2]
        word = "zyx" + "".join(random.choices(string.ascii_lowercase, k=10))  # noqa: S311
        edits = Edits()
        editor.edit(procedure, f"probe-{number}", edits, form_from=saved, send_to=saved,
                    words=word)
        if not edits.acknowledged():
            raise SystemExit(f"probe edit {number} was not saved: {edits.failures}")
        answered = time.perf_counter()
        while procedure not in editor.found(searched, word):
            if time.perf_counter() - answered > give_up:
                missed += 1
                break
            time.sleep(0.05)
        else:
            delays.append(time.perf_counter() - answered)
    return delays, missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=1000)
    parser.add_argument("--browsers", type=int, default=4)
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--sync-seconds", default=None,
                        help="APPRENTICE_INDEX_SYNC_SECONDS for both servers (default: "
                             "the app's default)")
    args = parser.parse_args()
    server_url = os.environ.get("APPRENTICE_TEST_POSTGRES_URL")
    if not server_url:
        raise SystemExit("Needs PostgreSQL: eval \"$(scripts/postgres-for-tests.sh start "
                         "/tmp/apprentice-pg)\" sets APPRENTICE_TEST_POSTGRES_URL.")
    extra = {} if args.sync_seconds is None else {
        "APPRENTICE_INDEX_SYNC_SECONDS": str(args.sync_seconds)}
    databases = PostgresDatabases(server_url)
    with tempfile.TemporaryDirectory(prefix="apprentice-multiserver-") as folder:
        root = Path(folder)
        name = demo_database(databases, root / "template")
        cluster = Cluster(root, databases.url(name), workers=args.workers, extra=extra)
        try:
            for server in ("a", "b"):
                cluster.add_server(server)
                cluster.start(server)
            edits, seconds = burst(cluster, args.edits, args.browsers)
            agreed = until_both_agree(cluster)
            delays, missed = propagation(cluster, args.probes)
        finally:
            cluster.stop()
            databases.drop(name)
            databases.admin.dispose()
    saved = len(edits.acknowledged())
    interval = args.sync_seconds or f"{SYNC_SECONDS} (the default)"
    print(f"two servers x {args.workers} gunicorn workers, one PostgreSQL; "
          f"sync interval: {interval} s; {os.cpu_count()} cores\n")
    print("| figure | value |\n|---|---|")
    print(f"| edits saved / sent | {saved} / {len(edits.outcome)} "
          f"({len(edits.failures)} refused) |")
    print(f"| edits per second ({args.browsers} browsers, both servers) | "
          f"{saved / seconds:.1f} |")
    if edits.seconds:
        print(f"| one edit as a browser waits for it, p50 / p95 | "
              f"{percentile(edits.seconds, 0.5):.0f} ms / "
              f"{percentile(edits.seconds, 0.95):.0f} ms |")
    print("| both replicas agree after the burst (check-index 0) | "
          + ", ".join(f"{server}: {'never' if t is None else f'{t:.1f} s'}"
                      for server, t in agreed.items()) + " |")
    if delays:
        print(f"| edit on one server found on the other, p50 / p95 / max "
              f"({len(delays)} probes) | {percentile(delays, 0.5) / 1000:.2f} s / "
              f"{percentile(delays, 0.95) / 1000:.2f} s / {max(delays):.2f} s "
              f"(mean {statistics.mean(delays):.2f} s) |")
    if missed:
        print(f"| probes never found on the other server (60 s) | {missed} |")


if __name__ == "__main__":
    main()
