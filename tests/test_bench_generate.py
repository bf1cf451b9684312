"""The benchmark's data generator (bench/generate.py) at a tiny size, so the benchmark
cannot rot silently: the instance it builds is consistent, its people's pages answer,
and the forms the load runner (bench/load.py) sends are saved.

The procedures come from two small Markdown files written here, not from
../shared/data, which a clone does not have. Marked slow: about 20 s (three CLI runs
in processes of their own), and the generator writes SQLite only, so the PostgreSQL
pass would run the same thing again.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "bench"
SECTIONS = """\
## Checking out an item

Scan the patron's library card, then each item's barcode. The circulation desk screen
shows the due date; say it aloud and point to it on the slip. Blocked accounts show a
red banner: explain the block and offer to settle it at the desk or online.

## Interlibrary loan requests

Search the catalogue first. When no library in the consortium holds the item, fill in
the interlibrary loan form with the citation, the patron's barcode and the date after
which they no longer need it. Tell the patron it usually takes ten working days.
"""


def _bench_module(name: str):
    """A script of bench/ as a module (bench/ is not a package: its scripts import each
    other by name)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    if f"bench_{name}" not in sys.modules:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[f"bench_{name}"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A tiny benchmark instance: 3 apprentices, 20 procedures, 8 entries to verify."""
    data = tmp_path_factory.mktemp("docs")
    for name in ("checkout", "loans"):
        (data / name).mkdir()
        (data / name / "_index.md").write_text(f"---\ntitle: {name}\n---\n{SECTIONS}")
    instance = tmp_path_factory.mktemp("bench-instance")
    generate = _bench_module("generate")
    facts = generate.generate(instance, 3, 20, data=data, quiet=True)
    assert json.loads((instance / "bench.json").read_text()) == facts
    facts["pool"] = generate.add_write_pool(instance, waiting=8)
    assert json.loads((instance / "bench.json").read_text()) == {**facts, "pools": 1}
    return instance, facts


@pytest.fixture
def bench_app(generated):
    """The app on the generated instance. Requests run outside any app context of the
    test's own (one would be shared with them, and its ``g`` with it)."""
    from apprentice import create_app

    instance, _facts = generated
    return create_app({"APPRENTICE_INSTANCE_PATH": str(instance), "TESTING": True})


def _signed_in(app, email: str, password: str):
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/sign-in", data={"csrf_token": token, "email": email,
                                           "password": password})
    assert answer.status_code == 302, f"{email} could not sign in"
    return client


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"',
                     client.get(path).get_data(as_text=True)).group(1)


def test_every_entry_and_sign_off_is_one_the_app_could_have_saved(generated, bench_app):
    from apprentice.db import db_session
    from apprentice.people.services import find_by_email
    from apprentice.programmes.services import programme_competencies
    from apprentice.training.models import EntryCompetency, LogEntry, Pairing, SignOff

    _instance, facts = generated
    with bench_app.app_context():
        session = db_session()
        people = {e.person_id for e in session.scalars(select(LogEntry))}
        pool = _bench_module("generate").POOL_APPRENTICES
        assert len(people) == 3 + pool + 1  # the cohort, the write pool and the demo's Jordan
        for person in people:
            programme = {c.id for c in programme_competencies(person)}
            practised = set(session.scalars(
                select(EntryCompetency.competency_id).join(LogEntry)
                .where(LogEntry.person_id == person)))
            assert practised and practised <= programme
            mentors = set(session.scalars(select(Pairing.mentor_id)
                                          .where(Pairing.apprentice_id == person)))
            entry_mentors = set(session.scalars(select(LogEntry.mentor_id)
                                                .where(LogEntry.person_id == person)))
            assert entry_mentors <= mentors  # every entry names one of their mentors
        for sign_off in session.scalars(select(SignOff)):
            assert sign_off.evidence_links, sign_off.id
            for link in sign_off.evidence_links:
                entry = link.entry
                assert entry.person_id == sign_off.person_id
                assert entry.state == "verified"
                assert sign_off.lineage in {c.competency.lineage for c in entry.competency_links}
        apprentice = find_by_email(facts["sign_in"]["apprentice"][0])
        first = session.scalar(select(func.min(LogEntry.occurred_on))
                               .where(LogEntry.person_id == apprentice.id))
        assert (date.today() - first).days == 3 * 365  # the one the load runner signs in as
        waiting = session.scalars(select(LogEntry).where(LogEntry.id.in_(facts["pool"]["verify"])))
        assert {e.state for e in waiting} == {"submitted"}


