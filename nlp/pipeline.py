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
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import spacy
from spacy.attrs import IDS, LOWER, NORM, ORTH, SENT_START
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import load_language_data, registry

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
#
# Speed (issue #3): the tokenizer and spaCy's Cython matchers are fast, Python work per token
# or per match is not. So the lemma and the sentence-end test are computed once per word
# *type* (lexeme) and cached in the vocab, not per token; theme phrases and context cues are
# matched in separate passes, and cues only inside sentences that hold a theme match, the
# only place the context step looks at them.


class _LemmaOfLower:
    """Lexeme attribute getter: the lookup lemma of the lower-case form (picklable)."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    def __call__(self, string: str) -> str:
        lower = string.lower()
        return self.table.get(lower, lower)


@Language.factory("lookup_lemmatizer_lower")
class LowerLookupLemmatizer:
    """Lookup lemmas (spacy-lookups-data) keyed on the lower-case form, stored as each
    lexeme's NORM: ``token.norm_`` is the lemma, and the matchers match on NORM.

    spaCy's own lookup mode keys on the exact text, so "Children" would stay "Children";
    referral text is often all caps or lower case. The lemma depends only on the word's
    text, so it is computed once per word type when spaCy first creates the lexeme, not for
    every token of every text; the component itself has nothing left to do per Doc. The
    result is the same as looking up every token's lower-case form: a token's lemma is
    ``table.get(lower, lower)`` either way.
    """

    def __init__(self, nlp: Language, name: str) -> None:
        data = registry.lookups.get("en")
        raw = cast(dict[str, Any], load_language_data(data["lemma_lookup"]))
        table = {str(key): str(value).lower() for key, value in raw.items()}
        getter = _LemmaOfLower(table)
        # lemma -> the lower-case words whose lemma it is, for token patterns on LEMMA
        self.reverse: dict[str, list[str]] = {}
        for word, lemma in table.items():
            if word == word.lower():
                self.reverse.setdefault(lemma, []).append(word)
        self.table = table
        vocab: Any = nlp.vocab
        vocab.lex_attr_getters[NORM] = getter
        for lexeme in vocab:  # lexemes spaCy created before the getter was installed
            lexeme.norm_ = getter(lexeme.orth_)
        # Tokenizer exceptions set a token-level NORM ("n't" -> "not") that would hide the
        # lexeme's lemma; only their splitting (ORTH) is kept, so every NORM is the lemma.
        tokenizer = cast(Any, nlp.tokenizer)
        tokenizer.rules = {
            text: [{attr: value for attr, value in token.items() if attr not in (NORM, "NORM")} for token in tokens]
            for text, tokens in tokenizer.rules.items()
        }

    def forms(self, lemma: str) -> list[str]:
        """Every lower-case word whose lemma (as this component assigns it) is ``lemma``."""
        words = list(self.reverse.get(lemma, ()))
        if lemma not in self.table:  # a word missing from the table is its own lemma
            words.append(lemma)
        return words

    def __call__(self, doc: Doc) -> Doc:
        return doc


_END_PUNCT = (".", "!", "?", "..", "...", "!!", "??", "?!", "!?", "…")
SENT_STARTS = "sentence_starts"


class _EndsSentence:
    """Lexeme flag getter: sentence-final punctuation, or white space holding a line break."""

    def __call__(self, string: str) -> bool:
        return string in _END_PUNCT or ("\n" in string and string.isspace())


@Language.factory("referral_senter")
class ReferralSentenceSplitter:
    """Sentence starts for referral text: after . ! ? and at every line break (notes, bullets).

    Whether a token ends a sentence depends only on its text, so it is a lexeme flag computed
    once per word type; per Doc it is one array read. Professionals often write notes with no
    full stops at all, where the line is the only boundary. The starts are also kept in
    ``doc.user_data`` (sorted token indices, 0 first) for the theme matcher.
    """

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.flag = int(nlp.vocab.add_flag(_EndsSentence()))

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if not n:
            doc.user_data[SENT_STARTS] = []
            return doc
        starts = np.flatnonzero(doc.to_array(self.flag)) + 1
        starts = starts[starts < n]
        # -1 (as uint64) is how spaCy's arrays encode "not a sentence start".
        flags = np.full(n, -1, dtype=np.int64)
        flags[0] = 1
        flags[starts] = 1
        doc.from_array([SENT_START], cast(Any, flags.view(np.uint64).reshape(-1, 1)))
        doc.user_data[SENT_STARTS] = [0, *starts.tolist()]
        return doc


def _token_patterns(entry_pattern: tuple[Any, ...]) -> list[list[dict[str, Any]]]:
    """The pattern on NORM instead of LEMMA, with an IN-list on its first token split into one
    pattern per value.

    LEMMA -> NORM: this pipeline keeps the lookup lemma in NORM (see LowerLookupLemmatizer).
    The Matcher tries every pattern at every token; a plain value is compared in C, while a
    set predicate is a call per token, which would dominate the tagger's run time.
    """
    pattern: list[dict[str, Any]] = [
        {"NORM" if str(attr).upper() == "LEMMA" else attr: value for attr, value in token.items()}
        for token in _thaw(entry_pattern)
    ]
    first = pattern[0]
    if len(first) == 1 and "OP" not in first:
        ((attr, value),) = first.items()
        if attr in ("LOWER", "NORM", "ORTH") and isinstance(value, dict) and list(value) == ["IN"]:
            return [[{attr: item}, *pattern[1:]] for item in value["IN"]]
    return [pattern]


_INDEXABLE = {"LOWER": LOWER, "NORM": NORM, "ORTH": ORTH, "TEXT": ORTH}


def _op_range(token: dict[str, Any]) -> tuple[int, int | None] | None:
    """How many tokens one pattern token can consume: (min, max or None for unbounded)."""
    op = str(token.get("OP", "1"))
    fixed = {"1": (1, 1), "?": (0, 1), "+": (1, None), "*": (0, None)}
    if op in fixed:
        return fixed[op]
    counts = re.fullmatch(r"\{(\d*)(,?)(\d*)\}", op)
    if counts is None:
        return None  # "!" and anything unknown: not indexed
    low, comma, high = counts.groups()
    if not comma:
        return int(low), int(low)
    return int(low or 0), int(high) if high else None


class _LexemeTest:
    """Lexeme flag getter: the word satisfies one of several token specs (each a list of
    (attribute, operator, value) tests that must all hold). Evaluated once per word type,
    when spaCy creates the lexeme, so per Doc a flag is one array read (picklable)."""

    def __init__(self, getters: dict[str, Any], alternatives: list[list[tuple[str, str, Any]]]) -> None:
        self.getters = getters
        self.alternatives = alternatives

    def __call__(self, string: str) -> bool:
        return any(all(self._holds(string, *test) for test in tests) for tests in self.alternatives)

    def _holds(self, string: str, attr: str, op: str, value: Any) -> bool:
        actual = self.getters[attr](string)
        if op == "==":
            return bool(actual == value)
        if op == "IN":
            return actual in value
        if op == "NOT_IN":
            return actual not in value
        return re.search(value, actual) is not None  # "REGEX"


class _Probe(NamedTuple):
    """Where one Matcher pattern can match, relative to a token that satisfies its anchor spec
    (the first token the anchor consumes): at most how many tokens before it and how many from
    it to the end (None: unbounded, then the run of ``member`` words bounds the match)."""

    before: int | None
    after: int | None
    member: int | None  # lexeme flag: the word satisfies some token spec of the pattern
    # Other required tokens with plain values: (attr id, sorted hashes); each must occur in the
    # window ("with ... child": a preposition alone is no reason to run the Matcher).
    checks: tuple[tuple[int, tuple[int, ...]], ...] = ()


class _TokenPatterns:
    """Token patterns, matched without spaCy's Matcher wherever possible.

    The Matcher creates a Python Token object for every token it scans, which costs more than
    the whole tokenizer. So:

    - A pattern whose tokens are plain LOWER/NORM/ORTH values or IN-lists of them, each with
      a bounded count (no OP, "?", "{n,m}"), is expanded into the finite set of lower-case
      token sequences it accepts and matched with a PhraseMatcher on LOWER (in Cython). A NORM
      (lemma) value becomes every lower-case form whose lookup lemma it is, an ORTH value only
      when it has no letters (so its case cannot differ). The Matcher returns every way a
      pattern matches ("?" with and without the token), and so does the set of sequences.
    - The other patterns stay in the Matcher, run only on windows where one can match. Each
      pattern is anchored on a required token with a selective spec (a value or IN-list, found
      by one array lookup, or a REGEX / IN / boolean test kept as a lexeme flag; other keys of
      that token, such as IS_SENT_START, are left out, which only widens the search). A match
      lies within a bounded distance of the anchor, or, where a "*" / "+" makes it unbounded,
      within the run of words that satisfy one of the pattern's token specs (a lexeme flag).
      The Matcher runs on the union of those windows, merged; every window holds whole
      matches only, and every match lies inside a window. A pattern that cannot be anchored
      (only NOT_IN or wildcard tokens, "!", no free lexeme flag) makes it run over the Doc.
    """

    MAX_SEQUENCES = 5000
    _TEXT_ATTRS = ("LOWER", "NORM", "ORTH", "TEXT")

    def __init__(self, vocab: Any, forms: Any = None) -> None:
        self.vocab = vocab
        self.forms = forms  # lemma -> lower-case forms, or None
        self.matcher = Matcher(vocab, validate=True)
        self._validator = Matcher(vocab, validate=True)
        self.phrases = PhraseMatcher(vocab, attr="LOWER")
        self.longest_phrase = 1
        self.whole_doc = False
        self.probes: list[_Probe] = []
        # Anchors: attr id -> value hash -> probe indices; lexeme flag -> probe indices.
        self._value_anchors: dict[int, dict[int, list[int]]] = {}
        self._flag_anchors: dict[int, list[int]] = {}
        self._flags: dict[str, int] = {}  # test description -> lexeme flag, shared
        # One member flag for every unbounded pattern (a wider run is still a correct bound).
        self._member: _LexemeTest | None = None
        self._member_flag: int | None = None
        self._member_stale = False
        self._columns: list[int] = []
        self._anchor_keys: list[np.ndarray] = []  # per value-anchor attr: sorted hashes
        self._check_keys: dict[tuple[int, ...], np.ndarray] = {}
        getters: dict[str, Any] = {"LOWER": str.lower, "ORTH": _identity, "TEXT": _identity}
        norm = vocab.lex_attr_getters.get(NORM)
        if forms is not None and norm is not None:  # NORM is the lemma only in this pipeline
            getters["NORM"] = norm
        for name, attr_id in IDS.items():
            if attr_id in vocab.lex_attr_getters and attr_id < 64 and name.startswith(("IS_", "LIKE_")):
                getters[name] = vocab.lex_attr_getters[attr_id]
        self._getters = getters

    def __len__(self) -> int:
        return len(self.matcher) + len(self.phrases)

    def add(self, key: str, patterns: list[list[dict[str, Any]]]) -> None:
        self._validator.add(key, patterns)  # spaCy's own checks and messages
        self._validator.remove(key)
        for pattern in patterns:
            sequences = self._sequences(pattern)
            if sequences is not None:
                docs = [Doc(self.vocab, words=list(seq)) for seq in sequences]
                if docs:
                    self.phrases.add(key, docs)
                    self.longest_phrase = max(self.longest_phrase, *(len(seq) for seq in sequences))
            else:
                self.matcher.add(key, [pattern])
                self._index(pattern)
        if self._member is not None and self._member_stale:
            for lexeme in self.vocab:  # words seen before these tests were added
                lexeme.set_flag(self._member_flag, self._member(lexeme.orth_))
            self._member_stale = False
        value_attrs = sorted(self._value_anchors)
        check_attrs = {attr for p in self.probes for attr, _hashes in p.checks} - set(value_attrs)
        self._columns = [
            *value_attrs,
            *sorted(check_attrs),
            *sorted({*self._flag_anchors, *(p.member for p in self.probes if p.member)}),
        ]
        self._check_keys = {
            hashes: np.array(hashes, dtype=np.uint64) for p in self.probes for _attr, hashes in p.checks
        }
        self._anchor_keys = [np.array(sorted(self._value_anchors[a]), dtype=np.uint64) for a in value_attrs]

    def _values(self, token: dict[str, Any]) -> list[str] | None:
        """The lower-case texts a token spec accepts, or None if it is not a plain value spec."""
        specs = [(str(k).upper(), v) for k, v in token.items() if str(k).upper() != "OP"]
        if len(specs) != 1:
            return None
        name, value = specs[0]
        if isinstance(value, dict) and list(value) == ["IN"] and isinstance(value["IN"], list):
            values = value["IN"]
        else:
            values = [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            return None
        if name == "LOWER" and all(v == v.lower() for v in values):
            return list(dict.fromkeys(values))
        if name in ("ORTH", "TEXT") and all(v.isascii() and not any(c.isalpha() for c in v) for v in values):
            return list(dict.fromkeys(values))
        if name == "NORM" and self.forms is not None and all(v == v.lower() for v in values):
            return list(dict.fromkeys(f for v in values for f in self.forms(v)))
        return None

    def _sequences(self, pattern: list[dict[str, Any]]) -> list[tuple[str, ...]] | None:
        choices: list[list[tuple[str, ...]]] = []
        total = 1
        for token in pattern:
            span = _op_range(token)
            values = self._values(token)
            if span is None or span[1] is None or values is None:
                return None
            low, high = span[0], span[1]
            options = [seq for count in range(low, high + 1) for seq in itertools.product(values, repeat=count)]
            total *= len(options)
            if total > self.MAX_SEQUENCES:
                return None
            choices.append(options)
        sequences = {tuple(w for part in combo for w in part) for combo in itertools.product(*choices)}
        return sorted(seq for seq in sequences if seq)

    def _tests(self, token: dict[str, Any]) -> list[tuple[str, str, Any]]:
        """The token's specs that depend on the word alone, as (attr, op, value) tests; the
        others (IS_SENT_START, LENGTH, ...) are dropped, which only widens what passes."""
        tests: list[tuple[str, str, Any]] = []
        for raw, value in token.items():
            name = str(raw).upper()
            name = "ORTH" if name == "TEXT" else name
            if name == "OP" or name not in self._getters:
                continue
            if name in self._TEXT_ATTRS:
                if isinstance(value, str):
                    tests.append((name, "==", value))
                elif isinstance(value, dict) and len(value) == 1:
                    ((op, arg),) = value.items()
                    if op in ("IN", "NOT_IN") and isinstance(arg, list) and all(isinstance(v, str) for v in arg):
                        tests.append((name, op, frozenset(arg)))
                    elif op == "REGEX" and isinstance(arg, str):
                        tests.append((name, op, arg))
            elif isinstance(value, bool):
                tests.append((name, "==", value))
        return tests

    def _flag(self, alternatives: list[list[tuple[str, str, Any]]]) -> int | None:
        """A lexeme flag for the tests (shared by equal tests), or None when none is free."""
        label = repr(sorted(sorted(map(repr, tests)) for tests in alternatives))
        if label not in self._flags:
            try:
                self._flags[label] = int(self.vocab.add_flag(_LexemeTest(self._getters, alternatives)))
            except ValueError:  # every one of spaCy's 63 lexeme flags is taken
                return None
        return self._flags[label]

    def _add_member(self, alternatives: list[list[tuple[str, str, Any]]]) -> int | None:
        if self._member is None:
            self._member = _LexemeTest(self._getters, [])
            try:
                self._member_flag = int(self.vocab.add_flag(self._member))
            except ValueError:  # every one of spaCy's 63 lexeme flags is taken
                self._member = None
                return None
        new = [tests for tests in alternatives if tests not in self._member.alternatives]
        if new:
            self._member.alternatives.extend(new)
            self._member_stale = True  # add() refreshes the words seen before, once
        return self._member_flag

    @staticmethod
    def _anchor(tests: list[tuple[str, str, Any]]) -> tuple[int, tuple[str, ...] | None] | None:
        """(rank, (attr, *values) or None for a flag test) of a token as a pattern's anchor:
        the fewer values the better; a REGEX or boolean test after any value list. NOT_IN
        passes nearly every word and cannot anchor."""
        for attr, op, value in tests:
            if attr in _INDEXABLE and op == "==" and isinstance(value, str):
                return 1, (attr, value)
            if attr in _INDEXABLE and op == "IN":
                return len(value), (attr, *sorted(value))
        if any(op in ("REGEX", "IN") or (op == "==" and value is True) for _attr, op, value in tests):
            return 10_000, None
        return None

    def _index(self, pattern: list[dict[str, Any]]) -> None:
        """Anchor a Matcher pattern and record how far its matches reach around the anchor."""
        ranges = [_op_range(token) for token in pattern]
        tests = [self._tests(token) for token in pattern]
        if any(r is None for r in ranges) or not pattern:
            self.whole_doc = True
            return
        bounds = cast(list[tuple[int, int | None]], ranges)
        best: tuple[int, int, tuple[str, ...] | None] | None = None
        for index, (span, token_tests) in enumerate(zip(bounds, tests, strict=True)):
            found = self._anchor(token_tests) if span[0] >= 1 else None
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], index, found[1])
        if best is None:
            self.whole_doc = True
            return
        _rank, index, plain = best

        def total(part: list[tuple[int, int | None]]) -> int | None:
            highs = [high for _low, high in part]
            return None if any(h is None for h in highs) else sum(cast(list[int], highs))

        before, after = total(bounds[:index]), total(bounds[index:])
        member = None
        if before is None or after is None:
            member = self._add_member([t for t in tests if t] if all(tests) else [[]])
            if member is None:
                self.whole_doc = True
                return
        checks = []
        for other, (span, token_tests) in enumerate(zip(bounds, tests, strict=True)):
            found = self._anchor(token_tests) if span[0] >= 1 and other != index else None
            if found is not None and found[1] is not None:
                attr, *values = found[1]
                wanted = tuple(sorted({int(self.vocab.strings.add(v)) for v in values}))
                checks.append((_INDEXABLE[attr], wanted))
        anchor_tests = tests[index]
        flag = None
        if plain is None:
            flag = self._flag([[t for t in anchor_tests if t[1] != "NOT_IN"]])
            if flag is None:
                self.whole_doc = True
                return
        probe = len(self.probes)
        self.probes.append(_Probe(before=before, after=after, member=member, checks=tuple(checks)))
        if plain is not None:
            attr, *values = plain
            hashes = self._value_anchors.setdefault(_INDEXABLE[attr], {})
            for value in values:
                hashes.setdefault(int(self.vocab.strings.add(value)), []).append(probe)
        else:
            assert flag is not None
            self._flag_anchors.setdefault(flag, []).append(probe)

    def __call__(self, doc: Doc, ranges: Sequence[Sequence[int]] | None = None) -> list[tuple[int, int, int]]:
        """Matches as (key, start, end): phrase-expanded ones first, then the Matcher's.

        With ranges, only matches starting inside one of the (start, end) token ranges.
        """
        n = len(doc)
        out: list[tuple[int, int, int]] = []
        if not n:
            return out
        if len(self.phrases):
            if ranges is None:
                out.extend(self.phrases(doc))
            else:
                reach = self.longest_phrase - 1
                for low, high in ranges:
                    out.extend(m for m in self.phrases(doc[low : min(n, high + reach)]) if m[1] < high)
        if not len(self.matcher):
            return out
        if self.whole_doc:
            found = self.matcher(doc)
        else:
            found = []
            for low, high in self._windows(doc, n, ranges):
                found.extend((key, low + start, low + end) for key, start, end in self.matcher(doc[low:high]))
        if ranges is not None:
            found = [m for m in found if any(low <= m[1] < high for low, high in ranges)]
        return out + found

    def _windows(self, doc: Doc, n: int, ranges: Sequence[Sequence[int]] | None) -> list[list[int]]:
        """Merged token windows that hold every match of the Matcher's patterns."""
        columns = self._columns
        values = doc.to_array(cast(Any, columns)).reshape(n, len(columns))
        hits: list[tuple[int, int]] = []  # (anchor token, probe)
        for column, keys in enumerate(self._anchor_keys):
            column_values = values[:, column]
            pos = np.searchsorted(keys, column_values)
            pos[pos >= len(keys)] = 0
            at = np.flatnonzero(keys[pos] == column_values)
            if len(at):
                lookup = self._value_anchors[columns[column]]
                for token, value in zip(at.tolist(), column_values[at].tolist(), strict=True):
                    hits.extend((token, probe) for probe in lookup[value])
        for flag, probes in self._flag_anchors.items():
            for token in np.flatnonzero(values[:, columns.index(flag)]).tolist():
                hits.extend((token, probe) for probe in probes)
        outside: dict[int, list[int]] = {}  # member flag -> tokens that are not members
        present: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}  # check -> running count of its words
        windows: list[tuple[int, int]] = []
        for token, index in hits:
            probe = self.probes[index]
            if probe.before is None or probe.after is None:
                assert probe.member is not None
                if probe.member not in outside:
                    outside[probe.member] = np.flatnonzero(values[:, columns.index(probe.member)] == 0).tolist()
                breaks = outside[probe.member]
            if probe.before is None:
                previous = bisect.bisect_left(breaks, token)
                start = breaks[previous - 1] + 1 if previous else 0
            else:
                start = max(0, token - probe.before)
            if probe.after is None:
                following = bisect.bisect_left(breaks, token + 1)
                end = breaks[following] if following < len(breaks) else n
                end = max(end, token + 1)
            else:
                end = min(n, token + probe.after)
            if ranges is not None and not any(start < high and low < end for low, high in ranges):
                continue
            if all(self._present(present, values, check, start, end) for check in probe.checks):
                windows.append((start, end))
        merged: list[list[int]] = []
        for start, end in sorted(windows):
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return merged

    def _present(
        self,
        cache: dict[tuple[int, tuple[int, ...]], np.ndarray],
        values: np.ndarray,
        check: tuple[int, tuple[int, ...]],
        start: int,
        end: int,
    ) -> bool:
        """Whether a word of the check occurs in [start, end) (running counts, once per Doc)."""
        counts = cache.get(check)
        if counts is None:
            keys = self._check_keys[check[1]]
            column_values = values[:, self._columns.index(check[0])]
            pos = np.searchsorted(keys, column_values)
            pos[pos >= len(keys)] = 0
            counts = cache[check] = np.concatenate(([0], np.cumsum(keys[pos] == column_values)))
        return bool(counts[end] > counts[start])


