"""A person's record as one read model, and the pages that read it.

:mod:`apprentice.records.record` builds the record (sign-offs that stand, hours,
entries, progress, the learning statement) as of any day; :mod:`.services` loads
evidence and progress for one person or a cohort; :mod:`.dashboards` and :mod:`.views`
are the home page, the apprentice page and the programme pages. The package sits
above ``training`` and ``programmes`` (tests/test_layers.py): they never import it.
"""

from apprentice.programmes.progress import CompetencyStatus
from apprentice.records.record import Record, record_of

__all__ = ["CompetencyStatus", "Record", "record_of"]
