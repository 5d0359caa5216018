"""Check-answers prompts for a missing father or partner and for children who cannot be identified."""

from __future__ import annotations

import datetime as dt

import pytest

from intake import steps
from intake.recording_prompts import recording_prompts

from .journey_walk import Journey, adult, child, formset, practice_alert_answers

pytestmark = pytest.mark.django_db


def codes(answers):
    return [prompt.code for prompt in recording_prompts(answers)]


def known_child(**overrides):
    return {"birth_info": "date_of_birth", "date_of_birth": dt.date(2021, 1, 2), "nhs_number": "", **overrides}


def test_no_prompts_when_a_father_is_added_and_every_child_can_be_identified():
    answers = {
        steps.CHILDREN: [known_child(), known_child(date_of_birth=None, nhs_number="9434765919")],
        steps.ADULTS: [{"role": "mother"}, {"role": "father"}],
    }
    assert codes(answers) == []


@pytest.mark.parametrize("roles", [[], ["mother"], ["mother", "carer", "other"]])
def test_a_missing_father_or_partner_is_prompted(roles):
    answers = {steps.CHILDREN: [known_child()], steps.ADULTS: [{"role": role} for role in roles]}
    prompts = recording_prompts(answers)
    assert [p.code for p in prompts] == ["no_father_or_partner"]
    assert prompts[0].step == steps.ADULTS
    assert prompts[0].heading == "You have not added the child's father or a parent's partner"


def test_a_mother_s_partner_counts_as_the_man_in_the_child_s_life():
    answers = {steps.CHILDREN: [known_child()], steps.ADULTS: [{"role": "mother"}, {"role": "partner"}]}
    assert codes(answers) == []


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [
        ("Mum's boyfriend was at the address.", True),
        ("Step-dad shouted at the child.", True),
        ("Mr B answered the door.", True),
        ("Her partner would not let us in.", True),
        ("Information was shared with partner agencies.", False),
        ("He was left alone in the flat.", False),  # often the child himself
    ],
)
def test_the_heading_says_so_when_the_answers_mention_a_man_who_was_not_added(text, mentioned):
    answers = {
        steps.CHILDREN: [known_child()],
        steps.ADULTS: [{"role": "mother"}],
        steps.WHAT_HAPPENED: {"what_happened": text, "impact_on_child": ""},
    }
    heading = recording_prompts(answers)[0].heading
    assert heading.startswith("You mention a father or partner") is mentioned


def test_no_prompt_about_people_when_there_are_no_children_yet():
    assert codes({steps.ADULTS: []}) == []


def test_children_without_a_date_of_birth_or_nhs_number_are_named_by_their_number():
    answers = {
        steps.CHILDREN: [
            known_child(birth_info="age", date_of_birth=None),
            known_child(),
            known_child(birth_info="age", date_of_birth=None),
        ],
        steps.ADULTS: [{"role": "father"}],
    }
    prompts = recording_prompts(answers)
    assert [p.code for p in prompts] == ["child_not_identifiable"]
    assert prompts[0].heading == "Child 1 and child 3 have no date of birth or NHS number"


def test_one_child_known_only_by_age_and_an_unborn_baby():
    one = {steps.CHILDREN: [known_child(birth_info="age", date_of_birth=None)], steps.ADULTS: [{"role": "father"}]}
    assert recording_prompts(one)[0].heading == "The child has no date of birth or NHS number"
    unborn_child = known_child(birth_info="unborn", date_of_birth=None)
    unborn = {steps.CHILDREN: [unborn_child], steps.ADULTS: [{"role": "father"}]}
    assert codes(unborn) == []


def test_check_answers_shows_the_prompt_with_a_change_link_and_it_goes_once_a_father_is_added(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.CHECK_ANSWERS)
    page = journey.get(steps.CHECK_ANSWERS).content.decode()
    assert 'id="recording-prompts"' in page
    assert "You have not added the child&#x27;s father" in page
    assert f'href="{journey.url(steps.ADULTS)}?change=1">Add a father or partner</a>' in page

    response = journey.post(
        steps.ADULTS, formset([adult(), adult(role="father", given_name="Alan")]), query="?change=1"
    )
    assert response["Location"] == journey.url(steps.CHECK_ANSWERS)
    assert 'id="recording-prompts"' not in journey.get(steps.CHECK_ANSWERS).content.decode()


def test_a_prompt_never_stops_the_form_being_sent(client):
    from intake.models import Referral

    journey = Journey(client)
    journey.walk(practice_alert_answers(**{steps.CHILDREN: formset([child(birth_info="age", age_years="4")])}))
    assert Referral.objects.count() == 1
