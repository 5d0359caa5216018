"""The context step's passage rules (tagger_context.passage_statuses): a later negation in the
passage cancels weak evidence, and list items under a hypothetical header are hypothetical.

Each behaviour test states one labelling rule of tests/data/themes/README.md on sentences
written for these tests; the last tests check that the batch pass (tagger_rules.BatchMatches)
and the plain-Python rules agree match by match on passages built to exercise them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp.pipeline import (
    PATTERNS_DIR,
    ThemeTagger,
    _doc_matches,
    _doc_statuses,
    clean_text,
    get_pipeline,
    load_pattern_set,
    result_from_doc,
)
from nlp.tagger_context import CONCLUSIVE, PASSAGE_WIDE, WEAK_WEIGHT, statuses
from nlp.tagger_patterns import DEFAULT_WEIGHT
from nlp.tagger_rules import CONTEXT_RULES
from tests.nlp.theme_asserts import assert_only_mentioned

DEV = Path(__file__).resolve().parents[1] / "data" / "themes" / "dev.jsonl"


@pytest.fixture(scope="module")
def tagger() -> ThemeTagger:
    return ThemeTagger(get_pipeline())


# --- A later negation cancels weak evidence ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "DSL log: pupil came in with a bruise on her cheek. She says she fell off her scooter. "
            "No further concerns.",
            "physical_abuse",
        ),
        ("Poor weight gain noted at the 8 week check. Parents attentive, no evidence of neglect.", "neglect"),
        (
            "GP letter: father of 3 with back pain, on codeine and pregabalin, reviewed monthly. No concerns.",
            "parental_substance_misuse",
        ),
        (
            "Consultant opinion: bruise consistent with the described fall against the table, NAI not thought likely.",
            "physical_abuse",
        ),
    ],
)
def test_weak_evidence_before_a_negation_later_in_the_passage_is_negated(tagger, text, code):
    """A passage-wide negation, or an explicit negated mention of the theme after the evidence."""
    result = tagger.tag(text)
    assert code not in result.codes
    assert code in result.negated


def test_strong_evidence_is_never_cancelled_by_a_later_negation(tagger):
    text = "Baby has a spiral fracture of the femur and bruising to the face. No further concerns."
    assert "physical_abuse" in tagger.tag(text).codes


def test_a_weak_negated_mention_does_not_cancel_earlier_evidence(tagger):
    # "CP medical" (weak) is negated by "no plausible explanation": not a ruling-out of the bruise.
    text = "Mother brought the baby with a small bruise on the ear. Paeds review: no plausible explanation, CP medical."
    assert "physical_abuse" in tagger.tag(text).codes


def test_a_negation_before_the_evidence_does_not_cancel_it(tagger):
    assert "physical_abuse" in tagger.tag("No further concerns. Bruise on her cheek noted at school today.").codes


def test_a_closing_negation_about_a_named_theme_is_about_that_theme_only(tagger):
    result = tagger.tag("Bruise on her cheek noted. No further concerns about domestic abuse.")
    assert "physical_abuse" in result.codes
    assert "domestic_abuse" in result.negated


def test_no_concerns_about_care_does_not_cancel_a_parents_mental_health_history(tagger):
    text = "M has been on a waiting list for talking therapies for anxiety. No concerns about her care of the children."
    assert "parental_mental_health" in tagger.tag(text).codes


def test_weak_means_below_the_pattern_files_ordinary_weight():
    assert WEAK_WEIGHT == DEFAULT_WEIGHT


# --- Items under a hypothetical header ---------------------------------------------------


def test_list_items_under_a_recommendations_header_are_hypothetical(tagger):
    text = (
        "Recommendations:\n1. Training on coercive control and domestic abuse for GPs.\n"
        "2. Safer sleep messages at every contact."
    )
    result = tagger.tag(text)
    assert result.codes == set()
    assert {"domestic_abuse", "unsafe_sleep"} <= set(result.hypothetical)


def test_a_blank_line_ends_the_list_under_a_header(tagger):
    text = (
        "Recommendations:\n1. Training on coercive control and domestic abuse for GPs.\n\n"
        "Mother disclosed domestic abuse by her partner."
    )
    assert "domestic_abuse" in tagger.tag(text).codes


def test_a_header_followed_by_a_finding_in_its_sentence_is_no_header(tagger):
    text = "Learning points include: the mother drank heavily throughout. The father was violent to her."
    assert "domestic_abuse" in tagger.tag(text).codes


# --- The version ---------------------------------------------------------------------------


def test_the_context_rules_version_is_in_the_context_file_and_so_in_the_tagger_version():
    meta = json.loads((PATTERNS_DIR / "_context.jsonl").read_text(encoding="utf-8").splitlines()[0])["meta"]
    assert meta["context_rules"] == CONTEXT_RULES


def test_passage_wide_cues_exist_for_both_rules_and_the_entry_boundaries():
    cues = load_pattern_set().cues
    wide = {c.category for c in cues if c.max_tokens >= PASSAGE_WIDE}
    assert wide == {"negated", "hypothetical", "terminate"}


# --- The batch pass agrees with the plain rules ---------------------------------------------


PASSAGES = [
    "DSL log: pupil came in with a bruise on her cheek. She says she fell off her scooter. No further concerns.",
    "Police attended re shouting. It was the TV. No argument had taken place. Nil safeguarding concerns.",
    "No further concerns. Bruise on her cheek noted at school today.",
    "Bruise on her cheek noted. No further concerns about domestic abuse.",
    "Grandmother drinks heavily. Pupil came in with a bruise on her cheek. No further concerns.",
    "Recommendations:\n1. Training on coercive control and domestic abuse for GPs.\n2. Safer sleep at every contact.",
    "Recommendations:\n1. Neglect training.\n\nMother disclosed domestic abuse. No concerns.",
    "Practitioners should consider the following:\n- parental alcohol misuse\n- children missing education",
    "Recommendations: 1. Agencies should hear the voice of the child. 2. Neglect training. No concerns.",
    "Recommendations:",
    "No concerns.",
    "7yo in ED with # radius and bruising to the face after a fall. No NAI concerns.",
    "Police: domestic reported by 15yo; mother took her phone. Not a DA or CP matter. Mum drinks heavily.",
    "No NAI concerns. Spiral fracture of the femur noted at the second visit.",
    "Bruise on cheek noted at nursery. No concerns about speech and language development.",
    "12/03/23 Police attended after neighbours heard shouting. 20/03/23 HV visit: no concerns.",
    "02/03 bruise on cheek noted at nursery; 20/03 HV visit, no concerns. Mum drinks. No further concerns.",
    "Police attended after neighbours heard shouting.\n\nHV visit: no concerns.",
    "12/03 DSL: bruise on her arm, says she fell. No NAI concerns. 20/03 bruise on her face. Nil concerns.",
]


def _variants() -> list[str]:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    sample = [json.loads(line)["text"] for line in lines[:150] if line.strip()]
    out = list(PASSAGES)
    for i, text in enumerate(sample):
        if i % 6 == 0:
            out.append(text + " No further concerns.")
        elif i % 6 == 3:
            out.append(text + " No NAI concerns. Not a DA or CP matter.")
        elif i % 6 == 5:
            out.append("12/03/21 " + text + " 14/03/21 HV visit: no concerns.")
        elif i % 3 == 1:
            out.append("Learning points include:\n" + text.replace(". ", ".\n- "))
        else:
            out.append(text + " Nil concerns. " + sample[i - 1])
    return out


def test_the_batch_passage_rules_agree_with_the_plain_rules():
    tagger = ThemeTagger(get_pipeline())
    batch = [clean_text(t) for t in _variants()]
    found = tagger.rules.match([tagger.nlp.make_doc(t) for t in batch], batch)
    compared = negated = hypothetical = 0
    for doc in range(len(batch)):
        matches = _doc_matches(found, doc)
        if not matches:
            continue
        fast = _doc_statuses(found, doc, matches)
        by_hand = statuses(found, doc, [(*m[:5], -1) for m in matches])
        assert fast == by_hand, batch[doc][:80]
        compared += len(fast)
        negated += sum(s == "negated" for s in by_hand)
        hypothetical += sum(s == "hypothetical" for s in by_hand)
    assert compared > 1000
    assert negated > 50
    assert hypothetical > 100


def test_the_pipeline_components_give_what_tag_many_gives_on_passages():
    nlp = get_pipeline()
    tagger = ThemeTagger(nlp)
    texts = [clean_text(t) for t in _variants()[:80]]
    fast = list(tagger.tag_many(texts, batch_size=7))
    for text, result in zip(texts, fast, strict=True):
        slow = result_from_doc(nlp(text), weights=tagger.weights)
        assert slow.as_dict() == result.as_dict(), text[:80]


# --- Which closing negations rule the passage out ----------------------------------------


def test_no_concerns_about_a_named_topic_does_not_cancel_other_weak_evidence(tagger):
    """ "No concerns about speech" is about speech, not a ruling-out of the whole passage."""
    text = "Bruise on cheek noted at nursery. No concerns about speech and language development."
    assert "physical_abuse" in tagger.tag(text).codes


@pytest.mark.parametrize(
    "closing",
    ["No further concerns.", "Nil safeguarding concerns at this time", "No concerns for the children."],
)
def test_a_bare_closing_negation_still_cancels_weak_evidence(tagger, closing):
    result = tagger.tag(f"Bruise on cheek noted at nursery. {closing}")
    assert_only_mentioned(result, "physical_abuse", "negated")


def test_no_concerns_about_theme_words_still_negates_them(tagger):
    result = tagger.tag("Mum was drunk at pick-up. No concerns about home conditions.")
    assert "parental_substance_misuse" in result.codes
    assert "neglect" in result.negated


# --- A conclusion naming the concern cancels evidence of any weight ----------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("7yo in ED with # radius after trampoline fall, mechanism fits injury. No NAI concerns.", "physical_abuse"),
        (
            "Police: domestic reported by 15yo who said she and her mother had a row; mother took her phone. "
            "Not a DA or CP matter.",
            "domestic_abuse",
        ),
    ],
)
def test_a_conclusion_naming_the_concern_cancels_strong_evidence_before_it(tagger, text, code):
    result = tagger.tag(text)
    assert code not in result.codes
    assert code in result.negated


def test_conclusive_negations_are_a_reach_above_the_passage_wide_ones():
    cues = [c for c in load_pattern_set().cues if c.max_tokens >= CONCLUSIVE]
    assert cues
    assert all(c.category == "negated" and c.themes for c in cues)
    assert CONCLUSIVE > PASSAGE_WIDE


# --- A later entry of a chronology does not rule out an earlier one -------------------------


@pytest.mark.parametrize(
    "text",
    [
        "12/03/23 Police attended after neighbours heard shouting. 20/03/23 HV visit: no concerns.",
        "02/03 police attended after neighbours heard shouting; 20/03 HV visit, no concerns.",
        "Police attended after neighbours heard shouting.\n\nHV visit: no concerns.",
    ],
)
def test_a_negation_in_a_later_entry_does_not_cancel_an_earlier_entrys_evidence(tagger, text):
    """A dated line or a blank line starts a new entry: its "no concerns" is about its own event."""
    assert "domestic_abuse" in tagger.tag(text).codes


def test_within_one_entry_a_later_negation_still_cancels_weak_evidence(tagger):
    result = tagger.tag("12/03/23 Police attended after neighbours heard shouting. HV visit: no concerns.")
    assert_only_mentioned(result, "domestic_abuse", "negated")
