"""A person's record as one read model: the sign-offs that stand, hours, entries and
progress, as of any day (:mod:`apprentice.records.record`), and the loading of
evidence and progress for one person or a cohort (:mod:`apprentice.records.services`).

Feature packages read the record through here, so ``training`` and ``programmes``
need not import each other.
"""

from apprentice.programmes.progress import CompetencyStatus
from apprentice.records.record import Record, record_of

__all__ = ["CompetencyStatus", "Record", "record_of"]
