"""Majlis' fixes to Rasa 3.6.21, applied at start-up (:func:`apply`).

1. **Schema re-check** (cost).  Rasa checks each action-server answer with ``jsonschema.validate(answer, spec)``
(``RemoteAction._validate_action_result``).  That function first validates the *schema
itself* against the JSON-Schema meta-schema (``check_schema``), on every call; Rasa's
events schema is large, so this costs about 30 ms of CPU per custom action (0.4 ms
with this fix; ``python bench/schema_check.py``, 2026-11-30) and was 40% of the Rasa
server's CPU under load (profile in docs/benchmarks.md) — for a schema that never changes.

The fix checks the schema once and validates every answer with the same validator:
the same schema, the same errors and the same error message as Rasa's, without the
repeated meta-schema check.  It is applied by Majlis' entry point (``bot.rasa_cli``,
which ``./majlis start`` runs instead of ``rasa``) and by the test fixtures; plain
``rasa run`` works without it, only slower.

2. **Request size** (exposure).  Sanic's default limit is 100 MB and every route
buffers its body first; the Rasa server's app gets the 1 MiB limit of
:mod:`bot.request_limits` (413 beyond, refused before the body is read).

3. **``/intent{...}`` typed as text** (exposure).  Rasa's ``RegexMessageHandler`` lets
any message starting with ``/`` pick its intent and entities; it now does so only for
button payloads (:mod:`bot.button_payloads`): the processor, which sees the tracker,
marks the message it passes to the NLU graph, and the handler leaves unmarked text to
the NLU like any other.  Plain ``rasa run`` (without these fixes) keeps Rasa's behaviour:
``./majlis start`` and the tests run through ``bot.rasa_cli`` / :func:`apply`.

4. **CORS** (exposure).  ``rasa run --cors "*"`` answers every origin *with
credentials*: any web page could read a signed-in agent's desk.  Here ``--cors`` (which
``./majlis start`` passes only when ``MAJLIS_CORS`` is set) never allows credentials and
never applies to the agent desk (``/webhooks/agent_desk/...``), which is same-origin only.
"""
from __future__ import annotations

import copy
import functools
import logging
from functools import lru_cache
from typing import Any, Callable, Dict, List

logger = logging.getLogger(__name__)

_applied = False


def apply() -> None:
    """Install the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    import rasa.core.run
    import rasa.server
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor
    from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[assignment]
    rasa.core.run.configure_app = _limited(rasa.core.run.configure_app)
    rasa.server.configure_cors = configure_cors
    MessageProcessor._parse_message_with_graph = _marking_payloads(MessageProcessor._parse_message_with_graph)
    RegexMessageHandler.process = _only_marked_payloads(RegexMessageHandler.process)
    _applied = True
    logger.debug("Rasa fixes applied: answer validator built once, 1 MiB requests, /intent only from buttons")


def _limited(configure_app: Callable[..., Any]) -> Callable[..., Any]:
    """``rasa.core.run.configure_app`` whose Sanic app refuses bodies over 1 MiB."""
    from bot.events.install import export_events
    from bot.metrics.install import instrument_rasa_app
    from bot.request_limits import limit_requests

    @functools.wraps(configure_app)
    def configure(*args: Any, **kwargs: Any) -> Any:
        # Prometheus /metrics (bot/metrics) and the event export (bot/events) ride along with the fixes
        return export_events(instrument_rasa_app(limit_requests(configure_app(*args, **kwargs))))

    return configure


#: Paths CORS may apply to: everything but the agent desk (same-origin, cookie sessions).
CORS_PATHS = r"^/(?!webhooks/agent_desk(/|$)).*"


def configure_cors(app: Any, cors_origins: Any = "") -> None:
    """Rasa's ``configure_cors`` without credentials and without the agent desk."""
    from sanic_cors import CORS

    app.config.CORS_AUTOMATIC_OPTIONS = True
    app.config.CORS_SUPPORTS_CREDENTIALS = False
    if not cors_origins:
        return  # no --cors: no CORS headers at all
    CORS(app, resources={CORS_PATHS: {"origins": cors_origins}}, automatic_options=True,
         supports_credentials=False)


def _marking_payloads(parse: Callable[..., Any]) -> Callable[..., Any]:
    """The processor's NLU call, with the button-payload decision recorded on the message."""
    from bot.button_payloads import BUTTON_KEY, honoured, looks_like_payload

    @functools.wraps(parse)
    def parse_with_graph(self: Any, message: Any, tracker: Any, *args: Any, **kwargs: Any) -> Any:
        if looks_like_payload(message.text):
            # A copy: the tracker stores the channel's own metadata, not this decision.
            message = copy.copy(message)
            message.metadata = {**(message.metadata or {}),
                                BUTTON_KEY: honoured(message.text, message.metadata, tracker)}
        return parse(self, message, tracker, *args, **kwargs)

    return parse_with_graph


def _only_marked_payloads(process: Callable[..., Any]) -> Callable[..., Any]:
    """``RegexMessageHandler.process`` that unpacks ``/intent{...}`` of marked messages only."""
    from rasa.shared.nlu.constants import TEXT

    from bot.button_payloads import is_marked, looks_like_payload

    @functools.wraps(process)
    def only_marked(self: Any, messages: List[Any], domain: Any = None) -> List[Any]:
        return [process(self, [m], domain)[0] if is_marked(m.get("metadata")) or not looks_like_payload(m.get(TEXT))
                else m for m in messages]

    return only_marked


@lru_cache(maxsize=1)
def _answer_validator() -> Any:
    """Rasa's answer schema, checked against its meta-schema once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    """``jsonschema.validate`` without re-checking the schema; Rasa's message on failure."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_answer_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True
