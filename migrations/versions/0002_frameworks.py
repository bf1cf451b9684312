"""competency frameworks and enrolment

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 13:42:05.329116
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apprentice_frameworks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("electives_required", sa.Integer(), nullable=False),
        sa.Column("level_required", sa.Integer(), nullable=False),
        sa.Column("area_completion_percent", sa.Integer(), nullable=False),
        sa.Column("time_allowed_months", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'retired')",
            name=op.f("ck_apprentice_frameworks_status_known"),
        ),
        sa.CheckConstraint(
            "area_completion_percent BETWEEN 1 AND 100",
            name=op.f("ck_apprentice_frameworks_completion_percent_range"),
        ),
        sa.CheckConstraint(
            "electives_required >= 0", name=op.f("ck_apprentice_frameworks_electives_not_negative")
        ),
        sa.CheckConstraint(
            "level_required BETWEEN 1 AND 6", name=op.f("ck_apprentice_frameworks_level_known")
        ),
        sa.CheckConstraint(
            "time_allowed_months >= 1", name=op.f("ck_apprentice_frameworks_time_allowed_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_frameworks")),
    )
    op.create_table(
        "apprentice_competency_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("min_hours", sa.Integer(), nullable=True),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('required', 'elective')",
            name=op.f("ck_apprentice_competency_areas_kind_known"),
        ),
        sa.CheckConstraint(
            "min_hours IS NULL OR min_hours >= 0",
            name=op.f("ck_apprentice_competency_areas_min_hours_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["apprentice_frameworks.id"],
            name=op.f("fk_apprentice_competency_areas_framework_id_apprentice_frameworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_competency_areas")),
    )
    with op.batch_alter_table("apprentice_competency_areas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_competency_areas_framework_id"),
            ["framework_id"],
            unique=False,
        )

    op.create_table(
        "apprentice_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'completed', 'withdrawn')",
            name=op.f("ck_apprentice_enrolments_status_known"),
        ),
        sa.CheckConstraint(
            "target_date >= start_date", name=op.f("ck_apprentice_enrolments_target_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_enrolments_created_by_id_apprentice_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["apprentice_frameworks.id"],
            name=op.f("fk_apprentice_enrolments_framework_id_apprentice_frameworks"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_enrolments_person_id_apprentice_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_enrolments")),
    )
    with op.batch_alter_table("apprentice_enrolments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_enrolments_framework_id"), ["framework_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_apprentice_enrolments_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "uq_apprentice_enrolments_one_active",
            ["person_id", "framework_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "apprentice_framework_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["by_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_framework_changes_by_id_apprentice_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["apprentice_frameworks.id"],
            name=op.f("fk_apprentice_framework_changes_framework_id_apprentice_frameworks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_framework_changes")),
    )
    with op.batch_alter_table("apprentice_framework_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_framework_changes_framework_id"),
            ["framework_id"],
            unique=False,
        )

    op.create_table(
        "apprentice_competencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("lineage", sa.String(length=32), nullable=False),
        sa.Column("introduced_in", sa.Integer(), nullable=False),
        sa.Column("retired_in", sa.Integer(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["apprentice_competency_areas.id"],
            name=op.f("fk_apprentice_competencies_area_id_apprentice_competency_areas"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["apprentice_frameworks.id"],
            name=op.f("fk_apprentice_competencies_framework_id_apprentice_frameworks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["apprentice_competencies.id"],
            name=op.f("fk_apprentice_competencies_supersedes_id_apprentice_competencies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_competencies")),
    )
    with op.batch_alter_table("apprentice_competencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_competencies_area_id"), ["area_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_apprentice_competencies_framework_id"), ["framework_id"], unique=False
        )
        batch_op.create_index(
            "ix_apprentice_competencies_framework_lineage",
            ["framework_id", "lineage"],
            unique=False,
        )

    op.create_table(
        "apprentice_enrolment_electives",
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("chosen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["apprentice_competency_areas.id"],
            name=op.f("fk_apprentice_enrolment_electives_area_id_apprentice_competency_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["apprentice_enrolments.id"],
            name=op.f("fk_apprentice_enrolment_electives_enrolment_id_apprentice_enrolments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "enrolment_id", "area_id", name=op.f("pk_apprentice_enrolment_electives")
        ),
    )


def downgrade() -> None:
    op.drop_table("apprentice_enrolment_electives")
    with op.batch_alter_table("apprentice_competencies", schema=None) as batch_op:
        batch_op.drop_index("ix_apprentice_competencies_framework_lineage")
        batch_op.drop_index(batch_op.f("ix_apprentice_competencies_framework_id"))
        batch_op.drop_index(batch_op.f("ix_apprentice_competencies_area_id"))

    op.drop_table("apprentice_competencies")
    with op.batch_alter_table("apprentice_framework_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_framework_changes_framework_id"))

    op.drop_table("apprentice_framework_changes")
    with op.batch_alter_table("apprentice_enrolments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_apprentice_enrolments_one_active",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_apprentice_enrolments_person_id"))
        batch_op.drop_index(batch_op.f("ix_apprentice_enrolments_framework_id"))

    op.drop_table("apprentice_enrolments")
    with op.batch_alter_table("apprentice_competency_areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_competency_areas_framework_id"))

    op.drop_table("apprentice_competency_areas")
    op.drop_table("apprentice_frameworks")