@pytest.mark.parametrize("who", ["apprentice", "mentor", "coordinator"])
def test_the_generated_people_see_their_pages(generated, bench_app, who):
    load = _bench_module("load")
    _instance, facts = generated
    client = _signed_in(bench_app, *facts["sign_in"][who])
    for _label, page_for, path in load.PAGES:
        if page_for != who:
            continue
        answer = client.get(path.format(procedure=facts["procedure_id"]))
        assert answer.status_code == 200, path
    if who == "apprentice":
        home = client.get("/").get_data(as_text=True)
        assert "Alex Okafor 1" in home  # apprentice1@bench.example, three years of entries
        found = client.get("/api/search?q=interlibrary+loan").get_json()
        titles = {hit["title"] for hit in found["results"]}
        assert "loans: Interlibrary loan requests" in titles  # a generated procedure
    if who == "mentor":
        queue = client.get("/review/").get_data(as_text=True)
        assert "Alex Okafor 1" in queue  # their apprentice's last two weeks wait


def test_the_load_runners_forms_are_saved(generated, bench_app):
    from apprentice.db import db_session
    from apprentice.training.models import LogEntry, SignOff

    load = _bench_module("load")
    _instance, facts = generated
    pool = facts["pool"]
    writer = _signed_in(bench_app, *pool["apprentice"])
    path, body = load.quick_log_form(_csrf(writer, "/log/new"), pool["mentor_id"],
                                     pool["competency_id"])
    answer = writer.post(path, data=body + "&form_token=bench-test-1",
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 302

    mentor = _signed_in(bench_app, *pool["mentor"])
    token = _csrf(mentor, "/review/")
    path, body = load.verify_form(token, pool["verify"][0])
    assert mentor.post(path, data=body,
                       content_type="application/x-www-form-urlencoded").status_code == 302
    path, body = load.sign_off_form(token, pool["mentor"][1], pool["sign_offs"][0])
    answer = mentor.post(path, data=body + "&form_token=bench-test-2",
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 302, answer.get_data(as_text=True)[-2000:]
    with bench_app.app_context():
        assert db_session().scalar(select(LogEntry).where(
            LogEntry.form_token == "bench-test-1")).state == "submitted"
        assert db_session().get(LogEntry, pool["verify"][0]).state == "verified"
        person, competency, level, cited = pool["sign_offs"][0]
        signed = db_session().scalar(select(SignOff).where(
            SignOff.person_id == person, SignOff.competency_id == competency,
            SignOff.signed_by_id == pool["mentor_id"]))
        assert (signed.level, [e.entry_id for e in signed.evidence_links]) == (level, [cited])


def test_a_server_that_stops_answering_is_reported_with_its_log(generated):
    """make bench makes its instances in a temporary folder, the servers' log with them:
    a server found gone after a run is said with the end of that log, before it goes."""
    load = _bench_module("load")
    instance, _facts = generated
    log = instance / "gunicorn-gone.log"
    server = load.Server("bare_flask:app", instance, log, "--pythonpath", str(BENCH),
                         probe="/")
    server.drain()  # it answers
    workers = server.worker_pids()
    server.process.send_signal(signal.SIGKILL)  # the arbiter and its workers, at once
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    server.process.wait()
    with pytest.raises(SystemExit) as stopped:
        server.drain()
    said = str(stopped.value)
    assert "bare_flask:app stopped answering after a run" in said
    assert "it had exited (-9)" in said
    assert "Booting worker with pid" in said  # the log's own lines


@pytest.mark.parametrize("write", ["quick", "verify", "sign-off"])
def test_the_instruction_counters_writes_are_all_saved(tmp_path, write):
    """bench/write_instructions.py counts what it sends: a write the app refused (a form
    that changed, a competency signed off already) would count a refusal, so it stops
    instead. Here without valgrind: the same process it runs under it."""
    profile_pages = _bench_module("profile_pages")
    instance = tmp_path / "demo"
    profile_pages.database_dispose(profile_pages.build(str(instance)))
    _bench_module("write_instructions").send(str(instance), write, 35)  # raises if refused
