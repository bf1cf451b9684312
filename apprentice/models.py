"""Every model, imported once so the metadata (and Alembic) sees all tables."""

from apprentice.auth.models import SignInFailure
from apprentice.people.models import Role, StaffProfile, StaffRole

__all__ = ["Role", "SignInFailure", "StaffProfile", "StaffRole"]
