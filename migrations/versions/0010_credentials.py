"""credentials: lineages for frameworks and areas; issued credentials and revocations,
append-only

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:30:00
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# An Open Badges achievement's id is made from the framework's and the area's lineage
# (never a row id, never the wording): existing rows get one each here.
LINEAGE_TABLES = ("apprentice_frameworks", "apprentice_competency_areas")
# What was issued, and its withdrawal, are never changed or removed: the database
# refuses it, as for sign-offs (0003 defines apprentice_refuse_change for PostgreSQL).
APPEND_ONLY = ("apprentice_credentials", "apprentice_credential_revocations")


def add_lineages() -> None:
    bind = op.get_bind()
    for table in LINEAGE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("lineage", sa.String(length=32), nullable=True))
        rows = sa.table(table, sa.column("id", sa.Integer), sa.column("lineage", sa.String))
        for (row_id,) in bind.execute(sa.select(rows.c.id)).all():
            bind.execute(sa.update(rows).where(rows.c.id == row_id)
                         .values(lineage=uuid.uuid4().hex))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("lineage", existing_type=sa.String(length=32),
                                  nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_lineage"), ["lineage"])


def create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
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


def upgrade() -> None:
    add_lineages()
    op.create_table(
        "apprentice_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=45), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("achievement_id", sa.String(length=500), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("status_list", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["apprentice_competency_areas.id"],
            name=op.f("fk_apprentice_credentials_area_id_apprentice_competency_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["framework_id"], ["apprentice_frameworks.id"],
            name=op.f("fk_apprentice_credentials_framework_id_apprentice_frameworks"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"], ["apprentice_staff.id"],
            name=op.f("fk_apprentice_credentials_issued_by_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["apprentice_staff.id"],
            name=op.f("fk_apprentice_credentials_person_id_apprentice_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_credentials")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_apprentice_credentials_credential_id")),
        sa.UniqueConstraint("status_list", "status_index",
                            name=op.f("uq_apprentice_credentials_status_list")),
    )
    with op.batch_alter_table("apprentice_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_credentials_person_id"), ["person_id"], unique=False)
    op.create_table(
        "apprentice_credential_revocations",
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["by_id"], ["apprentice_staff.id"],
            name=op.f("fk_apprentice_credential_revocations_by_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"], ["apprentice_credentials.id"],
            name=op.f(
                "fk_apprentice_credential_revocations_credential_id_apprentice_credentials"),
        ),
        sa.PrimaryKeyConstraint("credential_id",
                                name=op.f("pk_apprentice_credential_revocations")),
    )
    create_append_only_triggers()


def downgrade() -> None:
    # Dropping a table drops its triggers too (SQLite and PostgreSQL).
    op.drop_table("apprentice_credential_revocations")
    op.drop_table("apprentice_credentials")
    for table in reversed(LINEAGE_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"uq_{table}_lineage"), type_="unique")
            batch_op.drop_column("lineage")
