"""The app as it runs in production, for tests that drive it from outside: an instance
folder set up with the real CLI and served by gunicorn on 127.0.0.1.

Used by the browser journeys (tests/browser) and the load and fault runs
(tests/reliability). Every child process gets an environment without the developer's
own ``APPRENTICE_`` settings, so only the instance folder and the settings a test
passes decide what it runs against.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def environment(instance: Path, settings: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without the developer's APPRENTICE_ settings, on ``instance``,
    plus ``settings`` (e.g. ``APPRENTICE_DATABASE_URL``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPRENTICE_")}
    env["APPRENTICE_INSTANCE_PATH"] = str(instance)
    # Search by words alone, as a testing app searches: the model (tests/test_search_meaning.py)
    # would cost each server half a second to load and each saved section 50 ms.
    env["APPRENTICE_SEARCH_MODEL"] = "off"
    env.update(settings or {})
    return env


def run_flask(instance: Path, *args: str, settings: dict[str, str] | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess:
    """``flask --app wsgi apprentice ARGS`` on ``instance``; the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "apprentice", *args],
        cwd=ROOT, env=environment(instance, settings), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def flask(instance: Path, *args: str, settings: dict[str, str] | None = None) -> str:
    """Run a CLI command that must succeed; its output."""
    done = run_flask(instance, *args, settings=settings)
    assert done.returncode == 0, (
        f"flask apprentice {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_options() -> list[str]:
    """gunicorn 24+ opens a control socket in ~/.gunicorn: one per server would clash."""
    from gunicorn.config import KNOWN_SETTINGS

    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        return ["--no-control-socket"]
    return []


def wait_until_it_answers(url: str, process: subprocess.Popen, log: Path,
                          within: float = 60) -> None:
    """Wait for ``url``/sign-in to answer; fail with the log if gunicorn stops or not."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn stopped at start:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url + "/sign-in", timeout=5).close()  # noqa: S310
        except urllib.error.HTTPError:
            return  # it answers, if badly: the test says how
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
        else:
            return
    pytest.fail(f"gunicorn did not answer at {url} within {within:.0f} s:\n"
                f"{log.read_text()[-3000:]}")


class Gunicorn:
    """gunicorn serving ``instance`` on 127.0.0.1 at a free port; its output in ``log``."""

    def __init__(self, instance: Path, log: Path, *, workers: int = 2,
                 settings: dict[str, str] | None = None, options: tuple[str, ...] = ()):
        self.instance, self.log = instance, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("a") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                 "--bind", f"127.0.0.1:{self.port}", *gunicorn_options(), *options,
                 "wsgi:app"],
                cwd=ROOT, env=environment(instance, settings), stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT,
            )
        try:
            wait_until_it_answers(self.url, self.process, log)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        """The master process (it restarts a worker that dies)."""
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The worker processes now running (children of the master)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        """A quick shutdown (SIGINT: nothing to finish), killed if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
