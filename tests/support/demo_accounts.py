"""The demo's sign-ins (apprentice/demo.py, in the README), for tests that drive a demo
instance from outside: the browser journeys and the load and fault runs."""

from __future__ import annotations

from apprentice.demo import DEMO_PASSWORD, DEMO_PEOPLE

PASSWORD = DEMO_PASSWORD  # every demo account's
_EMAIL = {person.name: person.email for person in DEMO_PEOPLE}

COORDINATOR = _EMAIL["Carmen Ortiz"]
BRANCH_HEAD = _EMAIL["Hannah Becker"]  # mentor (of Priya) and coordinator
MENTOR = _EMAIL["Marian Okafor"]  # Jordan's mentor in every area
CATALOGUER = _EMAIL["Samuel Reyes"]  # Jordan's mentor for Technology
APPRENTICE = _EMAIL["Jordan Lee"]  # enrolled
CLERK = _EMAIL["Priya Shah"]  # paired with Hannah, not enrolled
PARA = _EMAIL["Tomás Silva"]  # neither
