"""foundation: staff, roles, sign-in failures

Revision ID: 0001
Revises:
Create Date: 2026-11-25 13:27:33.602557
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apprentice_sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_sign_in_failures")),
    )
    with op.batch_alter_table("apprentice_sign_in_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_apprentice_sign_in_failures_address_at", ["address", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_apprentice_sign_in_failures_email_at", ["email", "created_at"], unique=False
        )

    op.create_table(
        "apprentice_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("job_title", sa.String(length=120), nullable=False),
        sa.Column("branch", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("password_must_change", sa.Boolean(), nullable=False),
        sa.Column("session_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_staff")),
        sa.UniqueConstraint("email", name=op.f("uq_apprentice_staff_email")),
    )
    op.create_table(
        "apprentice_staff_roles",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "role IN ('apprentice', 'mentor', 'coordinator')",
            name=op.f("ck_apprentice_staff_roles_role_known"),
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_staff_roles_granted_by_id_apprentice_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_staff_roles_staff_id_apprentice_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", "role", name=op.f("pk_apprentice_staff_roles")),
    )


def downgrade() -> None:
    op.drop_table("apprentice_staff_roles")
    op.drop_table("apprentice_staff")
    with op.batch_alter_table("apprentice_sign_in_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_apprentice_sign_in_failures_email_at")
        batch_op.drop_index("ix_apprentice_sign_in_failures_address_at")

    op.drop_table("apprentice_sign_in_failures")
