"""Every step's server-side validation, with the GOV.UK error messages people see."""

from __future__ import annotations

import pytest

from intake import forms as f
from intake.models import FormType
from tests.intake.journey_walk import (
    INVALID_NHS,
    about_you,
    adult,
    bound,
    child,
    date_parts,
    days_ago,
    errors_of,
    step_post,
)
from triage.services import reference_data_load


def formset_errors(formset) -> list[str]:
    formset.is_valid()
    found = [message for form_errors in formset.errors for messages in form_errors.values() for message in messages]
    return found + list(formset.non_form_errors())


@pytest.fixture
def agencies(db):
    reference_data_load()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"full_name": ""}, "Enter your full name"),
        ({"full_name": "x" * 201}, "Full name must be 200 characters or less"),
        ({"job_title": ""}, "Enter your job title"),
        ({"agency": ""}, "Select your agency"),
        ({"agency": "99999"}, "Select your agency"),
        ({"agency": "other", "agency_other": ""}, "Enter the name of your agency"),
        ({"team": ""}, "Enter your team"),
        ({"phone": ""}, "Enter your work telephone number"),
        ({"phone": "call me"}, "Enter a telephone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192"),
        ({"email": ""}, "Enter your work email address"),
        ({"email": "not-an-email"}, "Enter an email address in the correct format, like name@example.com"),
    ],
)
def test_about_you_messages(agencies, overrides, message):
    form = bound(f.AboutYouForm, about_you(**overrides))

    assert not form.is_valid()
    assert message in errors_of(form)


def test_about_you_accepts_a_partner_email(agencies):
    assert bound(f.AboutYouForm, about_you(email="a.person@council.gov.uk")).is_valid()


def test_a_non_partner_email_is_refused_with_what_to_do_instead(agencies, settings):
    settings.PARTNER_EMAIL_POLICY = "refuse"
    settings.BUSINESS_UNIT_PHONE = "01632 000 999"

    form = bound(f.AboutYouForm, about_you(email="me@gmail.com"))

    assert not form.is_valid()
    (message,) = form.errors["email"]
    assert message.startswith("Enter a secure work email address from a partner agency")
    assert "01632 000 999" in message


def test_a_non_partner_email_is_accepted_when_the_policy_is_warn(agencies, settings):
    settings.PARTNER_EMAIL_POLICY = "warn"

    assert bound(f.AboutYouForm, about_you(email="me@gmail.com")).is_valid()


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (("", "", ""), "Enter the date of the event"),
        (("12", "", "2024"), "Date of the event must include a month"),
        (("", "", "2024"), "Date of the event must include a day and a month"),
        (("31", "2", "2024"), "Date of the event must be a real date"),
        (("aa", "2", "2024"), "Date of the event must be a real date"),
        (("1", "2", "24"), "Year must include 4 numbers"),
    ],
)
def test_event_date_messages(parts, message):
    data = {"alert_type": "incident", **{f"event_date_{i}": v for i, v in enumerate(parts)}}

    form = bound(f.EventForm, data)

    assert not form.is_valid()
    assert form.errors["event_date"] == [message]


def test_an_event_date_in_the_future_is_refused():
    form = bound(f.EventForm, {"alert_type": "incident", **date_parts("event_date", days_ago(-1))})

    assert form.errors["event_date"] == ["Date of the event must be in the past"]


def test_the_alert_type_is_required():
    form = bound(f.EventForm, date_parts("event_date", days_ago(3)))

    assert form.errors["alert_type"] == ["Select what you are telling us about"]


def test_a_case_review_needs_a_review_type_and_a_past_date():
    form = bound(f.ReviewForm, date_parts("event_date", days_ago(-3)))

    assert form.errors["review_type"] == ["Select what type of review you are asking for"]
    assert form.errors["event_date"] == ["Date of the event must be in the past"]


def _children(rows, journey=FormType.PRACTICE_ALERT, event_date=None):
    data = step_post("children", {"__rows__": rows})
    return f.ChildFormSet(data=data, prefix="children", journey=journey, event_date=event_date)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"birth_info": ""}, "Enter a date of birth, an age or select unborn"),
        ({"birth_info": "date_of_birth", **date_parts("date_of_birth", None)}, "Enter the child's date of birth"),
        (
            {"birth_info": "date_of_birth", **date_parts("date_of_birth", days_ago(-2))},
            "Date of birth must be in the past",
        ),
        ({"birth_info": "age", "age_years": ""}, "Enter the child's age"),
        ({"birth_info": "age", "age_years": "40"}, "Age must be a whole number between 0 and 25"),
        ({"birth_info": "age", "age_years": "two"}, "Age must be a whole number between 0 and 25"),
        ({"birth_info": "unborn", **date_parts("expected_date", None)}, "Enter the expected date of delivery"),
        (
            {"nhs_number": INVALID_NHS},
            "Enter a valid NHS number. Check it against the child's health record, or leave it blank",
        ),
        ({"nhs_number": "123"}, "NHS number must be 10 digits"),
        ({"nhs_number": "12345abcde"}, "NHS number must only include numbers and spaces"),
        ({"postcode": "NOT A POSTCODE"}, "Enter a real postcode, like ME4 4TR"),
        ({"aliases": "x" * 2001}, "Other names must be 2,000 characters or less"),
    ],
)
def test_child_messages(overrides, message):
    formset = _children([child(**overrides)])

    assert message in formset_errors(formset)


def test_date_of_birth_must_be_before_the_date_of_the_event():
    formset = _children([child(**date_parts("date_of_birth", days_ago(5)))], event_date=days_ago(10))

    assert "Date of birth must be before the date of the event" in formset_errors(formset)


