"""The context step (ThemeContext) and scoring: who a mention is about, cue scopes, weak evidence.

Each test states one labelling rule of shared/spec/themes.md or tests/data/themes/README.md and
checks it on the shipped patterns; the sentences are written for these tests.
"""

from __future__ import annotations

import pytest

from nlp.pipeline import ThemeTagger, build_pipeline, load_pattern_set


@pytest.fixture(scope="module")
def tagger() -> ThemeTagger:
    return ThemeTagger(build_pipeline())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Maternal grandmother has a history of depression.", "parental_mental_health"),
        ("Grandad drinks heavily but has no contact with the children.", "parental_substance_misuse"),
        ("The 15-year-old has been drinking at weekends with friends.", "parental_substance_misuse"),
        ("Child B (14) has anxiety and low mood and is on the CAMHS waiting list.", "parental_mental_health"),
        ("Mother has self-harmed in the past.", "self_harm"),
        ("Father was sexually abused as a child.", "sexual_abuse"),
        ("Mother experienced neglect in her own childhood.", "neglect"),
        ("Police found him holding wraps of cocaine for a county line.", "parental_substance_misuse"),
    ],
)
def test_a_mention_about_someone_outside_the_theme_is_not_asserted(tagger, text, code):
    result = tagger.tag(text)
    assert code not in result.codes
    assert code in result.other_person


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Child T's mother drinks heavily most evenings.", "parental_substance_misuse"),
        ("Mum says her daughter has been cutting her arms.", "self_harm"),
        ("The young person's father has a diagnosis of bipolar disorder.", "parental_mental_health"),
    ],
)
def test_a_parent_named_between_the_other_person_and_the_mention_keeps_it(tagger, text, code):
    assert code in tagger.tag(text).codes


def test_the_parents_own_mother_is_someone_else_for_parental_themes(tagger):
    result = tagger.tag("Her own mother, who misused alcohol, raised her.")
    assert "parental_substance_misuse" not in result.codes
    assert "parental_substance_misuse" in result.other_person


def test_a_hyphen_inside_a_word_does_not_end_the_negation_scope(tagger):
    result = tagger.tag("No self-harm or suicidal ideation reported at triage.")
    assert "self_harm" not in result.codes
    assert "self_harm" in result.negated


def test_a_negation_in_the_gap_of_a_co_occurrence_rule_negates_every_match(tagger):
    result = tagger.tag("The parents do not drink or use drugs.")
    assert "parental_substance_misuse" not in result.codes
    assert "parental_substance_misuse" in result.negated


def test_a_negation_word_inside_another_themes_wording_does_not_negate(tagger):
    result = tagger.tag("She told staff she was not given food as a punishment and was made to eat alone.")
    assert {"neglect", "emotional_abuse"} <= result.codes


def test_a_denial_contradicted_by_test_results_asserts_the_theme(tagger):
    result = tagger.tag("Mum denies any drug use but the baby's meconium tested positive for cocaine.")
    assert "parental_substance_misuse" in result.codes


def test_a_glossary_line_is_framed_as_procedural_across_its_separators(tagger):
    result = tagger.tag("Glossary: CSE - child sexual exploitation; DA - domestic abuse.")
    assert result.codes == set()
    assert {"sexual_abuse", "exploitation", "domestic_abuse"} <= set(result.hypothetical)


def test_a_single_closed_referral_is_not_repeat_referrals(tagger):
    for text in ("Referral closed NFA.", "The case was closed with no further action after one assessment."):
        assert "repeat_referrals" not in tagger.tag(text).codes
    assert "repeat_referrals" in tagger.tag("Previous referrals in 2019 and 2021 were closed NFA.").codes


def test_a_weak_word_repeated_counts_as_one_piece_of_evidence(tagger):
    once = tagger.tag("There was an argument.")
    many = tagger.tag("There was an argument. Another argument. Then an argument again.")
    assert {t.code: t.score for t in once.themes}.get("domestic_abuse") is None
    assert "domestic_abuse" not in many.codes


def test_the_same_cue_word_can_have_a_different_role_per_theme():
    cues = load_pattern_set().cues
    mother = {(c.category, c.themes) for c in cues if c.phrase == "mother"}
    assert ("subject", frozenset({"parental_mental_health", "parental_substance_misuse"})) in mother
    assert ("other_person", frozenset({"self_harm"})) in mother
    assert len({c.id for c in cues}) == len(cues)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Maternal grandmother has schizophrenia. She was sectioned in 2019.", "parental_mental_health"),
        ("The uncle does not live at the address. He has a long history of heroin use.", "parental_substance_misuse"),
        ("Mother described her own childhood. She had been neglected by her parents.", "neglect"),
    ],
)
def test_a_sentence_opening_with_a_pronoun_is_about_the_person_before_it(tagger, text, code):
    result = tagger.tag(text)
    assert code not in result.codes
    assert code in result.other_person


def test_a_pronoun_after_a_sentence_naming_a_parent_keeps_the_theme(tagger):
    text = "Child X lives with her mother. She drinks heavily most evenings."
    assert "parental_substance_misuse" in tagger.tag(text).codes
