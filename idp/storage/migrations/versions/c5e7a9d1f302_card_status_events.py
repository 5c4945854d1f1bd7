"""card status events

Revision ID: c5e7a9d1f302
Revises: ea0f41a62cc2
Create Date: 2026-12-07 21:40:00.000000

What the IdP learnt of the status of an account's card certificates (revoked with its reason,
held, released), one row per change, unique per account, certificate, status and time of the
change; and the signing certificate records keep their issuer's hash, so a change at the CA
finds them by an index.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c5e7a9d1f302"
down_revision = "ea0f41a62cc2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "card_status_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=43), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("issuer_hash", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("changed_at", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.Integer(), nullable=True),
        sa.Column("sessions_ended", sa.Integer(), nullable=False),
        sa.Column("families_revoked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "account_id",
            "issuer_hash",
            "serial",
            "status",
            "changed_at",
            name="uq_card_status_event_change",
        ),
    )
    op.create_index(
        "ix_card_status_event_certificate", "card_status_event", ["issuer_hash", "serial"]
    )
    op.create_index(
        "ix_card_status_event_account_changed", "card_status_event", ["account_id", "changed_at"]
    )
    with op.batch_alter_table("signing_certificate_record") as batch:
        batch.add_column(sa.Column("issuer_hash", sa.String(length=64), nullable=True))
        batch.create_index("ix_signing_record_certificate", ["issuer_hash", "serial"])


def downgrade():
    with op.batch_alter_table("signing_certificate_record") as batch:
        batch.drop_index("ix_signing_record_certificate")
        batch.drop_column("issuer_hash")
    op.drop_index("ix_card_status_event_account_changed", table_name="card_status_event")
    op.drop_index("ix_card_status_event_certificate", table_name="card_status_event")
    op.drop_table("card_status_event")
