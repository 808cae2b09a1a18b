"""Response generation in the customer's language.

Every response in domain.yml has an Arabic variation conditioned on the
``language`` slot and an unconditioned English one.  Rasa matches conditions
against the slots it has; this generator first puts the reply language
(:func:`bot.language.reply_language`) into the ``language`` slot value it
matches against, so the answer follows the language the customer writes in
without a slot-setting round trip on every turn.

An answer past its review date (``data/answers.yml``) is replaced by "let me check
that first" when the operator set ``MAJLIS_OVERDUE_ANSWERS=withhold``
(:mod:`bot.answers.serving`), in the same language; a wording its owner edited in
``domain.yml`` is served at once (:class:`bot.answers.serving.LiveWordings`).

Configured in endpoints.yml::

    nlg:
      type: bot.nlg.BilingualNLG
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Text

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

from bot.answers.serving import LiveWordings, withheld_reply
from bot.language.reply import LANGUAGE_SLOT, reply_language

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig


class BilingualNLG(TemplatedNaturalLanguageGenerator):
    """Picks the Arabic or English variation of each response."""

    def __init__(self, endpoint_config: "Optional[EndpointConfig]" = None, domain: "Optional[Domain]" = None,
                 **_: Any) -> None:
        responses = domain.responses if domain is not None else {}
        super().__init__(responses)

    # Rasa assigns ``responses`` when it loads a model (Agent.load_model), after building the NLG.
    @property
    def responses(self) -> Dict[Text, Any]:  # type: ignore[override]
        return self._live.current()

    @responses.setter
    def responses(self, model_responses: Dict[Text, Any]) -> None:
        self._live = LiveWordings(model_responses)

    async def generate(self, utter_action: Text, tracker: "DialogueStateTracker", output_channel: Text,
                       **kwargs: Any) -> Optional[Dict[Text, Any]]:
        filled_slots = tracker.current_slot_values()
        filled_slots[LANGUAGE_SLOT] = reply_language(tracker.events)
        withheld = withheld_reply(utter_action, filled_slots[LANGUAGE_SLOT])
        if withheld is not None:
            return withheld
        return self.generate_from_slots(utter_action, filled_slots, output_channel, **kwargs)
