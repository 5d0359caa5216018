"""Step names of both journeys and the named predicates that branch between them.

Predicates read the raw stored answers (not cleaned data): formtools calls conditions many
times per request, and get_cleaned_data_for_step() re-validates and raises KeyError for a step
a condition skipped (django-formtools #266), so they stay cheap and never touch the database.
"""

from __future__ import annotations

from typing import Any, Protocol

ABOUT_YOU = "about-you"
SAFEGUARDING_LEAD = "safeguarding-lead"
LEAD_DETAILS = "lead-details"
SENIOR_LEAD = "senior-lead"
EVENT = "event"
REVIEW = "review"
CRITERIA = "criteria"
WHEREABOUTS = "whereabouts"
CHILDREN = "children"
ADULTS = "adults"
WHAT_HAPPENED = "what-happened"
PRACTICE = "practice"
CASE_DETAILS = "case-details"
CHRONOLOGY = "chronology"
LEARNING = "learning"
AGENCIES = "agencies-involved"
SERIOUS_INCIDENT = "serious-incident"
SWITCH_ADVICE = "should-be-case-review"
PARALLEL_PROCESSES = "parallel-processes"
OTHER_INFORMATION = "other-information"
CHECK_ANSWERS = "check-answers"
DECLARATION = "declaration"

# URL segments that are pages of a draft, not wizard steps: no step may take these names.
RESERVED_SEGMENTS = frozenset({"confirmation", "save", "saved", "timed-out", "done"})

# Steps that show answers or confirm rather than ask a question.
NON_QUESTION_STEPS = frozenset({CHECK_ANSWERS, DECLARATION, SWITCH_ADVICE})

# Where a practice alert's answers land in a case review referral:
# (alert step, alert field) -> (case review step, case review field). Same-named steps whose
# fields match (about you, people, agencies) are copied whole.
SWITCH_COPY_WHOLE_STEPS: tuple[str, ...] = (
    ABOUT_YOU,
    SAFEGUARDING_LEAD,
    LEAD_DETAILS,
    CHILDREN,
    ADULTS,
    AGENCIES,
    OTHER_INFORMATION,
)
SWITCH_FIELD_MAP: dict[tuple[str, str], tuple[str, str]] = {
    (EVENT, "event_date"): (REVIEW, "event_date"),
    (EVENT, "police_reference"): (REVIEW, "police_reference"),
    (SERIOUS_INCIDENT, "died_or_seriously_harmed"): (CRITERIA, "died_or_seriously_harmed"),
    (SERIOUS_INCIDENT, "abuse_or_neglect_suspected"): (CRITERIA, "abuse_or_neglect_suspected"),
    (WHAT_HAPPENED, "what_happened"): (CASE_DETAILS, "circumstances"),
    (PRACTICE, "learning_identified"): (LEARNING, "learning_identified"),
    (PRACTICE, "immediate_actions"): (LEARNING, "immediate_actions"),
    (PRACTICE, "what_worked_well"): (LEARNING, "what_worked_well"),
    (PRACTICE, "what_did_not_work"): (LEARNING, "what_did_not_work"),
}

# Alert answers a case review has no question for: added to the end of a case review answer, under a
# heading, so nothing typed is lost. (alert step, alert field) -> (case review step, field, heading).
SWITCH_APPEND_MAP: dict[tuple[str, str], tuple[str, str, str]] = {
    (WHAT_HAPPENED, "impact_on_child"): (CASE_DETAILS, "circumstances", "Impact on the child"),
}


class _Storage(Protocol):
    def get_step_data(self, step: str) -> Any: ...


class _Wizard(Protocol):
    storage: _Storage


def stored_answer(wizard: _Wizard, step: str, field: str) -> str | None:
    """The raw answer a step stored for one field, or None when the step has no answers."""
    data = wizard.storage.get_step_data(step)
    if data is None:
        return None
    value = data.get(f"{step}-{field}")
    return value if isinstance(value, str) else None


def is_safeguarding_lead_consulted(wizard: _Wizard) -> bool:
    """Ask for the lead's details only when the referrer said they consulted one."""
    return stored_answer(wizard, SAFEGUARDING_LEAD, "consulted") == "yes"


def is_case_review_advised(wizard: _Wizard) -> bool:
    """A practice alert about a child who died or was seriously harmed through suspected abuse or neglect."""
    return (
        stored_answer(wizard, SERIOUS_INCIDENT, "died_or_seriously_harmed") == "yes"
        and stored_answer(wizard, SERIOUS_INCIDENT, "abuse_or_neglect_suspected") == "yes"
    )


def is_about_an_incident(wizard: _Wizard) -> bool:
    """A case review about a death or serious harm (or maybe one): ask where the child was and who cared for them."""
    return stored_answer(wizard, CRITERIA, "died_or_seriously_harmed") in ("yes", "not_sure")


def switch_step_data(alert_steps: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
    """Carry a practice alert's raw answers over to case review step names and fields."""
    carried: dict[str, dict[str, list[str]]] = {}
    for step in SWITCH_COPY_WHOLE_STEPS:
        if step in alert_steps:
            carried[step] = {key: list(values) for key, values in alert_steps[step].items()}
    for (src_step, src_field), (dst_step, dst_field) in SWITCH_FIELD_MAP.items():
        source = alert_steps.get(src_step) or {}
        src_name = f"{src_step}-{src_field}"
        for key, values in source.items():
            # Date inputs store three parts: name_0, name_1, name_2.
            if key == src_name or key.startswith(f"{src_name}_"):
                dst_key = f"{dst_step}-{dst_field}{key[len(src_name) :]}"
                carried.setdefault(dst_step, {})[dst_key] = list(values)
    for (src_step, src_field), (dst_step, dst_field, heading) in SWITCH_APPEND_MAP.items():
        extra = ((alert_steps.get(src_step) or {}).get(f"{src_step}-{src_field}") or [""])[0].strip()
        if not extra:
            continue
        dst_key = f"{dst_step}-{dst_field}"
        existing = ((carried.get(dst_step) or {}).get(dst_key) or [""])[0].rstrip()
        joined = f"{existing}\n\n{heading}:\n{extra}" if existing else f"{heading}:\n{extra}"
        carried.setdefault(dst_step, {})[dst_key] = [joined]
    return carried
