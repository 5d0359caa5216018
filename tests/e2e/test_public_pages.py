"""Start page, accessibility statement and privacy notice in headless Chromium, keyboard only."""

from __future__ import annotations

import pytest

from tests.e2e.keyboard import (
    KeyboardTrapError,
    activate,
    assert_visible_focus,
    focused,
    tab_to,
)

pytestmark = pytest.mark.browser


def test_start_page_loads_govuk_css_and_js_without_console_errors(ui):
    ui.goto("/")
    page = ui.page

    header_background = page.eval_on_selector(".govuk-header", "el => getComputedStyle(el).backgroundColor")
    body_classes = page.eval_on_selector("body", "el => el.className")
    skip_link_initialised = page.eval_on_selector(
        ".govuk-skip-link", "el => el.hasAttribute('data-govuk-skip-link-init')"
    )

    assert header_background == "rgb(11, 12, 12)", "GOV.UK Frontend CSS did not load"
    assert "govuk-frontend-supported" in body_classes
    assert skip_link_initialised, "GOV.UK Frontend JavaScript did not initialise"
    ui.axe.check(page, "start")
    ui.assert_clean()


def test_skip_link_is_first_tab_stop_and_moves_focus_to_main_content(ui):
    ui.goto("/")
    page = ui.page

    page.keyboard.press("Tab")
    assert focused(page, ".govuk-skip-link")["matches"], "The skip link is not the first tab stop"
    assert_visible_focus(page)
    page.keyboard.press("Enter")

    assert page.evaluate("() => document.activeElement.id") == "main-content"
    ui.axe.check(page, "start after skip link")
    ui.assert_clean()


def test_start_page_controls_are_reachable_in_order_with_visible_focus(ui):
    ui.goto("/")
    page = ui.page

    for selector in (
        ".govuk-exit-this-page__button",
        ".govuk-header__service-name",
        'a.govuk-button--start[href*="practice_alert"]',
        'a.govuk-button--start[href*="case_review"]',
        'footer a[href$="/accessibility/"]',
        'footer a[href$="/privacy/"]',
    ):
        tab_to(page, selector)
        assert_visible_focus(page)

    tab_to(page, ".govuk-header__service-name", backwards=True)
    assert_visible_focus(page)
    ui.axe.check(page, "start")
    ui.assert_clean()


def test_footer_links_reach_accessibility_statement_and_privacy_notice_by_keyboard(ui):
    ui.goto("/")
    page = ui.page
    ui.axe.check(page, "start")

    activate(page, 'footer a[href$="/accessibility/"]')
    assert page.url == ui.url("/accessibility/")
    assert "Accessibility statement" in page.locator("h1").inner_text()
    ui.axe.check(page, "accessibility statement")

    activate(page, 'footer a[href$="/privacy/"]')
    assert page.url == ui.url("/privacy/")
    ui.axe.check(page, "privacy notice")

    activate(page, ".govuk-header__service-name")
    assert page.url == ui.url("/")
    ui.assert_clean()


def test_tab_to_reports_a_keyboard_trap(ui):
    ui.goto("/")
    page = ui.page
    # A control that swallows Tab, as a badly built widget does: the classic keyboard trap.
    page.evaluate(
        """() => {
          const trap = document.createElement("input");
          trap.id = "trap";
          trap.addEventListener("keydown", (e) => { if (e.key === "Tab") e.preventDefault(); });
          document.querySelector("main").prepend(trap);
          trap.focus();
        }"""
    )
    page.wait_for_function("() => document.activeElement.id === 'trap'")

    with pytest.raises(KeyboardTrapError, match="Keyboard trap"):
        tab_to(page, 'footer a[href$="/privacy/"]')


def test_axe_audit_reports_page_rule_and_target(ui):
    ui.goto("/")
    page = ui.page
    page.evaluate(
        """() => {
          const img = document.createElement("img");
          img.id = "no-alt";
          img.src = "data:image/gif;base64,R0lGODlhAQABAAAAACw=";
          document.querySelector("main").append(img);
        }"""
    )

    found = ui.axe.check(page, "start with an image without alt text")

    assert [(v.rule, v.targets) for v in found] == [("image-alt", ["#no-alt"])]
    with pytest.raises(AssertionError, match=r"image-alt .*#no-alt"):
        ui.axe.assert_clean()


def test_missing_asset_and_csp_violation_are_reported_as_browser_problems(ui):
    ui.goto("/")
    page = ui.page

    page.evaluate(
        """() => {
          const link = document.createElement("link");
          link.rel = "stylesheet";
          link.href = "/static/css/does-not-exist.css";
          document.head.append(link);
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true";
          document.body.append(script);
        }"""
    )
    kinds: set[str] = set()
    for _ in range(50):  # the 404 and the violation event arrive asynchronously
        kinds = {item.split(":", 1)[0] for item in ui.problems.items}
        if {"HTTP 404", "CSP violation"} <= kinds:
            break
        page.wait_for_timeout(100)

    assert {"HTTP 404", "CSP violation"} <= kinds, ui.problems.items
    assert page.evaluate("() => window.inlineRan === undefined")
    with pytest.raises(AssertionError, match=r"does-not-exist\.css"):
        ui.assert_clean()


def test_axe_flags_aria_expanded_on_radios_so_reveals_must_not_use_it(ui):
    # Our conditional reveals set aria-controls only; this proves axe would catch aria-expanded.
    ui.goto("/")
    page = ui.page
    page.evaluate(
        """() => {
          document.querySelector("main").insertAdjacentHTML("beforeend", `
            <div class="govuk-radios">
              <input class="govuk-radios__input" id="reveal" name="a" type="radio" value="x"
                aria-controls="conditional-reveal" aria-expanded="false"><label for="reveal">Reveal</label>
              <div id="conditional-reveal"></div>
              <input class="govuk-radios__input" id="plain" name="b" type="radio" value="y"
                aria-controls="conditional-plain"><label for="plain">Plain</label>
              <div id="conditional-plain"></div>
            </div>`);
        }"""
    )

    found = ui.axe.check(page, "start with radios")

    assert [(v.rule, sorted(v.targets)) for v in found] == [("aria-allowed-attr", ["#reveal"])]
