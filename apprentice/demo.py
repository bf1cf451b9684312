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


def load_demo() -> list[PersonDetails]:
    """Create what of the demo does not exist yet; return every demo person.

    People in every role; the LSSC-based framework; Jordan Lee enrolled with
    three electives (Priya Shah and Tomás Silva are left for a coordinator to
    enrol, to try it).
    """
    from apprentice.competencies import services as frameworks
    from apprentice.programmes import services as programmes

    for details in DEMO_PEOPLE:
        if find_by_email(details.email) is None:
            create_person(details, password=DEMO_PASSWORD, must_change_password=False)
    name = frameworks.default_framework_name()
    framework = next((f for f in frameworks.list_frameworks() if f.name == name), None)
    if framework is None:
        framework = frameworks.load_default_framework()
    jordan = find_by_email("apprentice@example.org")
    if not programmes.programmes_of(jordan):
        electives = [a.id for a in framework.current_areas if a.name in DEMO_ELECTIVES]
        start = date.today() - timedelta(days=120)
        programmes.enrol(jordan, framework, start=start, electives=electives)
    return DEMO_PEOPLE
