"""Headless Chromium (Debian package) driven by Playwright against pytest-django's live server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Playwright,
    Request,
    Response,
    Route,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.axe import AXE_PATH, AxeAudit
from tests.e2e.browser import UI, BrowserProblems

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Reports Content-Security-Policy violations to the test, on every page of the context.
_CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (e) => {
  window.__e2eCspViolation(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " on " + e.documentURI);
});"""


@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install the Debian packages chromium and chromium-driver "
            "(run `make browser-deps` as root). Browser tests are part of the default suite and are never skipped.",
            pytrace=False,
        )
    if not AXE_PATH.exists():
        pytest.fail(f"{AXE_PATH} is missing: run `npm ci` (make assets) to install axe-core.", pytrace=False)
    # Playwright's sync API keeps an asyncio loop running on this thread, which Django's
    # async-safety check mistakes for async code; the test thread's ORM calls are still synchronous.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        playwright = sync_playwright().start()
        try:
            yield playwright
        finally:
            playwright.stop()


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    # launch() gives each browser a fresh temporary user-data dir (Playwright removes it on close).
    try:
        browser = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except PlaywrightError as error:
        pytest.fail(f"Headless Chromium at {CHROMIUM} did not start: {error}", pytrace=False)
    yield browser
    browser.close()


def _open_ui(browser: Browser, base_url: str) -> UI:
    """A fresh browser context (own cookies and session) with one keyboard user's tab."""
    origin = urlsplit(base_url).netloc
    context = browser.new_context(
        base_url=base_url, locale="en-GB", timezone_id="Europe/London", viewport={"width": 1280, "height": 900}
    )
    problems = BrowserProblems()

    def keep_local(route: Route) -> None:
        # No network beyond the app: a CDN or tracker request fails the test instead of leaking.
        if urlsplit(route.request.url).netloc == origin or route.request.url.startswith("data:"):
            route.continue_()
        else:
            problems.add("external request", route.request.url)
            route.abort()

    context.route("**/*", keep_local)
    # CSP allows 'self' only, so axe-core goes in as an init script (not subject to the page's CSP).
    context.add_init_script(path=AXE_PATH)
    context.expose_function("__e2eCspViolation", lambda text: problems.add("CSP violation", text))
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(10_000)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.add("console error", f"{message.text} ({page.url})")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            problems.add(f"HTTP {response.status}", response.url)

    def on_request_failed(request: Request) -> None:
        problems.add("request failed", f"{request.url} ({request.failure})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.add("script error", f"{error} ({page.url})"))
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    return UI(page=page, context=context, base_url=base_url, axe=AxeAudit(), problems=problems)


@pytest.fixture
def open_ui(browser: Browser, live_server) -> Iterator[Callable[[], UI]]:
    """Opens another browser (its own cookies), as a person on a second machine would."""
    opened: list[UI] = []

    def factory() -> UI:
        opened.append(_open_ui(browser, live_server.url))
        return opened[-1]

    yield factory
    for each in opened:
        each.context.close()


@pytest.fixture
def ui(open_ui: Callable[[], UI]) -> UI:
    return open_ui()
