"""Keyboard-only steps of the two wizards, shared by the journey tests.

Field ids follow the wizard: form prefix = step name, so a field is ``#id_<step>-<field>``
and a person in a repeatable step is ``#id_<step>-<n>-<field>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from intake.forms import DECLARATIONS, PARALLEL_PROCESSES
from tests.e2e.keyboard import (
    activate,
    assert_visible_focus,
    choose_radio,
    navigation,
    select_option,
    tab_to,
    type_into,
)

if TYPE_CHECKING:
    from tests.e2e.browser import UI

REFERENCE = re.compile(r"^(PA|CR)-[34679ACDEFGHJKMNPQRTWXY]{4}-[34679ACDEFGHJKMNPQRTWXY]{4}$")
CONTINUE = '.govuk-button-group button[name="action"][value="continue"]'
ADD_ANOTHER = 'button[name="action"][value="add"]'
BACK_LINK = "a.govuk-back-link"


def step_of(url: str) -> str:
    """The wizard step in a journey URL (the last path segment)."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def error_text(ui: UI) -> str:
    summary = ui.page.locator(".govuk-error-summary")
    return summary.inner_text() if summary.count() else "no error summary"


def on_step(ui: UI, step: str) -> None:
    if step_of(ui.page.url) != step:
        raise AssertionError(f"Expected step {step!r}, browser is on {ui.page.url} ({error_text(ui)})")


def press_continue(ui: UI, *, expect_step: str | None = None, max_presses: int = 90) -> None:
    """Tab to Continue, press Enter, then audit the page that loads."""
    tab_to(ui.page, CONTINUE, max_presses=max_presses)
    with navigation(ui.page):
        ui.page.keyboard.press("Enter")
    if expect_step:
        on_step(ui, expect_step)
    ui.axe.check(ui.page)


def follow(ui: UI, selector: str, *, label: str = "", max_presses: int = 90) -> None:
    """Tab to a link and press Enter, then audit the page that loads."""
    activate(ui.page, selector, max_presses=max_presses)
    ui.axe.check(ui.page, label)


def type_date(ui: UI, field_id: str, day: str, month: str, year: str, *, replace: bool = False) -> None:
    for part, value in enumerate((day, month, year)):
        type_into(ui.page, f"#{field_id}_{part}", value, replace=replace)


def start_journey(ui: UI, form_type: str) -> None:
    ui.goto("/")
    ui.axe.check(ui.page, "start")
    follow(ui, f'a.govuk-button--start[href*="/{form_type}/start/"]')
    on_step(ui, "about-you")


def fill_about_you(ui: UI, *, agency_value: str, full_name: str = "Sam Example") -> None:
    type_into(ui.page, "#id_about-you-full_name", full_name)
    type_into(ui.page, "#id_about-you-job_title", "Named nurse for safeguarding")
    select_option(ui.page, "#id_about-you-agency", agency_value)
    type_into(ui.page, "#id_about-you-team", "Safeguarding children team")
    type_into(ui.page, "#id_about-you-phone", "01632 960 001")
    type_into(ui.page, "#id_about-you-email", "sam.example@nhs.net")


def answer_safeguarding_lead(ui: UI, *, consulted: bool) -> None:
    choose_radio(ui.page, "safeguarding-lead-consulted", "yes" if consulted else "no")
    assert_visible_focus(ui.page)
    press_continue(ui, expect_step="lead-details" if consulted else None)
    if consulted:
        type_into(ui.page, "#id_lead-details-lead_name", "Pat Lead")
        type_into(ui.page, "#id_lead-details-lead_email", "pat.lead@nhs.net")
        press_continue(ui)


def fill_child(
    ui: UI,
    index: int,
    *,
    given: str,
    family: str,
    dob: tuple[str, str, str] | None = None,
    age: str | None = None,
    postcode: str = "",
    address: str = "",
    nhs_number: str = "",
    legal_status: str = "",
) -> None:
    prefix = f"id_children-{index}"
    type_into(ui.page, f"#{prefix}-given_name", given)
    type_into(ui.page, f"#{prefix}-family_name", family)
    if dob is not None:
        choose_radio(ui.page, f"children-{index}-birth_info", "date_of_birth")
        # The GOV.UK conditional reveal shows the date only after the radio is chosen.
        ui.page.locator(f"#{prefix}-date_of_birth_0").wait_for(state="visible")
        type_date(ui, f"{prefix}-date_of_birth", *dob)
    else:
        assert age is not None
        choose_radio(ui.page, f"children-{index}-birth_info", "age")
        ui.page.locator(f"#{prefix}-age_years").wait_for(state="visible")
        type_into(ui.page, f"#{prefix}-age_years", age)
    if address:
        type_into(ui.page, f"#{prefix}-address_line", address)
    if postcode:
        type_into(ui.page, f"#{prefix}-postcode", postcode)
    if nhs_number:
        type_into(ui.page, f"#{prefix}-nhs_number", nhs_number)
    if legal_status:
        choose_radio(ui.page, f"children-{index}-legal_status", legal_status)


