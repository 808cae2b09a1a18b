"""Assignment and the window-aware queue: agent presence and capacity, per-queue
auto-assignment switches, offers, and the reply window of each handoff.

New tables only (``bot.handoff.assignment_store``, ``bot.handoff.window_store``); no
existing table changes.  ``open_key`` holds the handoff id while an offer is open and
NULL after, so the unique constraint lets the database enforce one open offer per
handoff even with several instances offering at once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "majlis_agent_presence",
        sa.Column("agent_id", _ID, sa.ForeignKey("majlis_agent.id", ondelete="CASCADE"), nullable=False,
                  autoincrement=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("last_offered_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id"),
    )
    op.create_table(
        "majlis_queue_setting",
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("auto_assign", sa.Boolean(), nullable=False),
        sa.Column("updated_by", _ID, nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("queue"),
    )
    op.create_table(
        "majlis_handoff_offer",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("handoff_id", _ID, sa.ForeignKey("majlis_handoff.id", ondelete="CASCADE"), nullable=False),
        sa.Column("agent_id", _ID, sa.ForeignKey("majlis_agent.id", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("open_key", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key", name="uq_majlis_handoff_offer_open"),
    )
    op.create_index("ix_majlis_handoff_offer_handoff", "majlis_handoff_offer", ["handoff_id", "id"])
    op.create_index("ix_majlis_handoff_offer_open", "majlis_handoff_offer", ["state", "expires_at"])
    op.create_table(
        "majlis_handoff_window",
        sa.Column("handoff_id", _ID, sa.ForeignKey("majlis_handoff.id", ondelete="CASCADE"), nullable=False,
                  autoincrement=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("handoff_id"),
    )
    op.create_index("ix_majlis_handoff_window_expiry", "majlis_handoff_window", ["expires_at"])


def downgrade() -> None:
    for name in ("majlis_handoff_window", "majlis_handoff_offer", "majlis_queue_setting", "majlis_agent_presence"):
        op.drop_table(name)
