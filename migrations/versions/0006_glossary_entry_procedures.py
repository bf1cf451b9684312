"""editable search glossary; procedures linked to log entries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apprentice_glossary_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["apprentice_staff.id"],
            name=op.f("fk_apprentice_glossary_versions_author_id_apprentice_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_glossary_versions")),
    )
    op.create_table(
        "apprentice_log_entry_procedures",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["apprentice_log_entries.id"],
            name=op.f("fk_apprentice_log_entry_procedures_entry_id_apprentice_log_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"], ["apprentice_procedures.id"],
            name=op.f("fk_apprentice_log_entry_procedures_procedure_id_apprentice_procedures"),
        ),
        sa.PrimaryKeyConstraint(
            "entry_id", "procedure_id", name=op.f("pk_apprentice_log_entry_procedures")
        ),
    )
    with op.batch_alter_table("apprentice_log_entry_procedures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_log_entry_procedures_procedure_id"),
            ["procedure_id"], unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("apprentice_log_entry_procedures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_log_entry_procedures_procedure_id"))
    op.drop_table("apprentice_log_entry_procedures")
    op.drop_table("apprentice_glossary_versions")
