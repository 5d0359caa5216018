"""Scores a theme tagger against a gold JSON Lines file (no Django, so tests and benches share it).

Gold line: {"id", "text", "themes": [codes], "negated": [codes]?, "hypothetical": [codes]?}.
Per-theme precision/recall/F1/support, micro and macro averages (macro over themes with
gold support), and the negated-mention false-positive rate: the share of passages with a
negated (or hypothetical) mention of a theme, not asserted in gold, that the tagger tags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Plain keyword baseline: a theme is predicted when any of its words occurs, with no context.
# The words are the theme's own name and the obvious terms of themes.md's "what counts".
BASELINE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "neglect": ("neglect", "home conditions", "hygiene", "failure to thrive"),
    "non_engagement": ("engage", "engagement", "not brought", "did not attend", "missed appointment", "no access"),
    "domestic_abuse": ("domestic abuse", "domestic violence", "coercive control"),
    "parental_mental_health": ("mental health", "depression", "anxiety", "psychosis", "personality disorder"),
    "parental_substance_misuse": ("alcohol", "drug", "drugs", "substance misuse", "drinking"),
    "physical_abuse": ("physical abuse", "non-accidental injury", "bruising", "fracture", "fractures"),
    "sexual_abuse": ("sexual abuse", "sexual exploitation", "sexually"),
    "emotional_abuse": ("emotional abuse", "rejection", "hostility"),
    "invisible_men": ("father", "partner", "boyfriend", "men"),
    "parental_adversity": ("care leaver", "in care", "young parent", "childhood"),
    "housing_instability": ("homeless", "temporary accommodation", "housing", "moved"),
    "repeat_referrals": ("referrals", "re-referral", "no further action"),
    "child_not_seen": ("not seen", "voice of the child", "lived experience"),
    "professional_curiosity": ("professional curiosity", "curiosity", "face value"),
    "information_sharing": ("information sharing", "not shared", "communication"),
    "missing_education": ("missing education", "home education", "attendance", "school"),
    "exploitation": ("exploitation", "county lines", "trafficking", "gang", "gangs"),
    "self_harm": ("self-harm", "self harm", "suicide", "suicidal", "overdose"),
    "unsafe_sleep": ("co-sleeping", "unsafe sleep", "sudi", "sofa"),
}
_KEYWORD_RES = {
    code: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    for code, words in BASELINE_KEYWORDS.items()
}


def keyword_baseline(text: str) -> set[str]:
    """Themes whose keyword appears anywhere in the text, negated or not."""
    return {code for code, regex in _KEYWORD_RES.items() if regex.search(text)}


class GoldFileError(ValueError):
    """A gold file line is malformed; the message names the file and line."""


@dataclass(frozen=True)
class GoldRecord:
    line: int
    id: str
    text: str
    themes: frozenset[str]
    negated: frozenset[str] = frozenset()
    hypothetical: frozenset[str] = frozenset()


def _codes(value: Any, *, name: str, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GoldFileError(f"{where}: field '{name}' must be a list of theme codes")
    return frozenset(value)


def read_gold(path: Path, *, known_codes: Iterable[str] | None = None) -> list[GoldRecord]:
    """Parse a gold file; any bad line stops with a GoldFileError naming the line and field."""
    known = set(known_codes) if known_codes is not None else None
    records: list[GoldRecord] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise GoldFileError(f"{path}: cannot read ({exc.strerror})") from None
    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        where = f"{path.name} line {number}"
        try:
            line = line_bytes.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise GoldFileError(f"{where}: not valid UTF-8") from None
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldFileError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise GoldFileError(f"{where}: expected a JSON object")
        if not isinstance(obj.get("text"), str):
            raise GoldFileError(f"{where}: field 'text' must be a string")
        if "themes" not in obj:
            raise GoldFileError(f"{where}: field 'themes' is missing")
        record = GoldRecord(
            line=number,
            id=str(obj.get("id", number)),
            text=obj["text"],
            themes=_codes(obj["themes"], name="themes", where=where),
            negated=_codes(obj.get("negated"), name="negated", where=where),
            hypothetical=_codes(obj.get("hypothetical"), name="hypothetical", where=where),
        )
        if known is not None:
            unknown = (record.themes | record.negated | record.hypothetical) - known
            if unknown:
                raise GoldFileError(f"{where}: unknown theme code(s) {', '.join(sorted(unknown))}")
        records.append(record)
    return records


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    def scores(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f1, 4),
            "support": self.support,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass
class ContextRate:
    """Passages with a negated (or hypothetical) mention, and how many got the theme anyway."""

    passages: int = 0
    false_positive_passages: int = 0
    mentions: int = 0
    false_positive_mentions: int = 0
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        rate = self.false_positive_passages / self.passages if self.passages else 0.0
        return {
            "passages": self.passages,
            "false_positive_passages": self.false_positive_passages,
            "rate": round(rate, 4),
            "mentions": self.mentions,
            "false_positive_mentions": self.false_positive_mentions,
        }


def evaluate(records: Sequence[GoldRecord], predictions: Sequence[set[str]], *, codes: Iterable[str]) -> dict[str, Any]:
    """Scores predictions (one set of codes per record, same order) against the gold records."""
    if len(records) != len(predictions):
        raise ValueError("one prediction per gold record is required")
    all_codes = sorted(set(codes) | {c for r in records for c in r.themes})
    per_theme = {code: Counts() for code in all_codes}
    micro = Counts()
    negated, hypothetical = ContextRate(), ContextRate()
    for record, predicted in zip(records, predictions, strict=True):
        for code in all_codes:
            gold, pred = code in record.themes, code in predicted
            counts = per_theme[code]
            if gold and pred:
                counts.tp += 1
                micro.tp += 1
            elif pred:
                counts.fp += 1
                micro.fp += 1
            elif gold:
                counts.fn += 1
                micro.fn += 1
        for rate, mentioned in ((negated, record.negated), (hypothetical, record.hypothetical)):
            only_mentioned = mentioned - record.themes
            if not only_mentioned:
                continue
            wrong = only_mentioned & predicted
            rate.passages += 1
            rate.mentions += len(only_mentioned)
            rate.false_positive_mentions += len(wrong)
            if wrong:
                rate.false_positive_passages += 1
                rate.examples.append(record.id)
    theme_scores = {code: counts.scores() for code, counts in per_theme.items()}
    supported = [s for s in theme_scores.values() if s["support"]]
    macro = {
        key: round(sum(float(s[key]) for s in supported) / len(supported), 4) if supported else 0.0
        for key in ("precision", "recall", "f1")
    }
    return {
        "passages": len(records),
        "themes": theme_scores,
        "micro": {k: v for k, v in micro.scores().items() if k in ("precision", "recall", "f1", "support")},
        "macro": {**macro, "themes": len(supported)},
        "negated": negated.as_dict(),
        "hypothetical": hypothetical.as_dict(),
        "negated_false_positive_ids": negated.examples,
        "hypothetical_false_positive_ids": hypothetical.examples,
    }


def evaluate_predictor(
    records: Sequence[GoldRecord], predict: Callable[[Sequence[str]], Iterable[set[str]]], *, codes: Iterable[str]
) -> dict[str, Any]:
    return evaluate(records, list(predict([r.text for r in records])), codes=codes)


def format_table(report: dict[str, Any], *, title: str) -> str:
    """The report as a plain-text table for the terminal."""
    lines = [title, f"{'theme':<28}{'P':>8}{'R':>8}{'F1':>8}{'support':>9}"]
    for code, s in sorted(report["themes"].items()):
        lines.append(f"{code:<28}{s['precision']:>8.3f}{s['recall']:>8.3f}{s['f1']:>8.3f}{s['support']:>9}")
    for name in ("micro", "macro"):
        s = report[name]
        support = s.get("support", "")
        lines.append(f"{name + ' avg':<28}{s['precision']:>8.3f}{s['recall']:>8.3f}{s['f1']:>8.3f}{support!s:>9}")
    for name in ("negated", "hypothetical"):
        s = report[name]
        lines.append(
            f"{name} mentions: tagged anyway in {s['false_positive_passages']} of {s['passages']} passages "
            f"({s['rate']:.1%}); {s['false_positive_mentions']} of {s['mentions']} mentions"
        )
    lines.append(f"passages: {report['passages']}")
    return "\n".join(lines)
