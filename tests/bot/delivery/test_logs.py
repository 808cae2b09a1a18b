"""No personal data in the delivery layer's logs at INFO and above, tracebacks included.

A database error while a reply is stored is logged with its traceback; SQLAlchemy's
error text lists the statement's parameters (the customer's id and message), unless the
engine hides them (bot/storage/engine.py).  SQLite and PostgreSQL.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from tests.bot.delivery.helpers import EchoHandler, ScriptedSender, item
from tests.logs import printed

CUSTOMER = "971500000777"
TEXT = "رقم بطاقتي 4111 وعنواني شارع الشيخ زايد"


async def test_a_database_error_during_a_turn_is_logged_without_the_message_or_the_number(make, store, caplog):
    delivery = await make(ScriptedSender(), EchoHandler())
    with store.engine.begin() as conn:  # the outbox becomes unwritable: storing the reply fails
        conn.execute(sa.text("DROP TABLE majlis_outbox"))
    with caplog.at_level(logging.INFO):
        await delivery.accept([item("m1", text=TEXT, customer=CUSTOMER)])
        await delivery.drain()
    logged = printed(caplog.records)
    assert "Traceback" in logged and "majlis_outbox" in logged  # the error is there, for the operator
    assert CUSTOMER not in logged and "4111" not in logged and "الشيخ" not in logged, logged
