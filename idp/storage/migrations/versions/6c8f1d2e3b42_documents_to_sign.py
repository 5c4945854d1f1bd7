"""documents to sign

Revision ID: 6c8f1d2e3b42
Revises: 5b7e0c1d2a31
Create Date: 2026-11-22 21:46:00.000000

Contract signing: the documents services submit and citizens sign at home.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "6c8f1d2e3b42"
down_revision = "5b7e0c1d2a31"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "document_request",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("client_id", sa.String(length=48), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("sub", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=43), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("prepared_attrs", sa.LargeBinary(), nullable=True),
        sa.Column("prepared_digest", sa.String(length=43), nullable=True),
        sa.Column("prepared_pdf", sa.LargeBinary(), nullable=True),
        sa.Column("prepared_range", sa.String(length=128), nullable=True),
        sa.Column("account_id", sa.String(length=43), nullable=True),
        sa.Column("signed_at", sa.Integer(), nullable=True),
        sa.Column("cms", sa.LargeBinary(), nullable=True),
        sa.Column("signed_pdf", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_document_request_client_id", "document_request", ["client_id"])


def downgrade():
    op.drop_index("ix_document_request_client_id", table_name="document_request")
    op.drop_table("document_request")
