"""Mechanics added for the tagger's speed give exactly what the plain computations give.

The packed lexsort, the longest-run count, the "cue inside a theme match's own words" test
done with running maxima, and tokenizing a few batches ahead are each checked against the
straightforward version (numpy's lexsort, a scan, every (cue, part) pair, one batch at a time).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nlp.pipeline as pipeline
from nlp.pipeline import get_tagger
from nlp.tagger_match import Batch, TextDocs, lexsort
from nlp.tagger_words import as_read

DEV = Path(__file__).resolve().parents[1] / "data" / "themes" / "dev.jsonl"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    sample = [json.loads(line)["text"] for line in lines[:80] if line.strip()]
    rng = random.Random(5)
    spliced = []
    for _ in range(40):
        words = " ".join(rng.sample(sample, 3)).split()
        rng.shuffle(words)
        spliced.append(" ".join(words[: rng.randint(5, 120)]))
    return sample + spliced + ["", " ", "\n\n", "NOT NEGLECTED. Not seen.", "no no no not not"]


def test_packed_lexsort_is_numpys_lexsort():
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 3, 17, 500, 4000):
        for high in (1, 2, 7, 1000, 1 << 20, 1 << 40):
            for n_keys in (1, 2, 3, 5):
                keys = tuple(rng.integers(0, high, n) for _ in range(n_keys))
                assert np.array_equal(lexsort(keys), np.lexsort(keys))
            # Negative keys and keys too wide to pack fall back to numpy's lexsort.
            keys = tuple(rng.integers(-high, high, n) for _ in range(3))
            assert np.array_equal(lexsort(keys), np.lexsort(keys))


def test_longest_run_is_what_a_scan_finds():
    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 5, 40, 300):
        for p in (0.0, 0.1, 0.5, 0.9, 1.0):
            for _ in range(20):
                mask = rng.random(n) < p
                longest = run = 0
                for value in mask.tolist():
                    run = run + 1 if value else 0
                    longest = max(longest, run)
                assert Batch.word_runs(None, mask) == longest  # type: ignore[arg-type]


def test_a_cue_inside_a_theme_matchs_own_words_is_found_as_pair_by_pair(texts):
    tagger = get_tagger()
    rules = tagger.rules
    found = rules.match(TextDocs(texts, tagger.nlp.make_doc), [as_read(t) for t in texts])
    start, end, sentence, core = found.start_array, found.end_array, found.sentence_array, found.core_array
    cue_start, cue_end, c_sentence = found._cue_start, found._cue_end, found._c_sentence
    got = found._inside_own(cue_start, cue_end, c_sentence)
    parts = []
    for s, e, sent, (a_s, a_e, b_s, b_e) in zip(
        start.tolist(), end.tolist(), sentence.tolist(), core.tolist(), strict=True
    ):
        parts += [(s, e, sent)] if a_s < 0 else [(a_s, a_e, sent), (b_s, b_e, sent)]
    expected = [
        any(os <= cs and ce <= oe and (oe - os) > (ce - cs) and ps == sent for os, oe, ps in parts)
        for cs, ce, sent in zip(cue_start.tolist(), cue_end.tolist(), c_sentence.tolist(), strict=True)
    ]
    assert got.tolist() == expected
    assert any(expected)
    assert not all(expected)


def test_tokenizing_batches_ahead_changes_no_result(texts, monkeypatch):
    tagger = get_tagger()
    monkeypatch.setattr(pipeline, "TOKENIZE_AHEAD", 1)
    one_by_one = [r.as_dict() for r in tagger.tag_many(texts, batch_size=6)]
    for ahead in (2, 5, 100):
        monkeypatch.setattr(pipeline, "TOKENIZE_AHEAD", ahead)
        assert [r.as_dict() for r in tagger.tag_many(texts, batch_size=6)] == one_by_one
        assert [r.as_dict() for r in tagger.tag_many(iter(texts), batch_size=6, batch_chars=500)] == one_by_one


def test_arrays_laid_out_ahead_are_handed_over_once(texts):
    make_doc = get_tagger().nlp.make_doc
    arrays = TextDocs(texts[:5], make_doc).arrays()
    docs = TextDocs(texts[:5], make_doc, arrays)
    assert docs.arrays() is arrays
    again = docs.arrays()  # made afresh: the same tokens
    assert all(np.array_equal(a, b) for a, b in zip(again, arrays, strict=True))


def test_the_rules_second_words_fit_the_dense_table_with_room_to_spare():
    """Past _MAX_DENSE cells the phrase trie silently takes its slower path (2-3% of throughput):
    fail here first, while there is still room, so whoever adds rules measures bench_tagger."""
    from nlp.tagger_match import _MAX_DENSE

    matcher: Any = get_tagger().nlp.get_pipe("theme_matcher")
    trie = matcher.rules.trie
    assert trie._dense is not None
    assert trie._dense.size <= 0.75 * _MAX_DENSE, trie._dense.shape
