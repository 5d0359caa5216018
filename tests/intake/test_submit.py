"""referral_submit: maps answers onto the models once per draft."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError

from intake import services, steps
from intake.models import Draft, FormType, Referral
from intake.services import draft_create, draft_switch_to_case_review, referral_submit
from tests.factories import AgencyFactory


def answers(**overrides):
    data = {
        steps.ABOUT_YOU: {
            "full_name": "Sam Referrer",
            "job_title": "Nurse",
            "agency": "other",
            "agency_other": "A charity",
            "team": "Team",
            "phone": "01632 960 001",
            "email": "sam@gmail.com",
        },
        steps.SAFEGUARDING_LEAD: {"consulted": "no"},
        steps.EVENT: {"alert_type": "near_miss", "event_date": dt.date(2024, 3, 1)},
        steps.CHILDREN: [
            {
                "given_name": "A",
                "family_name": "B",
                "aliases": "C\n\nD ",
                "birth_info": "unborn",
                "expected_date": dt.date(2025, 1, 2),
                "sex": "not_known",
            },
        ],
        steps.ADULTS: [{"role": "father", "given_name": "E", "birth_info": "not_known"}],
        steps.AGENCIES: [{"agency_name": "Police", "contact": "", "still_involved": "not_known"}],
        steps.OTHER_INFORMATION: {"media_interest": "yes", "family_aware": "no"},
        steps.CHECK_ANSWERS: {},
        steps.DECLARATION: {"confirmations": ["accurate"]},
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_submitting_maps_answers_onto_the_referral_its_referrer_and_people():
    draft = draft_create(form_type=FormType.PRACTICE_ALERT)

    referral = referral_submit(draft=draft, answers=answers())

    assert referral.alert_type == "near_miss"
    assert referral.event_date == dt.date(2024, 3, 1)
    assert referral.media_interest == "yes"
    assert referral.referrer.agency is None
    assert referral.referrer.agency_other == "A charity"
    assert referral.referrer.email_domain_is_partner is False
    unborn, father = referral.people.order_by("position")
    assert (unborn.is_unborn, unborn.expected_date, unborn.sex, unborn.aliases) == (
        True,
        dt.date(2025, 1, 2),
        "",
        ["C", "D"],
    )
    assert (father.role, father.position) == ("father", 2)
    assert referral.answers[steps.EVENT]["event_date"] == "2024-03-01"
    assert steps.DECLARATION not in referral.answers
    draft.refresh_from_db()
    assert draft.submitted_at == referral.submitted_at


@pytest.mark.django_db
def test_a_picked_agency_is_linked_and_other_is_cleared():
    agency = AgencyFactory.create(name="Police")
    draft = draft_create(form_type=FormType.PRACTICE_ALERT)
    about = {**answers()[steps.ABOUT_YOU], "agency": str(agency.pk), "email": "x@nhs.net"}

    referral = referral_submit(draft=draft, answers=answers(**{steps.ABOUT_YOU: about}))

    assert referral.referrer.agency == agency
    assert referral.referrer.agency_other == ""
    assert referral.referrer.email_domain_is_partner is True


@pytest.mark.django_db
def test_submitting_the_same_draft_twice_returns_the_first_referral():
    draft = draft_create(form_type=FormType.CASE_REVIEW)

    first = referral_submit(draft=draft, answers=answers())
    second = referral_submit(draft=draft, answers=answers(**{steps.EVENT: {"alert_type": "incident"}}))

    assert first.pk == second.pk
    assert Referral.objects.count() == 1
    assert first.reference.startswith("CR-")


@pytest.mark.django_db
def test_losing_a_race_on_the_unique_draft_returns_the_winners_referral(monkeypatch):
    draft = draft_create(form_type=FormType.PRACTICE_ALERT)
    winner = referral_submit(draft=draft, answers=answers())
    real_lookup = services._existing_referral
    lookups = iter([None])  # the other request had not committed when this one looked

    monkeypatch.setattr(services, "_existing_referral", lambda draft_id: next(lookups, real_lookup(draft_id=draft_id)))

    def insert_conflicts(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "_referral_create", insert_conflicts)

    assert referral_submit(draft=draft, answers=answers()).pk == winner.pk
    assert Referral.objects.count() == 1


@pytest.mark.django_db
def test_a_reference_collision_picks_another_reference(monkeypatch):
    draft_one = draft_create(form_type=FormType.PRACTICE_ALERT)
    taken = referral_submit(draft=draft_one, answers=answers()).reference
    codes = iter([taken, "PA-3467-9ACD"])
    monkeypatch.setattr(services, "reference_generate", lambda form_type: next(codes))

    referral = referral_submit(draft=draft_create(form_type=FormType.PRACTICE_ALERT), answers=answers())

    assert referral.reference == "PA-3467-9ACD"


@pytest.mark.django_db
def test_switching_twice_opens_one_case_review_draft():
    alert = draft_create(form_type=FormType.PRACTICE_ALERT)

    first = draft_switch_to_case_review(draft=alert, step_data={"about-you": {"about-you-team": ["T"]}}, partial={})
    second = draft_switch_to_case_review(draft=alert, step_data={}, partial={})

    assert first.pk == second.pk
    assert first.data["meta"]["switched_from_practice_alert"] is True
    assert Draft.objects.filter(form_type=FormType.CASE_REVIEW).count() == 1
    referral = referral_submit(draft=first, answers=answers())
    assert referral.switched_from_practice_alert is True
