"""``make bench``: generate each size, load it, time the search, write docs/benchmarks.md.

For each size asked: bench/generate.py into a fresh folder, then bench/load.py on it.
Then bench/search_speed.py at 1,000 and 10,000 procedures. docs/benchmarks.md gets the
tables, the machine, the date, the targets of issue 13 side by side with the figures,
and the command behind each figure.

    .venv/bin/python bench/report.py [--sizes demo 500] [--seconds 5]
        [--search-sizes 1000 10000] [--output docs/benchmarks.md]

A size is ``demo`` (the demo alone), ``N`` (N apprentices and 1,000 procedures; 10,000
from 5,000 apprentices up) or ``N:P`` (P procedures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import load  # noqa: E402

# Issue 13's targets, as shares of bare Flask's requests/s in the same run.
READ_SHARE, SEARCH_API_SHARE, WRITE_SHARE = 0.20, 0.25, 0.10
KEEP_AT_SIZE, P95_MS, RSS_MIB = 2 / 3, 50, 150


def size_of(text: str) -> tuple[str, int, int]:
    """(label, apprentices, procedures) for a size given on the command line."""
    if text == "demo":
        return "demo", 0, 0
    apprentices, _, procedures = text.partition(":")
    n = int(apprentices)
    p = int(procedures) if procedures else (10_000 if n >= 5000 else 1000)
    return f"{n:,} apprentices, {p:,} procedures", n, p


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    memory = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                   .splitlines() if line.startswith("MemTotal")), 0)
    return (f"{os.cpu_count()} cores (`nproc`: {len(os.sched_getaffinity(0))}), {cpu}, "
            f"{memory / 1024 / 1024:.0f} GB; Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {wrk_version()}; load average before the "
            f"run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def wrk_version() -> str:
    done = subprocess.run([load.WRK, "--version"], capture_output=True, text=True,  # noqa: S603
                          check=False)
    return (done.stdout or done.stderr).split(" Copyright")[0].strip()


def argon2_ms() -> float:
    """Milliseconds to check one password as the sign-off form does (median of 5)."""
    from apprentice.auth.passwords import hash_password, verify_password

    stored = hash_password("bench-password-1")
    times = []
    for _ in range(5):
        started = time.perf_counter()
        verify_password(stored, "bench-password-1")
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[2]


def targets(results: list[tuple[str, dict]]) -> list[str]:
    """Each of issue 13's targets, met or not, from these runs."""
    lines = []
    by_label = dict(results)
    demo = by_label.get("demo")
    for label, result in results:
        bare = result["bare"].requests_per_s
        for run in result["runs"]:
            share = run.requests_per_s / bare
            goal = (WRITE_SHARE if run.label.startswith("write") else
                    SEARCH_API_SHARE if "/api/search" in run.label else READ_SHARE)
            if label == "demo":
                lines.append(f"| demo | {run.label} | share of bare Flask ≥ {goal:.2f} "
                             f"| {share:.3f} | {'yes' if share >= goal else '**no**'} |")
            elif not run.label.startswith("write"):
                met = run.requests and run.p95_ms < P95_MS
                p95 = f"{run.p95_ms:.0f} ms" if run.requests else "no answer within the run"
                lines.append(f"| {label} | {run.label} | p95 < {P95_MS} ms | {p95} "
                             f"| {'yes' if met else '**no**'} |")
                if demo is not None:
                    then = next(r for r in demo["runs"] if r.label == run.label)
                    kept = run.requests_per_s / then.requests_per_s
                    lines.append(f"| {label} | {run.label} | ≥ 2/3 of its demo-size "
                                 f"requests/s | {kept:.2f} "
                                 f"| {'yes' if kept >= KEEP_AT_SIZE else '**no**'} |")
        worst = max(result["rss_warm"] + result["rss_after"])
        lines.append(f"| {label} | resident memory per worker | < {RSS_MIB} MB | "
                     f"{worst:.0f} MiB | {'yes' if worst < RSS_MIB else '**no**'} |")
    return lines


def captured(title: str, about: str, command: list[str]) -> list[str]:
    """A section made of what a bench script prints (its own table or lines) and the
    command that printed it, run here exactly as written."""
    print(f"== {title}", flush=True)
    done = subprocess.run([sys.executable, *command], capture_output=True, text=True,  # noqa: S603
                          cwd=ROOT)
    if done.returncode:
        body = f"It failed (exit {done.returncode}):\n\n    " + "\n    ".join(
            (done.stderr or done.stdout).strip().splitlines()[-5:])
    else:
        lines = done.stdout.strip().splitlines()
        body = "\n".join(lines if lines and lines[-1].startswith("|") else
                         ["    " + line for line in lines])
    return [f"## {title}", "", about, "", body, "", "Command:", "",
            "    " + " ".join([".venv/bin/python", *command]), ""]


def extra_sections() -> list[str]:
    """Saving a procedure (every server's index after its own saves), and two servers on
    one PostgreSQL when one is given (APPRENTICE_TEST_POSTGRES_URL, as for the tests)."""
    parts = captured(
        "Saving a procedure",
        "In-process, the demo's 41 procedures, the index applier on as in a server (it "
        "merges segments in the background): each save's time (the revision, the change "
        "log and this server's index), then a search, to show saves leave no pile of "
        "segments behind.",
        ["bench/save_speed.py", "--saves", "100", "--searches", "100", "--timer", "2"])
    if os.environ.get("APPRENTICE_TEST_POSTGRES_URL"):
        parts += captured(
            "Several servers, one PostgreSQL",
            "Two gunicorn servers (2 workers each, own instance folder and index) on one "
            "database; four browsers edit procedures, each form opened on one server and "
            "saved on the other; then how long an edit on one takes to be found by search "
            "on the other.",
            ["bench/multi_server.py", "--edits", "200", "--probes", "20"])
    else:
        parts += ["## Several servers, one PostgreSQL", "",
                  "Not run: no PostgreSQL given. `eval \"$(scripts/postgres-for-tests.sh "
                  "start /tmp/apprentice-pg)\"` first, then `make bench`, or "
                  "`.venv/bin/python bench/multi_server.py --edits 200 --probes 20`.", ""]
    return parts