def test_answers_under_an_unchosen_option_are_ignored():
    formset = _children([child(birth_info="age", age_years="4", **date_parts("date_of_birth", days_ago(-9)))])

    assert formset.is_valid()
    assert formset.cleaned_data[0]["date_of_birth"] is None
    assert formset.cleaned_data[0]["age_years"] == 4


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("given_name", "Enter the child's first name"),
        ("family_name", "Enter the child's last name"),
        ("address_line", "Enter the child's home address"),
        ("postcode", "Enter the child's postcode"),
        ("legal_status", "Select the child's legal status"),
    ],
)
def test_a_case_review_needs_more_about_each_child(field, message):
    assert message in formset_errors(_children([child(**{field: ""})], journey=FormType.CASE_REVIEW))
    assert message not in formset_errors(_children([child(**{field: ""})], journey=FormType.PRACTICE_ALERT))


def test_the_first_child_is_required_but_a_blank_extra_child_is_ignored():
    assert "Enter a date of birth, an age or select unborn" in formset_errors(_children([]))
    blank = dict.fromkeys(child(), "")
    formset = _children([child(), blank])
    assert formset.is_valid()
    assert len([row for row in formset.cleaned_data if row]) == 1


def test_adults_are_optional_for_a_practice_alert_but_not_a_case_review():
    blank = dict.fromkeys(adult(), "")
    data = step_post("adults", {"__rows__": [blank]})

    assert f.AdultFormSet(data=data, prefix="adults", journey=FormType.PRACTICE_ALERT).is_valid()
    case_review = f.AdultFormSet(data=data, prefix="adults", journey=FormType.CASE_REVIEW)
    assert {"Select who the adult is", "Enter the adult's first name", "Enter the adult's last name"} <= set(
        formset_errors(case_review)
    )


@pytest.mark.parametrize(
    ("form_class", "field", "message"),
    [
        (f.WhatHappenedForm, "what_happened", "What happened must be 5,000 characters or less"),
        (f.WhatHappenedForm, "impact_on_child", "Impact on the child must be 2,000 characters or less"),
        (f.CaseDetailsForm, "case_outline", "Case outline must be 5,000 characters or less"),
        (f.PracticeForm, "learning_identified", "Learning must be 2,000 characters or less"),
    ],
)
def test_long_text_says_its_limit(form_class, field, message):
    limit = form_class.base_fields[field].max_length

    at_limit = bound(form_class, {field: "a" * limit})
    over = bound(form_class, {field: "a" * (limit + 1)})

    assert field not in at_limit.errors
    assert over.errors[field] == [message]
    assert f'data-maxlength="{limit}"' in str(over[field])


def test_a_line_break_counts_as_one_character_as_the_character_count_shows():
    text = "a\r\n" * 2500  # 7,500 characters as posted, 5,000 as counted on the page
    form = bound(f.WhatHappenedForm, {"what_happened": text, "impact_on_child": "x"})

    assert form.is_valid(), form.errors
    assert "\r" not in form.cleaned_data["what_happened"]


@pytest.mark.parametrize(
    ("form_class", "message"),
    [
        (f.WhatHappenedForm, "Enter what happened"),
        (f.WhatHappenedForm, "Enter the impact or possible impact on the child"),
        (f.PracticeForm, "Enter the learning for agencies working together"),
        (f.CaseDetailsForm, "Enter a case outline"),
        (f.CaseDetailsForm, "Enter the circumstances that led to this referral"),
        (f.CaseDetailsForm, "Enter why the case may meet the criteria for a review"),
        (f.SafeguardingLeadForm, "Select yes if you have discussed this with your agency's safeguarding lead"),
        (f.LeadDetailsForm, "Enter your safeguarding lead's full name"),
        (f.LeadDetailsForm, "Enter your safeguarding lead's email address"),
        (f.SeniorLeadForm, "Select yes if your agency's senior safeguarding lead has agreed this referral"),
        (f.CriteriaForm, "Select whether the child has died or been seriously harmed"),
        (f.CriteriaForm, "Select whether the abuse or neglect is directly linked to the death or serious harm"),
        (f.SeriousIncidentForm, "Select whether abuse or neglect is known or suspected"),
        (f.SwitchAdviceForm, "Select whether you want to change to a case review referral"),
        (f.ParallelProcessesForm, "Select yes if there is a police investigation"),
        (f.ParallelProcessesForm, "Select yes if there is an HR or disciplinary process"),
        (f.OtherInformationForm, "Select yes if there is media interest in this case"),
        (f.DeclarationForm, "Confirm each statement to send your form"),
    ],
)
def test_missing_answers_are_named(form_class, message):
    form = bound(form_class, {})

    assert message in errors_of(form)


def test_every_declaration_must_be_confirmed():
    form = bound(f.DeclarationForm, {"confirmations": ["accurate", "third_parties"]})

    assert form.errors["confirmations"] == ["Confirm each statement to send your form"]


def test_an_agency_involved_needs_a_name():
    data = step_post("agencies", {"__rows__": [{"agency_name": "", "contact": "", "still_involved": ""}]})

    assert "Enter the name of the agency" in formset_errors(f.AgencyFormSet(data=data, prefix="agencies"))


def test_a_radio_answer_outside_its_choices_is_refused():
    form = bound(f.SafeguardingLeadForm, {"consulted": "maybe"})

    assert form.errors["consulted"] == ["Select yes if you have discussed this with your agency's safeguarding lead"]