def _identity(string: str) -> str:
    return string


def _phrase_tokens(nlp: Language, phrase: str) -> Doc:
    return nlp.make_doc(phrase.lower())


@Language.factory("theme_matcher", default_config={"patterns_dir": str(PATTERNS_DIR)})
class ThemeMatcher:
    """Finds theme evidence, then context cues only where the context step needs them.

    1. Theme phrases: one phrase trie on NORM (the lemma); theme token patterns (see
       _TokenPatterns).
    2. Co-occurrence (near) rules: each rule has its own anchor trie, run only on Docs that
       contain the first word of one of its A phrases and of one of its B phrases (one array
       lookup for all rules). Anchor words are everyday words ("mother", "child", "home"), so
       matching every rule's anchors everywhere would cost more than the rest of the tagger;
       a rule that fires has both anchors, so the gate never drops a match.
    3. Context cues, only when a theme matched and only in sentences that contain a theme
       match: the context step resolves sentence by sentence and never reads cues from a
       sentence without a match.

    Output (spans, cues, their order) is the same as one trie over everything gives.
    """

    def __init__(self, nlp: Language, name: str, patterns_dir: str) -> None:
        self.nlp = nlp
        self.name = name
        self.pattern_set = load_pattern_set(Path(patterns_dir))
        vocab = nlp.vocab
        self.phrase_matcher = PhraseMatcher(vocab, attr="NORM")
        lemmatizer = nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.pipe_names else None
        forms = lemmatizer.forms if isinstance(lemmatizer, LowerLookupLemmatizer) else None
        self.matcher = _TokenPatterns(vocab, forms)
        self.cue_phrase_matcher = PhraseMatcher(vocab, attr="NORM")
        self.cue_matcher = _TokenPatterns(vocab, forms)
        # A cue phrase can run past its sentence's end; the cue pass reads that far beyond it.
        self.max_cue_phrase = 1
        self.entries: dict[int, PatternEntry] = {}
        self.labels: dict[int, int] = {}
        self.cues: dict[int, CueEntry] = {}
        # Anchor key -> (near-rule key, side "a" or "b"); near-rule key -> excluded word hashes.
        self.anchors: dict[int, tuple[int, str]] = {}
        self.near_exclude: dict[int, frozenset[int]] = {}
        # Near rules: their own anchor tries, and the gate (first-word hash -> rule sides).
        self.near_rules: list[int] = []
        self.near_matchers: dict[int, PhraseMatcher] = {}
        self._first_words: dict[int, set[int]] = {}  # first-word hash -> {2 * rule index + side}
        self._gate_keys: np.ndarray = np.zeros(0, dtype=np.uint64)
        self._gate_sides: np.ndarray = np.zeros((0, 0), dtype=bool)
        self.version = self.pattern_set.version
        self.themes: dict[str, dict[str, Any]] = dict(self.pattern_set.themes)
        self._contested = self._contested_sequences(self.pattern_set.entries)
        self._add_cues(self.pattern_set.cues)
        self.add_entries(self.pattern_set.entries)
        self._anchor_rank = self._tied_anchor_order(self.pattern_set)

    def _sequence(self, phrase: str) -> tuple[int, ...]:
        return tuple(_phrase_tokens(self.nlp, phrase).to_array(NORM).tolist())

    def _contested_sequences(self, entries: Iterable[PatternEntry]) -> set[tuple[int, ...]]:
        """Lemma sequences shared by two phrases of one theme ("was not told", "were not told").

        Both match the same words, and the one cited as evidence is the one the trie returns
        first, which depends on every key stored at that point of the trie. Cue and anchor
        keys with such a sequence are therefore added to the theme trie too, in their old
        order, and their matches there ignored, so the same phrase is cited as before.
        """
        seen: dict[tuple[str, tuple[int, ...]], int] = {}
        for entry in entries:
            if entry.phrase is not None:
                sequence = (entry.theme, self._sequence(entry.phrase))
                seen[sequence] = seen.get(sequence, 0) + 1
        return {sequence for (_theme, sequence), count in seen.items() if count > 1}

    def _tied_anchor_order(self, pattern_set: PatternSet) -> dict[tuple[tuple[int, ...], int], int]:
        """(lemma sequence, anchor key) -> the key's place among the keys a single trie over
        everything returns for those words, for anchor phrases shared by two near rules of one
        theme.

        Near spans are listed rule by rule in the order of each rule's first anchor match; two
        rules of a theme whose first anchors are the same words come back in trie order, and
        when both rules then produce the same span, the first is cited as evidence.
        """
        owners: dict[tuple[int, ...], set[tuple[str, int]]] = {}
        for entry in pattern_set.entries:
            if entry.near is not None:
                for phrase in entry.near[0] + entry.near[1]:
                    owners.setdefault(self._sequence(phrase), set()).add((entry.theme, self._key(entry.id)))
        tied = set()
        for sequence, rules in owners.items():
            themes = [theme for theme, _rule in rules]
            if len(themes) != len(set(themes)):
                tied.add(sequence)
        if not tied:
            return {}
        oracle = PhraseMatcher(self.nlp.vocab, attr="NORM")
        strings = self.nlp.vocab.strings
        # The single trie's insertion order: cue phrases, then rules in file order.
        keyed: list[tuple[str, str]] = [(_CUE_PREFIX + c.id, c.phrase) for c in pattern_set.cues if c.phrase]
        for entry in pattern_set.entries:
            if entry.near is not None:
                keyed += [(f"near|{entry.id}|a", p) for p in entry.near[0]]
                keyed += [(f"near|{entry.id}|b", p) for p in entry.near[1]]
            elif entry.phrase is not None:
                keyed.append((entry.id, entry.phrase))
        docs: dict[tuple[int, ...], Doc] = {}
        for key, phrase in keyed:
            doc = _phrase_tokens(self.nlp, phrase)
            sequence = tuple(doc.to_array(NORM).tolist())
            if sequence in tied:
                oracle.add(strings[self._key(key)], [doc])
                docs[sequence] = doc
        ranks: dict[tuple[tuple[int, ...], int], int] = {}
        for sequence, doc in docs.items():
            for rank, (match_key, _start, _end) in enumerate(oracle(doc)):
                ranks.setdefault((sequence, int(match_key)), rank)
        return ranks

    def _key(self, rule_id: str) -> int:
        return int(self.nlp.vocab.strings.add(rule_id))

    def add_entries(self, entries: Iterable[PatternEntry]) -> None:
        added_near = False
        for entry in entries:
            key = self._key(entry.id)
            if key in self.entries:
                continue
            self.entries[key] = entry
            self.labels[key] = self._key(entry.theme)
            self.themes.setdefault(entry.theme, {"theme": entry.theme})
            if entry.near is not None:
                self._add_near(key, entry)
                added_near = True
            else:
                self._add(self.phrase_matcher, self.matcher, key, entry.id, entry.phrase, entry.pattern)
        if added_near:
            self._build_gate()

    def _add_near(self, key: int, entry: PatternEntry) -> None:
        assert entry.near is not None
        strings = self.nlp.vocab.strings
        self.near_exclude[key] = frozenset(int(strings.add(w)) for w in entry.near[4])
        index = len(self.near_rules)
        self.near_rules.append(key)
        matcher = self.near_matchers[key] = PhraseMatcher(self.nlp.vocab, attr="NORM")
        for side, phrases in (("a", entry.near[0]), ("b", entry.near[1])):
            anchor = self._key(f"near|{entry.id}|{side}")
            self.anchors[anchor] = (key, side)
            docs = [_phrase_tokens(self.nlp, p) for p in phrases]
            matcher.add(strings[anchor], docs)
            shadow = [doc for doc in docs if tuple(doc.to_array(NORM).tolist()) in self._contested]
            if shadow:
                self.phrase_matcher.add(strings[anchor], shadow)
            for doc in docs:
                if len(doc):
                    self._first_words.setdefault(int(doc[0].norm), set()).add(2 * index + (side == "b"))

    def _build_gate(self) -> None:
        keys = sorted(self._first_words)
        self._gate_keys = np.array(keys, dtype=np.uint64)
        self._gate_sides = np.zeros((len(keys), 2 * len(self.near_rules)), dtype=bool)
        for row, word in enumerate(keys):
            self._gate_sides[row, sorted(self._first_words[word])] = True

    def _add_cues(self, cues: Iterable[CueEntry]) -> None:
        for cue in cues:
            key = self._key(_CUE_PREFIX + cue.id)
            self.cues[key] = cue
            self._add(self.cue_phrase_matcher, self.cue_matcher, key, cue.id, cue.phrase, cue.pattern)
            if cue.phrase is not None and self._sequence(cue.phrase) in self._contested:
                self.phrase_matcher.add(self.nlp.vocab.strings[key], [_phrase_tokens(self.nlp, cue.phrase)])

    def _add(
        self,
        phrases: PhraseMatcher,
        tokens: _TokenPatterns,
        key: int,
        rule_id: str,
        phrase: str | None,
        pattern: tuple[Any, ...] | None,
    ) -> None:
        try:
            if phrase is not None:
                doc = _phrase_tokens(self.nlp, phrase)
                if phrases is self.cue_phrase_matcher:
                    self.max_cue_phrase = max(self.max_cue_phrase, len(doc))
                phrases.add(self.nlp.vocab.strings[key], [doc])
            elif pattern is not None:
                tokens.add(self.nlp.vocab.strings[key], _token_patterns(pattern))
        except (ValueError, KeyError) as exc:
            raise PatternError(f"rule {rule_id!r}: {exc}") from None

    def __call__(self, doc: Doc) -> Doc:
        found = self.phrase_matcher(doc)
        if len(self.matcher):
            found += self.matcher(doc)
        themes: list[Span] = []
        entries, labels = self.entries, self.labels
        for key, start, end in found:
            entry = entries.get(key)
            if entry is not None:
                if entry.exact_case and doc[start:end].text != entry.phrase:
                    continue
                themes.append(Span(doc, start, end, label=labels[key], span_id=key))
        if self.near_rules and len(doc):
            themes.extend(self._near_spans(doc, self._anchor_hits(doc)))
        doc.spans[MATCHES] = themes
        doc.user_data[CUES] = self._cues(doc, themes) if themes else []
        return doc

    def _anchor_hits(self, doc: Doc) -> dict[int, list[tuple[str, int, int]]]:
        """Anchor matches of the near rules whose A and B first words both occur in the Doc."""
        norms = doc.to_array(NORM)
        keys = self._gate_keys
        pos = np.searchsorted(keys, norms)
        pos[pos >= len(keys)] = 0
        rows = pos[keys[pos] == norms]
        anchors: dict[int, list[tuple[str, int, int]]] = {}
        if not len(rows):
            return anchors
        sides = self._gate_sides[rows].any(axis=0)
        anchor_rules, ranks = self.anchors, self._anchor_rank
        firsts: list[tuple[tuple[int, int, int], int, list[tuple[str, int, int]]]] = []
        for index in np.flatnonzero(sides[0::2] & sides[1::2]).tolist():
            rule = self.near_rules[index]
            found = self.near_matchers[rule](doc)
            if not found:
                continue
            _key, start, end = found[0]  # trie order: by start, then shortest
            rank = 0
            if ranks:
                sequence = tuple(norms[start:end].tolist())
                rank = min(ranks.get((sequence, k), 0) for k, s, e in found if s == start and e == end)
            firsts.append(((start, end, rank), rule, [(anchor_rules[k][1], s, e) for k, s, e in found]))
        # Rules in the order of their first anchor match, as one trie over everything gives.
        firsts.sort(key=lambda item: item[0])
        for _first, rule, hits in firsts:
            anchors[rule] = hits
        return anchors

    def _sentence_starts(self, doc: Doc) -> list[int]:
        starts = doc.user_data.get(SENT_STARTS)
        if starts is None:  # a pipeline without the referral senter
            flags = doc.to_array(SENT_START).astype(np.int64)
            starts = [0, *(int(i) for i in np.flatnonzero(flags == 1) if i)]
        return cast(list[int], starts)

    def _cues(self, doc: Doc, themes: list[Span]) -> list[tuple[int, int, int]]:
        """Cues in the sentences holding a theme match, in the order the full pass gives them.

        Sentence of a token = the last start at or before it, as the context step counts.
        """
        n = len(doc)
        starts = self._sentence_starts(doc)
        ranges: list[list[int]] = []
        for sent in sorted({bisect.bisect_right(starts, span.start) - 1 for span in themes}):
            low = starts[sent]
            high = starts[sent + 1] if sent + 1 < len(starts) else n
            if ranges and ranges[-1][1] == low:
                ranges[-1][1] = high
            else:
                ranges.append([low, high])
        cues: list[tuple[int, int, int]] = []
        reach = self.max_cue_phrase - 1
        for low, high in ranges:
            for key, start, end in self.cue_phrase_matcher(doc[low : min(n, high + reach)]):
                if start < high:
                    cues.append((start, end, key))
        cues.extend((start, end, key) for key, start, end in self.cue_matcher(doc, ranges))
        return cues

    def _near_spans(self, doc: Doc, anchors: dict[int, list[tuple[str, int, int]]]) -> list[Span]:
        """One span per pair of A and B anchors close together in the same sentence."""
        spans: list[Span] = []
        starts: list[int] | None = None
        lowers: np.ndarray | None = None
        cores: dict[tuple[int, int, int], tuple[tuple[int, int], ...]] | None = None
        for rule, hits in anchors.items():
            a_hits = [(s, e) for side, s, e in hits if side == "a"]
            if len(a_hits) == len(hits) or not a_hits:
                continue  # one side only: no pair
            b_hits = sorted((s, e) for side, s, e in hits if side == "b")
            entry = self.entries[rule]
            assert entry.near is not None
            window, order, exclude = entry.near[2], entry.near[3], self.near_exclude[rule]
            seen: set[tuple[int, int]] = set()
            b_starts = [b[0] for b in b_hits]
            label = self.labels[rule]
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
                    if starts is None:
                        starts = self._sentence_starts(doc)
                    # No sentence may start inside the pair (after its first token).
                    following = bisect.bisect_right(starts, start)
                    if following < len(starts) and starts[following] < end:
                        continue
                    if exclude:
                        if lowers is None:
                            lowers = doc.to_array(LOWER)
                        if any(int(lowers[i]) in exclude for i in range(min(a_end, b_end), max(a_start, b_start))):
                            continue
                    seen.add((start, end))
                    spans.append(Span(doc, start, end, label=label, span_id=rule))
                    if cores is None:
                        cores = doc.user_data.setdefault(NEAR_CORES, {})
                    # The context step needs the anchors: a "not" between them negates the rule.
                    cores[(start, end, rule)] = ((a_start, a_end), (b_start, b_end))
        return spans


