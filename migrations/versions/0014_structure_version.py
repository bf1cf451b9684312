"""the structure version: a second counter, moved only by changes to people, roles,
pairings, enrolments and frameworks (apprentice.core.versions)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

versions = sa.table("apprentice_data_version", sa.column("id", sa.Integer),
                    sa.column("version", sa.BigInteger))


def upgrade() -> None:
    # Starts where the data version is: above any number either could have been read at.
    op.execute(versions.insert().from_select(
        ["id", "version"], sa.select(sa.literal(2), versions.c.version)
        .where(versions.c.id == 1)))


def downgrade() -> None:
    op.execute(versions.delete().where(versions.c.id == 2))
