"""Walks the intake wizards with the Django test client, one POST per page, as a browser would."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from intake import steps
from intake.forms import DECLARATIONS
from intake.models import Agency, Draft, FormType

# NHS numbers with a valid and an invalid modulus 11 check digit.
VALID_NHS = "943 476 5919"
INVALID_NHS = "943 476 5918"


def days_ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


def date_parts(name: str, value: dt.date | None) -> dict[str, str]:
    if value is None:
        return {f"{name}_0": "", f"{name}_1": "", f"{name}_2": ""}
    return {f"{name}_0": str(value.day), f"{name}_1": str(value.month), f"{name}_2": str(value.year)}


def about_you(**overrides: Any) -> dict[str, Any]:
    agency = Agency.objects.filter(active=True).first()
    data = {
        "full_name": "Sam Referrer",
        "job_title": "Health visitor",
        "agency": str(agency.pk) if agency else "other",
        "agency_other": "" if agency else "Community health",
        "team": "North locality",
        "phone": "01632 960 001",
        "email": "sam.referrer@nhs.net",
    }
    return {**data, **overrides}


def child(**overrides: Any) -> dict[str, Any]:
    data = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "aliases": "Addy",
        "birth_info": "date_of_birth",
        **date_parts("date_of_birth", days_ago(365 * 4)),
        "age_years": "",
        **date_parts("expected_date", None),
        "sex": "female",
        "address_line": "1 Example Street",
        "postcode": "me4 4tr",
        "nhs_number": VALID_NHS,
        "la_case_number": "LCS 123456",
        "school_or_setting": "Sunny Nursery",
        "gp_practice": "Riverside Surgery, Chatham",
        "legal_status": "child_in_need",
        "ethnicity": "",
        "first_language": "English",
        "interpreter_needed": "no",
        "disability": "",
    }
    return {**data, **overrides}


def adult(**overrides: Any) -> dict[str, Any]:
    data = {
        "role": "mother",
        "relationship": "Birth mother",
        "given_name": "Grace",
        "family_name": "Lovelace",
        "aliases": "",
        "birth_info": "age",
        **date_parts("date_of_birth", None),
        "age_years": "29",
        "address_line": "1 Example Street",
        "postcode": "ME4 4TR",
    }
    return {**data, **overrides}


def key_date(when: dt.date | None, event: str) -> dict[str, Any]:
    """One row of the case review's chronology of key dates."""
    return {**date_parts("date", when), "event": event}


def agency_row(**overrides: Any) -> dict[str, Any]:
    return {"agency_name": "Police", "contact": "DC Example, 101", "still_involved": "yes", **overrides}


