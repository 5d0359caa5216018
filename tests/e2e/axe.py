"""axe-core (installed from the npm registry into node_modules) run against each page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page

AXE_PATH = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 A and AA (axe tags each success criterion with the version that added it).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN = """async (tags) => {
  if (!window.axe) { throw new Error("axe-core was not injected into " + location.href); }
  const result = await window.axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({
      target: n.target.join(" "),
      html: n.html,
      // What each failed check said, e.g. 'ARIA attribute is not allowed: aria-expanded="false"'.
      messages: [...n.any, ...n.all, ...n.none].map(c => c.message),
    })),
  }));
}"""


@dataclass
class Violation:
    page: str
    rule: str
    impact: str
    help: str
    targets: list[str]

    def __str__(self) -> str:
        return f"{self.page}: {self.rule} ({self.impact}) {self.help} -> {', '.join(self.targets)}"


@dataclass
class AxeAudit:
    """Collects violations page by page so that one run reports every failing page."""

    pages: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    def check(self, page: Page, label: str = "") -> list[Violation]:
        where = f"{page.url} [{label}]" if label else page.url
        found: list[Violation] = []
        for result in page.evaluate(_RUN, WCAG_TAGS):
            failing = result["nodes"]
            if failing:
                found.append(
                    Violation(
                        where, result["id"], result["impact"] or "", result["help"], [n["target"] for n in failing]
                    )
                )
        self.pages.append(where)
        self.violations.extend(found)
        return found

    def assert_clean(self) -> None:
        assert self.pages, "axe-core ran on no page"
        assert not self.violations, f"axe-core found WCAG 2.2 A/AA violations on {len(self.violations)} rule(s):\n" + (
            "\n".join(str(v) for v in self.violations)
        )
