"""Every table by migration, and claims that several instances can share.

* The channels' per-conversation tables, created on first use until now
  (``majlis_contact_address``, ``majlis_takeover``, ``majlis_entry_source``); a
  database where they already exist keeps them and their rows.
* ``claimed_by``/``lease_until`` on the inbox and the outbox: the instance working on
  a row and until when (``bot.storage.delivery_sql``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _create(name: str, *elements: Any) -> bool:
    if sa.inspect(op.get_bind()).has_table(name):
        return False
    op.create_table(name, *elements)
    return True


def upgrade() -> None:
    if _create(
        "majlis_contact_address",
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("customer", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "account", "customer"),
    ):
        op.create_index("ix_majlis_contact_address_customer", "majlis_contact_address",
                        ["channel", "customer", "updated_at"])
    _create(
        "majlis_takeover",
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("customer", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("channel", "account", "customer"),
    )
    _create(
        "majlis_entry_source",
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("customer", sa.String(255), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(64), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "customer"),
    )
    for table in ("majlis_inbox", "majlis_outbox"):
        op.add_column(table, sa.Column("claimed_by", sa.String(64), nullable=True))
        op.add_column(table, sa.Column("lease_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    for table in ("majlis_inbox", "majlis_outbox"):
        with op.batch_alter_table(table) as batch:  # SQLite drops columns by copying the table
            batch.drop_column("lease_until")
            batch.drop_column("claimed_by")
    for name in ("majlis_entry_source", "majlis_takeover", "majlis_contact_address"):
        op.drop_table(name)
