"""Baseline: the delivery, handoff and agent desk tables (the old migrator's versions 1 and 2).

Tables that already exist are left alone, so a database the hand-written migrator
built part of (before Alembic) is completed rather than failing.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""
from typing import Any, Sequence, Tuple

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: Auto-increment primary key: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _create(name: str, *elements: Any, indexes: Sequence[Tuple[str, Sequence[str]]] = ()) -> None:
    if sa.inspect(op.get_bind()).has_table(name):
        return
    op.create_table(name, *elements)
    for index, columns in indexes:
        op.create_index(index, name, list(columns))


def upgrade() -> None:
    _create(
        "majlis_agent",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("languages", sa.String(length=64), nullable=False),
        sa.Column("queues", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email", name="uq_majlis_agent_email"),
    )
    _create(
        "majlis_contact_window",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("customer", sa.String(length=255), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "account", "customer"),
    )
    _create(
        "majlis_inbox",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("customer", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("opens_window", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("accept_token", sa.String(length=36), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "message_id", name="uq_majlis_inbox_message"),
        indexes=[("ix_majlis_inbox_conversation", ["channel", "account", "customer", "id"]), ("ix_majlis_inbox_received", ["received_at"]), ("ix_majlis_inbox_state", ["channel", "state"])],
    )
    _create(
        "majlis_message_status",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("provider_message_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_title", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("channel", "provider_message_id", "status"),
        indexes=[("ix_majlis_message_status_recorded", ["recorded_at"])],
    )
    _create(
        "majlis_outbox",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("customer", sa.String(length=255), nullable=False),
        sa.Column("inbound_message_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("free_form", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=255), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "idempotency_key", name="uq_majlis_outbox_key"),
        indexes=[("ix_majlis_outbox_conversation", ["channel", "account", "customer", "id"]), ("ix_majlis_outbox_provider_id", ["channel", "provider_message_id"]), ("ix_majlis_outbox_state", ["channel", "state"])],
    )
    _create(
        "majlis_agent_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", _PK, nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["majlis_agent.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
        indexes=[("ix_majlis_agent_session_expiry", ["expires_at"])],
    )
    _create(
        "majlis_api_token",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("queues", sa.String(length=255), nullable=False),
        sa.Column("agent_id", _PK, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["majlis_agent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name="uq_majlis_api_token_hash"),
    )
    _create(
        "majlis_handoff",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=True),
        sa.Column("customer", sa.String(length=255), nullable=False),
        sa.Column("active_key", sa.String(length=330), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("agent_id", _PK, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("returned_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(length=64), nullable=True),
        sa.Column("last_customer_at", sa.DateTime(), nullable=True),
        sa.Column("last_notice_at", sa.DateTime(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_state", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["majlis_agent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_key", name="uq_majlis_handoff_active"),
        sa.UniqueConstraint("public_id", name="uq_majlis_handoff_public_id"),
        indexes=[("ix_majlis_handoff_customer", ["channel", "customer"]), ("ix_majlis_handoff_queue", ["state", "queue", "priority", "created_at"])],
    )
    _create(
        "majlis_handoff_event",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("handoff_id", _PK, nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["handoff_id"], ["majlis_handoff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        indexes=[("ix_majlis_handoff_event_handoff", ["handoff_id", "id"])],
    )
    _create(
        "majlis_handoff_message",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("handoff_id", _PK, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("agent_id", _PK, nullable=True),
        sa.Column("author", sa.String(length=120), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("send_attempt", sa.Integer(), nullable=False),
        sa.Column("delivery_state", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["handoff_id"], ["majlis_handoff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("handoff_id", "client_key", name="uq_majlis_handoff_message_client_key"),
        indexes=[("ix_majlis_handoff_message_handoff", ["handoff_id", "id"])],
    )
    _create(
        "majlis_webhook_delivery",
        sa.Column("id", _PK, autoincrement=True, nullable=False),
        sa.Column("event_id", _PK, nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["majlis_handoff_event.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "target", name="uq_majlis_webhook_delivery"),
        indexes=[("ix_majlis_webhook_delivery_due", ["state", "next_attempt_at"])],
    )

def downgrade() -> None:
    for name in ("majlis_webhook_delivery", "majlis_handoff_message", "majlis_handoff_event", "majlis_handoff",
                 "majlis_api_token", "majlis_agent_session", "majlis_outbox", "majlis_message_status",
                 "majlis_inbox", "majlis_contact_window", "majlis_agent"):
        op.drop_table(name)
