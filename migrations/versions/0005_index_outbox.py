"""search index outbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 14:59:37.856757
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apprentice_index_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_index_outbox")),
    )
    with op.batch_alter_table("apprentice_index_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_index_outbox_procedure_id"), ["procedure_id"], unique=False
        )



def downgrade() -> None:
    with op.batch_alter_table("apprentice_index_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_index_outbox_procedure_id"))

    op.drop_table("apprentice_index_outbox")
