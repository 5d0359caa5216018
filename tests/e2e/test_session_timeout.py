"""The idle-session warning (WCAG 2.2.1): it opens, takes focus, extends by keyboard, and saves on time-out.

The page's clock is Playwright's fake clock, so minutes pass in milliseconds; the server's
session is real and short (settings below).
"""

from __future__ import annotations

import pytest

from intake.models import Draft
from intake.services import DRAFT_PARTIAL
from tests.e2e.journeys import start_journey
from tests.e2e.keyboard import assert_visible_focus, focused, type_into

pytestmark = pytest.mark.browser

TIMEOUT = 120
WARNING = 60
# session-timeout.mjs acts this many seconds early, as the server's clock started first.
MARGIN = 15
WARN_AFTER_MS = (TIMEOUT - WARNING - MARGIN) * 1000
DIALOG_OPEN = "() => document.getElementById('session-timeout').open"


@pytest.fixture
def short_session(settings):
    settings.SESSION_COOKIE_AGE = TIMEOUT
    settings.SESSION_WARNING_SECONDS = WARNING


def dialog_is_open(ui) -> bool:
    return bool(ui.page.evaluate(DIALOG_OPEN))


def test_timeout_warning_takes_focus_extends_by_keyboard_and_saves_the_page_on_time_out(ui, short_session):
    page = ui.page
    page.clock.install()
    start_journey(ui, "practice_alert")
    type_into(page, "#id_about-you-full_name", "Timeout Tester")
    assert not dialog_is_open(ui)

    page.clock.fast_forward(WARN_AFTER_MS + 1000)
    page.wait_for_function(DIALOG_OPEN)
    assert focused(page, "#session-timeout [data-extend]")["matches"], "Focus did not move into the warning"
    assert_visible_focus(page)
    ui.axe.check(page, "timeout warning open")

    # Continue (Enter) extends the session on the server and closes the warning.
    with page.expect_response(lambda r: r.url.endswith("/session/extend/") and r.request.method == "POST") as extend:
        page.keyboard.press("Enter")
    assert extend.value.ok
    page.wait_for_function(f"() => !({DIALOG_OPEN})()")
    assert page.input_value("#id_about-you-full_name") == "Timeout Tester"

    # The warning is rescheduled from now: not open just before its time, open just after.
    page.clock.fast_forward(WARN_AFTER_MS - 2000)
    assert not dialog_is_open(ui), "The warning reopened before the extended session was near its end"
    page.clock.fast_forward(3000)
    page.wait_for_function(DIALOG_OPEN)

    # Escape is also "Continue": it extends rather than dismissing the warning silently.
    with page.expect_response(lambda r: r.url.endswith("/session/extend/")) as extend_again:
        page.keyboard.press("Escape")
    assert extend_again.value.ok
    page.wait_for_function(f"() => !({DIALOG_OPEN})()")

    # Doing nothing: the page is saved, the session ends, and the signed-out page explains.
    page.clock.fast_forward(WARN_AFTER_MS + 1000)
    page.wait_for_function(DIALOG_OPEN)
    with page.expect_navigation(url="**/session/timed-out/**"):
        page.clock.fast_forward(WARNING * 1000)
    ui.axe.check(page, "timed out")
    assert "You have been signed out" in page.locator("h1").inner_text()
    draft = Draft.objects.get()
    assert "Timeout Tester" in str(draft.data[DRAFT_PARTIAL])
    ui.assert_clean()


def test_timing_out_on_a_page_without_a_form_signs_out_with_a_post(ui, short_session):
    # The save-for-later page has no wizard form to submit; the warning signs out by a CSRF-checked
    # POST (a GET to the signed-out page ends nothing, so another site cannot sign people out).
    page = ui.page
    page.clock.install()
    start_journey(ui, "practice_alert")
    journey_url = page.url
    with page.expect_navigation():
        page.get_by_role("button", name="Save and come back later").click()
    assert "/save/" in page.url

    page.clock.fast_forward(WARN_AFTER_MS + 1000)
    page.wait_for_function(DIALOG_OPEN)

    def is_sign_out(response) -> bool:
        return response.url.endswith("/session/timed-out/") and response.request.method == "POST"

    with page.expect_response(is_sign_out) as sign_out:
        page.clock.fast_forward(WARNING * 1000)
    assert sign_out.value.status == 302
    page.wait_for_url("**/session/timed-out/")
    assert "You have been signed out" in page.locator("h1").inner_text()
    ui.axe.check(page, "timed out after the save page")
    ui.assert_clean()

    signed_out = page.goto(journey_url)  # the draft is no longer this browser's
    assert signed_out is not None
    assert signed_out.status == 404