def document(results, search_table: str | None, commands: dict, started: float,
             extra: list[str] = ()) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/report.py); every figure below comes from the run "
        f"of {when}, {time.monotonic() - started:.0f} s in all. The scripts and what they "
        "measure: bench/README.md and each script's docstring.",
        "",
        f"Machine: {machine()}.",
        "",
        "Shares are requests/s divided by the bare Flask endpoint's in the same run (same "
        "gunicorn, 2 sync workers, same wrk options; the mean of its first and last run). "
        "Other work on the machine moves every figure (the load average column says how "
        "busy it was); the shares move less, but only a quiet machine gives the app's own.",
        "",
    ]
    for label, result in results:
        facts = result["facts"]
        written = (", ".join(f"{v:,} {k}" for k, v in facts["written"].items() if v)
                   or "the demo as `flask apprentice demo` makes it")
        parts += [
            f"## Load: {label}",
            "",
            f"Generated in {commands[label]['seconds']:.0f} s ({written}; {facts['procedures']:,} "
            "procedures).",
            "",
            load.table(result),
            "",
            "Commands:",
            "",
            f"    {commands[label]['generate']}",
            f"    {commands[label]['load']}",
            "",
            f"Servers: `{result['bare_server']}` and `{result['app_server']}` (port chosen "
            "free). Each run, `<session cookie>` standing for the signed-in person's cookie "
            "and the script for the one load.py writes (the figures' Lua `done`, the "
            "writes' request bodies):",
            "",
            *(f"- {run.label}: `{run.command}`"
              for run in [result["bare_first"], *filter(None, [result.get("minimal_write")]),
                          *result["runs"], result["bare_last"]]),
            "",
            f"Built every time: `{result['built_server']}`, each page's run as above.",
            "",
        ]
    parts += ["A sign-off confirms who the mentor is: within `APPRENTICE_CONFIRM_MINUTES` "
              "(10) of typing their password (the bench's mentor signed in just before, and wrk "
              "sends the cookie as that same browser) nothing more is asked, as measured; "
              "after that the password is typed again and checked "
              f"with argon2 (OWASP's parameters): {argon2_ms():.0f} ms of CPU on this "
              "machine, by design.", ""]
    parts += ["## Targets (issue 13)", "",
              "| size | page or write | target | figure | met |", "|---|---|---|---|---|",
              *targets(results), ""]
    if search_table is not None:
        parts += [
            "## Search latency (ms, p50 / p95)",
            "",
            "The same documents (FOLIO documentation, one procedure per section, "
            "replicated), in one process: 20 short queries five times, then fuzzy words "
            "and typos (Whoosh and the app only).",
            "",
            search_table,
            "",
            "Command:",
            "",
            f"    {commands['search']}",
            "",
        ]
    return "\n".join([*parts, *extra])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["demo", "500"])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--search-sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    if not Path(load.WRK).exists():
        raise SystemExit("wrk is missing: apt-get install wrk")
    from search_speed import DEFAULT_DATA

    if not DEFAULT_DATA.is_dir():
        raise SystemExit(f"{DEFAULT_DATA} is missing: the procedures come from the FOLIO "
                         "documentation there (see bench/README.md)")
    started = time.monotonic()
    results, commands = [], {}
    python = ".venv/bin/python"
    with tempfile.TemporaryDirectory(prefix="apprentice-bench-") as scratch:
        for text in args.sizes:
            label, apprentices, procedures = size_of(text)
            instance = Path(scratch) / text.replace(":", "-")
            figures = Path(scratch) / f"{instance.name}.json"
            # Each step in a process of its own, exactly as the documented command runs it
            # (nothing cached in this process from one instance to the next).
            print(f"== {label}: generating", flush=True)
            generating = ["bench/generate.py", str(instance), "--apprentices",
                          str(apprentices), "--procedures", str(procedures)]
            subprocess.run([sys.executable, *generating], check=True, cwd=ROOT)  # noqa: S603
            print(f"== {label}: load, {args.seconds:g} s a run", flush=True)
            loading = ["bench/load.py", str(instance), "--seconds", f"{args.seconds:g}"]
            subprocess.run([sys.executable, *loading, "--json", str(figures)],  # noqa: S603
                           check=True, cwd=ROOT)
            result = load.from_json(json.loads(figures.read_text()))
            results.append((label, result))
            commands[label] = {
                "seconds": json.loads((instance / "bench.json").read_text())["seconds"],
                "generate": " ".join([python, *generating]).replace(str(instance), "INSTANCE"),
                "load": " ".join([python, *loading]).replace(str(instance), "INSTANCE"),
            }
        search_table = None
        if args.search_sizes:
            print("== search latency", flush=True)
            table_file = Path(scratch) / "search.md"
            sizes = [str(n) for n in args.search_sizes]
            subprocess.run([sys.executable, str(HERE / "search_speed.py"),  # noqa: S603
                            "--sizes", *sizes, "--markdown", str(table_file)],
                           check=True, cwd=ROOT)
            search_table = table_file.read_text().strip()
            commands["search"] = f"{python} bench/search_speed.py --sizes {' '.join(sizes)}"
    extra = extra_sections()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(document(results, search_table, commands, started, extra))
    print(f"wrote {args.output} ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
