"""document titles per language

Revision ID: b4d2e6f8a013
Revises: 9c7eaa3858b5
Create Date: 2026-12-07 20:20:00.000000

A service may give a document's title per language (``title#ja``, ``title#en``) besides the
untagged title: the request keeps them, and so does the access record of its signature, which
outlives the request.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b4d2e6f8a013"
down_revision = "9c7eaa3858b5"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("document_request", sa.Column("titles", sa.Text(), nullable=True))
    op.add_column("access_record", sa.Column("titles", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("access_record", "titles")
    op.drop_column("document_request", "titles")
