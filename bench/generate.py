"""An instance folder at a chosen size, for the load runner (bench/load.py).

The instance is set up the way a library sets one up: ``flask apprentice db upgrade``
(the migrations) and ``flask apprentice demo`` (the demo's people, its LSSC-based
framework and procedures). Then, straight to the tables with bulk inserts (seconds,
where the services would take hours at 5,000 apprentices):

- N apprentices enrolled over the last three years with three electives each; the
  first started three years ago to the day (the one the load runner signs in as);
- N/10 mentors, each apprentice paired with one since their start;
- about three entries a week per apprentice since their start (one or two competencies,
  one in five citing a procedure): verified after a few days, the last two weeks'
  waiting for review, one in thirty returned, a few drafts;
- sign-offs as the years go by: each programme competency signed off at "mentor
  present" once a share of the programme has passed, and at the framework's required
  level later, citing a verified entry that practised it;
- P procedures from the FOLIO documentation (../shared/data/folio-docs, one per ``##``
  section, replicated with changed titles as bench/search_speed.py does), published,
  with their first revision, a third of them filed under an area;
- (``--write-pool-only ENTRIES``, which the load runner runs after measuring the pages)
  a pool for the write runs: a mentor and sixteen apprentices, each with a verified entry
  for every programme competency (evidence to sign off), and ENTRIES waiting for review,
  so every verify and sign-off the load runner sends is a real one.

Then ``flask apprentice reindex``. ``bench.json`` in the instance folder says who to
sign in as, with which password, and what to write.

    .venv/bin/python bench/generate.py INSTANCE [--apprentices 500] [--procedures 1000]

``--apprentices 0 --procedures 0``: the demo alone (its 41 procedures).
SQLite only (the instance's default database): ids are given explicitly.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from search_speed import DEFAULT_DATA, sections  # noqa: E402

PASSWORD = "bench-password-1"  # noqa: S105  (made-up people in a throw-away instance)
DEMO_PASSWORD = "shadow-and-learn"  # noqa: S105  (apprentice/demo.py, published)
FIRST = ["Alex", "Sam", "Jordan", "Priya", "Chen", "Maria", "Tomás", "Aisha", "Olu", "Kim",
         "Noor", "Ravi", "Lena", "Mateo", "Yusuf", "Hannah", "Ines", "Kofi", "Mei", "Owen"]
LAST = ["Okafor", "Nguyen", "Smith", "García", "Kowalski", "Haddad", "Brown", "Ivanova",
        "Mensah", "Tanaka", "O'Brien", "Patel", "Rossi", "Jones", "Müller", "Silva", "Khan",
        "Larsen", "Moreau", "Evans", "Cohen", "Ali", "Dubois", "Reyes", "Novak"]
WORDS = ["patron", "desk", "catalogue", "holds", "renewals", "shelving", "storytime",
         "reference", "interview", "collection", "weeding", "outreach", "privacy", "policy",
         "interlibrary", "loan", "circulation", "fines"]
TAGS = ["circulation", "acquisitions", "desk", "inventory", "users", "requests", "settings"]
YEARS = 3
ENTRY_EVERY_DAYS = 7 / 3  # about three entries a week
POOL_APPRENTICES = 16  # their sign-offs outlast a run of 5 s at 1,000 a second
BATCH = 20_000


def environment(instance: Path) -> dict[str, str]:
    """This process's environment without the developer's APPRENTICE_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPRENTICE_")}
    env["APPRENTICE_INSTANCE_PATH"] = str(instance)
    return env


