"""Demo content: people in every role, so a new install has something to show.

Only ``flask apprentice demo`` (and ``make run`` on an empty database) call this.
Later features add their own demo content here.
"""

from __future__ import annotations

from datetime import date, timedelta

from apprentice.people.models import Role
from apprentice.people.services import PersonDetails, create_person, find_by_email

# Published in the README on purpose: demo data is for trying apprentice out.
DEMO_PASSWORD = "shadow-and-learn"  # noqa: S105

DEMO_PEOPLE = [
    PersonDetails("Carmen Ortiz", "coordinator@example.org", "Training Coordinator",
                  "Central Library", [Role.COORDINATOR]),
    PersonDetails("Marian Okafor", "mentor@example.org", "Reference Librarian",
                  "Central Library", [Role.MENTOR]),
    PersonDetails("Samuel Reyes", "cataloguer@example.org", "Cataloging Librarian",
                  "Central Library", [Role.MENTOR]),
    PersonDetails("Hannah Becker", "branch.head@example.org", "Branch Manager",
                  "Eastside Branch", [Role.MENTOR, Role.COORDINATOR]),
    PersonDetails("Jordan Lee", "apprentice@example.org", "Library Assistant",
                  "Central Library", [Role.APPRENTICE]),
    PersonDetails("Priya Shah", "clerk@example.org", "Circulation Clerk",
                  "Eastside Branch", [Role.APPRENTICE]),
    PersonDetails("Tomás Silva", "para@example.org", "Library Paraprofessional",
                  "Eastside Branch", [Role.APPRENTICE]),
]


DEMO_ELECTIVES = ("Access Services", "Reference and Information Services", "Youth Services")


DEMO_STATEMENT = """\
I came to the library from retail, so the front desk felt familiar and the catalogue did
not. Shadowing Marian at the reference desk taught me to ask one more question before
searching: most people know what they need better than what they asked for.

**What I can do now:** renewals, holds and fines on my own; storytime set-up with a
colleague; first answers to reference questions before handing over.

**What I want to learn next:** cataloguing donated books, with Samuel.
"""


def load_demo() -> list[PersonDetails]:
    """Create what of the demo does not exist yet; return every demo person.

    People in every role; the LSSC-based framework; Jordan Lee enrolled with
    three electives (Priya Shah and Tomás Silva are left for a coordinator to
    enrol, to try it).
    """
    from apprentice.competencies import services as frameworks
    from apprentice.programmes import services as programmes
    from apprentice.records import services as records

    for details in DEMO_PEOPLE:
        if find_by_email(details.email) is None:
            create_person(details, password=DEMO_PASSWORD, must_change_password=False)
    name = frameworks.default_framework_name()
    framework = next((f for f in frameworks.list_frameworks() if f.name == name), None)
    if framework is None:
        framework = frameworks.load_default_framework()
    _demo_procedures()
    jordan = find_by_email("apprentice@example.org")
    if not records.programmes_of(jordan):
        electives = [a.id for a in framework.current_areas if a.name in DEMO_ELECTIVES]
        start = date.today() - timedelta(days=120)
        programmes.enrol(jordan, framework, start=start, electives=electives)
        _demo_training(framework, jordan)
    return DEMO_PEOPLE


def _demo_procedures() -> None:
    """The demo library's own procedures (shipped with the package), owned by Marian."""
    from importlib import resources

    from apprentice.kb.importer import import_folder

    folder = resources.files("apprentice.kb").joinpath("data", "demo_procedures")
    with resources.as_file(folder) as path:
        import_folder(path, by=find_by_email("mentor@example.org"))


