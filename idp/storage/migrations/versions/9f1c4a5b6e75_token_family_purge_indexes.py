"""token family purge indexes

Revision ID: 9f1c4a5b6e75
Revises: 8e0b3f4a5d64
Create Date: 2026-12-07 15:30:00.000000

``idp tokens purge`` selects families by ``expires_at`` and ``revoked_at`` on every node: indexes,
so a table of millions of families is not scanned for each batch.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "9f1c4a5b6e75"
down_revision = "8e0b3f4a5d64"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_token_family_expires_at", "token_family", ["expires_at"])
    op.create_index("ix_token_family_revoked_at", "token_family", ["revoked_at"])


def downgrade():
    op.drop_index("ix_token_family_revoked_at", table_name="token_family")
    op.drop_index("ix_token_family_expires_at", table_name="token_family")
