"""What the fuzz tests share: a real server in a thread, a blocking client, failure capture, strategies.

Each channel is served through Rasa's ``configure_app`` (fixes applied, as ``./majlis
start`` builds it) on a real port, in an event loop of its own thread, so Hypothesis
(which drives synchronous tests) posts with a plain blocking HTTP client.  A test fails
on a 5xx *or* on any exception logged with a traceback, in the request or in the
processing after the 200 (``Failures``).
"""
from __future__ import annotations

import asyncio
import http.client
import json
import logging
import threading
from contextlib import AbstractAsyncContextManager
from typing import Any, Callable, List, Mapping, Optional, Tuple

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Bounded so the whole fuzz set runs in about a minute on 2 cores (docs/security.md).
FUZZ = settings(max_examples=60, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FUZZ, max_examples=15)


class Failures(logging.Handler):
    """Collects log records that carry a traceback or come from Sanic's error logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.name == "sanic.error":
            self.records.append(record)

    def __enter__(self) -> "Failures":
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *_: Any) -> None:
        logging.getLogger().removeHandler(self)

    def check(self) -> None:
        """Fail (and reset) if anything was captured since the last check."""
        records, self.records = self.records, []
        assert not records, "unhandled exceptions:\n" + "\n".join(
            f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else f"{r.name}: {r.getMessage()}"
            for r in records)


class ThreadServer:
    """An async server context run in its own thread and loop.

    Args:
        make: builds the context (called in the server's loop); it yields the port,
            or something ``port_of`` reads it from (kept as :attr:`value`).
    """

    def __init__(self, make: Callable[[], AbstractAsyncContextManager],
                 port_of: Callable[[Any], int] = int) -> None:
        self._make = make
        self._port_of = port_of
        self.value: Any = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-server", daemon=True)
        self._context: Optional[AbstractAsyncContextManager] = None
        self.port = 0

    def _run(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> "ThreadServer":
        self._thread.start()

        async def start() -> Any:
            self._context = self._make()
            return await self._context.__aenter__()

        self.value = self._run(start())
        self.port = self._port_of(self.value)
        return self

    def __exit__(self, *_: Any) -> None:
        try:
            if self._context is not None:
                self._run(self._context.__aexit__(None, None, None))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=30)

    def call(self, coroutine: Any, timeout: float = 60) -> Any:
        """Run a coroutine in the server's loop (e.g. wait until processing is done)."""
        return self._run(coroutine, timeout)

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                headers: Optional[Mapping[str, str]] = None) -> Tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()


def assert_answered(status: int, body: bytes) -> None:
    """A clear answer: 2xx, or a 4xx with a reason; never a 5xx (a 503 "try later" aside)."""
    assert status < 500 or status == 503, (status, body[:300])
    if 400 <= status < 500:
        assert body.strip(), f"{status} without a reason"


# -- strategies ------------------------------------------------------------------------

#: Scalars a parser meets in the wild: huge and negative numbers, floats, NaN, odd text.
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**18, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["", " ", "0", "-1", "1e309", "null", "whatsapp:", "\u0000", "\ud7ff", "٣", "<script>",
                     "/talk_to_human", "🙂" * 5, "a" * 5000]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)


def paths_of(document: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    """Every path to a node of a JSON document (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths_of(value, prefix + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths_of(value, prefix + (index,))
    return found


def replaced(document: Any, path: Tuple[Any, ...], value: Any) -> Any:
    """A copy of ``document`` with the node at ``path`` replaced by ``value``."""
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


@st.composite
def mutated(draw: Any, documents: List[Any]) -> Any:
    """A real webhook body with one to three known fields given a wrong type or odd value."""
    document = draw(st.sampled_from(documents))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths_of(document)))
        document = replaced(document, path, draw(json_values))
    return document


def deeply_nested(depth: int, kind: str = "list") -> bytes:
    """``[[[…]]]`` or ``{"a": {"a": …}}``, ``depth`` levels: past Python's recursion limit."""
    if kind == "list":
        return ("[" * depth + "]" * depth).encode()
    return ('{"a":' * depth + "1" + "}" * depth).encode()


def encode(document: Any) -> bytes:
    """JSON as a provider might send it (NaN and huge numbers included: ``json`` allows both)."""
    return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")

