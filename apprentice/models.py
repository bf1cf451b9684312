"""Every model, imported once so the metadata (and Alembic) sees all tables."""

from apprentice.audit.models import AuditRecord
from apprentice.auth.models import SignInFailure
from apprentice.competencies.models import (
    Competency,
    CompetencyArea,
    Framework,
    FrameworkChange,
)
from apprentice.core.models import FormReceipt, KeptForm
from apprentice.credentials.models import CredentialRevocation, IssuedCredential
from apprentice.kb.models import (
    GlossaryVersion,
    IndexChange,
    IndexReplica,
    Procedure,
    ProcedureArea,
    ProcedureCompetency,
    ProcedureRevision,
)
from apprentice.people.models import Role, StaffProfile, StaffRole
from apprentice.programmes.models import ElectiveChoice, Enrolment
from apprentice.sharing.models import ShareLink, ShareLinkViews
from apprentice.statements.models import StatementRevision, StatementSection
from apprentice.training.models import (
    EntryCompetency,
    EntryProcedure,
    LogEntry,
    Pairing,
    PairingArea,
    ReminderSent,
    Revocation,
    SignOff,
    SignOffEvidence,
)

__all__ = [
    "AuditRecord",
    "Competency",
    "CompetencyArea",
    "CredentialRevocation",
    "ElectiveChoice",
    "Enrolment",
    "EntryCompetency",
    "EntryProcedure",
    "FormReceipt",
    "Framework",
    "FrameworkChange",
    "GlossaryVersion",
    "IndexChange",
    "IndexReplica",
    "IssuedCredential",
    "KeptForm",
    "LogEntry",
    "Pairing",
    "PairingArea",
    "Procedure",
    "ProcedureArea",
    "ProcedureCompetency",
    "ProcedureRevision",
    "ReminderSent",
    "Revocation",
    "Role",
    "ShareLink",
    "ShareLinkViews",
    "SignInFailure",
    "SignOff",
    "SignOffEvidence",
    "StaffProfile",
    "StaffRole",
    "StatementRevision",
    "StatementSection",
]
