"""Every model, imported once so the metadata (and Alembic) sees all tables."""

from apprentice.auth.models import SignInFailure
from apprentice.competencies.models import (
    Competency,
    CompetencyArea,
    Framework,
    FrameworkChange,
)
from apprentice.people.models import Role, StaffProfile, StaffRole
from apprentice.programmes.models import ElectiveChoice, Enrolment

__all__ = [
    "Competency",
    "CompetencyArea",
    "ElectiveChoice",
    "Enrolment",
    "Framework",
    "FrameworkChange",
    "Role",
    "SignInFailure",
    "StaffProfile",
    "StaffRole",
]
