"""signing certificate records

Revision ID: 9c7eaa3858b5
Revises: 9f1c4a5b6e75
Create Date: 2026-12-07 15:30:00.000000

The signing certificates (issuer and serial, never the certificate) each account's identity was
proven with together with its own authentication key (docs/bridge-protocol.md §9); a replaced
one keeps its row, so the citizen's account page can show the change.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9c7eaa3858b5"
down_revision = "9f1c4a5b6e75"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "signing_certificate_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=43), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("first_verified_at", sa.Integer(), nullable=False),
        sa.Column("last_verified_at", sa.Integer(), nullable=False),
        sa.Column("replaced_at", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "issuer", "serial", name="uq_signing_record_certificate"),
    )
    op.create_index(
        "ix_signing_record_account_first",
        "signing_certificate_record",
        ["account_id", "first_verified_at"],
    )


def downgrade():
    op.drop_index("ix_signing_record_account_first", table_name="signing_certificate_record")
    op.drop_table("signing_certificate_record")
