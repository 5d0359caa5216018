"""Practice-failure themes in general wording: child_not_seen, invisible_men, professional_curiosity.

How reviewers and practitioners in general write that a child was not seen or heard, that a man in
the household was left out, or that an account was accepted without question, and near-misses that
say something else with the same words (a child seen alone who "said" something with a "not" in it,
a baby "put down to sleep", a teenager who "stays over" with a boyfriend). The sentences are written
for these tests; none is taken from a labelled theme file.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "text",
    [
        "At every home visit the twins were in bed.",
        "The health visitor only ever saw the baby in the pram, asleep, at each of the four visits.",
        "None of the professionals spoke to Child B on his own.",
        "Nobody in the network asked the young person about his friends.",
        "Neither the school nor the children were asked about the injury.",
        "The girl was rarely seen without her stepfather.",
        "The worker saw the children on only one occasion during the plan.",
        "Her own views have not been obtained.",
        "The baby was last seen by a GP at six weeks old.",
        "The social worker saw the children through the window but did not go in.",
        "The children were seen at home only once in six months.",
        "During the plan the children were seen only at school.",
        "Mum would not wake the baby, so the health visitor left without seeing her.",
    ],
)
def test_child_not_seen_in_general_wording(shipped_tagger, text):
    assert "child_not_seen" in shipped_tagger.tag(text).codes


@pytest.mark.parametrize(
    "text",
    [
        "Seen alone, he said he does not want to change school and is happy at home.",
        "Mother says there has been no trouble with the neighbours since the move.",
        "Police attended after an argument; two children asleep upstairs, checked by officers and well.",
        "The family's consent was never sought.",
        "Mother had been a looked-after child herself and had no support when she left care.",
    ],
)
def test_child_not_seen_near_misses(shipped_tagger, text):
    assert "child_not_seen" not in shipped_tagger.tag(text).codes


@pytest.mark.parametrize(
    "text",
    [
        "Appointments were always arranged during his working hours.",
        "Mum told the midwife she was a single parent; the baby's father, Mr D, was living with her.",
        "Mum was reluctant to name the partner who looks after the children while she works.",
        "The stepfather was never asked about his own history or his relationship with the children.",
        "Police checks on the partner were never requested.",
        "It was not clear who was living in the household.",
        "The practitioner did not know whether mum's partner lives at the address.",
        "Mother's partner had been living at the address for months, but agencies were unaware of his existence.",
        "The plan makes no mention of mum's partner.",
        "Practitioners did not identify that he was the father of the baby.",
    ],
)
def test_invisible_men_in_general_wording(shipped_tagger, text):
    assert "invisible_men" in shipped_tagger.tag(text).codes


@pytest.mark.parametrize(
    "text",
    [
        "The 15-year-old stays over at her 22-year-old boyfriend's flat at weekends.",
        "When her partner stays over, the baby sleeps in their bed.",
        "He tries to be invisible in class when the teacher shouts.",
    ],
)
def test_invisible_men_near_misses(shipped_tagger, text):
    assert "invisible_men" not in shipped_tagger.tag(text).codes


@pytest.mark.parametrize(
    "text",
    [
        "The worker took mother's explanation on trust.",
        "Each contact was treated as a new episode and closed.",
        "Professionals had become used to the state of the home and no longer saw it as neglect.",
        "The teacher treated what he said as a throwaway comment.",
        "No one went to check whether the children were actually being educated at home.",
        "The decision to close was based on a phone call with mum.",
        "The initial view of the family was never revisited.",
        "The GP assumed it was eczema and asked nothing more.",
        "The disclosure was not acted on because the child would not repeat it to the social worker.",
        "Her explanation for the missed appointments was judged plausible.",
        "Staff put it down to teething.",
        "Nobody asked mother about the bruise.",
        "The boy was seen by police as making his own choices.",
    ],
)
def test_professional_curiosity_in_general_wording(shipped_tagger, text):
    assert "professional_curiosity" in shipped_tagger.tag(text).codes


@pytest.mark.parametrize(
    "text",
    [
        "Baby was put down to sleep in her cot, on her back.",
        "The toddler is put down to nap after lunch.",
    ],
)
def test_professional_curiosity_near_misses(shipped_tagger, text):
    assert "professional_curiosity" not in shipped_tagger.tag(text).codes
