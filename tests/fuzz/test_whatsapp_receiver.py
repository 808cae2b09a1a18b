"""Fuzzing the WhatsApp webhook receiver (channels/whatsapp_receiver.py): its route and its relay.

Signed arbitrary bytes, JSON, recorded webhooks with wrong fields and deeply nested JSON
are answered without a 5xx; whatever was journaled is then relayed to the delivery
database without an exception (the journal empties).
"""
from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Secret
from channels.meta.graph import SIGNATURE_HEADER, sign
from tests.channels import whatsapp_harness as whatsapp
from tests.channels.test_whatsapp_receiver import receiver
from tests.fuzz.harness import FEW, FUZZ, Failures, ThreadServer, assert_answered, deeply_nested, encode, json_values, mutated
from tests.fuzz.test_meta_webhooks import recorded_bodies


class Served:
    def __init__(self, server: ThreadServer, failures: Failures) -> None:
        self.server, self.failures = server, failures

    def post(self, raw: bytes) -> None:
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw, Secret(whatsapp.APP_SECRET))}
        status, body = self.server.request("POST", "/webhooks/whatsapp_cloud/webhook", raw, headers)
        assert_answered(status, body)
        self.server.call(self._relayed())
        self.failures.check()

    async def _relayed(self) -> None:
        journal = self.server.value.journal
        for _ in range(1000):
            if len(journal) == 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{len(journal)} journaled webhook(s) not relayed")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("fuzz-receiver")
    with Failures() as failures, ThreadServer(lambda: receiver(directory),
                                              port_of=lambda r: int(r.url.rsplit(":", 1)[1])) as server:
        yield Served(server, failures)


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_signed_bytes(served: Served, raw: bytes) -> None:
    served.post(raw)


@FUZZ
@given(document=json_values)
def test_signed_json(served: Served, document: Any) -> None:
    served.post(encode(document))


@FUZZ
@given(data=st.data())
def test_signed_recorded_webhooks_with_wrong_fields(served: Served, data: Any) -> None:
    served.post(encode(data.draw(mutated(recorded_bodies(whatsapp.FIXTURES)))))


@FEW
@given(depth=st.integers(min_value=900, max_value=200_000), kind=st.sampled_from(["list", "dict"]))
def test_signed_deeply_nested_json(served: Served, depth: int, kind: str) -> None:
    served.post(deeply_nested(depth, kind))
