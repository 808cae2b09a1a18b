"""The trainer's workbench: the index of customer messages worth a look, their
similarity groups and LSH bands, the collector's cursor and the audit trail
(``bot.workbench``).  New tables only.

The inbox's partial index holds exactly the open messages with a reason, covering the
GROUP BY and every filter, so an inbox query never reads the table's rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INBOX = "status = 'open' AND reasons != 0"


def upgrade() -> None:
    op.create_table(
        "majlis_nlu_message",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("dialect", sa.String(16), nullable=True),
        sa.Column("transliteration", sa.Text(), nullable=True),
        sa.Column("intent", sa.String(100), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("ranking", sa.Text(), nullable=False),
        sa.Column("entities", sa.Text(), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("reasons", sa.Integer(), nullable=False),
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("label", sa.String(100), nullable=True),
        sa.Column("labelled_by", sa.String(120), nullable=True),
        sa.Column("labelled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", name="uq_majlis_nlu_message_event"),
    )
    op.create_index("ix_majlis_nlu_message_inbox", "majlis_nlu_message",
                    ["group_id", "reasons", "at", "form", "language", "channel", "intent", "status", "id"],
                    sqlite_where=sa.text(_INBOX), postgresql_where=sa.text(_INBOX))
    op.create_index("ix_majlis_nlu_message_group", "majlis_nlu_message", ["group_id"])
    op.create_index("ix_majlis_nlu_message_sender", "majlis_nlu_message", ["sender_id", "id"])
    op.create_table(
        "majlis_nlu_group",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "majlis_nlu_band",
        sa.Column("band", sa.String(40), nullable=False),
        sa.Column("group_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("band", "group_id"),
    )
    op.create_table(
        "majlis_nlu_cursor",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("last_event_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "majlis_nlu_audit",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("intent", sa.String(100), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("path", sa.String(255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_majlis_nlu_audit_at", "majlis_nlu_audit", ["at"])


def downgrade() -> None:
    for name in ("majlis_nlu_audit", "majlis_nlu_cursor", "majlis_nlu_band", "majlis_nlu_group", "majlis_nlu_message"):
        op.drop_table(name)
