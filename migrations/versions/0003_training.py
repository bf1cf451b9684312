"""apprenticeship loop and audit trail

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:09:25.478728
"""

import sqlalchemy as sa
from alembic import op

# Records of people's qualifications and the audit trail: the database itself
# refuses to change or remove them. (A later migration that rebuilds one of these
# tables on SQLite must create its triggers again.)
APPEND_ONLY = (
    "apprentice_audit",
    "apprentice_sign_offs",
    "apprentice_sign_off_evidence",
    "apprentice_revocations",
)
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION apprentice_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: records are never changed or removed', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""


def create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: records are never "
                    "changed or removed'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION apprentice_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION apprentice_refuse_change()"
            )


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apprentice_audit",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_audit_actor_id_apprentice_staff"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_audit")),
        sa.UniqueConstraint("hash", name=op.f("uq_apprentice_audit_hash")),
    )
    with op.batch_alter_table("apprentice_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apprentice_audit_action"), ["action"], unique=False)

    op.create_table(
        "apprentice_log_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("activity", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reflection", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("form_token", sa.String(length=64), nullable=False),
        sa.Column("return_comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'verified', 'returned')",
            name=op.f("ck_apprentice_log_entries_state_known"),
        ),
        sa.CheckConstraint(
            "activity BETWEEN 1 AND 6", name=op.f("ck_apprentice_log_entries_activity_known")
        ),
        sa.CheckConstraint(
            "minutes > 0 AND minutes <= 1440",
            name=op.f("ck_apprentice_log_entries_minutes_in_a_day"),
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_log_entries_mentor_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_log_entries_person_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_log_entries_verified_by_id_apprentice_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_log_entries")),
        sa.UniqueConstraint("person_id", "form_token", name="uq_apprentice_log_entries_form"),
    )
    with op.batch_alter_table("apprentice_log_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_log_entries_mentor_id"), ["mentor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_apprentice_log_entries_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_apprentice_log_entries_state_submitted", ["state", "submitted_at"], unique=False
        )

    op.create_table(
        "apprentice_pairings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("apprentice_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "apprentice_id <> mentor_id", name=op.f("ck_apprentice_pairings_not_self")
        ),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on",
            name=op.f("ck_apprentice_pairings_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["apprentice_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_pairings_apprentice_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_pairings_created_by_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_pairings_mentor_id_apprentice_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_pairings")),
    )
    with op.batch_alter_table("apprentice_pairings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_pairings_apprentice_id"), ["apprentice_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_apprentice_pairings_mentor_id"), ["mentor_id"], unique=False
        )

    op.create_table(
        "apprentice_reminders_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_reminders_sent_mentor_id_apprentice_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_reminders_sent")),
        sa.UniqueConstraint("mentor_id", "day", name="uq_apprentice_reminders_day"),
    )
    op.create_table(
        "apprentice_pairing_areas",
        sa.Column("pairing_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["apprentice_competency_areas.id"],
            name=op.f("fk_apprentice_pairing_areas_area_id_apprentice_competency_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["pairing_id"],
            ["apprentice_pairings.id"],
            name=op.f("fk_apprentice_pairing_areas_pairing_id_apprentice_pairings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pairing_id", "area_id", name=op.f("pk_apprentice_pairing_areas")),
    )
    op.create_table(
        "apprentice_log_entry_competencies",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("competency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["competency_id"],
            ["apprentice_competencies.id"],
            name=op.f("fk_apprentice_log_entry_competencies_competency_id_apprentice_competencies"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["apprentice_log_entries.id"],
            name=op.f("fk_apprentice_log_entry_competencies_entry_id_apprentice_log_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "entry_id", "competency_id", name=op.f("pk_apprentice_log_entry_competencies")
        ),
    )
    with op.batch_alter_table("apprentice_log_entry_competencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_log_entry_competencies_competency_id"),
            ["competency_id"],
            unique=False,
        )

    op.create_table(
        "apprentice_sign_offs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("competency_id", sa.Integer(), nullable=False),
        sa.Column("lineage", sa.String(length=32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "level BETWEEN 1 AND 6", name=op.f("ck_apprentice_sign_offs_level_known")
        ),
        sa.CheckConstraint(
            "person_id <> signed_by_id", name=op.f("ck_apprentice_sign_offs_not_self")
        ),
        sa.ForeignKeyConstraint(
            ["competency_id"],
            ["apprentice_competencies.id"],
            name=op.f("fk_apprentice_sign_offs_competency_id_apprentice_competencies"),
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["apprentice_sign_offs.id"],
            name=op.f("fk_apprentice_sign_offs_corrects_id_apprentice_sign_offs"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_sign_offs_person_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_sign_offs_signed_by_id_apprentice_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_sign_offs")),
    )
    with op.batch_alter_table("apprentice_sign_offs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_apprentice_sign_offs_person_lineage", ["person_id", "lineage"], unique=False
        )

    op.create_table(
        "apprentice_revocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sign_off_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_by_id", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["apprentice_staff.id"],
            name=op.f("fk_apprentice_revocations_revoked_by_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["sign_off_id"],
            ["apprentice_sign_offs.id"],
            name=op.f("fk_apprentice_revocations_sign_off_id_apprentice_sign_offs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_revocations")),
        sa.UniqueConstraint("sign_off_id", name=op.f("uq_apprentice_revocations_sign_off_id")),
    )
    op.create_table(
        "apprentice_sign_off_evidence",
        sa.Column("sign_off_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["apprentice_log_entries.id"],
            name=op.f("fk_apprentice_sign_off_evidence_entry_id_apprentice_log_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["sign_off_id"],
            ["apprentice_sign_offs.id"],
            name=op.f("fk_apprentice_sign_off_evidence_sign_off_id_apprentice_sign_offs"),
        ),
        sa.PrimaryKeyConstraint(
            "sign_off_id", "entry_id", name=op.f("pk_apprentice_sign_off_evidence")
        ),
    )
    create_append_only_triggers()


def downgrade() -> None:
    op.drop_table("apprentice_sign_off_evidence")
    op.drop_table("apprentice_revocations")
    with op.batch_alter_table("apprentice_sign_offs", schema=None) as batch_op:
        batch_op.drop_index("ix_apprentice_sign_offs_person_lineage")

    op.drop_table("apprentice_sign_offs")
    with op.batch_alter_table("apprentice_log_entry_competencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_log_entry_competencies_competency_id"))

    op.drop_table("apprentice_log_entry_competencies")
    op.drop_table("apprentice_pairing_areas")
    op.drop_table("apprentice_reminders_sent")
    with op.batch_alter_table("apprentice_pairings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_pairings_mentor_id"))
        batch_op.drop_index(batch_op.f("ix_apprentice_pairings_apprentice_id"))

    op.drop_table("apprentice_pairings")
    with op.batch_alter_table("apprentice_log_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_apprentice_log_entries_state_submitted")
        batch_op.drop_index(batch_op.f("ix_apprentice_log_entries_person_id"))
        batch_op.drop_index(batch_op.f("ix_apprentice_log_entries_mentor_id"))

    op.drop_table("apprentice_log_entries")
    with op.batch_alter_table("apprentice_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_audit_action"))

    op.drop_table("apprentice_audit")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS apprentice_refuse_change()")
