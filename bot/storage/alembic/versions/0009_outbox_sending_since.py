"""Outbox: when the current send attempt started (``sending_since``), for exactly-once sends.

A row is marked before its HTTP request goes to the provider; a row found marked by a
process that is gone is *in doubt* (the provider may have it) and waits for a status
webhook echoing its key before it is sent again (``bot/delivery/in_doubt.py``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("majlis_outbox", sa.Column("sending_since", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("majlis_outbox") as batch:  # SQLite drops columns by copying the table
        batch.drop_column("sending_since")
