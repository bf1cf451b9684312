"""share links: an apprentice's portfolio for readers without an account, and view counts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Only the SHA-256 hash of a link's token is stored (token_hash): someone who reads the
# database cannot open a portfolio with what they read. Views are counted in a table of
# their own (apprentice/sharing/models.py says why).


def upgrade() -> None:
    op.create_table(
        "apprentice_share_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_only", sa.Boolean(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["apprentice_staff.id"],
            name=op.f("fk_apprentice_share_links_person_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["apprentice_staff.id"],
            name=op.f("fk_apprentice_share_links_revoked_by_id_apprentice_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_share_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_apprentice_share_links_token_hash")),
    )
    with op.batch_alter_table("apprentice_share_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_share_links_person_id"), ["person_id"], unique=False)
    op.create_table(
        "apprentice_share_link_views",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("last_viewed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"], ["apprentice_share_links.id"],
            name=op.f("fk_apprentice_share_link_views_link_id_apprentice_share_links"),
        ),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_apprentice_share_link_views")),
    )


def downgrade() -> None:
    op.drop_table("apprentice_share_link_views")
    with op.batch_alter_table("apprentice_share_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_share_links_person_id"))
    op.drop_table("apprentice_share_links")
