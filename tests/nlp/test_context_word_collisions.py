"""Context cues that fired on the wrong words, and service details read as a concern.

Each case is a general wording (written for these tests) where a cue word meant something else:
"train" is not "training", "GP appointment" does not make the GP the one who failed to attend,
"no other injuries" leaves the injury that was found, "known as a boy who" describes the child
now, "has not cut since" says that she did cut. Signposting a service ("details of the DA
service in case she needs it") is advice, not a finding.
"""

from __future__ import annotations

import pytest

from nlp.pipeline import ThemeTagger
from tests.nlp.theme_asserts import assert_only_mentioned


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("15yo found at the station with 2 phones, £340 cash and a train ticket.", "exploitation"),
        ("Parents cancelled the GP appointment twice and did not rebook.", "non_engagement"),
        ("Mum missed three hospital appointments for the baby's hips.", "non_engagement"),
        ("CP medical for bruise to 2yo's cheek, no other injuries.", "physical_abuse"),
        ("He was known to his school as a boy who arrived hungry most days.", "neglect"),
        ("Mother disclosed a history of childhood sexual abuse by her stepfather.", "parental_adversity"),
    ],
)
def test_cue_words_inside_other_wording_do_not_cancel(shipped_tagger: ThemeTagger, text: str, code: str) -> None:
    result = shipped_tagger.tag(text)
    assert code in result.codes, f"{code} not asserted: {sorted(result.codes)}; {result.as_dict()}"


@pytest.mark.parametrize(
    "text",
    [
        "She has not cut since the admission but still has urges.",
        "He has not self-harmed since March.",
    ],
)
def test_not_since_is_not_a_negation(shipped_tagger: ThemeTagger, text: str) -> None:
    """'Not ... since' dates the last time: past self-harm is asserted or at least not ruled out."""
    assert "self_harm" not in shipped_tagger.tag(text).negated


@pytest.mark.parametrize(
    ("text", "code", "group"),
    [
        ("Mother given details of the local DA service in case she ever needs it.", "domestic_abuse", "hypothetical"),
        (
            "Mum says MGF drinks too much at weekends; he has no part in the baby's care.",
            "parental_substance_misuse",
            "other_person",
        ),
        ("Bruise to the forehead after a fall against the table. NAI not suspected.", "physical_abuse", "negated"),
        ("Bruise to the cheek seen by school. Paediatrician: NAI thought unlikely.", "physical_abuse", "negated"),
    ],
)
def test_advice_relatives_and_conclusions(shipped_tagger: ThemeTagger, text: str, code: str, group: str) -> None:
    assert_only_mentioned(shipped_tagger.tag(text), code, group)


def test_the_parents_own_drinking_still_counts(shipped_tagger: ThemeTagger) -> None:
    """The relatives excluded from the parent-drinking rule do not stop the rule for a parent."""
    assert "parental_substance_misuse" in shipped_tagger.tag("Mum says dad drinks too much at weekends.").codes


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Mother was unable to meet his basic needs for food and warmth.", "neglect"),
        ("Mother was neglectful of the children's health needs.", "neglect"),
        ("The parents were deliberately giving the children drugs to keep them quiet.", "physical_abuse"),
    ],
)
def test_a_parent_who_was_the_actor_is_not_read_as_the_victim(
    shipped_tagger: ThemeTagger, text: str, code: str
) -> None:
    """'Mother was sexually abused' is the parent's own history; 'Mother was unable to meet his needs' is not."""
    assert code in shipped_tagger.tag(text).codes


def test_a_parent_who_was_the_victim_is_still_read_as_such(shipped_tagger: ThemeTagger) -> None:
    assert_only_mentioned(
        shipped_tagger.tag("Mother was sexually abused by her stepfather."), "sexual_abuse", "other_person"
    )