def fill_adult(ui: UI, index: int, *, role: str, given: str, family: str, aliases: str = "") -> None:
    prefix = f"id_adults-{index}"
    choose_radio(ui.page, f"adults-{index}-role", role)
    type_into(ui.page, f"#{prefix}-given_name", given)
    type_into(ui.page, f"#{prefix}-family_name", family)
    if aliases:
        type_into(ui.page, f"#{prefix}-aliases", aliases)


def fill_agency(ui: UI, index: int, *, name: str, still_involved: str = "yes") -> None:
    type_into(ui.page, f"#id_agencies-involved-{index}-agency_name", name)
    choose_radio(ui.page, f"agencies-involved-{index}-still_involved", still_involved)


def answer_other_information(ui: UI) -> None:
    choose_radio(ui.page, "other-information-media_interest", "no")
    choose_radio(ui.page, "other-information-family_aware", "yes")


def accept_declaration_and_send(ui: UI) -> str:
    """Tick every declaration with Space, send with Enter, and return the reference in the panel."""
    on_step(ui, "declaration")
    boxes = ui.page.locator('input[type="checkbox"][name="declaration-confirmations"]')
    assert boxes.count() == len(DECLARATIONS), "The declaration does not show one checkbox per statement"
    for index in range(boxes.count()):
        tab_to(ui.page, f"#id_declaration-confirmations_{index}")
        ui.page.keyboard.press("Space")
        assert boxes.nth(index).is_checked()
    assert_visible_focus(ui.page)
    press_continue(ui)
    assert step_of(ui.page.url) == "confirmation", ui.page.url
    panel = ui.page.locator(".govuk-panel--confirmation .govuk-panel__body strong")
    reference = panel.inner_text().strip()
    assert REFERENCE.match(reference), f"Reference {reference!r} is not in the PA-XXXX-XXXX form"
    return reference


def answer_criteria(ui: UI, answer: str = "yes") -> None:
    for name in (
        "died_or_seriously_harmed",
        "abuse_or_neglect_suspected",
        "directly_linked",
        "resident_or_incident_in_area",
        "multi_agency_learning",
    ):
        choose_radio(ui.page, f"criteria-{name}", answer)


def answer_parallel_processes(ui: UI) -> None:
    for index, (name, _label, _phrase) in enumerate(PARALLEL_PROCESSES):
        choose_radio(ui.page, f"parallel-processes-{name}", "yes" if index == 0 else "no")
    type_into(ui.page, "#id_parallel-processes-details", "Police reference 12/3456/25.")


def answer_review(ui: UI, review_type: str, date: tuple[str, str, str] | None = None) -> None:
    choose_radio(ui.page, "review-review_type", review_type)
    if date is not None:
        type_date(ui, "id_review-event_date", *date)


def fill_case_details(ui: UI, *, outline: str = "Known to health visiting since birth.", replace: bool = False) -> None:
    type_into(ui.page, "#id_case-details-case_outline", outline, replace=replace)
    type_into(ui.page, "#id_case-details-circumstances", "Admitted to hospital with a head injury.")
    type_into(ui.page, "#id_case-details-reasons_for_review", "Information was not shared between agencies.")


def walk(ui: UI, answers: dict[str, Callable[[], None]], *, until: str) -> list[str]:
    """Answer each page the wizard shows, in its order, until ``until``; return the steps seen.

    A step without an answer fails with its name, so a new question in the wizard is noticed.
    """
    seen: list[str] = []
    for _ in range(len(answers) + 1):
        step = step_of(ui.page.url)
        if step == until:
            return seen
        assert step in answers, f"No keyboard answers for step {step!r} ({ui.page.url}); add them to the e2e test"
        assert step not in seen, f"The wizard showed {step!r} twice: {seen}"
        seen.append(step)
        answers[step]()
        press_continue(ui)
        if step_of(ui.page.url) == step:
            raise AssertionError(f"Still on {step!r} after Continue: {error_text(ui)}")
    raise AssertionError(f"Did not reach {until!r}; steps seen: {seen}")


def fill_whereabouts(ui: UI) -> None:
    type_into(ui.page, "#id_whereabouts-whereabouts", "At home.")
    type_into(ui.page, "#id_whereabouts-carer", "Lee Brown, father")


def fill_key_date(ui: UI) -> None:
    type_date(ui, "id_chronology-0-date", "15", "1", "2025")
    type_into(ui.page, "#id_chronology-0-event", "Missed health appointment.")
