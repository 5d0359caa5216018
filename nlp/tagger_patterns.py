"""Theme rules as data: the pattern files (``nlp/patterns/*.jsonl``) and admin phrases, parsed.

Pure Python (no spaCy, no Django). ``nlp.pipeline`` re-exports the public names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PATTERNS_DIR = Path(__file__).resolve().parent / "patterns"
CONTEXT_FILE = "_context.jsonl"
DEFAULT_WEIGHT = 0.8
# A cue with this reach or more covers its whole sentence, across terminators.
SENTENCE_WIDE = 50
CUE_CATEGORIES = ("negated", "hypothetical", "other_person", "pseudo", "terminate", "subject")


class PatternError(ValueError):
    """A pattern file or an admin-supplied pattern is malformed."""


# --- Pattern data ---------------------------------------------------------------------


@dataclass(frozen=True)
class PatternEntry:
    """One theme rule: a phrase (matched on lemmas, lower case) or a spaCy token pattern."""

    id: str
    theme: str
    weight: float
    phrase: str | None = None
    pattern: tuple[Any, ...] | None = None
    # Phrase must also match letter case exactly (e.g. "DA", not "da").
    exact_case: bool = False
    # Co-occurrence rule: (phrases A, phrases B, max tokens between, "any" or "ab" order,
    # lower-case words that must not occur between them).
    near: tuple[tuple[str, ...], tuple[str, ...], int, str, frozenset[str]] | None = None


@dataclass(frozen=True)
class CueEntry:
    """One context cue (NegEx/ConText trigger) with its direction and reach."""

    id: str
    category: str
    direction: str  # "forward", "backward" or "both"
    max_tokens: int
    themes: frozenset[str] | None = None  # None: applies to every theme
    phrase: str | None = None
    pattern: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class PatternSet:
    version: str
    themes: dict[str, dict[str, Any]]
    entries: tuple[PatternEntry, ...]
    cues: tuple[CueEntry, ...]


def _freeze(value: Any) -> Any:
    """Token patterns as hashable tuples so PatternEntry can be cached."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        if value and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
            return {k: _thaw(v) for k, v in value}
        return [_thaw(v) for v in value]
    return value


def _weight(raw: Any, where: str) -> float:
    if raw is None:
        return DEFAULT_WEIGHT
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < float(raw) <= 1:
        raise PatternError(f"{where}: weight must be a number in (0, 1]")
    return float(raw)


def entries_from_record(record: dict[str, Any], *, theme: str, where: str) -> list[PatternEntry]:
    """Parse one pattern line ({"phrase"}, {"phrases"} or {"id", "pattern"}) into entries."""
    weight = _weight(record.get("weight"), where)
    out: list[PatternEntry] = []
    phrases: list[Any] = []
    if "phrase" in record:
        phrases.append(record["phrase"])
    phrases.extend(record.get("phrases", []))
    for phrase in phrases:
        if not isinstance(phrase, str) or not phrase.strip():
            raise PatternError(f"{where}: a phrase must be a non-empty string")
        exact = record.get("case") == "exact"
        phrase_id = f"{theme}:{phrase.strip()}" if exact else f"{theme}:{phrase.strip().lower()}"
        out.append(PatternEntry(id=phrase_id, theme=theme, weight=weight, phrase=phrase, exact_case=exact))
    if "pattern" in record:
        pattern = record["pattern"]
        pid = record.get("id")
        if not isinstance(pid, str) or not pid:
            raise PatternError(f"{where}: a token pattern needs an 'id'")
        if not isinstance(pattern, list) or not pattern or not all(isinstance(t, dict) for t in pattern):
            raise PatternError(f"{where}: 'pattern' must be a non-empty list of token objects")
        out.append(PatternEntry(id=f"{theme}:{pid}", theme=theme, weight=weight, pattern=_freeze(pattern)))
    if "near" in record:
        out.append(_near_entry(record, theme=theme, weight=weight, where=where))
    if not out:
        raise PatternError(f"{where}: expected 'phrase', 'phrases', 'pattern' or 'near'")
    return out


