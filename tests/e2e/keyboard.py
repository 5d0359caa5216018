"""Keyboard-only driving for the browser tests: no mouse, no element.click().

Every move is Tab / Shift+Tab / Enter / Space / arrow keys or typing, so a control
that cannot be reached or operated from the keyboard fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page

# One round trip per key press: what has focus, and does it match the target?
_FOCUS_PROBE = """(sel) => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) {
    return {matches: false, desc: "(no element: body)", none: true};
  }
  let desc = el.tagName.toLowerCase();
  if (el.id) desc += "#" + el.id;
  if (el.getAttribute("name")) desc += "[name=" + el.getAttribute("name") + "]";
  if (el.getAttribute("value") && (el.type === "radio" || el.type === "checkbox")) {
    desc += "[value=" + el.getAttribute("value") + "]";
  }
  const text = (el.innerText || el.getAttribute("aria-label") || "").trim().replace(/\\s+/g, " ");
  if (text) desc += ' "' + text.slice(0, 40) + '"';
  return {matches: el.matches(sel), desc: desc, none: false};
}"""

# Consecutive presses that leave focus on the same element before we call it a trap.
_TRAP_PRESSES = 3


class KeyboardTrapError(AssertionError):
    """Focus stayed on one element while Tab was pressed, or never reached the target."""


def focused(page: Page, selector: str = "*") -> dict[str, object]:
    result: dict[str, object] = page.evaluate(_FOCUS_PROBE, selector)
    return result


def tab_to(page: Page, selector: str, *, max_presses: int = 60, backwards: bool = False) -> str:
    """Press Tab (or Shift+Tab) until the element matching ``selector`` has focus.

    Fails on a keyboard trap (focus stuck on one element) and when the target is not
    reached within ``max_presses``; the message lists the focus order seen.
    """
    key = "Shift+Tab" if backwards else "Tab"
    start = focused(page, selector)
    if start["matches"]:
        return str(start["desc"])
    seen: list[str] = []
    stuck = 0
    previous = None
    for _ in range(max_presses):
        page.keyboard.press(key)
        now = focused(page, selector)
        desc = str(now["desc"])
        seen.append(desc)
        if now["matches"]:
            return desc
        if desc == previous and not now["none"]:
            stuck += 1
            if stuck >= _TRAP_PRESSES - 1:
                raise KeyboardTrapError(
                    f"Keyboard trap on {page.url}: focus stayed on {desc} after {_TRAP_PRESSES} presses of {key}"
                )
        else:
            stuck = 0
        previous = desc
    raise KeyboardTrapError(
        f"{selector!r} not reached with {max_presses} presses of {key} on {page.url}; focus order: " + " -> ".join(seen)
    )


@contextmanager
def navigation(page: Page) -> Iterator[None]:
    """Wait for the page load a key press starts."""
    with page.expect_navigation(wait_until="load"):
        yield


def activate(page: Page, selector: str, *, key: str = "Enter", max_presses: int = 60) -> None:
    """Tab to a link or button and press Enter (or Space), waiting for the next page."""
    tab_to(page, selector, max_presses=max_presses)
    with navigation(page):
        page.keyboard.press(key)


def type_into(page: Page, selector: str, text: str, *, replace: bool = False) -> None:
    """Tab to a text field and type; ``replace`` selects what is there first (Ctrl+A)."""
    tab_to(page, selector)
    if replace:
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
    page.keyboard.type(text)


def choose_radio(page: Page, name: str, value: str) -> None:
    """Tab into a radio group, then use the arrow keys (and Space) to pick ``value``."""
    tab_to(page, f'input[type="radio"][name="{name}"]')
    count = page.locator(f'input[type="radio"][name="{name}"]').count()
    for _ in range(count + 1):
        state = page.evaluate("() => ({value: document.activeElement.value, checked: document.activeElement.checked})")
        if state["value"] == value:
            if not state["checked"]:
                page.keyboard.press("Space")
            break
        page.keyboard.press("ArrowDown")
    else:  # pragma: no cover - a failing run explains itself
        raise AssertionError(f"Radio {name}={value} not reachable with arrow keys on {page.url}")
    assert page.locator(f'input[type="radio"][name="{name}"][value="{value}"]').is_checked()


def set_checkbox(page: Page, selector: str, *, checked: bool = True) -> None:
    """Tab to a checkbox and press Space if it is not already in the wanted state."""
    tab_to(page, selector)
    if page.evaluate("() => document.activeElement.checked") != checked:
        page.keyboard.press("Space")
    assert page.locator(selector).is_checked() == checked


def select_option(page: Page, selector: str, value: str) -> None:
    """Tab to a <select> and move through its options with the arrow keys."""
    tab_to(page, selector)
    options = page.eval_on_selector(selector, "el => Array.from(el.options).map(o => o.value)")
    current = page.eval_on_selector(selector, "el => el.selectedIndex")
    target = options.index(value)
    key = "ArrowDown" if target > current else "ArrowUp"
    for _ in range(abs(target - current)):
        page.keyboard.press(key)
    assert page.eval_on_selector(selector, "el => el.value") == value


_TRANSPARENT = re.compile(r"rgba\(\s*0,\s*0,\s*0,\s*0\s*\)|transparent")


def focus_indicator(page: Page) -> dict[str, str]:
    """Computed outline, box-shadow and background of the element with focus."""
    style: dict[str, str] = page.evaluate(
        """() => {
          let el = document.activeElement;
          let pseudo = null;
          // GOV.UK radios and checkboxes hide the native input and draw focus on the label's ::before.
          if (el.type === "radio" || el.type === "checkbox") {
            const label = el.id && document.querySelector(`label[for="${el.id}"]`);
            if (label) { el = label; pseudo = "::before"; }
          }
          const s = getComputedStyle(el, pseudo);
          return {outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth, outlineColor: s.outlineColor,
                  boxShadow: s.boxShadow, backgroundColor: s.backgroundColor};
        }"""
    )
    return style


def assert_visible_focus(page: Page) -> None:
    """The focused element shows a focus indicator: a coloured outline or a box-shadow."""
    style = focus_indicator(page)
    outline = (
        style["outlineStyle"] != "none"
        and float(style["outlineWidth"].removesuffix("px") or 0) >= 2
        and not _TRANSPARENT.search(style["outlineColor"])
    )
    shadow = style["boxShadow"] not in ("", "none")
    assert outline or shadow, f"No visible focus on {focused(page)['desc']} at {page.url}: {style}"
