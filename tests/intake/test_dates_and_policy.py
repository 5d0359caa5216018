"""Dates people get wrong (29 February, year 0001, due dates), and the partner email policy settings."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from intake import forms as f
from intake import steps
from intake.models import FormType
from tests.intake.journey_walk import (
    Journey,
    about_you,
    bound,
    child,
    date_parts,
    days_ago,
    formset,
    practice_alert_answers,
    step_post,
)
from tests.intake.test_forms import formset_errors
from triage.services import reference_data_load


@pytest.fixture
def agencies(db):
    reference_data_load()


def _children(rows, event_date=None):
    data = step_post("children", {"__rows__": rows})
    return f.ChildFormSet(data=data, prefix="children", journey=FormType.PRACTICE_ALERT, event_date=event_date)


def _event(form_class, when_parts):
    extra = {"alert_type": "incident"} if form_class is f.EventForm else {"review_type": "cspr"}
    return bound(form_class, {**extra, **{f"event_date_{i}": v for i, v in enumerate(when_parts)}})


# --- 29 February --------------------------------------------------------------------------


@pytest.mark.parametrize("form_class", [f.EventForm, f.ReviewForm])
def test_29_february_is_a_real_date_in_a_leap_year_only(form_class):
    with time_machine.travel(dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        leap = _event(form_class, ("29", "2", "2024"))
        common = _event(form_class, ("29", "2", "2023"))

        assert leap.is_valid(), leap.errors
        assert leap.cleaned_data["event_date"] == dt.date(2024, 2, 29)
        assert common.errors["event_date"] == ["Date of the event must be a real date"]


def test_a_child_born_on_29_february_is_accepted():
    formset = _children([child(**date_parts("date_of_birth", dt.date(2020, 2, 29)))], event_date=dt.date(2024, 1, 1))

    assert formset.is_valid(), formset_errors(formset)
    assert formset.cleaned_data[0]["date_of_birth"] == dt.date(2020, 2, 29)


# --- Impossible and mistyped dates -----------------------------------------------------------


@pytest.mark.parametrize("form_class", [f.EventForm, f.ReviewForm])
@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (("1", "1", "0001"), "Date of the event must be after 1 January 1900"),
        (("31", "12", "1899"), "Date of the event must be after 1 January 1900"),
        (("0", "1", "2024"), "Date of the event must be a real date"),
        (("1", "13", "2024"), "Date of the event must be a real date"),
        (("31", "4", "2024"), "Date of the event must be a real date"),
        (("1", "1", "9" * 5000), "Year must include 4 numbers"),
        (("9" * 5000, "1", "2024"), "Date of the event must be a real date"),
        (("\u00b2", "1", "2024"), "Date of the event must be a real date"),
    ],
)
def test_impossible_or_mistyped_event_dates_get_a_specific_message(form_class, parts, message):
    form = _event(form_class, parts)

    assert form.errors["event_date"] == [message]


@pytest.mark.parametrize("form_class", [f.EventForm, f.ReviewForm])
def test_1_january_1900_and_today_are_accepted(form_class):
    for when in (dt.date(1900, 1, 1), days_ago(0)):
        form = _event(form_class, (str(when.day), str(when.month), str(when.year)))
        assert form.is_valid(), (when, form.errors)


# --- Unborn children -----------------------------------------------------------------------------


def _unborn(expected):
    return child(birth_info="unborn", **date_parts("date_of_birth", None), **date_parts("expected_date", expected))


def test_an_unborn_childs_due_date_cannot_be_before_the_event():
    formset = _children([_unborn(days_ago(30))], event_date=days_ago(10))

    assert "Expected date of delivery must be after the date of the event" in formset_errors(formset)


def test_an_unborn_childs_due_date_must_be_within_one_pregnancy_of_the_event():
    event = days_ago(10)

    too_late = _children([_unborn(event + dt.timedelta(weeks=42, days=1))], event_date=event)
    latest = _children([_unborn(event + dt.timedelta(weeks=42))], event_date=event)

    assert "Expected date of delivery must be within 42 weeks of the date of the event" in formset_errors(too_late)
    assert latest.is_valid(), formset_errors(latest)


def test_an_unborn_childs_due_date_after_the_event_is_accepted():
    formset = _children([_unborn(days_ago(-60))], event_date=days_ago(10))

    assert formset.is_valid(), formset_errors(formset)
    assert formset.cleaned_data[0]["expected_date"] == days_ago(-60)


def test_moving_the_event_after_an_unborn_childs_due_date_sends_people_back_to_the_child(client, agencies):
    answers = practice_alert_answers(
        **{
            steps.EVENT: {"alert_type": "incident", **date_parts("event_date", days_ago(100)), "police_reference": ""},
            steps.CHILDREN: formset([_unborn(days_ago(50))]),
        }
    )
    journey = Journey(client)
    journey.walk(answers, until=steps.CHECK_ANSWERS)

    moved = {**answers[steps.EVENT], **date_parts("event_date", days_ago(10))}
    assert journey.post(steps.EVENT, moved, query="?change=1").status_code == 302
    response = journey.get(steps.CHECK_ANSWERS)

    assert response.status_code == 302
    assert response["Location"].endswith(f"/{steps.CHILDREN}/")
    page = client.get(response["Location"]).content.decode()
    assert "Expected date of delivery must be after the date of the event" in page


# --- Partner email policy --------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["refuse", "REFUSE", "refuse ", "block", ""])
def test_any_policy_but_warn_refuses_a_non_partner_email(agencies, settings, policy):
    settings.PARTNER_EMAIL_POLICY = policy

    about = bound(f.AboutYouForm, about_you(email="me@gmail.com"))
    save = f.SaveForLaterForm({"email": "me@gmail.com"})

    assert "email" in about.errors
    assert "email" in save.errors


@pytest.mark.parametrize("policy", ["warn", "Warn", " warn "])
def test_warn_accepts_a_non_partner_email_and_check_answers_says_so(client, agencies, settings, policy):
    settings.PARTNER_EMAIL_POLICY = policy
    journey = Journey(client)
    journey.walk(
        practice_alert_answers(**{steps.ABOUT_YOU: about_you(email="me@gmail.com")}), until=steps.CHECK_ANSWERS
    )

    page = journey.get(steps.CHECK_ANSWERS).content.decode()

    assert "Your email address is not on our list of secure partner email domains" in page


def test_a_partner_email_gets_no_warning_under_warn(client, agencies, settings):
    settings.PARTNER_EMAIL_POLICY = "warn"
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.CHECK_ANSWERS)

    assert "not on our list of secure partner" not in journey.get(steps.CHECK_ANSWERS).content.decode()
