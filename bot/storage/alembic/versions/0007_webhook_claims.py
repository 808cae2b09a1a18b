"""Desk webhooks claimed like the inbox and the outbox: ``claimed_by``/``lease_until`` on
``majlis_webhook_delivery``, so with several instances one of them sends each delivery
(``bot.agent_desk.webhooks.WebhookStore.claim_due``).  Two nullable columns: existing rows
are unclaimed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "majlis_webhook_delivery"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("claimed_by", sa.String(64), nullable=True))
    op.add_column(TABLE, sa.Column("lease_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:  # SQLite drops columns by copying the table
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