def formset(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Marker for a repeatable step: its rows become a Django formset post."""
    return {"__rows__": rows}


def practice_alert_answers(**overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        steps.ABOUT_YOU: about_you(),
        steps.SAFEGUARDING_LEAD: {"consulted": "yes"},
        steps.LEAD_DETAILS: {
            "lead_name": "Lee Lead",
            "lead_job_title": "Named nurse",
            "lead_agency": "",
            "lead_email": "lee.lead@nhs.net",
        },
        steps.EVENT: {"alert_type": "incident", **date_parts("event_date", days_ago(7)), "police_reference": ""},
        steps.CHILDREN: formset([child()]),
        steps.ADULTS: formset([adult()]),
        steps.WHAT_HAPPENED: {"what_happened": "The baby was left alone.", "impact_on_child": "Risk of harm."},
        steps.PRACTICE: {
            "what_worked_well": "Quick referral.",
            "what_did_not_work": "Information was not shared.",
            "learning_identified": "Share missed appointments.",
            "immediate_actions": "",
        },
        steps.AGENCIES: formset([agency_row()]),
        steps.SERIOUS_INCIDENT: {"died_or_seriously_harmed": "no", "abuse_or_neglect_suspected": "yes"},
        steps.OTHER_INFORMATION: {"media_interest": "no", "family_aware": "yes"},
        steps.CHECK_ANSWERS: {},
        steps.DECLARATION: {"confirmations": [key for key, _ in DECLARATIONS]},
    }
    answers.update(overrides)
    return answers


def case_review_answers(**overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        steps.ABOUT_YOU: about_you(),
        steps.SAFEGUARDING_LEAD: {"consulted": "no"},
        steps.SENIOR_LEAD: {"agreed": "yes"},
        steps.REVIEW: {
            "review_type": "cspr",
            **date_parts("event_date", days_ago(20)),
            "police_reference": "46/1234/25",
        },
        steps.CRITERIA: {
            "died_or_seriously_harmed": "yes",
            "abuse_or_neglect_suspected": "yes",
            "directly_linked": "yes",
            "resident_or_incident_in_area": "yes",
            "multi_agency_learning": "not_sure",
        },
        # Asked because the child died or was seriously harmed (steps.is_about_an_incident).
        steps.WHEREABOUTS: {"whereabouts": "At home", "carer": "Grace Lovelace, mother"},
        steps.CHILDREN: formset([child()]),
        steps.ADULTS: formset([adult()]),
        steps.CASE_DETAILS: {
            "case_outline": "Known to health visiting since birth.",
            "circumstances": "Admitted to hospital with a head injury.",
            "reasons_for_review": "Agencies did not share concerns.",
            "linked_cases": "",
        },
        steps.CHRONOLOGY: formset(
            [key_date(days_ago(90), "Missed health visitor check."), key_date(days_ago(20), "Admitted to hospital.")]
        ),
        steps.LEARNING: {
            "learning_identified": "Escalate missed appointments.",
            "what_worked_well": "",
            "what_did_not_work": "",
            "immediate_actions": "Strategy meeting held.",
        },
        steps.AGENCIES: formset([agency_row()]),
        steps.PARALLEL_PROCESSES: {
            "police_investigation": "yes",
            "criminal_proceedings": "no",
            "inquest": "no",
            "dhr": "no",
            "sar": "no",
            "family_court": "not_known",
            "complaint": "no",
            "hr": "no",
            "details": "Police reference 123/24",
        },
        steps.OTHER_INFORMATION: {"media_interest": "no", "family_aware": "not_known"},
        steps.CHECK_ANSWERS: {},
        steps.DECLARATION: {"confirmations": [key for key, _ in DECLARATIONS]},
    }
    answers.update(overrides)
    return answers


def step_post(step: str, answers: dict[str, Any], action: str = "continue") -> dict[str, Any]:
    """The POST body a browser sends for one page."""
    data: dict[str, Any] = {"intake-current_step": step, "action": action}
    if "__rows__" in answers:
        rows = answers["__rows__"]
        data[f"{step}-TOTAL_FORMS"] = str(len(rows))
        data[f"{step}-INITIAL_FORMS"] = "0"
        data[f"{step}-MIN_NUM_FORMS"] = "0"
        data[f"{step}-MAX_NUM_FORMS"] = "10"
        for index, row in enumerate(rows):
            for name, value in row.items():
                data[f"{step}-{index}-{name}"] = value
    else:
        for name, value in answers.items():
            data[f"{step}-{name}"] = value
    return data


def bound(form_class: Any, data: dict[str, Any], prefix: str = "p", **kwargs: Any) -> Any:
    """A step form bound to answers given by field name, as the wizard binds stored answers."""
    return form_class(
        data=MultiValueDict({f"{prefix}-{k}": v if isinstance(v, list) else [v] for k, v in data.items()}),
        prefix=prefix,
        **kwargs,
    )


def errors_of(form: Any) -> list[str]:
    return [message for messages in form.errors.values() for message in messages]


class Journey:
    """One browser tab filling in one draft."""

    def __init__(self, client: Client, form_type: str = FormType.PRACTICE_ALERT) -> None:
        self.client = client
        self.form_type = form_type
        response = client.get(reverse("intake:start_journey", kwargs={"form_type": form_type}))
        assert response.status_code == 302
        self.base = response["Location"]
        self.key = self.base.rstrip("/").split("/")[-1]

    @classmethod
    def resume(cls, client: Client, form_type: str, base: str) -> Journey:
        """A tab on a draft that already exists (another tab of the same browser, or a switched draft)."""
        journey = cls.__new__(cls)
        journey.client, journey.form_type, journey.base = client, form_type, base
        journey.key = base.rstrip("/").split("/")[-1]
        return journey

    @property
    def draft(self) -> Draft:
        return Draft.objects.get(key=self.key)

    def url(self, step: str, query: str = "") -> str:
        return f"{self.base}{step}/{query}"

    def get(self, step: str, query: str = "") -> Any:
        return self.client.get(self.url(step, query))

    def post(self, step: str, answers: dict[str, Any], action: str = "continue", query: str = "") -> Any:
        return self.client.post(self.url(step, query), step_post(step, answers, action))

    def next_step(self) -> str:
        """Where the draft's own URL sends this browser now."""
        response = self.client.get(self.base)
        assert response.status_code == 302, response.status_code
        step = step_of(response["Location"])
        assert step is not None
        return step

    def walk(self, answers: dict[str, Any], until: str | None = None) -> Any:
        """Answer pages in the order the wizard asks for them, until `until` (not posted) or the end."""
        response = None
        step: str | None = self.next_step()
        for _ in range(40):
            if step == until:
                return response
            assert step in answers, f"The wizard asked for {step!r}, which the test did not answer"
            response = self.post(step, answers[step])
            assert response.status_code == 302, (step, response.status_code, error_messages(response))
            location = response["Location"]
            if step_of(location) is None:
                return response
            step = step_of(location)
        raise AssertionError("The walk did not finish")


def step_of(location: str) -> str | None:
    match = re.search(r"/[0-9a-f-]{36}/([a-z-]+)/", location)
    if not match or match.group(1) in steps.RESERVED_SEGMENTS:
        return None
    return match.group(1)


def error_messages(response: Any) -> list[str]:
    """The messages in the page's GOV.UK error summary."""
    html = response.content.decode() if hasattr(response, "content") else ""
    summary = re.search(r'govuk-error-summary__list">(.*?)</ul>', html, re.S)
    if not summary:
        return []
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(r"<a [^>]*>(.*?)</a>", summary.group(1), re.S)]
