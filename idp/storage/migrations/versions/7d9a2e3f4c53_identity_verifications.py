"""identity verifications

Revision ID: 7d9a2e3f4c53
Revises: 6c8f1d2e3b42
Create Date: 2026-11-22 21:46:00.000000

How an identity was verified (method, time, certificate issuer and serial, trust
framework); never the basic four facts.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7d9a2e3f4c53"
down_revision = "6c8f1d2e3b42"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "identity_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=43), nullable=False),
        sa.Column("client_id", sa.String(length=48), nullable=False),
        sa.Column("consent_id", sa.String(length=43), nullable=True),
        sa.Column("trust_framework", sa.String(length=32), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("signature_type", sa.String(length=32), nullable=False),
        sa.Column("certificate_issuer", sa.Text(), nullable=False),
        sa.Column("certificate_serial", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_identity_verification_account_at",
        "identity_verification",
        ["account_id", "verified_at"],
    )
    op.create_index("ix_identity_verification_consent_id", "identity_verification", ["consent_id"])


def downgrade():
    op.drop_index("ix_identity_verification_consent_id", table_name="identity_verification")
    op.drop_index("ix_identity_verification_account_at", table_name="identity_verification")
    op.drop_table("identity_verification")
