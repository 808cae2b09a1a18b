"""The NLU components as Rasa runs them: tokenizer, then tagger, normaliser, transliterator."""
from __future__ import annotations

from typing import List

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.arabizi import ArabiziTransliterator
from bot.nlu.language_tagger import LanguageTagger
from bot.nlu.normalizer import ArabicNormalizer


def run_pipeline(text: str) -> Message:
    message = Message({TEXT: text})
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    tokenizer.process([message])
    for component in (LanguageTagger, ArabicNormalizer, ArabiziTransliterator):
        component(component.get_default_config()).process([message])
    return message


def lemmas(message: Message) -> List[str]:
    return [token.lemma for token in message.get(TOKENS_NAMES[TEXT])]


def test_tagger_puts_language_into_the_parse_output():
    message = run_pipeline("أبي أشترك في باقة Shahry Plus")
    assert message.get("language") == {"code": "ar", "form": "arabic", "confidence": 1.0, "clear": True,
                                       "dialect": {"region": "gulf", "confidence": 0.75}}
    assert "language" in message.as_dict(only_output_properties=True)


def test_normaliser_unifies_spelling_but_keeps_text_and_offsets():
    message = run_pipeline("فَاتُورَة الشهر ٤٨٢١٩٣٧ شكرااااا")
    tokens = message.get(TOKENS_NAMES[TEXT])
    assert [t.text for t in tokens] == ["فَاتُورَة", "الشهر", "٤٨٢١٩٣٧", "شكرااااا"]
    assert tokens[2].start == message.get(TEXT).index("٤٨٢١٩٣٧")
    assert lemmas(message) == ["فاتوره", "الشهر", "4821937", "شكرا"]


def test_arabizi_message_gets_arabic_lemmas():
    message = run_pipeline("ana 3ayez a3raf el fatoora")
    assert message.get("language")["form"] == "arabizi"
    assert lemmas(message) == ["انا", "عايز", "اعرف", "ال", "فاتوره"]


def test_english_words_in_arabizi_stay_english():
    message = run_pipeline("abi bakat internet 10 giga please")
    assert lemmas(message)[-1] == "please"
    assert "جيجا" in lemmas(message)


def test_english_message_is_untouched_except_case():
    message = run_pipeline("Where is my ORDER")
    assert message.get("language")["form"] == "english"
    assert lemmas(message) == ["where", "is", "my", "order"]


@pytest.mark.parametrize("text", ["", "👍", "\x00\x01\x02", "\u200f\u200e", "<script>alert(1)</script>", "a" * 10000])
def test_bad_input_never_raises(text):
    message = run_pipeline(text)
    assert message.get("language")["code"] in {"ar", "en"}


def test_training_data_goes_through_the_same_code():
    examples = [Message({TEXT: "مـرحبا", "intent": "greet"}), Message({TEXT: "salam", "intent": "greet"})]
    data = TrainingData(training_examples=examples)
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process_training_data(data)
    for component in (LanguageTagger, ArabicNormalizer, ArabiziTransliterator):
        component(component.get_default_config()).process_training_data(data)
    assert [lemmas(m) for m in data.training_examples] == [["مرحبا"], ["سلام"]]


def test_unknown_normalisation_step_fails_at_load():
    with pytest.raises(ValueError):
        ArabicNormalizer({"steps": ["diacritics", "spelling-magic"]})


def test_a_transform_changes_the_messages_fingerprint():
    """Rasa's training cache is keyed by fingerprints: the normaliser's lemmas must show in them,
    or a changed pipeline would be handed featurizers trained on the old lemmas."""
    message = Message({TEXT: "فَاتُورَة الشهر"})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    before = message.fingerprint()  # cached, as Rasa's graph does after the tokenizer
    ArabicNormalizer(ArabicNormalizer.get_default_config()).process([message])
    assert lemmas(message) == ["فاتوره", "الشهر"]
    assert message.fingerprint() != before
