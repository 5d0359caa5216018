"""The tagger's fast matching gives what the plain spaCy way gives (issue #3, speed).

Lemmas live in each lexeme's NORM, every rule is matched over a whole batch of Docs at once
with numpy, and the context step reads only the cues near each match: each is checked here
against the straightforward computation (spaCy's Matcher and PhraseMatcher, the context
step's cue-by-cue Python rules) on real passages and on variants of them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from spacy.lookups import load_lookups
from spacy.matcher import Matcher, PhraseMatcher

from nlp.pipeline import (
    CUES,
    MATCHES,
    PatternEntry,
    ThemeTagger,
    _batches,
    _doc_matches,
    _doc_statuses,
    _freeze,
    _token_patterns,
    build_pipeline,
    clean_text,
    get_pipeline,
    result_from_doc,
)
from nlp.tagger_context import statuses
from nlp.tagger_match import IntMap
from nlp.tagger_results import round3

DEV = Path(__file__).resolve().parents[1] / "data" / "themes" / "dev.jsonl"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    sample = [json.loads(line)["text"] for line in lines[:120] if line.strip()]
    # Case and layout variants: all caps, no punctuation, bullet lines.
    return sample + [t.upper() for t in sample[:20]] + [t.replace(". ", ".\n- ") for t in sample[:20]]


@pytest.fixture(scope="module")
def shuffled(texts: list[str]) -> list[str]:
    """Word-level mutations that put cues, person words and anchors in new places."""
    rng = random.Random(11)
    inserts = ["not", "no", "if", "but", ";", "-", "mother", "she", "he", "M", "F", "her own mother", "\n", "."]
    out = []
    for text in texts[:120]:
        words = text.split()
        for _ in range(4):
            at = rng.randrange(len(words) + 1)
            words.insert(at, rng.choice(inserts))
        out.append(" ".join(words))
    return out


def test_norm_is_the_lookup_lemma_of_the_lower_case_form(texts):
    table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
    nlp = get_pipeline()
    checked = 0
    for doc in nlp.pipe(texts[:60]):
        for token in doc:
            # Single letters are not looked up (see LowerLookupLemmatizer).
            lower = token.lower_
            expected = lower if len(lower) == 1 else str(table.get(lower, lower)).lower()
            assert token.norm_ == expected, token.text
            checked += 1
    assert checked > 1000
    assert nlp("Children")[0].norm_ == "child"
    assert nlp("They were WALKING")[1].norm_ == "be"


def test_a_single_letter_is_an_abbreviation_not_a_clipped_verb():
    # The lookup table reads "m" as "be" (from "I'm"): a rule about M (mother) then matched "was".
    doc = get_pipeline()("M was drunk, I'm sure, and F is out.")
    assert [t.norm_ for t in doc if t.text in {"M", "F", "'m", "was", "is"}] == ["m", "be", "be", "f", "be"]


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
    "plus-and-flag": [{"LOWER": "took"}, {"LIKE_NUM": True, "OP": "+"}, {"LOWER": "tablets"}],
    "sentence-start": [{"IS_SENT_START": True, "LOWER": {"IN": ["m", "she"]}}, {"LOWER": {"IN": ["has", "was"]}}],
    "wildcards": [{"LOWER": "mum"}, {"OP": "?"}, {"OP": "?"}, {"LOWER": {"IN": ["drunk", "drinking"]}}],
    # Not expressible as word tests: spaCy's Matcher runs them, on the same Docs.
    "matcher-length": [{"LOWER": "very"}, {"LENGTH": {">=": 4}}],
    "matcher-negation": [{"LOWER": "not"}, {"LOWER": "seen", "OP": "!"}, {"LOWER": "alone"}],
}
EXTRA = [
    "Mother had been seen with the baby. Mum (16) was visited by police.",
    "He said with their the child... M never drinks; F drinks. 15yo and 3yrs. Very very poor.",
    "She took 2 3 tablets. took 20 tablets\nM was drunk. mum was very drunk. mum, drinking",
    "Very tired. not left alone. not seen alone. with the the the the the baby",
]


def _pattern_pipeline():
    entries = [
        PatternEntry(id=f"mechanics:{key}", theme="mechanics", weight=0.9, pattern=_freeze(pattern))
        for key, pattern in PATTERNS.items()
    ]
    return build_pipeline(extra_entries=entries)


def _reference(nlp, doc, patterns):
    """spaCy's Matcher over the whole Doc, with LEMMA read from NORM as in this pipeline."""
    matcher = Matcher(nlp.vocab)
    for key, pattern in patterns.items():
        matcher.add(f"mechanics:{key}", _token_patterns(_freeze(pattern)))
    return sorted((nlp.vocab.strings[k], s, e) for k, s, e in matcher(doc))


