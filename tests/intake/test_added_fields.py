"""Fields added for issue #2's gaps: identifiers, GP practice, interpreter, whereabouts and the chronology.

Validation messages, where each answer lands in the models, and how check answers shows it with
change links that return to check answers.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.utils.datastructures import MultiValueDict

from intake import forms as f
from intake import steps
from intake.models import FormType, Person, Referral
from tests.intake.journey_walk import (
    Journey,
    bound,
    case_review_answers,
    child,
    date_parts,
    days_ago,
    error_messages,
    errors_of,
    formset,
    key_date,
    practice_alert_answers,
    step_of,
    step_post,
)
from triage.services import reference_data_load


@pytest.fixture(autouse=True)
def _agencies(db):
    reference_data_load()


def key_dates(rows, journey=FormType.CASE_REVIEW):
    post = step_post(steps.CHRONOLOGY, formset(rows))
    data = MultiValueDict({k: [v] for k, v in post.items()})
    return f.KeyDateFormSet(data=data, prefix=steps.CHRONOLOGY, journey=journey)


def formset_errors(formset_) -> list[str]:
    formset_.is_valid()
    found = [m for form_errors in formset_.errors for messages in form_errors.values() for m in messages]
    return found + list(formset_.non_form_errors())


def summary(page: str) -> dict[str, str]:
    """Check answers as {key: value} for the plain summary rows (not the cards)."""
    rows = re.findall(
        r'<dt class="govuk-summary-list__key">(.*?)</dt>\s*<dd class="govuk-summary-list__value">(.*?)</dd>', page, re.S
    )
    return {unescape(k).strip(): unescape(re.sub(r"<br>", "\n", v)).strip() for k, v in rows}


# --- Validation messages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "12/345<script>",
            "Police reference or event number must only include letters, numbers, spaces, "
            "full stops, hyphens and slashes",
        ),
        ("x" * 51, "Police reference or event number must be 50 characters or less"),
    ],
)
def test_police_reference_messages_on_both_journeys(value, message):
    event = bound(
        f.EventForm, {"alert_type": "incident", **date_parts("event_date", days_ago(3)), "police_reference": value}
    )
    review = bound(
        f.ReviewForm,
        {"review_type": "cspr", **date_parts("event_date", days_ago(3)), "police_reference": value},
        journey=FormType.CASE_REVIEW,
    )

    assert message in errors_of(event)
    assert message in errors_of(review)


def test_a_police_reference_is_optional_and_stored_with_single_spaces():
    form = bound(
        f.EventForm,
        {
            "alert_type": "incident",
            **date_parts("event_date", days_ago(3)),
            "police_reference": " 46/1234/25   CAD 77 ",
        },
    )
    blank = bound(
        f.EventForm, {"alert_type": "incident", **date_parts("event_date", days_ago(3)), "police_reference": ""}
    )

    assert form.is_valid(), form.errors
    assert form.cleaned_data["police_reference"] == "46/1234/25 CAD 77"
    assert blank.is_valid(), blank.errors


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"la_case_number": "#123"},
            "Local authority case number must only include letters, numbers, spaces, full stops, hyphens and slashes",
        ),
        ({"la_case_number": "1" * 31}, "Local authority case number must be 30 characters or less"),
        ({"gp_practice": "x" * 201}, "GP practice must be 200 characters or less"),
        ({"interpreter_needed": "sometimes"}, "Select yes if the child needs an interpreter"),
    ],
)
def test_child_identifier_gp_and_interpreter_messages(overrides, message):
    form = bound(f.ChildForm, child(**overrides), journey=FormType.CASE_REVIEW)

    assert not form.is_valid()
    assert message in errors_of(form)


def test_gp_practice_case_number_and_interpreter_are_optional_even_for_a_case_review():
    form = bound(
        f.ChildForm, child(la_case_number="", gp_practice="", interpreter_needed=""), journey=FormType.CASE_REVIEW
    )

    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"whereabouts": "", "carer": "Mother"}, "Enter where the child was at the time of the incident"),
        ({"whereabouts": "At home", "carer": ""}, "Enter who was looking after the child at the time of the incident"),
        ({"whereabouts": "x" * 501, "carer": "Mother"}, "Where the child was must be 500 characters or less"),
        (
            {"whereabouts": "At home", "carer": "x" * 301},
            "Details of who was looking after the child must be 300 characters or less",
        ),
    ],
)
def test_whereabouts_messages(data, message):
    form = bound(f.WhereaboutsForm, data, journey=FormType.CASE_REVIEW)

    assert not form.is_valid()
    assert message in errors_of(form)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (key_date(None, "Missed appointment."), "Enter the date of this event"),
        (key_date(days_ago(10), ""), "Enter what happened on this date"),
        (key_date(days_ago(-3), "Booked appointment."), "Date must be in the past"),
        ({"date_0": "31", "date_1": "2", "date_2": "2024", "event": "Seen."}, "Date must be a real date"),
        ({"date_0": "3", "date_1": "", "date_2": "2024", "event": "Seen."}, "Date must include a month"),
        ({"date_0": "3", "date_1": "2", "date_2": "1850", "event": "Seen."}, "Date must be after 1 January 1900"),
        (key_date(days_ago(10), "x" * 501), "What happened must be 500 characters or less"),
    ],
)
def test_key_date_messages(row, message):
    assert message in formset_errors(key_dates([row]))


def test_key_dates_are_optional_and_blank_rows_are_left_out():
    blank = key_dates([key_date(None, "")])
    mixed = key_dates([key_date(None, ""), key_date(days_ago(5), "Referral to children's social care.")])

    assert blank.is_valid(), blank.errors
    assert [row for row in blank.cleaned_data if row] == []
    assert mixed.is_valid(), mixed.errors
    assert [row for row in mixed.cleaned_data if row] == [
        {"date": days_ago(5), "event": "Referral to children's social care."}
    ]


def test_key_dates_are_capped():
    rows = [key_date(days_ago(i + 1), f"Event {i}") for i in range(f.MAX_KEY_DATES + 1)]

    assert "You can add up to 30 key dates" in formset_errors(key_dates(rows))


def test_key_date_errors_name_the_row_in_the_error_summary(client):
    journey = Journey(client, FormType.CASE_REVIEW)
    journey.walk(case_review_answers(), until=steps.CHRONOLOGY)

    response = journey.post(
        steps.CHRONOLOGY, formset([key_date(days_ago(9), "Seen at home."), key_date(None, "Missed appointment.")])
    )

    assert response.status_code == 200
    assert error_messages(response) == ["Key date 2: Enter the date of this event"]
    assert 'href="#id_chronology-1-date_0"' in response.content.decode()


# --- Where the answers go ------------------------------------------------------------


def test_a_case_review_stores_identifiers_gp_interpreter_whereabouts_and_key_dates(client):
    journey = Journey(client, FormType.CASE_REVIEW)

    journey.walk(case_review_answers())

    referral = Referral.objects.get()
    assert referral.police_reference == "46/1234/25"
    assert referral.incident_whereabouts == "At home"
    assert referral.incident_carer == "Grace Lovelace, mother"
    assert referral.answers[steps.CHRONOLOGY] == [
        {"date": days_ago(90).isoformat(), "event": "Missed health visitor check."},
        {"date": days_ago(20).isoformat(), "event": "Admitted to hospital."},
    ]
    person = Person.objects.get(referral=referral, role="child")
    assert (person.la_case_number, person.gp_practice, person.interpreter_needed) == (
        "LCS 123456",
        "Riverside Surgery, Chatham",
        "no",
    )


def test_a_practice_alert_stores_its_police_reference(client):
    journey = Journey(client)
    answers = practice_alert_answers()
    answers[steps.EVENT] = {**answers[steps.EVENT], "police_reference": "KP-2025-0042"}

    journey.walk(answers)

    assert Referral.objects.get().police_reference == "KP-2025-0042"


def _asked_steps(journey: Journey, answers: dict) -> list[str]:
    asked: list[str] = []
    step: str | None = journey.next_step()
    while step is not None and step != steps.CHECK_ANSWERS:
        asked.append(step)
        response = journey.post(step, answers[step])
        assert response.status_code == 302, (step, error_messages(response))
        step = step_of(response["Location"])
    return asked


@pytest.mark.parametrize(("died_or_harmed", "asked"), [("yes", True), ("not_sure", True), ("no", False)])
def test_where_the_child_was_is_asked_only_about_a_death_or_serious_harm(client, died_or_harmed, asked):
    journey = Journey(client, FormType.CASE_REVIEW)
    answers = case_review_answers()
    answers[steps.CRITERIA] = {**answers[steps.CRITERIA], "died_or_seriously_harmed": died_or_harmed}

    visited = _asked_steps(journey, answers)

    assert (steps.WHEREABOUTS in visited) is asked
    assert visited.index(steps.CHRONOLOGY) == visited.index(steps.CASE_DETAILS) + 1


def test_a_practice_alert_never_asks_where_the_child_was_or_for_key_dates(client):
    journey = Journey(client)

    visited = _asked_steps(journey, practice_alert_answers())

    assert steps.WHEREABOUTS not in visited
    assert steps.CHRONOLOGY not in visited


def test_switching_to_a_case_review_carries_the_police_reference(client):
    journey = Journey(client)
    answers = practice_alert_answers(
        **{steps.SERIOUS_INCIDENT: {"died_or_seriously_harmed": "yes", "abuse_or_neglect_suspected": "yes"}}
    )
    answers[steps.EVENT] = {**answers[steps.EVENT], "police_reference": "46/999/25"}
    journey.walk(answers, until=steps.SWITCH_ADVICE)

    response = journey.post(steps.SWITCH_ADVICE, {"choice": "switch"})
    new_base = response["Location"]
    client.post(f"{new_base}{steps.SENIOR_LEAD}/", step_post(steps.SENIOR_LEAD, {"agreed": "yes"}))
    review = client.get(f"{new_base}{steps.REVIEW}/").content.decode()

    assert 'value="46/999/25"' in review


# --- Check answers and change links ----------------------------------------------------


def test_check_answers_shows_the_added_answers_with_change_links(client):
    journey = Journey(client, FormType.CASE_REVIEW)
    journey.walk(case_review_answers(), until=steps.CHECK_ANSWERS)

    page = journey.get(steps.CHECK_ANSWERS).content.decode()
    rows = summary(page)

    assert rows["Police reference or event number"] == "46/1234/25"
    assert rows["Where was the child?"] == "At home"
    assert rows["Who was looking after the child?"] == "Grace Lovelace, mother"
    assert rows[f"{days_ago(90).day} {days_ago(90):%B %Y}"] == "Missed health visitor check."
    assert rows[f"{days_ago(20).day} {days_ago(20):%B %Y}"] == "Admitted to hospital."
    assert ">Local authority case number</dt>" in page
    assert "LCS 123456" in page
    assert ">GP practice</dt>" in page
    assert "Riverside Surgery, Chatham" in page
    assert ">Does the child need an interpreter?</dt>" in page
    for step in (steps.REVIEW, steps.WHEREABOUTS, steps.CHRONOLOGY):
        assert f'href="{journey.url(step)}?change=1"' in page, step
    # Each child's card links straight to that child on the page.
    assert f'href="{journey.url(steps.CHILDREN)}?change=1#children-0"' in page
    assert f'Change<span class="govuk-visually-hidden"> key date {days_ago(90).day} {days_ago(90):%B %Y}' in page


def test_no_key_dates_shows_none_added_with_a_change_link(client):
    journey = Journey(client, FormType.CASE_REVIEW)
    journey.walk(case_review_answers(**{steps.CHRONOLOGY: formset([key_date(None, "")])}), until=steps.CHECK_ANSWERS)

    page = journey.get(steps.CHECK_ANSWERS).content.decode()

    section = page[page.index(">Key dates</h2>") :]
    assert re.match(
        r'>Key dates</h2>\s*<p class="govuk-body">None added\. <a class="govuk-link" href="([^"]+)"', section
    )
    assert f'href="{journey.url(steps.CHRONOLOGY)}?change=1"' in section[:400]


def test_changing_key_dates_from_check_answers_returns_there_with_the_new_date(client):
    journey = Journey(client, FormType.CASE_REVIEW)
    answers = case_review_answers()
    journey.walk(answers, until=steps.CHECK_ANSWERS)
    rows = answers[steps.CHRONOLOGY]["__rows__"]

    added = journey.post(steps.CHRONOLOGY, formset(rows), action="add", query="?change=1")
    assert added["Location"] == journey.url(steps.CHRONOLOGY, "?change=1") + "#id_chronology-2-date_0"
    response = journey.post(
        steps.CHRONOLOGY, formset([*rows, key_date(days_ago(30), "Strategy meeting.")]), query="?change=1"
    )

    assert response["Location"] == journey.url(steps.CHECK_ANSWERS)
    assert (
        summary(journey.get(steps.CHECK_ANSWERS).content.decode())[f"{days_ago(30).day} {days_ago(30):%B %Y}"]
        == "Strategy meeting."
    )


def test_changing_the_whereabouts_from_check_answers_returns_there(client):
    journey = Journey(client, FormType.CASE_REVIEW)
    journey.walk(case_review_answers(), until=steps.CHECK_ANSWERS)

    page = journey.get(steps.WHEREABOUTS, "?change=1").content.decode()
    assert f'href="{journey.url(steps.CHECK_ANSWERS)}" class="govuk-back-link"' in page
    response = journey.post(steps.WHEREABOUTS, {"whereabouts": "At an aunt's flat", "carer": "Aunt"}, query="?change=1")

    assert response["Location"] == journey.url(steps.CHECK_ANSWERS)
    assert summary(journey.get(steps.CHECK_ANSWERS).content.decode())["Where was the child?"] == "At an aunt's flat"


def test_a_change_that_makes_the_case_about_an_incident_asks_where_the_child_was_first(client):
    journey = Journey(client, FormType.CASE_REVIEW)
    answers = case_review_answers()
    answers[steps.CRITERIA] = {**answers[steps.CRITERIA], "died_or_seriously_harmed": "no"}
    journey.walk(answers, until=steps.CHECK_ANSWERS)
    assert "Where was the child?" not in journey.get(steps.CHECK_ANSWERS).content.decode()

    changed = {**answers[steps.CRITERIA], "died_or_seriously_harmed": "yes"}
    response = journey.post(steps.CRITERIA, changed, query="?change=1")

    assert response["Location"] == journey.url(steps.WHEREABOUTS, "?change=1")
    response = journey.post(steps.WHEREABOUTS, case_review_answers()[steps.WHEREABOUTS], query="?change=1")
    assert response["Location"] == journey.url(steps.CHECK_ANSWERS)


def test_a_change_that_drops_the_incident_drops_the_whereabouts_from_the_referral(client):
    journey = Journey(client, FormType.CASE_REVIEW)
    answers = case_review_answers()
    journey.walk(answers, until=steps.CHECK_ANSWERS)

    journey.post(steps.CRITERIA, {**answers[steps.CRITERIA], "died_or_seriously_harmed": "no"}, query="?change=1")
    assert "Where was the child?" not in journey.get(steps.CHECK_ANSWERS).content.decode()
    journey.walk(answers)

    referral = Referral.objects.get()
    assert (referral.incident_whereabouts, referral.incident_carer) == ("", "")
    assert steps.WHEREABOUTS not in referral.answers
