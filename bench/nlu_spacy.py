"""What spaCy 3.4 (installed, no models) offers Majlis' NLU: tokenizers and rule matchers, measured.

1. Tokenizer.  The intent model (bot.nlu.intent_model, as shipped) is fitted on the same
   seeded sample as bench/nlu.py and scored on the three test sets, once with the
   tokens Rasa's WhitespaceTokenizer gives (words split on spaces and punctuation) and
   once with spaCy's blank ``ar`` / ``en`` tokenizers (by script).  Both go through
   the same normalisation, stems and dialect forms.
2. Rule matchers.  Order numbers and amounts annotated in the bot's own NLU data
   (data/nlu, self-written): share of annotated spans found exactly by the project's
   regexes (data/nlu/regex.yml, what RegexFeaturizer uses) and by a spaCy Matcher with
   token patterns (a 7-digit number with an optional ORD/# prefix; LIKE_NUM followed by
   a currency word).

Usage: python bench/nlu_spacy.py [--sizes 10,20]   → bench/results/nlu-spacy.md
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

# spaCy imports cProfile, which imports the stdlib's ``profile``: bench/profile.py (on the path as
# this script's folder) would shadow it, so cProfile is imported with bench/ off the path.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
import cProfile  # noqa: E402,F401

sys.path.insert(0, str(_BENCH))

import common  # noqa: E402
from common import ROOT, be_nice, load_line, machine_line, table, write_report  # noqa: E402
from nlu import load_sets, per_intent_sample  # noqa: E402

_ARABIC = re.compile("[\u0600-\u06ff]")
CURRENCIES = ["aed", "dhs", "dh", "dirham", "dirhams", "sar", "riyal", "riyals", "qar", "kwd", "omr", "bhd", "egp",
              "درهم", "دراهم", "ريال", "دينار", "جنيه"]


def rasa_tokens() -> Callable[[str], List[str]]:
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.training_data.message import Message

    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    return lambda text: [t.text for t in tokenizer.tokenize(Message(data={"text": text}), "text")]


def spacy_tokens() -> Callable[[str], List[str]]:
    import spacy

    arabic, english = spacy.blank("ar"), spacy.blank("en")
    return lambda text: [t.text for t in (arabic if _ARABIC.search(text) else english)(text) if not t.is_punct]


def tokenizer_rows(sizes: List[int], seed: int) -> List[List[str]]:
    from bot.language.normalize import normalize
    from bot.nlu.intent_features import views
    from bot.nlu.intent_model import LinearIntentModel

    train, tests = load_sets()
    rows = []
    for name, tokenize in (("Rasa WhitespaceTokenizer (shipped)", rasa_tokens()), ("spaCy blank ar/en", spacy_tokens())):
        def featurise(text: str) -> object:
            return views(normalize(token) for token in tokenize(text))

        test_views = {test: [featurise(text) for text, _ in rows_] for test, rows_ in tests.items()}
        for size in sizes:
            sample = per_intent_sample(train["en"], size, seed) + per_intent_sample(train["ar"], size, seed)
            started = time.process_time()
            model = LinearIntentModel().fit([featurise(t) for t, _ in sample], [label for _, label in sample])
            cpu = time.process_time() - started
            cells = []
            for test, rows_ in tests.items():
                probabilities = model.probabilities(test_views[test])
                right = sum(model.intents[i] == gold for i, (_, gold) in zip(probabilities.argmax(axis=1), rows_))
                cells.append(f"{100 * right / len(rows_):.1f}%")
            rows.append([name, str(size), *cells, f"{cpu:.0f} s"])
            print(f"[spacy] {name} {size}: {cells}", file=sys.stderr)
    return rows


def annotated_spans() -> Dict[str, List[Tuple[str, str]]]:
    """entity -> [(text, annotated value span)] from data/nlu."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu"))
    spans: Dict[str, List[Tuple[str, str]]] = {"order_number": [], "amount": []}
    for message in data.training_examples:
        for entity in message.get("entities") or []:
            if entity["entity"] in spans:
                spans[entity["entity"]].append((message.get("text"), message.get("text")[entity["start"]:entity["end"]]))
    return spans


def matcher_rows() -> List[List[str]]:
    import spacy
    import yaml
    from spacy.matcher import Matcher

    regexes: Dict[str, List[re.Pattern]] = {}
    for item in yaml.safe_load((ROOT / "data" / "nlu" / "regex.yml").read_text(encoding="utf-8"))["nlu"]:
        patterns = [line.strip()[2:] for line in item["examples"].splitlines() if line.strip().startswith("- ")]
        regexes[item["regex"]] = [re.compile(p) for p in patterns]
    nlp_ar, nlp_en = spacy.blank("ar"), spacy.blank("en")
    matchers = {}
    for nlp in (nlp_ar, nlp_en):
        matcher = Matcher(nlp.vocab)
        matcher.add("order_number", [[{"TEXT": {"REGEX": r"(?i)^(?:ord-?|#)?[0-9٠-٩]{7}$"}}],
                                     [{"LOWER": {"IN": ["ord", "#"]}}, {"TEXT": "-", "OP": "?"},
                                      {"TEXT": {"REGEX": r"^[0-9٠-٩]{7}$"}}]])
        matcher.add("amount", [[{"LIKE_NUM": True}, {"LOWER": {"IN": CURRENCIES}}],
                               [{"TEXT": {"REGEX": r"^[0-9٠-٩]+(?:[.,][0-9٠-٩]+)?$"}}, {"LOWER": {"IN": CURRENCIES}}]])
        matchers[nlp.lang] = (nlp, matcher)
    rows = []
    for entity, spans in annotated_spans().items():
        by_regex = sum(any(m.group(0) == value for p in regexes.get(entity, []) for m in p.finditer(text))
                       for text, value in spans)
        by_spacy = 0
        for text, value in spans:
            nlp, matcher = matchers["ar" if _ARABIC.search(text) else "en"]
            doc = nlp(text)
            by_spacy += any(doc[s:e].text == value for key, s, e in matcher(doc) if nlp.vocab.strings[key] == entity)
        rows.append([entity, str(len(spans)), f"{100 * by_regex / len(spans):.1f}%", f"{100 * by_spacy / len(spans):.1f}%"])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,20")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    be_nice()
    machine = machine_line()
    tokenizer = tokenizer_rows([int(s) for s in args.sizes.split(",")], args.seed)
    matchers = matcher_rows()
    lines = ["# spaCy 3.4 in Majlis' NLU: tokenizers and rule matchers", "", machine, "",
             "## Tokenizer: intent accuracy (top-1) of the shipped intent model, bilingual, full test sets", ""]
    lines += table(["tokens from", "per intent", "Banking77 test (en)", "ArBanking77 MSA", "ArBanking77 Palestinian",
                    "fit CPU"], tokenizer)
    lines += ["", "## Rule matchers: annotated spans in data/nlu (self-written) found exactly", ""]
    lines += table(["entity", "annotated spans", "project regexes (RegexFeaturizer)", "spaCy Matcher token patterns"],
                   matchers)
    lines += ["", load_line(), "", f"Command: `{' '.join(['python bench/nlu_spacy.py', *sys.argv[1:]])}`"]
    write_report("nlu-spacy", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(common.ROOT))
    sys.exit(main())
