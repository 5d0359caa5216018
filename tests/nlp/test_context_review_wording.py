"""Context cues for the way published case reviews and briefings are written.

Every sentence here was written for these tests. Each states a general rule of review prose:

- a recommendation, a list of things "to consider", an imperative opening a sentence or bullet
  ("Ensure ...", "Raise awareness ..."), a generic statement about what a concern "can also be",
  "can lead to" or is "a risk factor for", what "some families in which ..." do, or a strategy
  "to tackle" a concern, mentions the concern without finding it in a family: hypothetical;
- evaluative "negative" wording ("a negative impact on", "negatively affected") is not a
  negation, and a concern that "was known to be a risk in this family" is a finding;
- a child "exposed to" or living "amidst" a named adult's drug use is not the child's own drug
  use, and a parent's own difficult childhood or time on the child protection register is not
  abuse of the child;
- behaviour "not considered as a sign of" distress is a failure of curiosity, not a negation,
  and a parent who "said she would stop drinking" was drinking.
"""

from __future__ import annotations

import pytest

from nlp.pipeline import ThemeTagger
from tests.nlp.theme_asserts import assert_only_mentioned


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Recommendations and lists of things to consider.
        (
            "Themes for practitioners to consider: working with neglectful families, domestic abuse in "
            "pregnancy and sharing information between agencies.",
            "neglect",
        ),
        ("The impacts on children include: neglect, poor school attendance and emotional harm.", "neglect"),
        ("Ensure staff who visit families know what an unsafe sleeping environment looks like.", "unsafe_sleep"),
        (
            "Raise awareness among staff who work with new parents of what an unsafe sleeping environment looks like.",
            "unsafe_sleep",
        ),
        (
            "• Consider whether a parent who misuses alcohol can safely share a bed with a baby.",
            "parental_substance_misuse",
        ),
        ("The plan focuses on ensuring that the voice of the child is heard.", "child_not_seen"),
        # Generic statements: what can happen, what a concern is a risk factor for.
        ("Fathers can also be victims of domestic abuse.", "domestic_abuse"),
        ("Older siblings may also be drawn into county lines.", "exploitation"),
        ("Poverty is a known risk factor for neglect.", "neglect"),
        ("Pregnancy is a time of increased risk for domestic abuse.", "domestic_abuse"),
        (
            "Placement in bed and breakfast rooms, often many miles from schools, friends and support "
            "networks, can lead to families losing touch with services.",
            "housing_instability",
        ),
        (
            "Repeated moves between temporary addresses, sometimes across local authority boundaries, may "
            "result in a child slipping out of education.",
            "housing_instability",
        ),
        ("Parental alcohol misuse can negatively affect a child's development.", "parental_substance_misuse"),
        (
            "Some families in which children are at risk move house often to avoid agencies.",
            "housing_instability",
        ),
        # National strategy and partnership work.
        ("All areas had strategies in place to tackle child sexual exploitation.", "exploitation"),
        ("Work to disrupt county lines gangs has been expanded.", "exploitation"),
    ],
)
def test_review_recommendations_and_generic_statements_are_hypothetical(
    shipped_tagger: ThemeTagger, text: str, code: str
) -> None:
    assert_only_mentioned(shipped_tagger.tag(text), code, "hypothetical")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Father's drinking negatively affected the children's routines.", "parental_substance_misuse"),
        (
            "The children lived with the negative effects of their mother's depression for years.",
            "parental_mental_health",
        ),
        ("Domestic abuse in the household had a negative impact on the children's schooling.", "domestic_abuse"),
        ("Parental drug use was known to be a risk in this family.", "parental_substance_misuse"),
        ("Domestic abuse was a risk factor in this family throughout.", "domestic_abuse"),
        ("The younger children were exposed to Kelly's heroin use.", "parental_substance_misuse"),
        ("Three children were found living amidst domestic abuse and heroin addiction.", "parental_substance_misuse"),
        ("The five siblings were living amid violence and alcohol misuse.", "parental_substance_misuse"),
        (
            "His aggression at school was not considered as a sign of distress and was dismissed as attention seeking.",
            "professional_curiosity",
        ),
        ("He said he would home school the boy and took him out of school.", "missing_education"),
        ("Mother said she would stop drinking and the case was closed.", "parental_substance_misuse"),
    ],
)
def test_review_findings_are_asserted(shipped_tagger: ThemeTagger, text: str, code: str) -> None:
    result = shipped_tagger.tag(text)
    assert code in result.codes, f"{code} not asserted: {sorted(result.codes)}; {result.as_dict()}"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "Both parents had difficult childhoods marked by violence, school exclusion and running away.",
            "missing_education",
        ),
        ("Father spent time on the child protection register because of physical abuse.", "physical_abuse"),
    ],
)
def test_a_parents_own_childhood_is_about_the_parent(shipped_tagger: ThemeTagger, text: str, code: str) -> None:
    assert_only_mentioned(shipped_tagger.tag(text), code, "other_person")
