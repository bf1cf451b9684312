"""Demo content: people in every role, so a new install has something to show.

Only ``flask apprentice demo`` (and ``make run`` on an empty database) call this.
Later features add their own demo content here.
"""

from __future__ import annotations

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


def load_demo() -> list[PersonDetails]:
    """Create the demo people that do not exist yet; return every demo person."""
    for details in DEMO_PEOPLE:
        if find_by_email(details.email) is None:
            create_person(details, password=DEMO_PASSWORD, must_change_password=False)
    return DEMO_PEOPLE
