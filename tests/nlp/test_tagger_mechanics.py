"""The tagger's fast matching gives what the plain spaCy way gives (issue #3, speed).

Lemmas live in each lexeme's NORM, token patterns are expanded to phrases or run on windows,
cues are matched only in sentences with a theme match: each is checked here against the
straightforward spaCy computation on real passages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from spacy.lookups import load_lookups
from spacy.matcher import Matcher, PhraseMatcher

from nlp.pipeline import CUES, MATCHES, _token_patterns, _TokenPatterns, build_pipeline, get_pipeline

DEV = Path(__file__).resolve().parents[1] / "data" / "themes" / "dev.jsonl"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    sample = [json.loads(line)["text"] for line in lines[:120] if line.strip()]
    # Case and layout variants: all caps, no punctuation, bullet lines.
    return sample + [t.upper() for t in sample[:20]] + [t.replace(". ", ".\n- ") for t in sample[:20]]


def test_norm_is_the_lookup_lemma_of_the_lower_case_form(texts):
    table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
    nlp = get_pipeline()
    checked = 0
    for doc in nlp.pipe(texts[:60]):
        for token in doc:
            expected = str(table.get(token.lower_, token.lower_)).lower()
            assert token.norm_ == expected, token.text
            checked += 1
    assert checked > 1000
    assert nlp("Children")[0].norm_ == "child"
    assert nlp("They were WALKING")[1].norm_ == "be"


PATTERNS = {
    "plain-optional": [{"LOWER": {"IN": ["mother", "mum"]}}, {"LOWER": "had", "OP": "?"}, {"LOWER": "been"}],
    "lemma": [{"LEMMA": {"IN": ["see", "visit"]}}, {"LOWER": {"IN": ["with", "by"]}}],
    "unbounded": [
        {"LOWER": {"IN": ["with", "to", "of"]}},
        {"LOWER": {"IN": ["the", "her", "his", "their"]}, "OP": "*"},
        {"LOWER": {"IN": ["child", "children", "baby"]}},
    ],
    "regex-head": [{"LOWER": {"REGEX": r"^\d{1,2}(yo|yrs?)$"}}],
    "not-in": [
        {"LOWER": {"IN": ["m", "f", "mother"]}},
        {"LOWER": {"NOT_IN": ["not", "never"]}, "OP": "?"},
        {"LEMMA": "drink"},
    ],
    "orth-punct": [{"LOWER": {"IN": ["mother", "mum"]}}, {"ORTH": "("}, {"LOWER": {"IN": ["16", "17"]}}, {"ORTH": ")"}],
    "counted": [{"LOWER": "very", "OP": "{1,3}"}, {"LOWER": "poor"}],
}


def _reference(nlp, doc, patterns):
    """spaCy's Matcher over the whole Doc, with LEMMA read from NORM as in this pipeline."""
    matcher = Matcher(nlp.vocab)
    for key, pattern in patterns.items():
        matcher.add(key, _token_patterns(tuple(_frozen(pattern))))
    return sorted(matcher(doc))


def _frozen(pattern):
    from nlp.pipeline import _freeze

    return _freeze(pattern)


def test_token_patterns_find_exactly_what_spacys_matcher_finds(texts):
    nlp = get_pipeline()
    lemmatizer: Any = nlp.get_pipe("lemmatizer")
    fast = _TokenPatterns(nlp.vocab, lemmatizer.forms)
    for key, pattern in PATTERNS.items():
        fast.add(key, _token_patterns(_frozen(pattern)))
    # Both routes are exercised.
    assert len(fast.phrases)
    assert len(fast.matcher)
    extra = [
        "Mother had been seen with the baby. Mum (16) was visited by police.",
        "He said with their the child... M never drinks; F drinks. 15yo and 3yrs. Very very poor.",
    ]
    found_any = 0
    for doc in nlp.pipe(texts + extra):
        expected = _reference(nlp, doc, PATTERNS)
        assert sorted(fast(doc)) == expected, doc.text[:80]
        found_any += len(expected)
        ranges = [(0, len(doc) // 2)]
        assert sorted(fast(doc, ranges)) == [m for m in expected if m[1] < len(doc) // 2]
    assert found_any > 20


def _sentence(starts: list[int], token: int) -> int:
    return max(i for i, s in enumerate(starts) if s <= token)


def test_cues_are_every_cue_in_the_sentences_that_hold_a_theme_match(texts):
    nlp = get_pipeline()
    theme_matcher: Any = nlp.get_pipe("theme_matcher")
    cue_phrases = PhraseMatcher(nlp.vocab, attr="NORM")
    for key, cue in theme_matcher.cues.items():
        if cue.phrase is not None:
            cue_phrases.add(nlp.vocab.strings[key], [nlp.make_doc(cue.phrase.lower())])
    compared = 0
    for doc in nlp.pipe(texts):
        starts = [s.start for s in doc.sents]
        matched = {max(i for i, s in enumerate(starts) if s <= span.start) for span in doc.spans[MATCHES]}

        got = sorted(c for c in doc.user_data[CUES] if theme_matcher.cues[c[2]].phrase is not None)
        expected = sorted((s, e, k) for k, s, e in cue_phrases(doc) if _sentence(starts, s) in matched)
        assert got == expected
        compared += len(expected)
    assert compared > 100


def test_sentences_end_at_full_stops_and_line_breaks():
    doc = get_pipeline()("- no concerns re DV\n- mum drinking heavily. Smelt of alcohol! Next")
    assert [s.text for s in doc.sents] == [
        "- no concerns re DV\n",
        "- mum drinking heavily.",
        "Smelt of alcohol!",
        "Next",
    ]


def test_tokenizer_exceptions_do_not_override_the_lemma():
    table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
    doc = build_pipeline()("She didn't attend")
    assert [t.text for t in doc] == ["She", "did", "n't", "attend"]
    # spaCy's exception would give "n't" the NORM "not"; here NORM is the lookup lemma.
    assert doc[2].norm_ == str(table.get("n't", "n't")).lower()
    assert doc[1].norm_ == "do"
