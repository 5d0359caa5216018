"""One-slip spelling tolerance for the rules' own words (nlp/tagger_spelling.py)."""

from __future__ import annotations

from typing import Any

import pytest

from nlp.pipeline import get_tagger
from nlp.tagger_spelling import COMMON_WORDS, Spelling, build_common_words, one_slip

FORMS = {
    "drinking": "drink",
    "drinks": "drink",
    "referral": "referral",
    "referrals": "referral",
    "bruise": "bruise",
    "bruising": "bruise",
}


@pytest.fixture
def spelling() -> Spelling:
    return Spelling.build(
        [(lemma, [w for w, lem in FORMS.items() if lem == lemma]) for lemma in set(FORMS.values())],
        frozenset({"cruising", "drinker"}),
    )


def test_one_slip_drops_swaps_changes_and_adds_a_letter():
    slips = set(one_slip("abc"))
    assert {"bc", "ac", "ab"} <= slips  # dropped
    assert {"bac", "acb"} <= slips  # swapped
    assert {"xbc", "axc", "abx"} <= slips  # changed
    assert {"xabc", "axbc", "abcx"} <= slips  # added
    assert "abc" not in slips
    assert not {"xbc", "axc"} & set(one_slip("abc", changed=False))


@pytest.mark.parametrize(
    ("typed", "read_as"),
    [
        ("drinkng", "drink"),  # dropped
        ("dirnking", "drink"),  # swapped
        ("referal", "referral"),
        ("referralls", "referral"),  # added
        ("brusing", "bruise"),
        ("bruisinf", "bruise"),  # changed, in a word of 7 or more letters
    ],
)
def test_a_slip_of_a_rule_word_is_read_as_that_word(spelling, typed, read_as):
    assert spelling.correct(typed) == read_as


@pytest.mark.parametrize(
    "typed",
    [
        "drinking",  # the rule word itself
        "cruising",  # a known word is never read as another ("bruising")
        "drinker",
        "Brusing",  # capitalised: names are, and a name is not a slip
        "BRUSING",
        "bruse",  # too short
        "bruisx",  # a changed letter only counts from 7 letters
        "brusing2",
        "xyzzyq",  # nothing near
    ],
)
def test_other_words_are_left_alone(spelling, typed):
    assert spelling.correct(typed) is None


def test_a_slip_near_two_rule_words_is_left_alone():
    spelling = Spelling.build([("cloth", ["clothes"]), ("close", ["closes"])], frozenset())
    assert spelling.correct("clothess") == "cloth"
    assert spelling.correct("closess") == "close"
    assert spelling.correct("closhes") is None  # "clothes" with a changed letter, "closes" with an added one


def test_the_tagger_reads_a_misspelt_rule_word_and_cites_it_as_typed():
    tagger = get_tagger()
    text = "Mum was drinkng heavily. There was brusing to the baby's arm."
    result = tagger.tag(text)
    evidence = {e.text for theme in result.themes for e in theme.evidence}
    assert {"parental_substance_misuse", "physical_abuse"} <= result.codes
    assert any("drinkng" in e for e in evidence)
    assert any("brusing" in e for e in evidence)
    # A real word one slip from a rule word stays itself.
    assert "physical_abuse" not in tagger.tag("They went cruising on the canal at the weekend.").codes


def test_the_common_word_list_is_what_the_builder_makes_from_the_pinned_lookups(tmp_path):
    out = tmp_path / "common_words.txt"
    count = build_common_words(out)
    assert count > 20_000
    assert out.read_text(encoding="utf-8") == COMMON_WORDS.read_text(encoding="utf-8")


def test_without_the_common_word_list_no_word_is_corrected(monkeypatch):
    import nlp.tagger_rules as rules_module
    from nlp.pipeline import build_pipeline

    monkeypatch.setattr(rules_module, "read_common_words", lambda: frozenset())
    matcher: Any = build_pipeline().get_pipe("theme_matcher")
    assert matcher.rules.words.spelling is None
