"""an index for "pairings with nothing logged lately" (the coordinator's home)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 19:50:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The coordinator's home asks, for every current pairing, whether the apprentice logged
# anything with that mentor lately: without this index each question read the
# apprentice's whole history (54 ms a page at 500 apprentices x 3 years; 2 ms with it).
NAME = "ix_apprentice_log_entries_person_mentor_day"


def upgrade() -> None:
    op.create_index(NAME, "apprentice_log_entries", ["person_id", "mentor_id", "occurred_on"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="apprentice_log_entries")
