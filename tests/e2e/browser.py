"""What a keyboard user's browser tab is, for the e2e tests: the page, its audit, its problems."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import BrowserContext, Page

from tests.e2e.axe import AxeAudit


@dataclass
class BrowserProblems:
    """Console errors, script errors, CSP violations and failed requests seen by the page."""

    items: list[str] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.items.append(f"{kind}: {text}")


@dataclass
class UI:
    """One keyboard user's browser tab, with what went wrong in it so far."""

    page: Page
    context: BrowserContext
    base_url: str
    axe: AxeAudit
    problems: BrowserProblems

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str) -> None:
        response = self.page.goto(self.url(path), wait_until="load")
        assert response is not None
        assert response.ok, f"GET {path} answered {response.status}"

    def assert_clean(self) -> None:
        """No console error, script error, CSP violation or failed request; no axe violation."""
        assert not self.problems.items, "Browser problems:\n" + "\n".join(self.problems.items)
        self.axe.assert_clean()
