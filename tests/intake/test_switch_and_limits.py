"""Nothing typed is lost by switching journeys, and every answer at its stated limit can be sent."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms

from intake import steps
from intake.forms import CASE_REVIEW_STEPS, PRACTICE_ALERT_STEPS, LongTextField
from intake.models import Draft, FormType, Referral
from intake.steps import switch_step_data
from intake.wizard import form_data_keys
from tests.intake.journey_walk import Journey, case_review_answers, formset, practice_alert_answers
from triage.services import reference_data_load


@pytest.fixture(autouse=True)
def _agencies(db):
    reference_data_load()


# --- Switching from a practice alert to a case review ----------------------------------------


def test_switching_carries_the_impact_on_the_child_into_the_circumstances(client):
    alert = Journey(client)
    answers = practice_alert_answers(
        **{
            steps.WHAT_HAPPENED: {"what_happened": "Left alone overnight.", "impact_on_child": "Dehydrated."},
            steps.SERIOUS_INCIDENT: {"died_or_seriously_harmed": "yes", "abuse_or_neglect_suspected": "yes"},
        }
    )
    alert.walk(answers, until=steps.SWITCH_ADVICE)

    alert.post(steps.SWITCH_ADVICE, {"choice": "switch"})

    review = Draft.objects.get(form_type=FormType.CASE_REVIEW)
    carried = review.data["partial"][steps.CASE_DETAILS]["case-details-circumstances"]
    assert carried == ["Left alone overnight.\n\nImpact on the child:\nDehydrated."]


def test_every_practice_alert_answer_lands_somewhere_in_the_case_review():
    """Each alert answer gets its own marker; after the switch every marker must be in some case review answer."""
    not_asked_by_a_review = {f"{steps.EVENT}-alert_type", f"{steps.SWITCH_ADVICE}-choice"}
    alert: dict[str, dict[str, list[str]]] = {}
    for step, form_class in PRACTICE_ALERT_STEPS:
        if step in steps.NON_QUESTION_STEPS:
            continue
        data = {f"{step}-TOTAL_FORMS": ["1"], f"{step}-INITIAL_FORMS": ["0"]}
        form = form_class(data=data, prefix=step, journey=FormType.PRACTICE_ALERT)
        alert[step] = {key: [f"marker:{key}"] for key in form_data_keys(form) if not key.endswith("_FORMS")}

    carried = switch_step_data(alert)

    landed = " ".join(value for data in carried.values() for values in data.values() for value in values)
    lost = sorted(
        key
        for data in alert.values()
        for key in data
        if f"marker:{key}" not in landed and key.rstrip("_012") not in not_asked_by_a_review
    )
    assert not lost, f"Answers a switch would lose: {lost}"


# --- Every free-text answer at its stated limit -----------------------------------------------


def _at_limit(form_class: Any, journey: str, answers: dict[str, Any]) -> dict[str, Any]:
    """The step's answers with every plain text field filled to its limit with a two-byte character."""
    form = form_class(prefix="p", journey=journey)
    fields = form.empty_form.fields if isinstance(form, forms.BaseFormSet) else form.fields
    filled: dict[str, Any] = {}
    for name, field in fields.items():
        plain = isinstance(field, forms.CharField) and not isinstance(field, forms.EmailField)
        limit = getattr(field, "max_length", None)
        if plain and limit and not _has_format(field):
            text = "é" * limit
            filled[name] = (
                text
                if not isinstance(field, LongTextField)
                else "\n".join([text[: limit // 2], text[: limit - limit // 2 - 1]])
            )
    if "__rows__" in answers:
        return formset([{**row, **filled} for row in answers["__rows__"]])
    return {**answers, **{name: value for name, value in filled.items() if name in answers or name in fields}}


def _has_format(field: forms.Field) -> bool:
    """Fields checked against a pattern (postcode, NHS number, phone, references) keep their valid answer."""
    own = [
        v for v in field.validators if type(v).__name__ not in ("MaxLengthValidator", "ProhibitNullCharactersValidator")
    ]
    return bool(own) or field.label in ("NHS number (optional)",)


@pytest.mark.parametrize(
    ("form_type", "answers_for", "step_list"),
    [
        (FormType.PRACTICE_ALERT, practice_alert_answers, PRACTICE_ALERT_STEPS),
        (FormType.CASE_REVIEW, case_review_answers, CASE_REVIEW_STEPS),
    ],
    ids=["alert", "review"],
)
def test_every_text_answer_at_its_stated_limit_is_sent_and_stored_whole(client, form_type, answers_for, step_list):
    base = answers_for()
    answers = {
        step: _at_limit(form_class, form_type, base[step])
        if step in base and step not in steps.NON_QUESTION_STEPS
        else base.get(step)
        for step, form_class in step_list
        if step in base
    }
    journey = Journey(client, form_type)

    response = journey.walk(answers)

    assert "/confirmation/" in response["Location"]
    referral = Referral.objects.get()
    assert len(referral.referrer.full_name) == 200
    child = referral.people.get(role="child")
    assert len(child.given_name) == 100
    assert len(child.address_line) == 300
    texts = referral.narrative_texts()
    assert texts
    assert all("é" in text for text in texts.values())
