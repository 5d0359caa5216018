"""Theme reads: the taxonomy, a referral's machine tags and the effective themes after review."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from nlp.models import Theme, ThemeTag, ThemeTagReview
from nlp.models.themes import ReviewDecision


def theme_list(*, include_retired: bool = False) -> QuerySet[Theme]:
    themes = Theme.objects.all()
    return themes if include_retired else themes.filter(active=True)


def referral_theme_tags(*, referral_id: int, negated: bool | None = None) -> QuerySet[ThemeTag]:
    """The referral's machine tags (re-tagging replaces them; retired themes keep old ones)."""
    tags = ThemeTag.objects.filter(referral_id=referral_id).select_related("theme")
    if negated is not None:
        tags = tags.filter(negated=negated)
    return tags.order_by("theme__code", "field")


@dataclass
class ReferralTheme:
    """One theme of a referral as triage sees it: machine evidence and the human decision."""

    code: str
    label: str
    score: float | None
    evidence: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by source field
    decision: str = ""  # "", "confirmed" or "rejected"

    @property
    def effective(self) -> bool:
        if self.decision:
            return self.decision == ReviewDecision.CONFIRMED
        return self.score is not None


def referral_themes(*, referral_id: int) -> list[ReferralTheme]:
    """Machine-asserted themes merged with reviews; a review always wins over the machine."""
    by_code: dict[str, ReferralTheme] = {}
    for tag in referral_theme_tags(referral_id=referral_id, negated=False):
        item = by_code.setdefault(tag.theme.code, ReferralTheme(tag.theme.code, tag.theme.label, tag.score))
        item.score = max(item.score or 0.0, tag.score)
        item.evidence[tag.field] = tag.evidence
    for review in ThemeTagReview.objects.filter(referral_id=referral_id).select_related("theme"):
        item = by_code.setdefault(review.theme.code, ReferralTheme(review.theme.code, review.theme.label, None))
        item.decision = review.decision
    return sorted(by_code.values(), key=lambda t: (-(t.score or 0.0), t.code))


def referrals_theme_codes(*, referral_ids: Sequence[int]) -> dict[int, set[str]]:
    """Effective theme codes per referral (for queues and exports), in two queries."""
    ids = list(referral_ids)
    codes: dict[int, set[str]] = {rid: set() for rid in ids}
    for rid, code in ThemeTag.objects.filter(referral_id__in=ids, negated=False).values_list(
        "referral_id", "theme__code"
    ):
        codes[rid].add(code)
    for rid, code, decision in ThemeTagReview.objects.filter(referral_id__in=ids).values_list(
        "referral_id", "theme__code", "decision"
    ):
        if decision == ReviewDecision.CONFIRMED:
            codes[rid].add(code)
        else:
            codes[rid].discard(code)
    return codes