def flask(instance: Path, *args: str) -> str:
    """``flask apprentice ARGS`` on the instance, as a user types it."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "apprentice", *args]
    done = subprocess.run(command, cwd=ROOT, env=environment(instance),  # noqa: S603
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise SystemExit(f"flask apprentice {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _insert(model, rows: list[dict]) -> None:
    """Core bulk insert, a batch at a time (column defaults applied per row)."""
    from sqlalchemy import insert

    from apprentice.db import db_session

    for start in range(0, len(rows), BATCH):
        db_session().execute(insert(model.__table__), rows[start:start + BATCH])


def _next_id(model) -> int:
    from sqlalchemy import func, select

    from apprentice.db import db_session

    return (db_session().scalar(select(func.max(model.id))) or 0) + 1


def _name(k: int) -> str:
    return f"{FIRST[k % len(FIRST)]} {LAST[(k // len(FIRST)) % len(LAST)]} {k // 500 + 1}"


class Cohort:
    """Rows for the tables, built in memory, then written batch by batch."""

    def __init__(self, framework, coordinator_id: int, today: date):
        from apprentice.db import utcnow
        from apprentice.programmes.models import Enrolment
        from apprentice.training.models import LogEntry, Pairing, SignOff

        self.framework, self.coordinator_id, self.today = framework, coordinator_id, today
        self.now = utcnow()
        self.required = [a for a in framework.current_areas if a.required]
        self.electives = framework.current_electives
        self.competencies = {a.id: a.current_competencies for a in framework.current_areas}
        self.rows: dict[str, list[dict]] = {name: [] for name in (
            "staff", "roles", "enrolments", "choices", "pairings", "entries", "links",
            "entry_procedures", "sign_offs", "evidence")}
        self.entry_id = _next_id(LogEntry) - 1
        self.pairing_id = _next_id(Pairing) - 1
        self.sign_off_id = _next_id(SignOff) - 1
        self.first_enrolment = _next_id(Enrolment)

    def person(self, person_id: int, name: str, email: str, role: str, password_hash: str,
               branch: str) -> None:
        self.rows["staff"].append({
            "id": person_id, "name": name, "email": email, "job_title": "Library Assistant"
            if role == "apprentice" else "Librarian", "branch": branch,
            "password_hash": password_hash, "password_must_change": False})
        self.rows["roles"].append({"staff_id": person_id, "role": role})

    def enrol(self, k: int, person: int, start: date) -> list:
        """Enrol with three electives; the programme's areas."""
        from apprentice.programmes.services import add_months

        enrolment_id = len(self.rows["enrolments"]) + self.first_enrolment
        self.rows["enrolments"].append({
            "id": enrolment_id, "person_id": person, "framework_id": self.framework.id,
            "start_date": start,
            "target_date": add_months(start, self.framework.time_allowed_months),
            "created_by_id": self.coordinator_id})
        choose = self.framework.electives_required
        picked = [self.electives[(k + j) % len(self.electives)] for j in range(choose)]
        self.rows["choices"] += [{"enrolment_id": enrolment_id, "area_id": a.id}
                                 for a in picked]
        return self.required + picked

    def pair(self, person: int, mentor: int, start: date) -> None:
        self.pairing_id += 1
        self.rows["pairings"].append({"id": self.pairing_id, "apprentice_id": person,
                                      "mentor_id": mentor, "starts_on": start,
                                      "created_by_id": self.coordinator_id})

    def entry(self, person: int, mentor: int, on: date, state: str, competency_ids: list[int],
              *, activity: int, text: str, procedure_id: int | None = None) -> int:
        self.entry_id += 1
        logged = datetime.combine(on, clock(16), tzinfo=UTC)
        self.rows["entries"].append({
            "id": self.entry_id, "person_id": person, "mentor_id": mentor, "occurred_on": on,
            "minutes": 30 + (self.entry_id * 13) % 150, "activity": activity, "state": state,
            "description": text, "reflection": "Next time I would check the policy first."
            if self.entry_id % 3 else "",
            "form_token": f"bench-{self.entry_id}", "created_at": logged, "updated_at": logged,
            "submitted_at": None if state == "draft" else logged + timedelta(hours=1),
            "verified_at": logged + timedelta(days=3) if state == "verified" else None,
            "verified_by_id": mentor if state == "verified" else None,
            "return_comment": "Say which policy." if state == "returned" else ""})
        self.rows["links"] += [{"entry_id": self.entry_id, "competency_id": c}
                               for c in dict.fromkeys(competency_ids)]
        if procedure_id is not None:
            self.rows["entry_procedures"].append({"entry_id": self.entry_id,
                                                  "procedure_id": procedure_id})
        return self.entry_id

    def sign_off(self, person: int, mentor: int, competency, level: int, at: datetime,
                 cited: int) -> None:
        self.sign_off_id += 1
        self.rows["sign_offs"].append({
            "id": self.sign_off_id, "person_id": person, "competency_id": competency.id,
            "lineage": competency.lineage, "level": level, "comment": "Seen it done well.",
            "signed_by_id": mentor, "signed_at": at})
        self.rows["evidence"].append({"sign_off_id": self.sign_off_id, "entry_id": cited})

    def apprentice(self, k: int, person: int, mentor: int, start: date,
                   procedure_ids: list[int]) -> None:
        """Enrolment, pairing, entries since ``start`` and the sign-offs they earned."""
        areas = self.enrol(k, person, start)
        self.pair(person, mentor, start)
        programme = [c for a in areas for c in self.competencies[a.id]]
        span = (self.today - start).days
        first_verified: dict[int, int] = {}
        e = 0
        while (day := int(e * ENTRY_EVERY_DAYS)) <= span:
            on = start + timedelta(days=day)
            days_ago = (self.today - on).days
            roll = (e * 37 + k * 11) % 100
            if days_ago <= 14:
                state = "draft" if roll < 10 else "submitted"
            else:
                state = "returned" if roll < 3 else "verified"
            competency = programme[(e * 7 + k) % len(programme)]
            ids = [competency.id]
            if e % 4 == 0:
                ids.append(programme[(e * 3 + k + 5) % len(programme)].id)
            procedure = (procedure_ids[(e + k) % len(procedure_ids)]
                         if procedure_ids and e % 5 == 0 else None)
            words = WORDS[(e + k) % 10:(e + k) % 10 + 8]
            entry_id = self.entry(person, mentor, on, state, ids, procedure_id=procedure,
                                  activity=min(5, 1 + day * 5 // max(span, 1)),
                                  text=f"{' '.join(words).capitalize()}.")
            if state == "verified":
                first_verified.setdefault(competency.id, entry_id)
            e += 1
        # Competency j of the programme is signed off at "mentor present" once j/len of
        # the time allowed has passed, and at the required level a year later.
        allowed = self.framework.time_allowed_months * 30
        for j, competency in enumerate(programme):
            cited = first_verified.get(competency.id)
            if cited is None:
                continue
            reached = j * allowed // len(programme)
            for level, after in dict.fromkeys(((3, reached), (self.framework.level_required,
                                                              reached + 365))):
                if after <= span:
                    at = datetime.combine(start + timedelta(days=after), clock(17),
                                          tzinfo=UTC)
                    self.sign_off(person, mentor, competency, level, at, cited)

    def write(self) -> dict[str, int]:
        from apprentice.db import db_session
        from apprentice.people.models import StaffProfile, StaffRole
        from apprentice.programmes.models import ElectiveChoice, Enrolment
        from apprentice.training.models import (
            EntryCompetency,
            EntryProcedure,
            LogEntry,
            Pairing,
            SignOff,
            SignOffEvidence,
        )

        tables = [("staff", StaffProfile), ("roles", StaffRole), ("enrolments", Enrolment),
                  ("choices", ElectiveChoice), ("pairings", Pairing), ("entries", LogEntry),
                  ("links", EntryCompetency), ("entry_procedures", EntryProcedure),
                  ("sign_offs", SignOff), ("evidence", SignOffEvidence)]
        for name, model in tables:
            _insert(model, self.rows[name])
        db_session().commit()
        return {name: len(rows) for name, rows in self.rows.items()}


def add_procedures(count: int, owner_id: int, area_ids: list[int], data: Path) -> list[int]:
    """``count`` published procedures from the FOLIO documentation; their ids."""
    from apprentice.db import db_session, utcnow
    from apprentice.kb.models import Procedure, ProcedureArea, ProcedureRevision

    if count == 0:
        return []
    corpus = sections(data)
    first = _next_id(Procedure)
    now, today = utcnow(), date.today()
    procedures, revisions, areas = [], [], []
    for n in range(count):
        _key, title, body = corpus[n % len(corpus)]
        copy = n // len(corpus)
        title = f"{title} ({copy})" if copy else title
        tags = ", ".join(sorted({TAGS[n % len(TAGS)], TAGS[(n * 3) % len(TAGS)]}))
        procedures.append({"id": first + n, "title": title, "body": body, "tags": tags,
                           "status": "published", "owner_id": owner_id,
                           "review_interval_days": 365,
                           "review_by": today + timedelta(days=30 + n % 300),
                           "revision_number": 1, "created_at": now, "updated_at": now})
        revisions.append({"procedure_id": first + n, "number": 1, "title": title, "body": body,
                          "tags": tags, "summary": "Imported", "state": "published",
                          "author_id": owner_id, "created_at": now})
        if n % 3 == 0 and area_ids:
            areas.append({"procedure_id": first + n, "area_id": area_ids[n % len(area_ids)]})
    _insert(Procedure, procedures)
    _insert(ProcedureRevision, revisions)
    _insert(ProcedureArea, areas)
    db_session().commit()
    return [row["id"] for row in procedures]


def build(instance: Path, apprentices: int, procedures: int,
          data: Path = DEFAULT_DATA) -> dict:
    """Fill the (migrated, demo-loaded) instance; what bench.json records."""
    from sqlalchemy import select

    from apprentice import create_app
    from apprentice.auth.passwords import hash_password
    from apprentice.competencies import services as frameworks
    from apprentice.db import db_session
    from apprentice.kb.models import Procedure
    from apprentice.people.models import StaffProfile
    from apprentice.people.services import find_by_email

    app = create_app({"APPRENTICE_INSTANCE_PATH": str(instance),
                      # no index applier thread racing the bulk inserts for SQLite's lock
                      "APPRENTICE_INDEX_SYNC_SECONDS": 0})
    with app.app_context():
        name = frameworks.default_framework_name()
        framework = next(f for f in frameworks.list_frameworks() if f.name == name)
        coordinator = find_by_email("coordinator@example.org")
        mentor = find_by_email("mentor@example.org")
        today = date.today()
        password_hash = hash_password(PASSWORD)  # once: argon2 takes tens of ms
        area_ids = [a.id for a in framework.current_areas]
        procedure_ids = add_procedures(procedures, mentor.id, area_ids, data)
        demo_procedure = db_session().scalar(
            select(Procedure.id).where(Procedure.source_key.like("import:%"))
            .order_by(Procedure.id))
        cohort = Cohort(framework, coordinator.id, today)
        first = _next_id(StaffProfile)
        mentors_n = max(1, apprentices // 10) if apprentices else 0
        mentor_ids = list(range(first, first + mentors_n))
        apprentice_ids = list(range(first + mentors_n, first + mentors_n + apprentices))
        for k, person in enumerate(mentor_ids):
            cohort.person(person, _name(k + 7), f"mentor{k + 1}@bench.example", "mentor",
                          password_hash, f"Branch {k % 12 + 1}")
        for k, person in enumerate(apprentice_ids):
            cohort.person(person, _name(k), f"apprentice{k + 1}@bench.example", "apprentice",
                          password_hash, f"Branch {k % 12 + 1}")
            days = YEARS * 365 if k == 0 else 30 + (k * 7919) % (YEARS * 365 - 30)
            cohort.apprentice(k, person, mentor_ids[k % mentors_n], today - timedelta(days=days),
                              procedure_ids)

        written = cohort.write()
        jordan = find_by_email("apprentice@example.org")
    read_as = ({"apprentice": ["apprentice1@bench.example", PASSWORD],
                "mentor": ["mentor1@bench.example", PASSWORD]} if apprentices else
               {"apprentice": [jordan.email, DEMO_PASSWORD],
                "mentor": [mentor.email, DEMO_PASSWORD]})
    read_as["coordinator"] = [coordinator.email, DEMO_PASSWORD]
    return {
        "apprentices": apprentices, "procedures": procedures or 41, "written": written,
        "sign_in": read_as,
        "procedure_id": procedure_ids[len(procedure_ids) // 2] if procedure_ids
        else demo_procedure,
    }


def add_write_pool(instance: Path, waiting: int = 5000) -> dict:
    """A mentor and sixteen apprentices for the write runs, added to bench.json as "pool":
    each apprentice with a verified entry for every programme competency (evidence for
    the sign-offs: five levels each, up to the entry's own) and ``waiting`` entries in
    all sent for review (one per verify). The load runner adds one just before its
    writes, after the pages are measured, so the pages read the generated data alone; a
    second run gets a new pool."""
    from apprentice import create_app
    from apprentice.auth.passwords import hash_password
    from apprentice.competencies import services as frameworks
    from apprentice.people.models import StaffProfile
    from apprentice.people.services import find_by_email

    facts = json.loads((instance / "bench.json").read_text())
    n = facts.get("pools", 0) + 1
    app = create_app({"APPRENTICE_INSTANCE_PATH": str(instance),
                      "APPRENTICE_INDEX_SYNC_SECONDS": 0})
    with app.app_context():
        name = frameworks.default_framework_name()
        framework = next(f for f in frameworks.list_frameworks() if f.name == name)
        today = date.today()
        cohort = Cohort(framework, find_by_email("coordinator@example.org").id, today)
        password_hash = hash_password(PASSWORD)
        mentor = _next_id(StaffProfile)
        pool = list(range(mentor + 1, mentor + 1 + POOL_APPRENTICES))
        cohort.person(mentor, f"Wren Writer {n}", f"pool{n}.mentor@bench.example", "mentor",
                      password_hash, "Branch 1")
        sign_offs, verify, programmes = [], [], {}
        for j, person in enumerate(pool):
            cohort.person(person, f"Pool Apprentice {n}.{j + 1}",
                          f"pool{n}.{j + 1}@bench.example", "apprentice", password_hash,
                          "Branch 1")
            start = today - timedelta(days=200)
            areas = programmes[person] = cohort.enrol(j, person, start)
            cohort.pair(person, mentor, start)
            for competency in (c for a in areas for c in cohort.competencies[a.id]):
                cited = cohort.entry(person, mentor, start + timedelta(days=10), "verified",
                                     [competency.id], activity=5,
                                     text="Did it on my own, start to finish.")
                sign_offs += [[person, competency.id, level, cited] for level in range(1, 6)]
        for e in range(waiting):  # in turn, every apprentice one
            person = pool[e % POOL_APPRENTICES]
            areas = programmes[person]
            competency = cohort.competencies[areas[e // POOL_APPRENTICES % len(areas)].id][0]
            verify.append(cohort.entry(person, mentor, today - timedelta(days=e % 14),
                                       "submitted", [competency.id], activity=3,
                                       text="Covered the desk for an hour."))
        cohort.write()
    facts["pools"] = n
    facts["pool"] = {"mentor": [f"pool{n}.mentor@bench.example", PASSWORD],
                     "apprentice": [f"pool{n}.1@bench.example", PASSWORD],
                     "apprentice_id": pool[0], "mentor_id": mentor,
                     "competency_id": sign_offs[0][1], "verify": verify,
                     "sign_offs": sign_offs}
    (instance / "bench.json").write_text(json.dumps(facts, indent=1))
    return facts["pool"]


def generate(instance: Path, apprentices: int, procedures: int, *,
             data: Path = DEFAULT_DATA, quiet: bool = False) -> dict:
    """Migrate, load the demo, bulk-insert the rest, reindex; bench.json's content."""
    def say(text):
        if not quiet:
            print(text, flush=True)

    instance.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    flask(instance, "db", "upgrade")
    flask(instance, "demo", "--if-empty")
    say(f"  migrations and demo: {time.perf_counter() - started:.1f} s")
    step = time.perf_counter()
    facts = build(instance, apprentices, procedures, data)
    say(f"  bulk inserts: {time.perf_counter() - step:.1f} s "
        f"({', '.join(f'{v:,} {k}' for k, v in facts['written'].items())})")
    step = time.perf_counter()
    flask(instance, "reindex")
    say(f"  flask apprentice reindex: {time.perf_counter() - step:.1f} s")
    facts["seconds"] = round(time.perf_counter() - started, 1)
    (instance / "bench.json").write_text(json.dumps(facts, indent=1))
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("--apprentices", type=int, default=500)
    parser.add_argument("--procedures", type=int, default=1000)
    parser.add_argument("--write-pool-only", type=int, metavar="ENTRIES",
                        help="only add a write pool to a generated instance, with ENTRIES "
                             "waiting for review (bench/load.py does, before its writes)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if args.write_pool_only is not None:
        pool = add_write_pool(args.instance, args.write_pool_only)
        print(f"write pool: {pool['mentor'][0]}, {len(pool['verify']):,} entries to verify, "
              f"{len(pool['sign_offs']):,} sign-offs to make")
        return
    if (args.instance / "apprentice.sqlite3").exists() or (args.instance / "bench.json").exists():
        raise SystemExit(f"{args.instance} has an instance already: give an empty folder")
    print(f"generating {args.apprentices} apprentices, {args.procedures} procedures "
          f"in {args.instance}")
    facts = generate(args.instance, args.apprentices, args.procedures, data=args.data)
    print(f"done in {facts['seconds']} s")


if __name__ == "__main__":
    main()