def test_token_patterns_find_exactly_what_spacys_matcher_finds(texts, shuffled):
    nlp = _pattern_pipeline()
    matcher: Any = nlp.get_pipe("theme_matcher")
    rules = matcher.rules
    compiled = {nlp.vocab.strings[p.key] for p in rules.patterns if p.tokens is not None}
    # Both routes are exercised: word tests, and spaCy's Matcher for what they cannot express.
    assert "mechanics:unbounded" in compiled
    assert "mechanics:matcher-length" not in compiled
    docs = list(nlp.pipe(texts + shuffled + EXTRA))  # with sentence starts, for the Matcher
    found_any = 0
    for doc, fast in zip(docs, rules.token_matches(docs), strict=True):
        expected = _reference(nlp, doc, PATTERNS)
        assert sorted(m for m in fast if m[0].startswith("mechanics:")) == expected, doc.text[:80]
        found_any += len(expected)
    assert found_any > 20
    assert {key for doc in docs for key, _s, _e in _reference(nlp, doc, PATTERNS)} >= {
        "mechanics:unbounded",
        "mechanics:plus-and-flag",
        "mechanics:sentence-start",
        "mechanics:matcher-length",
        "mechanics:matcher-negation",
    }


def test_no_pattern_or_phrase_runs_from_one_text_into_the_next():
    tagger = ThemeTagger(_pattern_pipeline())
    texts = ["took 2", "tablets", "Mum was", "drunk", "home alone", "the flat was", "filthy"]
    together = [r.as_dict() for r in tagger.tag_many(texts, batch_size=len(texts))]
    alone = [tagger.tag(text).as_dict() for text in texts]
    assert together == alone
    assert tagger.tag("the flat was filthy").codes


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


def test_theme_phrases_are_what_a_phrase_matcher_on_norm_finds(texts):
    nlp = get_pipeline()
    theme_matcher: Any = nlp.get_pipe("theme_matcher")
    phrases = PhraseMatcher(nlp.vocab, attr="NORM")
    for key, entry in theme_matcher.entries.items():
        if entry.phrase is not None and not entry.exact_case:
            phrases.add(nlp.vocab.strings[key], [nlp.make_doc(entry.phrase.lower())])
    exact = {key for key, entry in theme_matcher.entries.items() if entry.exact_case}
    compared = 0
    for doc in nlp.pipe(texts):
        got = {(s.start, s.end, s.id) for s in doc.spans[MATCHES] if s.id not in exact}
        expected = {(s, e, k) for k, s, e in phrases(doc)}
        assert expected <= got  # the rest are token patterns and co-occurrence matches
        compared += len(expected)
    assert compared > 500


def _anchor_matchers(nlp, rules) -> list[tuple[Any, dict[str, PhraseMatcher]]]:
    """Each near rule's entry and one PhraseMatcher (on NORM) per side."""
    out = []
    for rule in rules.near:
        entry = rules.entries[rule.entry]
        assert entry.near is not None
        sides = {}
        for side, phrases in (("a", entry.near[0]), ("b", entry.near[1])):
            sides[side] = PhraseMatcher(nlp.vocab, attr="NORM")
            sides[side].add(side, [nlp.make_doc(p.lower()) for p in phrases])
        out.append((entry, sides))
    return out


def _near_by_hand(anchors, doc) -> set[tuple[str, int, int]]:
    """Co-occurrence matches the plain way: each rule's anchors with its own PhraseMatcher,
    every A and B pair within the window, in order if asked, in one sentence, without an
    excluded word between them."""
    starts = [s.start for s in doc.sents]
    found = set()
    for entry, matchers in anchors:
        _a_side, _b_side, window, order, exclude = entry.near
        sides = {side: sorted({(s, e) for _k, s, e in matcher(doc)}) for side, matcher in matchers.items()}
        for a_start, a_end in sides["a"]:
            for b_start, b_end in sides["b"]:
                if a_start < b_end and b_start < a_end:
                    continue
                if not a_start - window - 12 <= b_start <= a_end + window:
                    continue
                if b_start >= a_end:
                    gap = b_start - a_end
                elif order == "any":
                    gap = a_start - b_end
                else:
                    continue
                start, end = min(a_start, b_start), max(a_end, b_end)
                if gap > window or _sentence(starts, start) != _sentence(starts, end - 1):
                    continue
                between = doc[min(a_end, b_end) : max(a_start, b_start)]
                if any(t.lower_ in exclude for t in between):
                    continue
                found.add((entry.id, start, end))
    return found


