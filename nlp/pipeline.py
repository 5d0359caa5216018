"""The theme tagger: a spaCy pipeline assembled in code, with rules kept as data files.

Pure Python (no Django), so the command line, the worker and the benchmark share it.
Pipeline: blank English tokenizer -> lower-case lookup lemmatizer (spacy-lookups-data)
-> rule-based sentence boundaries for referral text (bullets, line breaks, no punctuation)
-> theme matcher (phrase and token patterns from ``nlp/patterns/*.jsonl``; it also finds
the context cues in the same pass) -> ConText-style context step that marks each match as
asserted, negated, hypothetical or about another person.

Everything is loaded once per process (``get_pipeline``); nothing is downloaded.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import spacy
from spacy.attrs import IS_SPACE, LEMMA, LOWER, ORTH, SENT_START
from spacy.language import Language
from spacy.lookups import load_lookups
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span, SpanGroup

PATTERNS_DIR = Path(__file__).resolve().parent / "patterns"
CONTEXT_FILE = "_context.jsonl"
# A referral narrative is far shorter; the cap keeps one bad input from exhausting a worker.
MAX_TEXT_CHARS = 2_000_000
# A theme is asserted when its combined evidence reaches this score.
ASSERT_THRESHOLD = 0.6
DEFAULT_WEIGHT = 0.8
_MAX_ANCHOR_TOKENS = 12
COMPONENT = "theme_matcher"

# Span groups written on each Doc.
MATCHES = "theme_matches"
CUES = "context_cues"
ASSERTED = "themes"
NEGATED = "themes_negated"
HYPOTHETICAL = "themes_hypothetical"
OTHER_PERSON = "themes_other_person"

NEAR_CORES = "theme_near_cores"
# "subject": words for the people a theme is about (a parent for parental themes); one between
# an other_person cue and the theme words blocks that cue ("her own mother" vs "Mother drinks").
_DASHES = frozenset({"-", "\u2013", "\u2014"})
# A cue with this reach or more covers its whole sentence, across terminators.
SENTENCE_WIDE = 50
CUE_CATEGORIES = ("negated", "hypothetical", "other_person", "pseudo", "terminate", "subject")
_CUE_PREFIX = "cue|"


class TaggerInputError(ValueError):
    """A text the tagger refuses; the message never quotes the text."""


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


# --- Components -------------------------------------------------------------------------


@Language.factory("lookup_lemmatizer_lower")
class LowerLookupLemmatizer:
    """Lookup lemmas keyed on the lower-case form, vectorised (no Python loop per token).

    spaCy's own lookup mode keys on the exact text, so "Children" would stay "Children";
    referral text is often all caps or lower case.
    """

    def __init__(self, nlp: Language, name: str) -> None:
        table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
        strings = nlp.vocab.strings
        pairs = sorted((int(key), strings.add(str(value).lower())) for key, value in table.items())
        self.keys = np.array([k for k, _ in pairs], dtype=np.uint64)
        self.values = np.array([v for _, v in pairs], dtype=np.uint64)

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        lowers = doc.to_array(LOWER).astype(np.uint64)
        pos = np.searchsorted(self.keys, lowers)
        pos[pos >= len(self.keys)] = 0
        found = self.keys[pos] == lowers
        lemmas = np.where(found, self.values[pos], lowers)
        doc.from_array([LEMMA], cast(Any, lemmas.reshape(-1, 1)))
        return doc


_END_PUNCT = (".", "!", "?", "..", "...", "!!", "??", "?!", "!?", "…")


@Language.factory("referral_senter")
class ReferralSentenceSplitter:
    """Sentence starts for referral text: after . ! ? and at every line break (notes, bullets).

    Works on token arrays (no Python loop over tokens); professionals often write notes
    with no full stops at all, where the line is the only boundary.
    """

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.end_hashes = np.array([nlp.vocab.strings.add(p) for p in _END_PUNCT], dtype=np.uint64)

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if not n:
            return doc
        arr = doc.to_array([ORTH, IS_SPACE])
        ends = np.isin(arr[:, 0], self.end_hashes)
        for i in np.flatnonzero(arr[:, 1] == 1):
            if "\n" in doc[int(i)].text:
                ends[i] = True
        # -1 (as uint64) is how spaCy's arrays encode "not a sentence start".
        flags = np.full(n, -1, dtype=np.int64)
        flags[0] = 1
        starts = np.flatnonzero(ends) + 1
        flags[starts[starts < n]] = 1
        doc.from_array([SENT_START], cast(Any, flags.view(np.uint64).reshape(-1, 1)))
        return doc


def _token_patterns(entry_pattern: tuple[Any, ...]) -> list[list[dict[str, Any]]]:
    """The pattern, with an IN-list on its first token split into one pattern per value.

    The Matcher tries every pattern at every token; a plain value is compared in C, while a
    set predicate is a call per token, which would dominate the tagger's run time.
    """
    pattern: list[dict[str, Any]] = list(_thaw(entry_pattern))
    first = pattern[0]
    if len(first) == 1 and "OP" not in first:
        ((attr, value),) = first.items()
        if attr in ("LOWER", "LEMMA", "ORTH", "NORM") and isinstance(value, dict) and list(value) == ["IN"]:
            return [[{attr: item}, *pattern[1:]] for item in value["IN"]]
    return [pattern]


def _phrase_tokens(nlp: Language, phrase: str) -> Doc:
    doc = nlp.make_doc(phrase.lower())
    return nlp.get_pipe("lemmatizer")(doc)


@Language.factory("theme_matcher", default_config={"patterns_dir": str(PATTERNS_DIR)})
class ThemeMatcher:
    """Finds theme evidence and context cues in one pass (phrase trie + token patterns)."""

    def __init__(self, nlp: Language, name: str, patterns_dir: str) -> None:
        self.nlp = nlp
        self.name = name
        self.pattern_set = load_pattern_set(Path(patterns_dir))
        self.phrase_matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self.matcher = Matcher(nlp.vocab, validate=True)
        self.entries: dict[int, PatternEntry] = {}
        self.cues: dict[int, CueEntry] = {}
        # Anchor key -> (near-rule key, side "a" or "b"); near-rule key -> excluded word hashes.
        self.anchors: dict[int, tuple[int, str]] = {}
        self.near_exclude: dict[int, frozenset[int]] = {}
        self.version = self.pattern_set.version
        self.themes: dict[str, dict[str, Any]] = dict(self.pattern_set.themes)
        self._add_cues(self.pattern_set.cues)
        self.add_entries(self.pattern_set.entries)

    def _key(self, rule_id: str) -> int:
        return int(self.nlp.vocab.strings.add(rule_id))

    def add_entries(self, entries: Iterable[PatternEntry]) -> None:
        for entry in entries:
            key = self._key(entry.id)
            if key in self.entries:
                continue
            self.entries[key] = entry
            self.themes.setdefault(entry.theme, {"theme": entry.theme})
            if entry.near is not None:
                self.near_exclude[key] = frozenset(int(self.nlp.vocab.strings.add(w)) for w in entry.near[4])
                for side, phrases in (("a", entry.near[0]), ("b", entry.near[1])):
                    anchor = self._key(f"near|{entry.id}|{side}")
                    self.anchors[anchor] = (key, side)
                    docs = [_phrase_tokens(self.nlp, p) for p in phrases]
                    self.phrase_matcher.add(self.nlp.vocab.strings[anchor], docs)
            else:
                self._add(key, entry.id, entry.phrase, entry.pattern)

    def _add_cues(self, cues: Iterable[CueEntry]) -> None:
        for cue in cues:
            key = self._key(_CUE_PREFIX + cue.id)
            self.cues[key] = cue
            self._add(key, cue.id, cue.phrase, cue.pattern)

    def _add(self, key: int, rule_id: str, phrase: str | None, pattern: tuple[Any, ...] | None) -> None:
        try:
            if phrase is not None:
                self.phrase_matcher.add(self.nlp.vocab.strings[key], [_phrase_tokens(self.nlp, phrase)])
            elif pattern is not None:
                self.matcher.add(self.nlp.vocab.strings[key], _token_patterns(pattern))
        except (ValueError, KeyError) as exc:
            raise PatternError(f"rule {rule_id!r}: {exc}") from None

    def __call__(self, doc: Doc) -> Doc:
        found = self.phrase_matcher(doc)
        if len(self.matcher):
            found += self.matcher(doc)
        themes: list[Span] = []
        cues: list[tuple[int, int, int]] = []
        anchors: dict[int, list[tuple[str, int, int]]] = {}
        entries, cue_entries, anchor_rules = self.entries, self.cues, self.anchors
        for key, start, end in found:
            entry = entries.get(key)
            if entry is not None:
                span = Span(doc, start, end, label=entry.theme, span_id=key)
                if entry.exact_case and span.text != entry.phrase:
                    continue
                themes.append(span)
            elif key in cue_entries:
                # Plain tuples: cues are frequent ("not", "and", ","), Span objects would be costly.
                cues.append((start, end, key))
            elif key in anchor_rules:
                rule, side = anchor_rules[key]
                anchors.setdefault(rule, []).append((side, start, end))
        if anchors:
            themes.extend(self._near_spans(doc, anchors))
        doc.spans[MATCHES] = themes
        doc.user_data[CUES] = cues
        return doc

    def _near_spans(self, doc: Doc, anchors: dict[int, list[tuple[str, int, int]]]) -> list[Span]:
        """One span per pair of A and B anchors close together in the same sentence."""
        spans: list[Span] = []
        sent_starts = doc.to_array(SENT_START).astype(np.int64)
        lowers = doc.to_array(LOWER)
        cores: dict[tuple[int, int, int], tuple[tuple[int, int], ...]] = doc.user_data.setdefault(NEAR_CORES, {})
        for rule, hits in anchors.items():
            entry = self.entries[rule]
            assert entry.near is not None
            window, order, exclude = entry.near[2], entry.near[3], self.near_exclude[rule]
            a_hits = [(s, e) for side, s, e in hits if side == "a"]
            b_hits = [(s, e) for side, s, e in hits if side == "b"]
            seen: set[tuple[int, int]] = set()
            b_hits.sort()
            b_starts = [b[0] for b in b_hits]
            for a_start, a_end in a_hits:
                # Only B anchors that can lie within the window (anchors are short phrases).
                low = bisect.bisect_left(b_starts, a_start - window - _MAX_ANCHOR_TOKENS)
                high = bisect.bisect_right(b_starts, a_end + window)
                for b_start, b_end in b_hits[low:high]:
                    if a_start < b_end and b_start < a_end:
                        continue
                    if b_start >= a_end:
                        gap = b_start - a_end
                    elif order == "any":
                        gap = a_start - b_end
                    else:
                        continue
                    start, end = min(a_start, b_start), max(a_end, b_end)
                    if gap > window or (start, end) in seen:
                        continue
                    if any(sent_starts[i] == 1 for i in range(start + 1, end)):
                        continue
                    gap_tokens = range(min(a_end, b_end), max(a_start, b_start))
                    if exclude and any(int(lowers[i]) in exclude for i in gap_tokens):
                        continue
                    seen.add((start, end))
                    spans.append(Span(doc, start, end, label=entry.theme, span_id=rule))
                    # The context step needs the anchors: a "not" between them negates the rule.
                    cores[(start, end, rule)] = ((a_start, a_end), (b_start, b_end))
        return spans


class Cue(NamedTuple):
    start: int
    end: int
    entry: CueEntry


@Language.factory("theme_context")
class ThemeContext:
    """ConText-style scope: a cue affects theme matches in its direction until a terminator.

    Scope ends at the sentence boundary, at a terminator ("but", "however", "although", ";"
    ...) or after the cue's token reach. Cues inside a theme match are part of the theme's
    wording ("was not brought", "no access") and never negate it; pseudo-cues ("no further
    action", "could not be ruled out") shadow the negation words they contain.
    """

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.matcher = cast(ThemeMatcher, nlp.get_pipe("theme_matcher"))

    def __call__(self, doc: Doc) -> Doc:
        matches = list(doc.spans[MATCHES]) if MATCHES in doc.spans else []
        groups: dict[str, list[Span]] = {ASSERTED: [], NEGATED: [], HYPOTHETICAL: [], OTHER_PERSON: []}
        if matches:
            entries = self.matcher.cues
            cues = [Cue(start, end, entries[key]) for start, end, key in doc.user_data.get(CUES, [])]
            self._resolve(doc, matches, cues, groups)
        for group_name, spans in groups.items():
            doc.spans[group_name] = SpanGroup(doc, name=group_name, spans=spans)
        return doc

    def _resolve(self, doc: Doc, matches: list[Span], cues: list[Cue], groups: dict[str, list[Span]]) -> None:
        """Resolve sentence by sentence, so long texts stay linear in their length."""
        cores = doc.user_data.get(NEAR_CORES, {})
        starts = np.flatnonzero(doc.to_array(SENT_START).astype(np.int64) == 1)
        if not len(starts) or starts[0] != 0:
            starts = np.concatenate(([0], starts))

        def sentence_of(token: int) -> int:
            return int(np.searchsorted(starts, token, side="right")) - 1

        cues_by_sent: dict[int, list[Cue]] = {}
        for cue in cues:
            cues_by_sent.setdefault(sentence_of(cue.start), []).append(cue)
        matches_by_sent: dict[int, list[Span]] = {}
        for span in matches:
            matches_by_sent.setdefault(sentence_of(span.start), []).append(span)
        target = {"asserted": ASSERTED, "negated": NEGATED, "hypothetical": HYPOTHETICAL, "other_person": OTHER_PERSON}
        for sent, sent_matches in matches_by_sent.items():
            sent_cues = cues_by_sent.get(sent, [])
            pseudo = [(c.start, c.end) for c in sent_cues if c.entry.category == "pseudo"]
            terminators = sorted(
                c.start for c in sent_cues if c.entry.category == "terminate" and not self._word_hyphen(doc, c)
            )
            active = [
                cue
                for cue in sent_cues
                if cue.entry.category not in ("pseudo", "terminate", "subject")
                and not any(ps <= cue.start and cue.end <= pe and (ps, pe) != (cue.start, cue.end) for ps, pe in pseudo)
            ]
            others = [(c.start, c.end) for c in active if c.entry.category == "other_person"]
            # "mother" inside "her own mother" names someone else, not the parent.
            subjects = [
                cue
                for cue in sent_cues
                if cue.entry.category == "subject"
                and not any(os <= cue.start and cue.end <= oe and (os, oe) != (cue.start, cue.end) for os, oe in others)
            ]
            bounds = (int(starts[sent]), int(starts[sent + 1]) if sent + 1 < len(starts) else len(doc))
            # The theme's own words in this sentence: whole phrases, but only the anchors of a
            # co-occurrence rule (a "not" in its gap is a cue, not part of the theme's wording).
            own = [
                (m.label_, part)
                for m in sent_matches
                for part in cores.get((m.start, m.end, m.id), ((m.start, m.end),))
            ]
            for span in sent_matches:
                status = "asserted"
                if active:
                    core = cores.get((span.start, span.end, span.id), ((span.start, span.end),))
                    status = self._status(span, core, active, terminators, bounds, own, subjects)
                groups[target[status]].append(span)
        for spans in groups.values():
            spans.sort(key=lambda span: (span.start, span.end))

    @staticmethod
    def _word_hyphen(doc: Doc, cue: Cue) -> bool:
        """A hyphen inside a word ("self-harm", "post-natal") is not a clause break."""
        return (
            cue.end - cue.start == 1
            and cue.start > 0
            and doc[cue.start].text in _DASHES
            and not doc[cue.start - 1].whitespace_
        )

    @staticmethod
    def _status(
        span: Span,
        core: tuple[tuple[int, int], ...],
        active: list[Cue],
        terminators: list[int],
        bounds: tuple[int, int],
        own: Sequence[tuple[str, tuple[int, int]]],
        subjects: Sequence[Cue] = (),
    ) -> str:
        """The strongest cue in scope: negated beats hypothetical beats another person.

        An other_person cue ("maternal grandmother", "the young person") is not stopped by
        terminators, since a relative clause still describes that person ("her own mother, who
        misused alcohol"), but by a subject word for the theme between it and the theme words
        ("Child T's mother drinks").
        """
        sent_start, sent_end = bounds
        best: tuple[int, str] | None = None
        priority = {"negated": 0, "hypothetical": 1, "other_person": 2}
        theme = span.label_
        for cue in active:
            entry = cue.entry
            if cue.start < sent_start or cue.end > sent_end:
                continue
            if entry.themes is not None and theme not in entry.themes:
                continue
            other = entry.category == "other_person"
            # A cue inside the theme's own words ("was not brought", "no access") is not a cue;
            # in a co-occurrence rule only the anchors count as its own words, not the gap.
            # A person cue that contains an anchor names whose it is ("her own mother" drinks).
            if any(cue.start < c_end and c_start < cue.end for c_start, c_end in core):
                owner = other and any(cue.start <= c_start and c_end <= cue.end for c_start, c_end in core)
                if owner and (best is None or priority["other_person"] * 1000 < best[0]):
                    best = (priority["other_person"] * 1000, "other_person")
                continue
            # A cue inside another theme's wording ("not given food", "was not brought") is that
            # theme's content, not a negation of this one.
            if not other and any(
                o_start <= cue.start and cue.end <= o_end and (o_end - o_start) > (cue.end - cue.start)
                for _label, (o_start, o_end) in own
            ):
                continue
            if other:
                stops = [s.start for s in subjects if s.entry.themes is None or theme in s.entry.themes]
            elif entry.max_tokens >= SENTENCE_WIDE:
                stops = []  # "Glossary:", "Terms of reference:" frame the whole sentence.
            else:
                stops = terminators
            later = [c_start for c_start, _ in core if c_start >= cue.end]
            if later and entry.direction in ("forward", "both"):
                target = later[0]
                reach = min(sent_end, cue.end + entry.max_tokens)
                if any(cue.end <= t < target + other for t in stops) or target >= reach:
                    continue
                distance = target - cue.end
            elif cue.start >= span.end and entry.direction in ("backward", "both"):
                reach = max(sent_start, cue.start - entry.max_tokens)
                if any(span.end - other <= t < cue.start for t in stops) or span.end <= reach:
                    continue
                distance = cue.start - span.end
            else:
                continue
            rank = priority[entry.category] * 1000 + distance
            if best is None or rank < best[0]:
                best = (rank, entry.category)
        return best[1] if best else "asserted"


# --- Building and running ---------------------------------------------------------------


def build_pipeline(*, patterns_dir: Path = PATTERNS_DIR, extra_entries: Sequence[PatternEntry] = ()) -> Language:
    """Assemble the pipeline; extra_entries are the business unit's phrases from the database."""
    nlp = spacy.blank("en")
    nlp.max_length = MAX_TEXT_CHARS + 1
    nlp.add_pipe("lookup_lemmatizer_lower", name="lemmatizer")
    nlp.add_pipe("referral_senter", name="senter")
    nlp.add_pipe("theme_matcher", config={"patterns_dir": str(patterns_dir)})
    nlp.add_pipe("theme_context")
    if extra_entries:
        cast(ThemeMatcher, nlp.get_pipe("theme_matcher")).add_entries(extra_entries)
    return nlp


@functools.lru_cache(maxsize=1)
def get_pipeline() -> Language:
    """The shared pipeline with the shipped patterns, built once per process."""
    return build_pipeline()


def pipeline_version(nlp: Language) -> str:
    matcher = cast(ThemeMatcher, nlp.get_pipe("theme_matcher"))
    return f"rules-{matcher.version}"


def validate_token_pattern(pattern: Any) -> None:
    """Raise PatternError unless pattern is a valid spaCy Matcher token pattern."""
    if not isinstance(pattern, list) or not pattern or not all(isinstance(t, dict) for t in pattern):
        raise PatternError("a token pattern must be a non-empty list of token objects")
    matcher = Matcher(spacy.blank("en").vocab, validate=True)
    try:
        matcher.add("check", [pattern])
    except (ValueError, KeyError, TypeError) as exc:
        raise PatternError(f"not a valid spaCy token pattern: {str(exc).splitlines()[0]}") from None


# --- Results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    start: int
    end: int
    text: str
    pattern: str
    weight: float
    component: str = COMPONENT

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "pattern": self.pattern,
            "component": self.component,
        }


@dataclass
class ThemeResult:
    code: str
    score: float
    evidence: list[Evidence]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "score": self.score, "evidence": [e.as_dict() for e in self.evidence]}


