"""Handoffs name the customer by Rasa's sender id, now namespaced: prefix the older bare ids.

The old migrator's version 3.  Only Majlis' handoff rows need it: the delivery,
status, window and entry-source tables keep the bare provider id beside their
channel column.  Rows already prefixed are left alone, so running it twice is harmless.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Channels whose sender ids became ``<channel>:<provider id>`` (bot/identity.py).
_NAMESPACED_CHANNELS = ("whatsapp_cloud", "twilio_whatsapp", "instagram", "webchat")

# The columns this revision touches, as they were then (not bot.storage.schema, which moves on).
_handoff = sa.table(
    "majlis_handoff",
    sa.column("channel", sa.String),
    sa.column("customer", sa.String),
    sa.column("active_key", sa.String),
)


def upgrade() -> None:
    conn = op.get_bind()
    for channel in _NAMESPACED_CHANNELS:
        prefix = f"{channel}:"
        conn.execute(
            _handoff.update()
            .where(_handoff.c.channel == channel, ~_handoff.c.customer.startswith(prefix, autoescape=True))
            .values(customer=sa.literal(prefix) + _handoff.c.customer)
        )
        # The one-open-handoff key is "<channel> <customer>": rebuild it from the new customer.
        conn.execute(
            _handoff.update()
            .where(_handoff.c.channel == channel, _handoff.c.active_key.isnot(None))
            .values(active_key=sa.literal(f"{channel} ") + _handoff.c.customer)
        )


def downgrade() -> None:
    """Nothing: bare and namespaced ids cannot be told apart once mixed, and both keep working."""
