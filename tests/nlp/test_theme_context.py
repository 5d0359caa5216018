"""The context step (ThemeContext) and scoring: who a mention is about, cue scopes, weak evidence.

Each test states one labelling rule of shared/spec/themes.md or tests/data/themes/README.md and
checks it on the shipped patterns; the sentences are written for these tests.
"""

from __future__ import annotations

import pytest

from nlp.pipeline import ThemeTagger, build_pipeline, load_pattern_set
from tests.nlp.theme_asserts import assert_only_mentioned


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
    assert_only_mentioned(result, "parental_substance_misuse", "other_person")


def test_a_hyphen_inside_a_word_does_not_end_the_negation_scope(tagger):
    result = tagger.tag("No self-harm or suicidal ideation reported at triage.")
    assert_only_mentioned(result, "self_harm", "negated")


def test_a_negation_in_the_gap_of_a_co_occurrence_rule_negates_every_match(tagger):
    result = tagger.tag("The parents do not drink or use drugs.")
    assert_only_mentioned(result, "parental_substance_misuse", "negated")


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


# --- Whose mention it is, and what a cue word is doing there ------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The baby showed signs of neonatal withdrawal after birth.",
        "Infant required morphine for neonatal withdrawal.",
    ],
)
def test_a_babys_withdrawal_is_evidence_of_the_parents_substance_misuse(tagger, text):
    """The baby is not someone outside the theme here: its withdrawal is from the mother's use."""
    assert "parental_substance_misuse" in tagger.tag(text).codes


def test_likely_to_have_been_judges_a_past_event_and_asserts_it(tagger):
    """ "likely to" points to the future; "likely to have been" is a suspicion about the past."""
    assert "physical_abuse" in tagger.tag("The injuries were likely to have been caused by shaking.").codes


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("On 3 March, when a child was left alone in the flat overnight, neighbours called the police.", "neglect"),
        ("The practice was to send a letter when a child was not brought to an appointment.", "non_engagement"),
    ],
)
def test_when_a_child_in_the_past_tense_narrates(tagger, text, code):
    assert code in tagger.tag(text).codes


def test_where_a_child_in_the_present_tense_stays_a_generic_condition(tagger):
    result = tagger.tag("Where a child is left alone overnight, practitioners should make a referral.")
    assert_only_mentioned(result, "neglect", "hypothetical")


def test_child_in_as_a_child_is_a_time_not_a_person(tagger):
    """ "as a child" dates the parent's own history; the parent's depression after it is asserted."""
    result = tagger.tag("Mum was on a CP plan herself as a child and now has depression.")
    assert {"parental_adversity", "parental_mental_health"} <= result.codes


def test_a_relative_after_by_is_the_agent_not_whose_history_it_is(tagger):
    result = tagger.tag("Mum was sexually abused by her uncle as a child.")
    assert "parental_adversity" in result.codes
    assert "sexual_abuse" not in result.codes
    assert (
        "parental_mental_health"
        in tagger.tag("Mother had been abused by her stepfather and had a diagnosis of PTSD.").codes
    )


def test_a_relative_as_subject_is_still_someone_else(tagger):
    result = tagger.tag("Mum's sister was in care as a child.")
    assert_only_mentioned(result, "parental_adversity", "other_person")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Jack gets himself dressed and there is an empty fridge most mornings.", "neglect"),
        ("She is made to stand in the garden when she wets herself.", "emotional_abuse"),
    ],
)
def test_a_reflexive_object_is_the_child_not_a_parents_own_history(tagger, text, code):
    assert code in tagger.tag(text).codes


def test_an_emphatic_reflexive_after_a_parent_is_still_the_parents_own_history(tagger):
    result = tagger.tag("Mother herself was neglected as a child.")
    assert_only_mentioned(result, "neglect", "other_person")


def test_an_injury_explained_by_a_parent_is_not_ruled_out(tagger):
    """A parent's account is not a finding: "explained by M" does not negate the bruising."""
    text = "This is the third referral about bruising, each explained by M and each accepted."
    assert "physical_abuse" in tagger.tag(text).codes