# (days ago, minutes, activity level, competency codes, description, final state)
DEMO_ENTRIES = [
    (40, 60, 1, ["ACC-01", "ACC-02"], "Shadowed Marian at the circulation desk during the "
     "morning rush: check-outs, renewals and two blocked accounts.", "verified"),
    (33, 45, 3, ["ACC-01"], "Ran check-out and check-in myself with Marian beside me; "
     "cleared a block after a lost-item payment.", "verified"),
    (26, 90, 5, ["ACC-01", "ACC-05"], "Covered the desk on my own for the lunch hour, "
     "including holds pick-up.", "verified"),
    (24, 120, 5, ["ACC-02", "ACC-03", "ACC-04"], "Registered three new patrons, filled "
     "and shelved the morning's holds, and sent two interlibrary loan requests on my own.",
     "verified"),
    (22, 150, 5, ["ACC-06", "ACC-07", "ACC-08", "ACC-09"], "Closed the cash drawer and "
     "balanced it, explained renewal limits and fees, chased overdue notices, and kept an "
     "account private when a caller asked about their partner's loans.", "verified"),
    (21, 60, 2, ["REF-01"], "Assisted with reference interviews: a genealogy question and "
     "a tax form request.", "verified"),
    (14, 30, 2, ["TEC-01"], "Helped Samuel troubleshoot the public printers and the "
     "print release station.", "verified"),
    (12, 120, 5, ["ACC-10", "ACC-11", "ACC-12"], "Opened and closed the branch from the "
     "checklists, walked the fire evacuation route, and sent in the week's visitor counts.",
     "verified"),
    (9, 75, 3, ["REF-01", "REF-02"], "Led two reference interviews with Marian listening, "
     "then found sources in the databases together.", "submitted"),
    (6, 45, 4, ["YTH-02"], "Read at baby storytime while Marian was in the building.",
     "returned"),
    (3, 30, 1, ["FND-03"], "Sat in on the privacy policy refresher for desk staff.",
     "submitted"),
    (1, 20, 1, ["COM-01"], "Phone messages and holds calls.", "draft"),
]
# Every Access Services competency is signed off at "independent": a complete area, so
# the demo coordinator can issue Jordan a credential for it (apprentice.credentials).
DEMO_SIGN_OFFS = [*((f"ACC-{n:02}", 5) for n in range(1, 13)), ("TEC-01", 2)]
DEMO_COMPLETE_AREA = "Access Services"
# Procedures (demo files) Jordan followed, by the entry's days ago.
DEMO_ENTRY_PROCEDURES = {
    40: ["check-out-and-renewals.md", "patron-registration-and-library-cards.md"],
    33: ["check-out-and-renewals.md", "check-in-and-sorting-returns.md"],
    26: ["check-out-and-renewals.md", "shelving-and-shelf-reading.md"],
    24: ["patron-registration-and-library-cards.md", "placing-and-pulling-holds.md",
         "interlibrary-loan-borrowing.md"],
    22: ["fines-fees-and-cash-drawer.md", "patron-privacy-and-law-enforcement-requests.md"],
    21: ["reference-interview-at-the-desk.md"],
    14: ["public-computers-and-printing.md"],
    12: ["circulation-desk-opening-checklist.md", "circulation-desk-closing-checklist.md",
         "incident-reports-and-emergencies.md"],
    9: ["reference-interview-at-the-desk.md"],
    6: ["baby-and-toddler-storytime.md"],
    3: ["patron-privacy-and-law-enforcement-requests.md"],
}


def _demo_training(framework, jordan) -> None:
    """Pairings, a few weeks of Jordan's log in every state, and sign-offs: every one of
    Access Services (complete, so a credential can be issued) and a few others."""
    from apprentice.training import services as training

    marian = find_by_email("mentor@example.org")
    samuel = find_by_email("cataloguer@example.org")
    hannah = find_by_email("branch.head@example.org")
    carmen = find_by_email("coordinator@example.org")

    def mentor_for(code: str):
        """Samuel mentors Technology, Marian everything else."""
        return samuel if code.startswith("TEC") else marian

    today = date.today()
    started = today - timedelta(days=100)
    training.create_pairing(jordan, marian, starts_on=started, by=carmen)
    technology = [a.id for a in framework.current_areas if a.name == "Technology"]
    training.create_pairing(jordan, samuel, starts_on=started, area_ids=technology, by=carmen)
    training.create_pairing(find_by_email("clerk@example.org"), hannah, starts_on=today,
                            by=carmen)
    codes = {c.code: c for a in framework.current_areas for c in a.current_competencies}
    procedures = _demo_procedure_ids()
    entries = {}
    for days_ago, minutes, activity, wanted, text, state in DEMO_ENTRIES:
        competencies = [codes[code] for code in wanted]
        mentor = mentor_for(wanted[0])
        entry = training.save_entry(
            jordan,
            training.EntryDetails(
                occurred_on=today - timedelta(days=days_ago), minutes=minutes,
                activity=activity, mentor_id=mentor.id,
                competency_ids=[c.id for c in competencies], description=text,
                procedure_ids=[procedures[name] for name in DEMO_ENTRY_PROCEDURES.get(days_ago, [])
                               if name in procedures],
                reflection="Next time I will check the patron's account before they "
                           "reach the desk." if days_ago == 26 else "",
            ),
            submit=state != "draft", today=today,
        )
        if state == "verified":
            training.verify_entries([entry], mentor)
        elif state == "returned":
            training.return_entry(entry, mentor, "Which storytime was it, and how many "
                                                 "children came? Add it, then resubmit.")
        for code in wanted:
            entries.setdefault(code, []).append(entry)
    for code, level in DEMO_SIGN_OFFS:
        mentor = mentor_for(code)
        verified = [e for e in entries[code] if e.state == "verified"]
        training.sign_off(mentor, jordan, codes[code], level=level,
                          entry_ids=[e.id for e in verified],
                          comment="Seen it done well, more than once.")
    _demo_statement(jordan)


def _demo_statement(jordan) -> None:
    """Jordan's first learning statement, so the page and the portfolio have one to show."""
    from apprentice.statements import services as statements

    statements.save(jordan, statements.StatementDraft(overall=DEMO_STATEMENT), jordan,
                    based_on=0)


def _demo_procedure_ids() -> dict[str, int]:
    """The imported demo procedures' ids, by file name."""
    from sqlalchemy import select

    from apprentice.db import db_session
    from apprentice.kb.models import Procedure

    return {key.removeprefix("import:"): procedure_id for procedure_id, key in db_session().execute(
        select(Procedure.id, Procedure.source_key).where(Procedure.source_key.like("import:%")))}
