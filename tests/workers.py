"""Running test code in several worker processes at once, as gunicorn would.

Each worker is a separate process (``spawn``: nothing inherited, not even a
pooled connection) that calls ``target(instance, *arguments, barrier)`` with its
own instance folder; the target sets itself up, waits at the barrier so all
start together, and returns what the test wants to see.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback

import pytest

TIMEOUT = 60  # seconds; a stuck worker fails the test instead of hanging the suite


def _run(target, instance, arguments, barrier, results) -> None:
    try:
        results.put(("ok", target(instance, *arguments, barrier)))
    except BaseException:
        barrier.abort()  # the others stop waiting for this one
        results.put(("error", traceback.format_exc()))


def run_workers(target, tmp_path, argument_lists) -> list:
    """One process per argument list, released together; what each returned."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(argument_lists))
    results = context.Queue()
    processes = [
        context.Process(target=_run, daemon=True, args=(
            target, str(tmp_path / f"worker{n}"), tuple(arguments), barrier, results))
        for n, arguments in enumerate(argument_lists)
    ]
    for process in processes:
        process.start()
    outcomes = []
    try:
        for _ in processes:
            outcomes.append(results.get(timeout=TIMEOUT))
    except queue.Empty:
        pytest.fail(f"a worker gave no answer in {TIMEOUT} s; got {outcomes}")
    finally:
        for process in processes:
            process.join(TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join()
        results.close()
        results.join_thread()
    errors = [detail for kind, detail in outcomes if kind == "error"]
    assert not errors, "\n".join(errors)
    return [payload for _kind, payload in outcomes]
