"""Reports: the per-day rollup of the conversation rows (``majlis_report_day``) and the
queue of days to rebuild (``majlis_report_dirty_day``), so a whole year reads a few tens
of thousands of narrow rows.  Every day already folded is queued, so the builder fills
the rollup on its next run.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
HOURS = [f"h{hour:02d}" for hour in range(24)]


def upgrade() -> None:
    op.create_table(
        "majlis_report_day",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("dialect", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("intent", sa.String(100), nullable=False),
        sa.Column("handed_off", sa.Boolean(), nullable=False),
        sa.Column("handoff_reason", sa.String(64), nullable=True),
        sa.Column("lost_window", sa.Boolean(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("messages_in", sa.Integer(), nullable=False),
        sa.Column("rating_sum", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in HOURS],
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_majlis_report_day_day", "majlis_report_day", ["local_day"])
    op.create_table(
        "majlis_report_dirty_day",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO majlis_report_dirty_day (local_day) "
               "SELECT DISTINCT local_day FROM majlis_report_conversation")


def downgrade() -> None:
    op.drop_table("majlis_report_dirty_day")
    op.drop_index("ix_majlis_report_day_day", table_name="majlis_report_day")
    op.drop_table("majlis_report_day")
