"""Random input in every field of every page of both journeys: never a 500, always a specific message,
and nothing typed is lost (issue #2, "Bad input").

Hypothesis draws, per field, either the valid answer or something hostile: any Unicode (control
characters included), HTML, NUL, digits from other scripts, and text past every length limit. Set
HYPOTHESIS_MAX_EXAMPLES for a longer run.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from django import forms
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake import steps
from intake.forms import CASE_REVIEW_STEPS, PRACTICE_ALERT_STEPS, DateInputWidget
from intake.models import Draft, FormType, Referral
from intake.wizard import form_data_keys, is_formset
from tests.intake.journey_walk import (
    Journey,
    case_review_answers,
    error_messages,
    practice_alert_answers,
    step_post,
)
from triage.services import reference_data_load

MAX_EXAMPLES = int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "12"))

# Django's own wording: a GOV.UK page names the question and says what to do instead.
GENERIC_MESSAGES = (
    "This field is required.",
    "Enter a valid value.",
    "Select a valid choice.",
    "Enter a whole number.",
    "Enter a list of values.",
    "Null characters are not allowed.",
    "Ensure this value",
)

HOSTILE = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.text(st.characters(codec="ascii"), max_size=40),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            '"><img src=x onerror=alert(1)>',
            "\x00",
            "a\x00b",
            "\r\n\t\x0b\x0c\x1b",
            "' OR 1=1 --",
            "\uff12\uff10\uff12\uff14",  # full-width digits
            "٣",
            "²",
            "-1",
            "1e309",
            "9" * 5000,
            "29",
            "0",
            "\u202etxet",
            "\ufeff",
        ]
    ),
    st.sampled_from([101, 301, 501, 2001, 5001, 20000]).map(lambda n: "é" * n),
)


def _cases() -> list[tuple[str, str]]:
    """Every page with a field (check answers has none), of both journeys."""
    journeys = [(FormType.PRACTICE_ALERT, PRACTICE_ALERT_STEPS), (FormType.CASE_REVIEW, CASE_REVIEW_STEPS)]
    return [(str(form_type), step) for form_type, pages in journeys for step, _ in pages if step != steps.CHECK_ANSWERS]


def _answers(form_type: str) -> dict[str, Any]:
    if form_type == FormType.PRACTICE_ALERT:
        # Both serious-incident answers yes, so the switch advice page is asked too.
        return practice_alert_answers(
            **{
                steps.SERIOUS_INCIDENT: {"died_or_seriously_harmed": "yes", "abuse_or_neglect_suspected": "yes"},
                steps.SWITCH_ADVICE: {"choice": "continue"},
            }
        )
    # A safeguarding lead consulted, so the lead's details page is asked too.
    alert = practice_alert_answers()
    return case_review_answers(
        **{steps.SAFEGUARDING_LEAD: alert[steps.SAFEGUARDING_LEAD], steps.LEAD_DETAILS: alert[steps.LEAD_DETAILS]}
    )


def _step_form(journey: Journey, step: str, data: dict[str, list[str]]) -> Any:
    steps_list = dict(PRACTICE_ALERT_STEPS if journey.form_type == FormType.PRACTICE_ALERT else CASE_REVIEW_STEPS)
    return steps_list[step](data=data, prefix=step, journey=journey.form_type)


def _field_keys(journey: Journey, step: str, valid: dict[str, Any]) -> tuple[dict[str, str], list[str], set[str]]:
    """The valid post with every field the page reads, the keys to fuzz, and those shown back as typed."""
    form = _step_form(journey, step, {key: [str(value)] for key, value in valid.items()})
    post = {key: str(value) for key, value in valid.items()}
    for key in form_data_keys(form):
        post.setdefault(key, "")
    management = ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
    fuzzable = sorted(key for key in post if key.startswith(f"{step}-") and not key.endswith(management))
    shown: set[str] = set()
    for sub in form.forms if is_formset(form) else [form]:
        for bound in sub:
            widget = bound.field.widget
            if isinstance(widget, DateInputWidget):
                shown.update(f"{bound.html_name}_{i}" for i in range(3))
            elif not isinstance(widget, forms.RadioSelect | forms.Select):
                shown.add(bound.html_name)
    return post, fuzzable, shown


@pytest.fixture(autouse=True)
def _agencies(db):
    reference_data_load()


@pytest.mark.parametrize(("form_type", "step"), _cases())
def test_random_input_in_any_field_gets_a_specific_message_and_keeps_what_was_typed(client, form_type, step):
    journey = Journey(client, form_type)
    answers = _answers(form_type)
    journey.walk(answers, until=steps.CHECK_ANSWERS)
    draft = journey.draft
    baseline = draft.data
    valid = step_post(step, answers[step])
    post, fuzzable, shown = _field_keys(journey, step, valid)
    assert fuzzable, f"{step} has no fields to fuzz"

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        values=st.fixed_dictionaries({key: st.one_of(st.just(post[key]), HOSTILE) for key in fuzzable}),
        action=st.sampled_from(["continue", "continue", "save"]),
    )
    def check(values: dict[str, str], action: str) -> None:
        # Every example starts from the same complete draft.
        Referral.objects.filter(draft=draft).delete()
        Draft.objects.exclude(pk=draft.pk).delete()
        Draft.objects.filter(pk=draft.pk).update(data=baseline, submitted_at=None)
        body = {**post, **values, "action": action}

        response = client.post(journey.url(step), body)

        assert response.status_code < 500, (step, values)
        typed = {key: value.replace("\x00", "") for key, value in values.items()}
        if response.status_code == 200:
            html = response.content.decode()
            messages = error_messages(response)
            assert messages, f"{step}: the page came back without saying what is wrong"
            for message in messages:
                assert not any(generic in message for generic in GENERIC_MESSAGES), (step, message)
                assert not re.search(r"<[a-z]", message), (step, message)
            # The page shows back what was typed, escaped; the draft keeps it for a back link or a return.
            for key, value in typed.items():
                if value.strip() and key in shown:
                    assert escape(value) in html, (step, key)
            partial = Draft.objects.get(pk=draft.pk).data["partial"][step]
            for key, value in typed.items():
                assert partial.get(key) == [value], (step, key)
            assert "<script>alert(1)</script>" not in html
        elif action == "save" and response.status_code == 302:
            stored = Draft.objects.get(pk=draft.pk).data
            kept = stored["partial"].get(step) or stored["wizard"]["step_data"].get(step)
            for key, value in typed.items():
                assert kept.get(key) == [value], (step, key)
        else:
            assert response.status_code in (302, 400, 404), (step, response.status_code)

    check()
