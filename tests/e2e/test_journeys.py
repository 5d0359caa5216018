"""Both journeys end to end in headless Chromium, by keyboard only, with axe-core on every page."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail

from intake.models import Agency, AgencyKind, Person, Referral
from tests.e2e.browser import UI
from tests.e2e.journeys import (
    ADD_ANOTHER,
    BACK_LINK,
    CONTINUE,
    accept_declaration_and_send,
    answer_criteria,
    answer_other_information,
    answer_parallel_processes,
    answer_review,
    answer_safeguarding_lead,
    fill_about_you,
    fill_adult,
    fill_agency,
    fill_case_details,
    fill_child,
    fill_key_date,
    fill_whereabouts,
    follow,
    on_step,
    press_continue,
    start_journey,
    type_date,
    walk,
)
from tests.e2e.keyboard import (
    assert_visible_focus,
    choose_radio,
    focused,
    navigation,
    tab_to,
    type_into,
)

pytestmark = pytest.mark.browser


AGENCY = "Northshire NHS Trust"


@pytest.fixture
def agency() -> Agency:
    Agency.objects.create(name="Acme Police", kind=AgencyKind.POLICE)
    return Agency.objects.create(name=AGENCY, kind=AgencyKind.HEALTH)


def test_practice_alert_by_keyboard_reaches_a_reference_with_no_axe_violations(ui, agency):
    page = ui.page
    start_journey(ui, "practice_alert")

    # A validation error: the summary takes focus and its link moves focus to the field.
    press_continue(ui, expect_step="about-you")
    assert focused(page, ".govuk-error-summary")["matches"], "The error summary did not receive focus"
    assert page.title().startswith("Error: ")
    tab_to(page, '.govuk-error-summary__list a[href="#id_about-you-full_name"]')
    assert_visible_focus(page)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'id_about-you-full_name'")
    assert_visible_focus(page)
    fill_about_you(ui, agency_value=str(agency.pk))
    press_continue(ui, expect_step="safeguarding-lead")

    answer_safeguarding_lead(ui, consulted=True)
    on_step(ui, "event")

    # The back link returns to the previous question with its answers kept.
    follow(ui, BACK_LINK)
    on_step(ui, "lead-details")
    assert page.input_value("#id_lead-details-lead_name") == "Pat Lead"
    press_continue(ui, expect_step="event")

    choose_radio(page, "event-alert_type", "incident")
    type_date(ui, "id_event-event_date", "12", "3", "2025")
    press_continue(ui, expect_step="children")

    # Add another: a second child on the same page, the first child's answers kept.
    fill_child(
        ui, 0, given="Alex", family="Smith", dob=("4", "5", "2019"), postcode="NE1 4ST", nhs_number="943 476 5919"
    )
    tab_to(page, ADD_ANOTHER)
    assert_visible_focus(page)
    with navigation(page):
        page.keyboard.press("Enter")
    ui.axe.check(page, "children, second child added")
    assert page.locator("fieldset.app-add-another__item").count() == 2
    assert page.input_value("#id_children-0-given_name") == "Alex"
    fill_child(ui, 1, given="Jo", family="Smith", age="3")
    press_continue(ui, expect_step="adults")

    fill_adult(ui, 0, role="mother", given="Kim", family="Smith", aliases="Kim Jones")
    press_continue(ui, expect_step="what-happened")

    type_into(page, "#id_what-happened-what_happened", "Alex was brought to the emergency department late at night.")
    type_into(page, "#id_what-happened-impact_on_child", "A delay in treatment.")
    press_continue(ui, expect_step="practice")

    type_into(page, "#id_practice-learning_identified", "Share discharge summaries with the school nurse.")
    press_continue(ui, expect_step="agencies-involved")

    fill_agency(ui, 0, name="Northshire children's social care")
    press_continue(ui, expect_step="serious-incident")

    choose_radio(page, "serious-incident-died_or_seriously_harmed", "no")
    choose_radio(page, "serious-incident-abuse_or_neglect_suspected", "not_sure")
    press_continue(ui, expect_step="other-information")

    answer_other_information(ui)
    press_continue(ui, expect_step="check-answers")

    # A change link returns to check answers after the edit.
    follow(ui, 'a[href*="/event/?change=1"]', label="change event", max_presses=150)
    on_step(ui, "event")
    type_date(ui, "id_event-event_date", "11", "3", "2025", replace=True)
    press_continue(ui, expect_step="check-answers")
    assert "11 March 2025" in page.locator("main").inner_text()
    assert "Kim Jones" in page.locator("main").inner_text()

    press_continue(ui, expect_step="declaration", max_presses=200)
    reference = accept_declaration_and_send(ui)

    assert reference.startswith("PA-")
    referral = Referral.objects.get(reference=reference)
    assert referral.form_type == "practice_alert"
    assert sorted(Person.objects.filter(referral=referral, role="child").values_list("given_name", flat=True)) == [
        "Alex",
        "Jo",
    ]
    ui.assert_clean()


def test_continue_button_has_visible_focus_on_a_question_page(ui, agency):
    start_journey(ui, "practice_alert")

    tab_to(ui.page, CONTINUE)

    assert_visible_focus(ui.page)
    ui.assert_clean()


def case_review_answers(ui: UI) -> dict[str, Callable[[], None]]:
    """Keyboard answers for every page a case review referral can show."""
    page = ui.page
    return {
        "about-you": lambda: fill_about_you(ui, agency_value=str(Agency.objects.get(name=AGENCY).pk)),
        "safeguarding-lead": lambda: choose_radio(page, "safeguarding-lead-consulted", "no"),
        "senior-lead": lambda: choose_radio(page, "senior-lead-agreed", "yes"),
        "review": lambda: answer_review(ui, "cspr", ("2", "2", "2025")),
        "criteria": lambda: answer_criteria(ui),
        "whereabouts": lambda: fill_whereabouts(ui),
        "children": lambda: fill_child(
            ui,
            0,
            given="Casey",
            family="Brown",
            dob=("9", "9", "2020"),
            address="1 High Street, Northtown",
            postcode="NE2 1AA",
            legal_status="child_protection_plan",
        ),
        "adults": lambda: fill_adult(ui, 0, role="father", given="Lee", family="Brown"),
        "case-details": lambda: fill_case_details(ui),
        "chronology": lambda: fill_key_date(ui),
        "learning": lambda: type_into(page, "#id_learning-learning_identified", "Agencies need a shared chronology."),
        "agencies-involved": lambda: fill_agency(ui, 0, name="Northtown primary school"),
        "parallel-processes": lambda: answer_parallel_processes(ui),
        "other-information": lambda: answer_other_information(ui),
    }


def test_case_review_by_keyboard_with_save_and_return_in_another_browser(ui, open_ui, agency):
    page = ui.page
    start_journey(ui, "case_review")
    seen = walk(ui, case_review_answers(ui), until="case-details")
    assert "whereabouts" in seen, "A case review about serious harm asks where the child was"

    # Save and come back later, half-way through a page: the link opens it in another browser.
    type_into(page, "#id_case-details-case_outline", "Typed before saving.")
    tab_to(page, 'button[name="action"][value="save"]')
    with navigation(page):
        page.keyboard.press("Enter")
    ui.axe.check(page, "save for later")
    assert page.input_value("#id_email") == "sam.example@nhs.net"
    tab_to(page, "form .govuk-button")
    with navigation(page):
        page.keyboard.press("Enter")
    ui.axe.check(page, "saved")
    assert "Your answers have been saved" in page.locator("h1").inner_text()
    links = [m for m in mail.outbox if "/resume/" in str(m.body)]
    assert len(links) == 1, [m.subject for m in mail.outbox]
    resume_path = re.search(r"/resume/[^/\s]+/", str(links[0].body))
    assert resume_path is not None
    ui.assert_clean()

    other = open_ui()
    other.goto(resume_path.group(0))
    other.axe.check(other.page, "resume")
    tab_to(other.page, "main form .govuk-button")
    with navigation(other.page):
        other.page.keyboard.press("Enter")
    on_step(other, "case-details")
    other.axe.check(other.page)
    assert other.page.input_value("#id_case-details-case_outline") == "Typed before saving."
    answers = case_review_answers(other)
    answers["case-details"] = lambda: fill_case_details(other, outline="Known to health visiting.", replace=True)
    walk(other, answers, until="check-answers")
    assert "Casey" in other.page.locator("main").inner_text()
    press_continue(other, expect_step="declaration", max_presses=200)
    reference = accept_declaration_and_send(other)

    assert reference.startswith("CR-")
    referral = Referral.objects.get(reference=reference)
    assert referral.form_type == "case_review"
    other.assert_clean()


def test_practice_alert_switches_to_case_review_by_keyboard_carrying_answers(ui, agency):
    page = ui.page
    start_journey(ui, "practice_alert")
    fill_about_you(ui, agency_value=str(agency.pk), full_name="Morgan Switcher")
    press_continue(ui, expect_step="safeguarding-lead")
    answer_safeguarding_lead(ui, consulted=False)
    on_step(ui, "event")
    choose_radio(page, "event-alert_type", "incident")
    type_date(ui, "id_event-event_date", "1", "2", "2025")
    press_continue(ui, expect_step="children")
    fill_child(
        ui,
        0,
        given="Riley",
        family="Green",
        dob=("3", "3", "2018"),
        address="2 Low Road, Northtown",
        postcode="NE3 2BB",
        legal_status="child_in_need",
    )
    press_continue(ui, expect_step="adults")
    fill_adult(ui, 0, role="mother", given="Ash", family="Green")
    press_continue(ui, expect_step="what-happened")
    type_into(page, "#id_what-happened-what_happened", "Riley was found with serious injuries.")
    type_into(page, "#id_what-happened-impact_on_child", "Serious harm.")
    press_continue(ui, expect_step="practice")
    type_into(page, "#id_practice-learning_identified", "Escalation was not used.")
    press_continue(ui, expect_step="agencies-involved")
    fill_agency(ui, 0, name="Northtown health visiting")
    press_continue(ui, expect_step="serious-incident")

    # Died or seriously harmed + abuse or neglect suspected: told plainly, and offered the switch.
    choose_radio(page, "serious-incident-died_or_seriously_harmed", "yes")
    choose_radio(page, "serious-incident-abuse_or_neglect_suspected", "yes")
    press_continue(ui, expect_step="should-be-case-review")
    assert "This should be a case review referral" in page.locator("h1").inner_text()
    choose_radio(page, "should-be-case-review-choice", "switch")
    press_continue(ui)
    assert "/case_review/" in page.url
    assert "copied into a case review referral" in page.locator(".govuk-notification-banner").inner_text()

    def carried(selector: str, value: str) -> Callable[[], None]:
        def check() -> None:
            assert page.input_value(selector) == value, f"{selector} was not carried over to the case review"

        return check

    # Pages carried over only need Continue; the rest are what a case review also asks.
    answers = case_review_answers(ui)
    answers["review"] = lambda: answer_review(ui, "learning_lessons")
    answers["children"] = carried("#id_children-0-given_name", "Riley")
    answers["adults"] = carried("#id_adults-0-given_name", "Ash")
    answers["learning"] = carried("#id_learning-learning_identified", "Escalation was not used.")
    answers["agencies-involved"] = carried("#id_agencies-involved-0-agency_name", "Northtown health visiting")
    seen = walk(ui, answers, until="check-answers")

    assert seen[0] == "senior-lead", seen
    assert "about-you" not in seen
    text = page.locator("main").inner_text()
    assert "Morgan Switcher" in text
    assert "Riley was found with serious injuries." in text
    press_continue(ui, expect_step="declaration", max_presses=200)
    reference = accept_declaration_and_send(ui)

    assert reference.startswith("CR-")
    referral = Referral.objects.get(reference=reference)
    assert referral.criteria_died_or_seriously_harmed == "yes"
    ui.assert_clean()
