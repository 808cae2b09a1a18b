"""A fix to a Rasa 3.6.21 defect that costs every custom action, applied at start-up.

Rasa checks each action-server answer with ``jsonschema.validate(answer, spec)``
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
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict

logger = logging.getLogger(__name__)

_applied = False


def apply() -> None:
    """Install the fix (idempotent)."""
    global _applied
    if _applied:
        return
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[assignment]
    _applied = True
    logger.debug("Action-server answers are validated with a validator built once")


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