# --- Hypothetical cues that are narrating, not supposing ------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # An agency after a preposition is a place or recipient, not a plan line's "School to ...".
        (
            "Child W was withdrawn from school to be electively home educated shortly after the school "
            "made a referral about bruising to her neck.",
            "physical_abuse",
        ),
        # The idiom reports a thought, not a condition.
        ("She told the school nurse she sometimes thought everyone would be better off without her.", "self_harm"),
        # An outcome line of a referral chronology records a closure.
        (
            "Police CSC referral log: 03/19 closed NFA; 08/19 closed NFA; 01/20 closed NFA; 10/21 closed, "
            "advice given; 02/23 this referral.",
            "repeat_referrals",
        ),
        # "whether" after a check that was not made is the content of the omission.
        ("No check made on whether F had actually left or who else might be staying at the property.", "invisible_men"),
        # A referral "for possible PND" names a suspected condition.
        ("Perinatal MH referral made for possible PND.", "parental_mental_health"),
        # A recommendation as the object of a narrative is not a recommendations section.
        (
            "Each referral was closed with a recommendation of early help, which the family did not take up.",
            "repeat_referrals",
        ),
        # The AUDIT questionnaire with its score is a test result, not an audit.
        (
            "GP: father attended for alcohol review, no longer drinks since detox in March, AUDIT now 3.",
            "parental_substance_misuse",
        ),
        # "following" ends the scope of "risk of", as "after" does.
        (
            "Probation assessed him as posing a high risk of harm to known adults, following convictions for "
            "assaults on two former partners.",
            "domestic_abuse",
        ),
    ],
)
def test_a_hypothetical_cue_word_that_narrates_does_not_frame_the_theme(tagger, text, code):
    assert code in tagger.tag(text).codes


def test_a_stage_of_the_referral_process_is_no_screening_tool(tagger):
    assert "repeat_referrals" not in tagger.tag("5 referred to CSC, 5 closed at screening.").hypothetical


def test_a_sentence_opening_with_if_is_conditional_in_its_main_clause_too(tagger):
    result = tagger.tag("If concerns about the mother's mental health arise, the HV will refer to the perinatal team.")
    assert_only_mentioned(result, "parental_mental_health", "hypothetical")


def test_a_relative_clause_inside_a_conditional_still_asserts(tagger):
    text = (
        "If M returns to Mr P, who has been convicted of assaulting an ex-partner, "
        "the risk to the children would increase."
    )
    assert "domestic_abuse" in tagger.tag(text).codes


def test_unnamed_adults_drinking_are_not_the_parent(tagger):
    result = tagger.tag("Mother hosting a birthday party, some adults drinking but mother was not intoxicated.")
    assert "parental_substance_misuse" not in result.codes


@pytest.mark.parametrize(
    ("text", "whose"),
    [
        ("Maternal grandmother was in care as a child.", "other_person"),
        ("Both parents are under 18 and living with paternal grandparents, dad left care last year.", "asserted"),
    ],
)
def test_a_grandparent_as_subject_is_someone_else_but_not_after_a_preposition(tagger, text, whose):
    result = tagger.tag(text)
    if whose == "asserted":
        assert "parental_adversity" in result.codes
    else:
        assert_only_mentioned(result, "parental_adversity", "other_person")


def test_no_contact_with_a_service_negates_the_contact_not_the_concern_it_serves(tagger):
    """An IDVA works with victims of domestic abuse: not contacting one is an omission, not a ruling-out."""
    assert "domestic_abuse" in tagger.tag("No safety plan on file and no contact made with the IDVA.").codes


def test_the_alternative_not_taken_after_rather_than_is_negated(tagger):
    result = tagger.tag("The SW spoke to the school and GP rather than relying on the parents account.")
    assert_only_mentioned(result, "professional_curiosity", "negated")


def test_an_exploitation_screening_tool_scored_low_is_a_negative_result(tagger):
    result = tagger.tag("CSE screening tool - low.")
    assert not {"exploitation", "sexual_abuse"} & result.codes
    # A DASH is completed after a domestic incident whatever it scores.
    assert "domestic_abuse" in tagger.tag("Domestic incident reported, DASH - low.").codes
