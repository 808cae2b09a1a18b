"""Table definitions of Majlis' own tables (the current shape, after every migration).

Every table here is created by the Alembic migrations in ``bot/storage/alembic/versions``
(:func:`bot.storage.migrate`); no store creates tables itself.  Change a table here
AND add a migration (``tests/bot/storage/test_migrations.py`` checks they agree).

Times are stored as naive UTC ``DateTime`` (SQLite has no time zones); the stores
convert to and from aware UTC datetimes at their boundary.  Rasa's tracker store is
separate and not described here.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

#: Auto-increment primary key: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

inbox = sa.Table(
    "majlis_inbox",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("message_id", sa.String(255), nullable=False),
    sa.Column("account", sa.String(128), nullable=False),
    sa.Column("customer", sa.String(255), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("sent_at", sa.DateTime, nullable=True),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("opens_window", sa.Boolean, nullable=False, default=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("accept_token", sa.String(36), nullable=False),
    sa.Column("last_error", sa.String(255), nullable=True),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    # Who works on the row and until when (multi-instance claims): a row claimed by
    # another instance is left alone until ``lease_until`` passes (a crashed claimer).
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.DateTime, nullable=True),
    sa.UniqueConstraint("channel", "message_id", name="uq_majlis_inbox_message"),
    sa.Index("ix_majlis_inbox_state", "channel", "state"),
    sa.Index("ix_majlis_inbox_conversation", "channel", "account", "customer", "id"),
    sa.Index("ix_majlis_inbox_received", "received_at"),
)

outbox = sa.Table(
    "majlis_outbox",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False),
    sa.Column("account", sa.String(128), nullable=False),
    sa.Column("customer", sa.String(255), nullable=False),
    sa.Column("inbound_message_id", sa.String(255), nullable=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("free_form", sa.Boolean, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime, nullable=True),
    # When the current send attempt started (set before the HTTP request, cleared with its
    # outcome): a row left marked by a dead process is in doubt (bot/delivery/in_doubt.py).
    sa.Column("sending_since", sa.DateTime, nullable=True),
    sa.Column("provider_message_id", sa.String(255), nullable=True),
    sa.Column("error_code", sa.Integer, nullable=True),
    sa.Column("error_message", sa.String(255), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    # Who works on the row and until when (multi-instance claims): a row claimed by
    # another instance is left alone until ``lease_until`` passes (a crashed claimer).
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.DateTime, nullable=True),
    sa.UniqueConstraint("channel", "idempotency_key", name="uq_majlis_outbox_key"),
    sa.Index("ix_majlis_outbox_state", "channel", "state"),
    sa.Index("ix_majlis_outbox_conversation", "channel", "account", "customer", "id"),
    sa.Index("ix_majlis_outbox_provider_id", "channel", "provider_message_id"),
)

message_status = sa.Table(
    "majlis_message_status",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("provider_message_id", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(32), primary_key=True),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("occurred_at", sa.DateTime, nullable=True),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("error_code", sa.Integer, nullable=True),
    sa.Column("error_title", sa.String(255), nullable=True),
    sa.Index("ix_majlis_message_status_recorded", "recorded_at"),
)

contact_window = sa.Table(
    "majlis_contact_window",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(128), primary_key=True),
    sa.Column("customer", sa.String(255), primary_key=True),
    sa.Column("last_inbound_at", sa.DateTime, nullable=False),
)

# -- handoff and agent desk (migration 2; owned by bot.handoff / bot.agent_desk) -------

agent = sa.Table(
    "majlis_agent",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(255), nullable=False),
    sa.Column("display_name", sa.String(120), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("languages", sa.String(64), nullable=False),
    sa.Column("queues", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("email", name="uq_majlis_agent_email"),
)

agent_session = sa.Table(
    "majlis_agent_session",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
              sa.ForeignKey("majlis_agent.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Index("ix_majlis_agent_session_expiry", "expires_at"),
)

api_token = sa.Table(
    "majlis_api_token",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("scopes", sa.String(255), nullable=False),
    sa.Column("queues", sa.String(255), nullable=False, default="*"),
    # the desk identity the integration acts as (claims, replies, notes)
    sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
              sa.ForeignKey("majlis_agent.id"), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
    sa.UniqueConstraint("token_hash", name="uq_majlis_api_token_hash"),
)

handoff = sa.Table(
    "majlis_handoff",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("public_id", sa.String(36), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("account", sa.String(128), nullable=True),
    sa.Column("customer", sa.String(255), nullable=False),
    # "<channel> <customer>" while the bot does not own the conversation, NULL after:
    # the unique constraint allows one open handoff per conversation, enforced by the DB.
    sa.Column("active_key", sa.String(330), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
              sa.ForeignKey("majlis_agent.id"), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("context", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("assigned_at", sa.DateTime, nullable=True),
    sa.Column("closed_at", sa.DateTime, nullable=True),
    sa.Column("returned_at", sa.DateTime, nullable=True),
    sa.Column("resolution", sa.String(64), nullable=True),
    sa.Column("last_customer_at", sa.DateTime, nullable=True),
    sa.Column("last_notice_at", sa.DateTime, nullable=True),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Column("rating_state", sa.String(16), nullable=True),
    sa.UniqueConstraint("public_id", name="uq_majlis_handoff_public_id"),
    sa.UniqueConstraint("active_key", name="uq_majlis_handoff_active"),
    sa.Index("ix_majlis_handoff_queue", "state", "queue", "priority", "created_at"),
    sa.Index("ix_majlis_handoff_customer", "channel", "customer"),
)

handoff_message = sa.Table(
    "majlis_handoff_message",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("handoff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
              sa.ForeignKey("majlis_handoff.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
    sa.Column("author", sa.String(120), nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("client_key", sa.String(64), nullable=True),
    sa.Column("send_attempt", sa.Integer, nullable=False, default=0),
    sa.Column("delivery_state", sa.String(16), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("handoff_id", "client_key", name="uq_majlis_handoff_message_client_key"),
    sa.Index("ix_majlis_handoff_message_handoff", "handoff_id", "id"),
)

handoff_event = sa.Table(
    "majlis_handoff_event",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("handoff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
              sa.ForeignKey("majlis_handoff.id", ondelete="CASCADE"), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_majlis_handoff_event_handoff", "handoff_id", "id"),
)

webhook_delivery = sa.Table(
    "majlis_webhook_delivery",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
              sa.ForeignKey("majlis_handoff_event.id", ondelete="CASCADE"), nullable=False),
    sa.Column("target", sa.String(120), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    # The instance sending the row and until when (migration 0007): bot.storage.claims.
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.DateTime, nullable=True),
    sa.UniqueConstraint("event_id", "target", name="uq_majlis_webhook_delivery"),
    sa.Index("ix_majlis_webhook_delivery_due", "state", "next_attempt_at"),
)

# -- per-conversation records of the channels (migration 0003; were created on first use) --

contact_address = sa.Table(
    "majlis_contact_address",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(128), primary_key=True),
    sa.Column("customer", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("address", sa.String(255), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("ix_majlis_contact_address_customer", "channel", "customer", "updated_at"),
)

takeover = sa.Table(
    "majlis_takeover",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(128), primary_key=True),
    sa.Column("customer", sa.String(255), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("since", sa.DateTime, nullable=False),
    sa.Column("released_at", sa.DateTime, nullable=True),
    # Revision 0008: when a person last answered (the WhatsApp phone takeover's quiet time).
    sa.Column("last_human_at", sa.DateTime, nullable=True),
)

entry_source = sa.Table(
    "majlis_entry_source",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("customer", sa.String(255), primary_key=True),
    sa.Column("ref", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("campaign", sa.String(64), nullable=True),
    sa.Column("first_seen_at", sa.DateTime, nullable=False),
)

# -- assignment and window-aware queue (Alembic revision 0004; owned by bot.handoff.assignment) ---
# Kept in new tables (nothing added to the tables above), so the DDL is one block.
# SQL: bot.handoff.assignment_store (presence, switches, offers), bot.handoff.window_store (windows).

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

agent_presence = sa.Table(
    "majlis_agent_presence",
    metadata,
    sa.Column("agent_id", _ID, sa.ForeignKey("majlis_agent.id", ondelete="CASCADE"), primary_key=True,
              autoincrement=False),
    sa.Column("available", sa.Boolean, nullable=False, default=False),
    # concurrent conversations; NULL: handoff.yml assignment.default_capacity
    sa.Column("capacity", sa.Integer, nullable=True),
    sa.Column("last_offered_at", sa.DateTime, nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

queue_setting = sa.Table(
    "majlis_queue_setting",
    metadata,
    sa.Column("queue", sa.String(64), primary_key=True),
    sa.Column("auto_assign", sa.Boolean, nullable=False),
    sa.Column("updated_by", _ID, nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

handoff_offer = sa.Table(
    "majlis_handoff_offer",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("handoff_id", _ID, sa.ForeignKey("majlis_handoff.id", ondelete="CASCADE"), nullable=False),
    sa.Column("agent_id", _ID, sa.ForeignKey("majlis_agent.id", ondelete="CASCADE"), nullable=False),
    # open | accepted | declined | expired | withdrawn
    sa.Column("state", sa.String(16), nullable=False),
    # the handoff id while the offer is open, NULL after: one open offer per handoff, enforced by the DB
    sa.Column("open_key", _ID, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("answered_at", sa.DateTime, nullable=True),
    sa.UniqueConstraint("open_key", name="uq_majlis_handoff_offer_open"),
    sa.Index("ix_majlis_handoff_offer_handoff", "handoff_id", "id"),
    sa.Index("ix_majlis_handoff_offer_open", "state", "expires_at"),
)

handoff_window = sa.Table(
    "majlis_handoff_window",
    metadata,
    sa.Column("handoff_id", _ID, sa.ForeignKey("majlis_handoff.id", ondelete="CASCADE"), primary_key=True,
              autoincrement=False),
    # when the channel stops allowing a person's free-form reply (NULL: no window on this channel)
    sa.Column("expires_at", sa.DateTime, nullable=True),
    sa.Column("escalated_at", sa.DateTime, nullable=True),
    sa.Column("checked_at", sa.DateTime, nullable=False),
    sa.Index("ix_majlis_handoff_window_expiry", "expires_at"),
)


# -- the trainer's workbench (Alembic revision 0005; owned by bot.workbench) ---
# - ``majlis_nlu_message``: one row per customer message seen in the tracker store,
#   with what the model understood, why it deserves a look (``reasons``, a bit set:
#   bot.workbench.reasons) and its similarity group.  The inbox is a GROUP BY over
#   this table, never a scan of the tracker store.
# - ``majlis_nlu_group``: a similarity group (its MinHash signature) and ``majlis_nlu_band``
#   the LSH bands that find a message's group without comparing it with every group.
# - ``majlis_nlu_cursor``: how far the collector read the tracker store (events.id).
# - ``majlis_nlu_audit``: who labelled what, when, and what was written where.

nlu_message = sa.Table(
    "majlis_nlu_message",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("event_id", _ID, nullable=False),          # events.id in the tracker store
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),            # as the customer wrote it
    sa.Column("key", sa.String(500), nullable=False),      # normalised as the NLU does (for grouping, duplicates)
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("form", sa.String(16), nullable=False),
    sa.Column("dialect", sa.String(16), nullable=True),
    sa.Column("transliteration", sa.Text, nullable=True),
    sa.Column("intent", sa.String(100), nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("ranking", sa.Text, nullable=False),         # JSON: the top intents with confidences
    sa.Column("entities", sa.Text, nullable=False),        # JSON: what the model extracted
    sa.Column("names", sa.Text, nullable=False),           # JSON: the customer's profile names (to mask them)
    sa.Column("reasons", sa.Integer, nullable=False, default=0),
    sa.Column("group_id", _ID, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),          # when the customer wrote it (UTC)
    sa.Column("status", sa.String(16), nullable=False, default="open"),  # open | labelled | ignored
    sa.Column("label", sa.String(100), nullable=True),
    sa.Column("labelled_by", sa.String(120), nullable=True),
    sa.Column("labelled_at", sa.DateTime, nullable=True),
    sa.UniqueConstraint("event_id", name="uq_majlis_nlu_message_event"),
    # The inbox reads only open messages with a reason: a partial index holding exactly those,
    # covering the GROUP BY and every filter, so a query never reads the table's rows.
    sa.Index("ix_majlis_nlu_message_inbox", "group_id", "reasons", "at", "form", "language", "channel", "intent",
             "status", "id", sqlite_where=sa.text("status = 'open' AND reasons != 0"),
             postgresql_where=sa.text("status = 'open' AND reasons != 0")),
    sa.Index("ix_majlis_nlu_message_group", "group_id"),
    sa.Index("ix_majlis_nlu_message_sender", "sender_id", "id"),
)

nlu_group = sa.Table(
    "majlis_nlu_group",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("signature", sa.Text, nullable=False),       # MinHash values of its representative wordings (";")
    sa.Column("key", sa.String(500), nullable=False),      # the first member's key
)

nlu_band = sa.Table(
    "majlis_nlu_band",
    metadata,
    sa.Column("band", sa.String(40), primary_key=True),
    sa.Column("group_id", _ID, primary_key=True),
)

nlu_cursor = sa.Table(
    "majlis_nlu_cursor",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_event_id", _ID, nullable=False),
)

nlu_audit = sa.Table(
    "majlis_nlu_audit",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("author", sa.String(120), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),    # label | ignore | out_of_scope | conflict | train | activate | answer_confirmed | answer_edited
    sa.Column("intent", sa.String(100), nullable=True),
    sa.Column("text", sa.Text, nullable=True),             # what was written (personal data already replaced)
    sa.Column("path", sa.String(255), nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Index("ix_majlis_nlu_audit_at", "at"),
)


# -- reports (Alembic revision 0006; owned by bot.reports) ---
# One row per conversation and per handoff, filled incrementally by bot.reports.builder:
# a year of traffic is millions of tracker events but tens of thousands of conversations,
# so the report page reads these rows (indexed by local day), never the events.

report_cursor = sa.Table(
    "majlis_report_cursor",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

report_conversation = sa.Table(
    "majlis_report_conversation",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("last_at", sa.DateTime, nullable=False),
    sa.Column("local_day", sa.Date, nullable=False),
    sa.Column("local_hour", sa.Integer, nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("form", sa.String(16), nullable=False),
    sa.Column("dialect", sa.String(32), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("intent", sa.String(100), nullable=False),
    sa.Column("messages_in", sa.Integer, nullable=False, default=0),
    sa.Column("messages_out", sa.Integer, nullable=False, default=0),
    sa.Column("fallbacks", sa.Integer, nullable=False, default=0),
    sa.Column("handed_off", sa.Boolean, nullable=False, default=False),
    sa.Column("handoff_reason", sa.String(64), nullable=True),
    sa.Column("lost_window", sa.Boolean, nullable=False, default=False),
    sa.Column("rating", sa.Integer, nullable=True),
    # a newer Rasa session of the same sender starts a new row
    sa.Column("ended", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_majlis_report_conversation_day", "local_day"),
    sa.Index("ix_majlis_report_conversation_sender", "sender_id", "started_at"),
)

report_handoff = sa.Table(
    "majlis_report_handoff",
    metadata,
    sa.Column("handoff_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("conversation_id", sa.BigInteger, nullable=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("local_day", sa.Date, nullable=False),
    sa.Column("wait_s", sa.Float, nullable=True),
    sa.Column("first_response_s", sa.Float, nullable=True),
    sa.Column("handling_s", sa.Float, nullable=True),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Index("ix_majlis_report_handoff_day", "local_day"),
    sa.Index("ix_majlis_report_handoff_unlinked", "conversation_id"),
)

# -- one customer across channels (Alembic revision 0008; owned by bot.handoff.customer_links) --
# A channel identity (a WhatsApp wa_id, an Instagram IGSID) belongs to at most one customer,
# linked by a verification or the operator's backend, never by what a customer claims.

customer_link = sa.Table(
    "majlis_customer_link",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("customer", sa.String(255), primary_key=True),
    sa.Column("person", sa.String(128), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("linked_at", sa.DateTime, nullable=False),
    sa.Index("ix_majlis_customer_link_person", "person"),
)

#: Conversations started per local hour of day, one column per hour (``h00`` … ``h23``).
REPORT_HOURS = [f"h{hour:02d}" for hour in range(24)]

# The per-day rollup of majlis_report_conversation (Alembic 0010): one row per local day and
# combination of everything the page groups or filters by, with the sums the figures need.  A
# whole year is then a few tens of thousands of narrow rows instead of every conversation.  Rows
# of a day are rebuilt from the conversation table whenever one of its conversations changes
# (the days to rebuild are queued in majlis_report_dirty_day, in the same transaction).
report_day = sa.Table(
    "majlis_report_day",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("local_day", sa.Date, nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("form", sa.String(16), nullable=False),
    sa.Column("dialect", sa.String(32), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("intent", sa.String(100), nullable=False),
    sa.Column("handed_off", sa.Boolean, nullable=False),
    sa.Column("handoff_reason", sa.String(64), nullable=True),
    sa.Column("lost_window", sa.Boolean, nullable=False),
    sa.Column("conversations", sa.Integer, nullable=False),
    sa.Column("messages_in", sa.Integer, nullable=False),
    sa.Column("rating_sum", sa.Integer, nullable=False),
    sa.Column("ratings", sa.Integer, nullable=False),
    *[sa.Column(name, sa.Integer, nullable=False) for name in REPORT_HOURS],
    sa.Index("ix_majlis_report_day_day", "local_day"),
)

report_dirty_day = sa.Table(
    "majlis_report_dirty_day",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("local_day", sa.Date, nullable=False),
)