def test_co_occurrence_matches_are_what_pairing_anchors_by_hand_gives(texts, shuffled):
    nlp = get_pipeline()
    matcher: Any = nlp.get_pipe("theme_matcher")
    rules = matcher.rules
    assert any(r.exclude_words for r in rules.near)
    docs = list(nlp.pipe(texts[:80] + shuffled[:60]))
    anchors = _anchor_matchers(nlp, rules)
    found_any = 0
    for doc, fast in zip(docs, rules.near_matches(docs), strict=True):
        expected = _near_by_hand(anchors, doc)
        assert set(fast) == expected, doc.text[:80]
        assert len(fast) == len(expected)  # one match per span of a rule
        found_any += len(expected)
    assert found_any > 50


def test_a_word_a_co_occurrence_rule_excludes_blocks_it(tmp_path):
    patterns = tmp_path / "patterns"
    patterns.mkdir()
    (patterns / "demo.jsonl").write_text(
        json.dumps({"meta": {"theme": "demo", "version": 1}})
        + "\n"
        + json.dumps(
            {"id": "pair", "weight": 0.9, "near": {"a": ["parcel"], "b": ["late"], "window": 4, "exclude": ["never"]}}
        )
        + "\n",
        encoding="utf-8",
    )
    tagger = ThemeTagger(build_pipeline(patterns_dir=patterns))
    assert "demo" in tagger.tag("The parcel came late.").codes
    assert "demo" in tagger.tag("Late, the parcel came.").codes  # order "any"
    assert "demo" not in tagger.tag("The parcel never came late.").codes
    assert "demo" not in tagger.tag("The parcel came. It was late.").codes  # one sentence only
    assert "demo" not in tagger.tag("The parcel was brought to us very late.").codes  # window


# Sentences for the pronoun rule and the person cues: who a sentence opening with a pronoun
# is about, and subject words between a person cue and the theme words.
PEOPLE = [
    "Maternal grandmother has schizophrenia. She said mother was sectioned last year.",
    "Maternal grandmother has schizophrenia. She was sectioned in 2019.",
    "The uncle does not live at the address. He said father uses heroin daily.",
    "The uncle does not live at the address. He has a long history of heroin use.",
    "Mother described her own childhood. She had been neglected by her parents.",
    "Mother described her own childhood. She said the children were neglected at home.",
    "Child X lives with her mother. She drinks heavily most evenings.",
    "Her own mother, who misused alcohol, raised her. She drinks too.",
    "The 15-year-old has been drinking. He said his dad drinks as well.",
    "Grandad drinks heavily. He and mum argue. She drinks.",
]


def test_the_batch_context_step_agrees_with_the_cue_by_cue_rules(texts, shuffled):
    """Statuses computed for the whole batch with numpy equal those of the context step's
    Python rules (tagger_context.cue_status and the pronoun rule) match by match."""
    tagger = ThemeTagger(get_pipeline())
    rules = tagger.rules
    batch = texts + shuffled + PEOPLE
    found = rules.match([tagger.nlp.make_doc(t) for t in batch], batch)
    compared = changed = 0
    for doc in range(len(batch)):
        matches = _doc_matches(found, doc)
        if not matches:
            continue
        fast = _doc_statuses(found, doc, matches)
        by_hand = statuses(found, doc, [(*m[:5], -1) for m in matches])
        assert fast == by_hand, batch[doc][:80]
        compared += len(fast)
        changed += sum(s != "asserted" for s in by_hand)
    assert compared > 1000
    assert changed > 100


def test_tag_many_tag_and_the_pipeline_give_the_same_results(texts, shuffled):
    nlp = get_pipeline()
    tagger = ThemeTagger(nlp)
    sample = texts[:60] + shuffled[:40] + EXTRA
    many = [r.as_dict() for r in tagger.tag_many(sample, batch_size=7)]
    single = [tagger.tag(t).as_dict() for t in sample]
    piped = [
        result_from_doc(doc, weights=tagger.weights).as_dict() for doc in nlp.pipe([clean_text(t) for t in sample])
    ]
    assert many == single == piped
    assert sum(bool(r["themes"]) for r in many) > 40