def _near_entry(record: dict[str, Any], *, theme: str, weight: float, where: str) -> PatternEntry:
    near, pid = record["near"], record.get("id")
    if not isinstance(pid, str) or not pid:
        raise PatternError(f"{where}: a near rule needs an 'id'")
    if not isinstance(near, dict):
        raise PatternError(f"{where}: 'near' must be an object with 'a', 'b' and 'window'")
    sides = []
    for side in ("a", "b"):
        phrases = near.get(side)
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise PatternError(f"{where}: near.{side} must be a non-empty list of phrases")
        sides.append(tuple(phrases))
    window = near.get("window", 6)
    order = near.get("order", "any")
    if not isinstance(window, int) or not 0 <= window <= 30 or order not in ("any", "ab"):
        raise PatternError(f"{where}: near.window must be 0-30 and near.order 'any' or 'ab'")
    exclude = near.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(w, str) for w in exclude):
        raise PatternError(f"{where}: near.exclude must be a list of words")
    rule = (sides[0], sides[1], window, order, frozenset(w.lower() for w in exclude))
    return PatternEntry(id=f"{theme}:{pid}", theme=theme, weight=weight, near=rule)


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PatternError(f"{path.name} line {number}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise PatternError(f"{path.name} line {number}: expected a JSON object")
        yield number, record


def load_pattern_set(directory: Path = PATTERNS_DIR) -> PatternSet:
    """Read every theme file and the context cues; the version covers their exact content."""
    digest = hashlib.sha256()
    themes: dict[str, dict[str, Any]] = {}
    entries: list[PatternEntry] = []
    file_versions: list[int] = []
    for path in sorted(directory.glob("*.jsonl")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
        if path.name == CONTEXT_FILE:
            continue
        meta: dict[str, Any] | None = None
        for number, record in _read_jsonl(path):
            where = f"{path.name} line {number}"
            if "meta" in record:
                meta = record["meta"]
                if not isinstance(meta, dict) or not isinstance(meta.get("theme"), str):
                    raise PatternError(f"{where}: meta needs a 'theme'")
                if not isinstance(meta.get("version"), int):
                    raise PatternError(f"{where}: meta needs an integer 'version'")
                themes[meta["theme"]] = meta
                file_versions.append(meta["version"])
                continue
            if meta is None:
                raise PatternError(f"{where}: the first line must be the meta line")
            entries.extend(entries_from_record(record, theme=meta["theme"], where=where))
    cues = _load_cues(directory / CONTEXT_FILE)
    version = f"{sum(file_versions)}.{len(themes)}-{digest.hexdigest()[:8]}"
    return PatternSet(version=version, themes=themes, entries=tuple(entries), cues=tuple(cues))


def _load_cues(path: Path) -> list[CueEntry]:
    cues: list[CueEntry] = []
    if not path.exists():
        return cues
    for number, record in _read_jsonl(path):
        where = f"{path.name} line {number}"
        if "meta" in record:
            continue
        category = record.get("category")
        if category not in CUE_CATEGORIES:
            raise PatternError(f"{where}: category must be one of {', '.join(CUE_CATEGORIES)}")
        direction = record.get("direction", "forward")
        if direction not in ("forward", "backward", "both"):
            raise PatternError(f"{where}: direction must be forward, backward or both")
        max_tokens = record.get("max_tokens", 12)
        themes = record.get("themes")
        common = {
            "category": category,
            "direction": direction,
            "max_tokens": int(max_tokens),
            "themes": frozenset(themes) if themes else None,
        }
        phrases = ([record["phrase"]] if "phrase" in record else []) + list(record.get("phrases", []))
        # The same word can be a cue for different themes with different roles ("mother" is the
        # subject of parental themes but another person for self-harm): the scope is in the id.
        scope = f"{category}:{direction}:{max_tokens}" + (f"[{','.join(sorted(themes))}]" if themes else "")
        for phrase in phrases:
            cues.append(CueEntry(id=f"{scope}:{phrase.lower()}", phrase=phrase, **common))
        if "pattern" in record:
            pattern = _freeze(record["pattern"])
            cues.append(CueEntry(id=f"{scope}:{record['id']}", pattern=pattern, **common))
    return cues
