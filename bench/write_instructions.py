"""Instructions per write (quick log, verify, sign-off), counted by callgrind: a figure that
stays the same on another machine and whatever else this one is doing.

Requests per second move with the machine: the same commit gave a quick log 0.10 of bare
Flask on one 2-core machine of this kind and 0.07 on another, bare Flask itself at 6,500
and 2,700 requests/s. To compare two versions of the code, count instead. The demo
(apprentice/demo.py) in an instance folder made once; then, twice under
``valgrind --tool=callgrind``, a process that starts the app on a copy of it and sends
the write a few times (``--few``) or many times (``--many``) through Flask's test client,
signed in as bench/profile_pages.py signs in, each with a form token of its own as a
browser sends it. The difference between the two counts, divided by the difference in
requests, is what one more write costs, start-up left out. Hash randomisation is off
(PYTHONHASHSEED=0) so both runs take the same paths; the figure still moves by a percent
or two from run to run.

    .venv/bin/python bench/write_instructions.py [--write quick|verify|sign-off]
        [--few 5] [--many 65] [--base PATH]

``--base PATH``: count the apprentice package found at PATH (a ``git worktree`` of
another commit) instead of this one, in the same run: a before and after. Needs valgrind
(``apt-get install valgrind``); about four minutes a count on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WRITES = {"quick": 0, "verify": 1, "sign-off": 2}
COLLECTED = re.compile(r"Collected : (\d+)")
VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"


def send(instance: str, write: str, count: int) -> None:
    """In the process being counted: the app on a copy of ``instance``, ``write`` sent
    ``count`` times after five more (the app's first requests build what it keeps)."""
    sys.path.insert(0, str(HERE))
    import profile_pages

    from apprentice import create_app

    copy = Path(tempfile.mkdtemp(prefix="bench-instructions-")) / "instance"
    shutil.copytree(instance, copy)
    try:
        app = create_app({"APPRENTICE_INSTANCE_PATH": str(copy),
                          "SECRET_KEY": "bench-in-process",
                          "APPRENTICE_INDEX_SYNC_SECONDS": 0})
        known = profile_pages.ids(app)
        _label, who, form = profile_pages.writes(app, known)[WRITES[write]]
        client = profile_pages.signed_in(app, who)
        csrf = profile_pages.csrf_token(client)
        asks = [form() for _ in range(count + 5)]
        for number, (url, data) in enumerate(asks):
            answer = client.post(url, data={"csrf_token": csrf, **data,  # the same each count
                                            "form_token": f"bench-{number}"})
            if answer.status_code != 302:
                raise SystemExit(f"{write} {number} answered {answer.status_code}")
        profile_pages.database_dispose(app)
    finally:
        shutil.rmtree(copy.parent)


def counted(instance: Path, write: str, count: int, package: Path) -> int:
    """Instructions of a whole process sending ``write`` ``count`` times."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(package)}
    done = subprocess.run(  # noqa: S603
        [VALGRIND, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--send", str(instance), "--write", write, "--count", str(count)],
        cwd=package, env=env, capture_output=True, text=True, check=False)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_write(instance: Path, write: str, few: int, many: int, package: Path) -> int:
    """Instructions per write: the few and the many side by side (2 cores), differenced."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        low, high = pool.map(lambda n: counted(instance, write, n, package), (few, many))
    return (high - low) // (many - few)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", choices=list(WRITES), default="quick")
    parser.add_argument("--few", type=int, default=5)
    parser.add_argument("--many", type=int, help="default 65; 35 for a sign-off (each "
                        "of a competency of its own: the demo's programme has about 60)")
    parser.add_argument("--base", type=Path, help="another checkout's root, counted too")
    parser.add_argument("--send", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send:
        send(args.send, args.write, args.count)
        return
    args.many = args.many or (35 if args.write == "sign-off" else 65)
    if not Path(VALGRIND).exists():
        raise SystemExit("valgrind is missing: apt-get install valgrind")
    sys.path.insert(0, str(HERE))
    import profile_pages

    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as folder:
        instance = Path(folder) / "demo"
        profile_pages.database_dispose(profile_pages.build(str(instance)))
        for label, package in (("base", args.base), ("this tree", ROOT)):
            if package is None:
                continue
            number = per_write(instance, args.write, args.few, args.many, package.resolve())
            print(f"{args.write}, {label} ({package}): {number:,} instructions a write",
                  flush=True)


if __name__ == "__main__":
    main()
