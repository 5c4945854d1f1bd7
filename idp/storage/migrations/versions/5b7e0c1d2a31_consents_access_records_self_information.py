"""consents, access records and self-information

Revision ID: 5b7e0c1d2a31
Revises: 3c1d7e5a9b20
Create Date: 2026-11-22 21:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5b7e0c1d2a31"
down_revision = "3c1d7e5a9b20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consent",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("account_id", sa.String(length=43), nullable=False),
        sa.Column("client_id", sa.String(length=48), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("per_request", sa.Boolean(), nullable=False),
        sa.Column("auth_method", sa.String(length=32), nullable=False),
        sa.Column("content_digest", sa.String(length=64), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_account_client", "consent", ["account_id", "client_id"])
    op.create_table(
        "access_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=43), nullable=False),
        sa.Column("client_id", sa.String(length=48), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("consent_id", sa.String(length=43), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_record_account_at", "access_record", ["account_id", "at"])
    op.create_index("ix_access_record_consent_id", "access_record", ["consent_id"])
    op.create_table(
        "self_information",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=43), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "category", name="uq_selfinfo_category"),
    )
    op.create_index("ix_self_information_account_id", "self_information", ["account_id"])


def downgrade():
    op.drop_index("ix_self_information_account_id", table_name="self_information")
    op.drop_table("self_information")
    op.drop_index("ix_access_record_consent_id", table_name="access_record")
    op.drop_index("ix_access_record_account_at", table_name="access_record")
    op.drop_table("access_record")
    op.drop_index("ix_consent_account_client", table_name="consent")
    op.drop_table("consent")
