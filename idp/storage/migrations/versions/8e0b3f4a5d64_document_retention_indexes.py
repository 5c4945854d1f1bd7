"""document retention indexes

Revision ID: 8e0b3f4a5d64
Revises: 7d9a2e3f4c53
Create Date: 2026-11-23 07:25:00.000000

``idp documents purge`` selects finished requests by (status, expires_at) and (status,
signed_at), hourly on every node: indexes, so a large table is not scanned each time.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "8e0b3f4a5d64"
down_revision = "7d9a2e3f4c53"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_document_request_status_expires", "document_request", ["status", "expires_at"]
    )
    op.create_index(
        "ix_document_request_status_signed", "document_request", ["status", "signed_at"]
    )


def downgrade():
    op.drop_index("ix_document_request_status_signed", table_name="document_request")
    op.drop_index("ix_document_request_status_expires", table_name="document_request")
