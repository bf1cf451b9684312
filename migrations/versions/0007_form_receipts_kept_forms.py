"""form receipts (one record per form), forms kept across an ended sign-in, audit indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 05:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apprentice_form_receipts",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["apprentice_staff.id"],
            name=op.f("fk_apprentice_form_receipts_person_id_apprentice_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_apprentice_form_receipts")),
    )
    with op.batch_alter_table("apprentice_form_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_form_receipts_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_apprentice_form_receipts_created_at"), ["created_at"], unique=False)
    op.create_table(
        "apprentice_kept_forms",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_apprentice_kept_forms")),
    )
    with op.batch_alter_table("apprentice_kept_forms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_kept_forms_created_at"), ["created_at"], unique=False)


    # Plain CREATE INDEX (no batch rebuild): the audit table's triggers stay as they are.
    op.create_index("ix_apprentice_audit_at", "apprentice_audit", ["at"])
    op.create_index("ix_apprentice_audit_actor_id", "apprentice_audit", ["actor_id"])
    op.create_index("ix_apprentice_audit_object", "apprentice_audit",
                    ["object_type", "object_id"])


def downgrade() -> None:
    op.drop_index("ix_apprentice_audit_object", table_name="apprentice_audit")
    op.drop_index("ix_apprentice_audit_actor_id", table_name="apprentice_audit")
    op.drop_index("ix_apprentice_audit_at", table_name="apprentice_audit")
    with op.batch_alter_table("apprentice_kept_forms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_kept_forms_created_at"))
    op.drop_table("apprentice_kept_forms")
    with op.batch_alter_table("apprentice_form_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_form_receipts_created_at"))
        batch_op.drop_index(batch_op.f("ix_apprentice_form_receipts_person_id"))
    op.drop_table("apprentice_form_receipts")
