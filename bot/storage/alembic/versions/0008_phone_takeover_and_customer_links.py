"""WhatsApp phone takeover and one customer across channels: when a person last answered
in a taken-over conversation (``majlis_takeover.last_human_at``, the quiet time of
``WHATSAPP_TAKEOVER_QUIET_MINUTES``) and the table linking channel identities to one
customer (``majlis_customer_link``, bot.handoff.customer_links).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("majlis_takeover", sa.Column("last_human_at", sa.DateTime(), nullable=True))
    op.create_table(
        "majlis_customer_link",
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("customer", sa.String(255), nullable=False),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "customer"),
    )
    op.create_index("ix_majlis_customer_link_person", "majlis_customer_link", ["person"])


def downgrade() -> None:
    op.drop_index("ix_majlis_customer_link_person", table_name="majlis_customer_link")
    op.drop_table("majlis_customer_link")
    with op.batch_alter_table("majlis_takeover") as batch:
        batch.drop_column("last_human_at")
