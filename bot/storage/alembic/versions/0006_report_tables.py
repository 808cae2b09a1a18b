"""Reports: one row per conversation and per handoff, and the builder's cursors
(``bot.reports``).  New tables only; the builder fills them from the tracker
events, the handoff events and skipped outbox rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "majlis_report_cursor",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "majlis_report_conversation",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("local_hour", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("dialect", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("intent", sa.String(100), nullable=False),
        sa.Column("messages_in", sa.Integer(), nullable=False),
        sa.Column("messages_out", sa.Integer(), nullable=False),
        sa.Column("fallbacks", sa.Integer(), nullable=False),
        sa.Column("handed_off", sa.Boolean(), nullable=False),
        sa.Column("handoff_reason", sa.String(64), nullable=True),
        sa.Column("lost_window", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_majlis_report_conversation_day", "majlis_report_conversation", ["local_day"])
    op.create_index("ix_majlis_report_conversation_sender", "majlis_report_conversation", ["sender_id", "started_at"])
    op.create_table(
        "majlis_report_handoff",
        sa.Column("handoff_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=True),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("handling_s", sa.Float(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("handoff_id"),
    )
    op.create_index("ix_majlis_report_handoff_day", "majlis_report_handoff", ["local_day"])
    op.create_index("ix_majlis_report_handoff_unlinked", "majlis_report_handoff", ["conversation_id"])


def downgrade() -> None:
    for name in ("majlis_report_handoff", "majlis_report_conversation", "majlis_report_cursor"):
        op.drop_table(name)