def test_a_text_is_tagged_the_same_whatever_batch_it_is_in(texts, shuffled):
    tagger = ThemeTagger(get_pipeline())
    sample = texts + shuffled
    baseline = [r.as_dict() for r in tagger.tag_many(sample, batch_size=256)]
    for size in (1, 5, 64):
        assert [r.as_dict() for r in tagger.tag_many(sample, batch_size=size)] == baseline
    reordered = list(reversed(sample))
    assert [r.as_dict() for r in tagger.tag_many(reordered)] == list(reversed(baseline))
    # Batches bounded by characters (a text longer than the budget alone) give the same results.
    assert [r.as_dict() for r in tagger.tag_many(sample, batch_chars=300)] == baseline


def test_batches_stop_at_the_text_count_or_the_character_budget():
    texts = ["a" * 40, "b" * 40, "c" * 200, "d" * 10, "e" * 10, "f" * 10]
    assert [len(b) for b in _batches(texts, 100, 100)] == [2, 1, 3]  # "c" * 200 is a batch of its own
    assert [len(b) for b in _batches(texts, 2, 10_000)] == [2, 2, 2]
    assert [t for b in _batches(texts, 4, 90) for t in b] == texts
    assert list(_batches([], 4, 90)) == []


def test_a_very_long_sentence_stays_linear():
    """Without full stops a text is one sentence; pairs of matches and cues are bounded by
    their reach, not by the sentence."""
    tagger = ThemeTagger(get_pipeline())
    unit = "mum was drunk and the home was filthy but no concerns about domestic abuse and if "
    text = unit * (200_000 // len(unit))
    result = tagger.tag(text)
    assert {"neglect", "parental_substance_misuse"} <= result.codes
    assert "domestic_abuse" in result.negated
    # The same, opening with a pronoun after a sentence about someone else: every mention asks
    # the pronoun rule, which reads the person words of that one long sentence.
    led = tagger.tag("Maternal grandmother has schizophrenia. She said " + text)
    assert "domestic_abuse" in led.negated


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


def test_scores_round_exactly_as_python_rounds():
    rng = random.Random(3)
    values = [rng.random() for _ in range(20_000)]
    values += [k / 1000 + d for k in range(1000) for d in (0.0, 5e-4, -5e-4, 1e-12, -1e-12)]
    values += [1 - (1 - a) * (1 - b) for a in (0.55, 0.6, 0.75, 0.8, 0.9, 0.95) for b in (0.55, 0.6, 0.8, 0.95)]
    values = [v for v in values if 0.0 <= v <= 1.0]
    assert round3(np.array(values)).tolist() == [round(v, 3) for v in values]


def test_the_hash_map_finds_every_key_and_nothing_else():
    rng = random.Random(5)
    keys = rng.sample(range(10**12), 5000)
    table = IntMap(keys, [k % 997 for k in keys])
    assert table.get(np.array(keys, dtype=np.int64)).tolist() == [k % 997 for k in keys]
    known = set(keys)
    absent = np.array([k + 1 for k in keys if k + 1 not in known], dtype=np.int64)
    assert (table.get(absent, -7) == -7).all()


def test_a_pickled_pipeline_tags_the_same(texts):
    """nlp.pipe(n_process=...) pickles the pipeline; its word table must come along."""
    import pickle

    nlp = build_pipeline()
    copy = pickle.loads(pickle.dumps(nlp))  # noqa: S301 - our own bytes, just made
    sample = texts[:40]
    assert [r.as_dict() for r in ThemeTagger(copy).tag_many(sample)] == [
        r.as_dict() for r in ThemeTagger(nlp).tag_many(sample)
    ]


def test_a_word_without_a_row_in_the_word_table_gets_one():
    """Lexemes made behind the tagger's back (no row yet) are given one when first read."""
    nlp = build_pipeline()
    tagger = ThemeTagger(nlp)
    lexeme = nlp.vocab["filthy"]
    lexeme.rank = 2**64 - 1  # spaCy's "no rank"
    assert "neglect" in tagger.tag("The flat was filthy.").codes
    assert nlp.vocab["filthy"].rank < 2**64 - 1


def test_phrases_read_without_the_tokenizer_are_what_it_gives():
    """Plain phrases (lower-case words, one space apart) skip the tokenizer at build time;
    every phrase's lemma sequence must still be what a PhraseMatcher on NORM would use."""
    nlp = get_pipeline()
    matcher: Any = nlp.get_pipe("theme_matcher")
    rules = matcher.rules
    plain = 0
    for lowered, sequence in rules._sequences.items():
        doc = nlp.make_doc(lowered)
        assert [rules._norm_hashes[word] for word in sequence] == [t.norm for t in doc], lowered
        plain += " " in lowered and lowered.replace(" ", "").isalpha()
    assert plain > 1000