class Cue(NamedTuple):
    start: int
    end: int
    entry: CueEntry


_PRONOUNS = frozenset({"she", "he", "they", "her", "his", "their"})


def _share_themes(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    """Whether two cue scopes overlap (None: every theme)."""
    return a is None or b is None or bool(a & b)


class _SentenceTopic:
    """Carries who a sentence is about into the next one when that one opens with a pronoun.

    "Maternal grandmother has schizophrenia. She was admitted in 2019." and "Mother described
    her own childhood. She had been neglected by her parents." are about someone outside the
    theme. Only a previous sentence whose people are all outside the theme is followed (no
    subject word for it), so "Child X lives with her mother. She drinks" stays asserted.
    """

    _MAX_HOPS = 3
    _TOPIC_REACH = 10

    def __init__(self, doc: Doc, starts: Any, cues_by_sent: dict[int, list[Cue]], matcher: ThemeMatcher) -> None:
        self.doc = doc
        self.starts = starts
        self.cues_by_sent = cues_by_sent
        self.matcher = matcher
        self._looked_up: set[int] = set()
        self._led: dict[int, bool] = {}

    def _cues(self, sent: int) -> list[Cue]:
        """The sentence's cues; the matcher finds cues only in sentences with a theme match,
        so a preceding sentence without one is looked up here, once."""
        if sent in self.cues_by_sent or sent in self._looked_up:
            return self.cues_by_sent.get(sent, [])
        self._looked_up.add(sent)
        phrase_matcher = getattr(self.matcher, "cue_phrase_matcher", None)
        token_matcher = getattr(self.matcher, "cue_matcher", None)
        if phrase_matcher is None or token_matcher is None:
            return []
        low, high = self._bounds(sent)
        reach = int(getattr(self.matcher, "max_cue_phrase", 1)) - 1
        found = [(k, s, e) for k, s, e in phrase_matcher(self.doc[low : min(len(self.doc), high + reach)]) if s < high]
        found += token_matcher(self.doc, [[low, high]])
        entries = self.matcher.cues
        cues = [Cue(int(s), int(e), entries[int(k)]) for k, s, e in found if int(k) in entries]
        self.cues_by_sent[sent] = cues
        return cues

    def _bounds(self, sent: int) -> tuple[int, int]:
        end = int(self.starts[sent + 1]) if sent + 1 < len(self.starts) else len(self.doc)
        return int(self.starts[sent]), end

    def _pronoun_led(self, sent: int) -> bool:
        led = self._led.get(sent)
        if led is None:
            led = False
            start, end = self._bounds(sent)
            for token in self.doc[start:end]:
                if not (token.is_punct or token.is_space or token.is_quote):
                    led = token.lower_ in _PRONOUNS
                    break
            self._led[sent] = led
        return led

    def _people(self, sent: int, theme: str, before: int | None = None) -> tuple[bool, bool]:
        """(someone outside the theme is named, a subject of the theme is named) in a sentence."""
        other = subject = False
        for cue in self._cues(sent):
            entry = cue.entry
            if before is not None and cue.start >= before:
                continue
            if entry.themes is not None and theme not in entry.themes:
                continue
            # Only a person cue with a sentence-long reach names whom the sentence is about.
            other = other or (entry.category == "other_person" and entry.max_tokens >= self._TOPIC_REACH)
            subject = subject or entry.category == "subject"
        return other, subject

    def about_someone_else(self, sent: int, span: Span) -> bool:
        theme = span.label_
        if not self._pronoun_led(sent) or self._people(sent, theme, before=span.start) != (False, False):
            return False
        for _hop in range(self._MAX_HOPS):
            if sent == 0 or not self._pronoun_led(sent):
                return False
            sent -= 1
            other, subject = self._people(sent, theme)
            if subject:
                return False
            if other:
                return True
        return False


@Language.factory("theme_context")
class ThemeContext:
    """ConText-style scope: a cue affects theme matches in its direction until a terminator.

    Scope ends at the sentence boundary, at a terminator ("but", "however", "although", ";"
    ...; a hyphen inside a word is not one) or after the cue's token reach; a reach of
    SENTENCE_WIDE or more covers the sentence ("Glossary:", "Terms of reference"). Cues inside
    any theme's wording ("was not brought", "not given food") never negate; in a co-occurrence
    rule only the anchors are its wording, so a "not" in the gap is a cue. Pseudo-cues ("no
    further action", "could not be ruled out") shadow the cue words they contain.

    Person attribution: an other_person cue ("maternal grandmother", "the 15-year-old", "as a
    child") marks the mention as about someone outside the theme unless a subject word of the
    theme ("mother", "Dad") stands between them; a sentence opening with a pronoun inherits
    that from the sentence before (_SentenceTopic).
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

        start_list = starts.tolist()

        def sentence_of(token: int) -> int:
            return bisect.bisect_right(start_list, token) - 1

        cues_by_sent: dict[int, list[Cue]] = {}
        for cue in cues:
            cues_by_sent.setdefault(sentence_of(cue.start), []).append(cue)
        matches_by_sent: dict[int, list[Span]] = {}
        for span in matches:
            matches_by_sent.setdefault(sentence_of(span.start), []).append(span)
        target = {"asserted": ASSERTED, "negated": NEGATED, "hypothetical": HYPOTHETICAL, "other_person": OTHER_PERSON}
        topic = _SentenceTopic(doc, starts, cues_by_sent, self.matcher)
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
            others = [c for c in active if c.entry.category == "other_person"]
            # "mother" inside "her own mother" names someone else, not the parent (for the same themes).
            subjects = [
                cue
                for cue in sent_cues
                if cue.entry.category == "subject"
                and not any(
                    o.start <= cue.start
                    and cue.end <= o.end
                    and (o.start, o.end) != (cue.start, cue.end)
                    and _share_themes(o.entry.themes, cue.entry.themes)
                    for o in others
                )
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
                if status == "asserted" and topic.about_someone_else(sent, span):
                    status = "other_person"
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
            # A person cue that covers or leads into the theme's words names whose they are ("her
            # own mother" drinks, "Father was | not spoken to"); one inside them does not.
            if any(cue.start < c_end and c_start < cue.end for c_start, c_end in core):
                owner = other and any(
                    cue.start < c_start or (cue.start == c_start and cue.end >= c_end) for c_start, c_end in core
                )
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
                target = min(later)
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
