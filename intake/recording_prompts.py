"""Prompts on the check-answers page for what case reviews keep finding was never recorded.

Reviews of the families this service exists for found fathers and the men around a child
invisible to professionals, and referrals that could not be linked to earlier ones because
the child could not be identified. These prompts ask, before sending, for exactly those
things. They never block sending: a referrer may not know, and a late referral is worse.

Pure functions over the cleaned answers (step name -> dict, or list of rows for a repeatable
step), so they are cheap to test and free of the wizard.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from intake import steps

# Roles that record a man in the child's life (a partner of a parent is, in practice, nearly always
# the man reviews mean; the prompt's wording still asks about "a father or partner").
_MALE_ROLES = frozenset({"father", "partner"})
# Words in the free text that mean a father or male partner exists.
_MALE_MENTION = re.compile(
    # "partner agencies" are not a partner; "he" is as often the child as a man.
    r"\b(?:father|dad|daddy|step-?dad|step-?father|boyfriend|husband|mr|partner(?!s?\s+(?:agenc|organi)))\b",
    re.IGNORECASE,
)
# Free-text fields that describe the family, by step.
_NARRATIVE_FIELDS: dict[str, tuple[str, ...]] = {
    steps.WHAT_HAPPENED: ("what_happened", "impact_on_child"),
    steps.CASE_DETAILS: ("case_outline", "circumstances", "reasons_for_review"),
    steps.WHEREABOUTS: ("whereabouts", "carer"),
}


@dataclass(frozen=True)
class RecordingPrompt:
    code: str
    heading: str
    text: str
    step: str  # the step whose page answers the prompt
    link_text: str


def recording_prompts(answers: Mapping[str, Any]) -> list[RecordingPrompt]:
    """The prompts that apply to these answers, most important first."""
    children = _rows(answers, steps.CHILDREN)
    if not children:
        return []
    prompts: list[RecordingPrompt] = []
    father = _father_prompt(answers)
    if father is not None:
        prompts.append(father)
    identifiers = _identifiers_prompt(children)
    if identifiers is not None:
        prompts.append(identifiers)
    return prompts


def _father_prompt(answers: Mapping[str, Any]) -> RecordingPrompt | None:
    if any(row.get("role") in _MALE_ROLES for row in _rows(answers, steps.ADULTS)):
        return None
    mentioned = any(_MALE_MENTION.search(text) for text in _narratives(answers))
    heading = (
        "You mention a father or partner but have not added him"
        if mentioned
        else "You have not added the child's father or a parent's partner"
    )
    return RecordingPrompt(
        code="no_father_or_partner",
        heading=heading,
        text=(
            "Reviews often find that professionals did not know about the men in a child's life. "
            "If you know anything about the child's father, or a man who lives with or visits the family, "
            "add them. You can add someone without knowing their date of birth."
        ),
        step=steps.ADULTS,
        link_text="Add a father or partner",
    )


def _identifiers_prompt(children: list[Mapping[str, Any]]) -> RecordingPrompt | None:
    missing = [
        number
        for number, child in enumerate(children, start=1)
        if child.get("birth_info") != "unborn" and not child.get("date_of_birth") and not child.get("nhs_number")
    ]
    if not missing:
        return None
    heading = f"{_children_named(missing, only_child=len(children) == 1)} no date of birth or NHS number"
    return RecordingPrompt(
        code="child_not_identifiable",
        heading=heading,
        text=(
            "We use dates of birth and NHS numbers to find earlier referrals about the same child. "
            "Add them if you can find them."
        ),
        step=steps.CHILDREN,
        link_text="Add a date of birth or NHS number",
    )


def _children_named(numbers: list[int], *, only_child: bool) -> str:
    """'The child has', 'Child 2 has' or 'Child 1 and child 3 have' (numbers as on the check-answers page)."""
    if only_child:
        return "The child has"
    if len(numbers) == 1:
        return f"Child {numbers[0]} has"
    names = [f"child {n}" for n in numbers]
    joined = f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{joined[0].upper()}{joined[1:]} have"


def _rows(answers: Mapping[str, Any], step: str) -> list[Mapping[str, Any]]:
    value = answers.get(step)
    return [row for row in value if row] if isinstance(value, list) else []


def _narratives(answers: Mapping[str, Any]) -> Iterator[str]:
    for step, fields in _NARRATIVE_FIELDS.items():
        data = answers.get(step)
        if isinstance(data, Mapping):
            for name in fields:
                value = data.get(name)
                if isinstance(value, str) and value:
                    yield value
