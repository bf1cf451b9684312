"""procedures knowledge base

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 14:50:29.016279
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apprentice_procedures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("review_interval_days", sa.Integer(), nullable=False),
        sa.Column("review_by", sa.Date(), nullable=True),
        sa.Column("revision_number", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'archived')",
            name=op.f("ck_apprentice_procedures_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_procedures_owner_id_apprentice_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_procedures")),
        sa.UniqueConstraint("source_key", name=op.f("uq_apprentice_procedures_source_key")),
    )
    op.create_table(
        "apprentice_procedure_areas",
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["apprentice_competency_areas.id"],
            name=op.f("fk_apprentice_procedure_areas_area_id_apprentice_competency_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["apprentice_procedures.id"],
            name=op.f("fk_apprentice_procedure_areas_procedure_id_apprentice_procedures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "procedure_id", "area_id", name=op.f("pk_apprentice_procedure_areas")
        ),
    )
    with op.batch_alter_table("apprentice_procedure_areas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_procedure_areas_area_id"), ["area_id"], unique=False
        )

    op.create_table(
        "apprentice_procedure_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", sa.String(length=500), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "state IN ('published', 'proposed', 'declined')",
            name=op.f("ck_apprentice_procedure_revisions_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_procedure_revisions_author_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["apprentice_procedures.id"],
            name=op.f("fk_apprentice_procedure_revisions_procedure_id_apprentice_procedures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_procedure_revisions")),
        sa.UniqueConstraint("procedure_id", "number", name="uq_apprentice_procedure_revisions_n"),
    )
    with op.batch_alter_table("apprentice_procedure_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_procedure_revisions_procedure_id"),
            ["procedure_id"],
            unique=False,
        )

    op.create_table(
        "apprentice_procedure_competencies",
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("competency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["competency_id"],
            ["apprentice_competencies.id"],
            name=op.f("fk_apprentice_procedure_competencies_competency_id_apprentice_competencies"),
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["apprentice_procedures.id"],
            name=op.f("fk_apprentice_procedure_competencies_procedure_id_apprentice_procedures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "procedure_id", "competency_id", name=op.f("pk_apprentice_procedure_competencies")
        ),
    )
    with op.batch_alter_table("apprentice_procedure_competencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_procedure_competencies_competency_id"),
            ["competency_id"],
            unique=False,
        )



def downgrade() -> None:
    with op.batch_alter_table("apprentice_procedure_competencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_procedure_competencies_competency_id"))

    op.drop_table("apprentice_procedure_competencies")
    with op.batch_alter_table("apprentice_procedure_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_procedure_revisions_procedure_id"))

    op.drop_table("apprentice_procedure_revisions")
    with op.batch_alter_table("apprentice_procedure_areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_procedure_areas_area_id"))

    op.drop_table("apprentice_procedure_areas")
    op.drop_table("apprentice_procedures")
