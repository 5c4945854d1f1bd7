"""accounts and certificate bindings

Revision ID: 3c1d7e5a9b20
Revises: fa86d2211b32
Create Date: 2026-11-22 20:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3c1d7e5a9b20"
down_revision = "fa86d2211b32"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("last_login_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "certificate_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=43), nullable=False),
        sa.Column("issuer_hash", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("not_after", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_hash", "serial", name="uq_binding_issuer_serial"),
    )
    with op.batch_alter_table("certificate_binding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificate_binding_account_id"), ["account_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("certificate_binding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_binding_account_id"))
    op.drop_table("certificate_binding")
    op.drop_table("account")
