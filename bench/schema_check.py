"""CPU per action-server answer of Rasa 3.6's answer validation, with and without bot.rasa_fixes.

Rasa validates every custom action's answer with ``jsonschema.validate``, which first
re-checks its events schema against the JSON-Schema meta-schema; bot/rasa_fixes.py
builds the validator once.  This times both on a typical answer (one SlotSet, one
response), in this process, on one core.

Usage::

    python bench/schema_check.py [--calls 200]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ANSWER = {"events": [{"event": "slot", "name": "order_number", "value": "4821937", "timestamp": None}],
          "responses": [{"response": "utter_order_status", "order_number": "4821937"}]}


def cpu_ms_per_call(validate, calls: int) -> float:
    validate()  # warm up (imports, the fixed validator's one-time schema check)
    start = time.process_time()
    for _ in range(calls):
        validate()
    return 1000 * (time.process_time() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    from jsonschema import validate
    from rasa.core.actions.action import RemoteAction

    spec = RemoteAction.action_response_format_spec()
    plain = cpu_ms_per_call(lambda: validate(ANSWER, spec), args.calls)
    from bot.rasa_fixes import apply

    apply()
    action = RemoteAction("action_order_status", None)
    fixed = cpu_ms_per_call(lambda: action._validate_action_result(ANSWER), args.calls)
    print(f"Rasa 3.6 (jsonschema.validate): {plain:.1f} ms CPU per answer; "
          f"bot.rasa_fixes: {fixed:.2f} ms ({args.calls} calls each)")


if __name__ == "__main__":
    main()