@dataclass
class TagResult:
    """Asserted themes (score, evidence) plus themes mentioned only as negated or hypothetical."""

    themes: list[ThemeResult] = field(default_factory=list)
    negated: dict[str, list[Evidence]] = field(default_factory=dict)
    hypothetical: dict[str, list[Evidence]] = field(default_factory=dict)
    other_person: dict[str, list[Evidence]] = field(default_factory=dict)

    @property
    def codes(self) -> set[str]:
        return {t.code for t in self.themes}

    def as_dict(self, record_id: Any = None) -> dict[str, Any]:
        """The ``tag_themes`` JSON of interfaces.md."""
        return {
            "id": record_id,
            "themes": [t.as_dict() for t in self.themes],
            "negated": sorted(self.negated),
        }


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: Any) -> str:
    """Check one input text; lone surrogates become U+FFFD so offsets stay the same."""
    if not isinstance(text, str):
        raise TaggerInputError(f"text must be a string, not {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise TaggerInputError(f"text is too long: {len(text):,} characters (limit {MAX_TEXT_CHARS:,})")
    return _SURROGATES.sub("\ufffd", text)


def _independent(spans: list[Span], weights: dict[int, float]) -> list[tuple[Span, float]]:
    """Overlapping matches of one theme count once: keep the strongest, then the longest.

    Works cluster by cluster of overlapping spans, so it stays linear for long texts.
    """
    taken: list[tuple[Span, float]] = []
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    index = 0
    while index < len(ordered):
        cluster = [ordered[index]]
        cluster_end = ordered[index].end
        index += 1
        while index < len(ordered) and ordered[index].start < cluster_end:
            cluster.append(ordered[index])
            cluster_end = max(cluster_end, ordered[index].end)
            index += 1
        used: list[tuple[int, int]] = []
        for span in sorted(cluster, key=lambda s: (-weights[s.id], -(s.end - s.start), s.start)):
            if any(span.start < e and s < span.end for s, e in used):
                continue
            used.append((span.start, span.end))
            taken.append((span, weights[span.id]))
    return sorted(taken, key=lambda item: item[0].start)


def _evidence(span: Span, weight: float, strings: Any) -> Evidence:
    return Evidence(
        start=span.start_char,
        end=span.end_char,
        text=span.text,
        pattern=strings[span.id],
        weight=weight,
    )


def result_from_doc(
    doc: Doc,
    *,
    weights: dict[int, float],
    active_codes: frozenset[str] | None = None,
    ignore_context: bool = False,
) -> TagResult:
    """Turn the context-marked matches of one Doc into a TagResult (weights by match key).

    ignore_context treats every match as asserted: the "rules without context" ablation.
    """
    result = TagResult()
    if not len(doc):
        return result
    strings = doc.vocab.strings
    by_theme: dict[str, list[Span]] = {}
    groups = (ASSERTED, NEGATED, HYPOTHETICAL, OTHER_PERSON) if ignore_context else (ASSERTED,)
    for group in groups:
        for span in doc.spans[group]:
            by_theme.setdefault(span.label_, []).append(span)
    asserted: set[str] = set()
    for code in sorted(by_theme):
        if active_codes is not None and code not in active_codes:
            continue
        spans = _independent(by_theme[code], weights)
        # Noisy-OR over distinct rules: a weak word repeated ("argument", "argument") is one
        # piece of evidence, while two different weak cues together can assert the theme.
        strongest: dict[int, float] = {}
        for span, weight in spans:
            strongest[span.id] = max(weight, strongest.get(span.id, 0.0))
        miss = 1.0
        for weight in strongest.values():
            miss *= 1.0 - weight
        score = round(1.0 - miss, 3)
        if score >= ASSERT_THRESHOLD:
            asserted.add(code)
            result.themes.append(ThemeResult(code, score, [_evidence(s, w, strings) for s, w in spans]))
    result.themes.sort(key=lambda t: (-t.score, t.code))
    for group, target in (
        (NEGATED, result.negated),
        (HYPOTHETICAL, result.hypothetical),
        (OTHER_PERSON, result.other_person),
    ):
        for span in doc.spans[group]:
            code = span.label_
            if code in asserted or (active_codes is not None and code not in active_codes):
                continue
            target.setdefault(code, []).append(_evidence(span, weights[span.id], strings))
    return result


class ThemeTagger:
    """Runs the pipeline over texts and returns TagResults (optionally limited to active themes)."""

    def __init__(
        self, nlp: Language | None = None, *, active_codes: Iterable[str] | None = None, ignore_context: bool = False
    ) -> None:
        self.nlp = nlp if nlp is not None else get_pipeline()
        self.ignore_context = ignore_context
        matcher = cast(ThemeMatcher, self.nlp.get_pipe("theme_matcher"))
        self.weights = {key: e.weight for key, e in matcher.entries.items()}
        self.active_codes = frozenset(active_codes) if active_codes is not None else None
        self.version = pipeline_version(self.nlp)
        self.theme_codes = frozenset(matcher.themes)

    def tag(self, text: Any) -> TagResult:
        return self._result(self.nlp(clean_text(text)))

    def tag_many(self, texts: Iterable[str], *, batch_size: int = 256) -> Iterator[TagResult]:
        """Texts must already be clean (see clean_text); results come back in input order."""
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            yield self._result(doc)

    def _result(self, doc: Doc) -> TagResult:
        return result_from_doc(
            doc, weights=self.weights, active_codes=self.active_codes, ignore_context=self.ignore_context
        )


@functools.lru_cache(maxsize=1)
def get_tagger() -> ThemeTagger:
    """The default tagger (shipped patterns, every theme), for code without a database."""
    return ThemeTagger()
