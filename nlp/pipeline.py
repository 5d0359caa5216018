"""The theme tagger: a spaCy pipeline assembled in code, with rules kept as data files.

Pure Python (no Django), so the command line, the worker and the benchmark share it.
Pipeline: blank English tokenizer -> lower-case lookup lemmatizer (spacy-lookups-data)
-> rule-based sentence boundaries for referral text (bullets, line breaks, no punctuation)
-> theme matcher (phrase and token patterns from ``nlp/patterns/*.jsonl``, co-occurrence rules
and the context cues, in one pass) -> ConText-style context step that marks each match as
asserted, negated, hypothetical or about another person.

Speed (issue #3). Per Doc, Python work per token or per match costs more than the whole
tokenizer, so the tagger does word-level work once per word *type* (tagger_words) and matches
every rule over a whole batch of Docs at once with numpy (tagger_match, tagger_rules); the
context step then reads only the cues near each match (tagger_context). ``ThemeTagger`` drives
the tokenizer and that batch pass directly; ``nlp(text)`` runs the same steps as pipeline
components and leaves the same span groups on the Doc as before.

Everything is loaded once per process (``get_pipeline``); nothing is downloaded.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import spacy
from spacy.attrs import NORM, ORTH, SENT_START
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import load_language_data, registry

from nlp.tagger_context import ASSERTED as _ASSERTED
from nlp.tagger_context import HYPOTHETICAL as _HYPOTHETICAL
from nlp.tagger_context import NEGATED as _NEGATED
from nlp.tagger_context import OTHER_PERSON as _OTHER_PERSON
from nlp.tagger_context import statuses
from nlp.tagger_match import TextDocs, buckets, wrapped_line_break
from nlp.tagger_patterns import (
    CONTEXT_FILE,
    CUE_CATEGORIES,
    DEFAULT_WEIGHT,
    PATTERNS_DIR,
    SENTENCE_WIDE,
    CueEntry,
    PatternEntry,
    PatternError,
    PatternSet,
    _freeze,
    _thaw,
    entries_from_record,
    load_pattern_set,
)
from nlp.tagger_results import ASSERT_THRESHOLD, BatchScores, score_batch
from nlp.tagger_rules import BatchMatches, ThemeRules, ends_sentence, token_patterns_on_norm
from nlp.tagger_words import as_read

__all__ = [
    "CONTEXT_FILE",
    "CUE_CATEGORIES",
    "DEFAULT_WEIGHT",
    "PATTERNS_DIR",
    "SENTENCE_WIDE",
    "CueEntry",
    "Evidence",
    "PatternEntry",
    "PatternError",
    "PatternSet",
    "TagResult",
    "TaggerInputError",
    "ThemeResult",
    "ThemeTagger",
    "_freeze",
    "_thaw",
    "build_pipeline",
    "clean_text",
    "entries_from_record",
    "get_pipeline",
    "get_tagger",
    "load_pattern_set",
    "pipeline_version",
    "result_from_doc",
    "validate_token_pattern",
]

# A referral narrative is far shorter; the cap keeps one bad input from exhausting a worker.
MAX_TEXT_CHARS = 2_000_000
# A batch of the tagger holds up to this many texts or this many characters, whichever comes
# first. The batch pass costs ~1,000 numpy calls whatever its size, so short texts are batched:
# 512 texts tagged 6-7% faster per text than 256 in three interleaved runs (1,024 varied, from
# -10% to +2%: its arrays outgrow the CPU caches); with the tokenizing ahead below, 768 was 1-2%
# faster than 512 and 1,024 slower (bench corpus, two interleaved rounds of five passes each).
# The character budget keeps a batch's arrays to a few MB when texts are long (a 1 MB text is a
# batch of its own, where 256 of them made one batch of 256 MB).
TAG_BATCH_TEXTS = 768
TAG_BATCH_CHARS = 600_000
# Batches whose texts are tokenized back to back (their Docs made and let go one at a time,
# only their token arrays kept: ~16 bytes a token), before the batch passes run one after the
# other: the tokenizer then runs with warm caches instead of after every batch pass. Bench
# corpus, 12 interleaved passes each: 1 batch ahead 259.6 ms minimum / 266.4 ms median per pass,
# 8 batches ahead 254.4 / 261.0 ms (with batches of 512 texts: 276 / 297 against 266 / 279).
TOKENIZE_AHEAD = 8
COMPONENT = "theme_matcher"

# Span groups written on each Doc by the pipeline components.
MATCHES = "theme_matches"
CUES = "context_cues"
ASSERTED = "themes"
NEGATED = "themes_negated"
HYPOTHETICAL = "themes_hypothetical"
OTHER_PERSON = "themes_other_person"
NEAR_CORES = "theme_near_cores"
SENT_STARTS = "sentence_starts"
# The theme matcher's findings, handed to the context step on the same Doc (then removed).
_FOUND = "_theme_matcher_found"
_GROUP_OF = {_ASSERTED: ASSERTED, _NEGATED: NEGATED, _HYPOTHETICAL: HYPOTHETICAL, _OTHER_PERSON: OTHER_PERSON}


class TaggerInputError(ValueError):
    """A text the tagger refuses; the message never quotes the text."""


# --- Components -------------------------------------------------------------------------


class _LemmaOfLower:
    """Lexeme attribute getter: the lookup lemma of the lower-case form (picklable)."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    def __call__(self, string: str) -> str:
        lower = string.lower()
        return self.table.get(lower, lower)


def _upper_case_contractions(rules: dict[str, list[dict[Any, Any]]]) -> dict[str, list[dict[Any, Any]]]:
    """ALL CAPS twins of spaCy's contraction exceptions, which exist only in lower and title case:
    police and ED systems write "DIDN'T ATTEND", which must split like "didn't" ("N'T" is a
    negation cue like "n't")."""
    twins = {}
    for text, tokens in rules.items():
        upper = text.upper()
        pieces = [str(token.get(ORTH, "")) for token in tokens]
        if "'" in text and upper != text and upper not in rules and "".join(pieces) == text:
            twins[upper] = [{**token, ORTH: piece.upper()} for token, piece in zip(tokens, pieces, strict=True)]
    return twins


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
        # A single letter is an abbreviation in this text far more often than a clipped
        # contraction: "M" and "F" are mother and father, but the table reads "m" as "be" (from
        # "I'm"), so a rule about M would match every "was" and "is". Letters stay themselves.
        table = {str(key): str(value).lower() for key, value in raw.items() if len(str(key)) > 1}
        getter = _LemmaOfLower(table)
        self.table = table
        self._reverse: dict[str, list[str]] | None = None
        vocab: Any = nlp.vocab
        vocab.lex_attr_getters[NORM] = getter
        for lexeme in vocab:  # lexemes spaCy created before the getter was installed
            lexeme.norm_ = getter(lexeme.orth_)
        # Tokenizer exceptions set a token-level NORM ("n't" -> "not") that would hide the
        # lexeme's lemma; only their splitting (ORTH) is kept, so every NORM is the lemma.
        tokenizer = cast(Any, nlp.tokenizer)
        rules = {
            text: [{attr: value for attr, value in token.items() if attr not in (NORM, "NORM")} for token in tokens]
            for text, tokens in tokenizer.rules.items()
        }
        tokenizer.rules = {**_upper_case_contractions(rules), **rules}

    def forms(self, lemma: str) -> list[str]:
        """Every lower-case word whose lemma (as this component assigns it) is ``lemma``."""
        if self._reverse is None:  # built on first use: the tagger itself does not need it
            self._reverse = {}
            for word, word_lemma in self.table.items():
                if word == word.lower():
                    self._reverse.setdefault(word_lemma, []).append(word)
        words = list(self._reverse.get(lemma, ()))
        if lemma not in self.table:  # a word missing from the table is its own lemma
            words.append(lemma)
        return words

    def __call__(self, doc: Doc) -> Doc:
        return doc


class _EndsSentence:
    """Lexeme flag getter: sentence-final punctuation, or white space holding a line break."""

    def __call__(self, string: str) -> bool:
        return ends_sentence(string)


@Language.factory("referral_senter")
class ReferralSentenceSplitter:
    """Sentence starts for referral text: after . ! ? and at every line break (notes, bullets)
    except the break of a wrapped line (tagger_match.wrapped_line_break), as the tagger reads it.

    Whether a token ends a sentence depends only on its text, so it is a lexeme flag computed
    once per word type; per Doc it is one array read. Professionals often write notes with no
    full stops at all, where the line is the only boundary. The theme tagger's batch pass
    computes the same starts from its own word table (tagger_match.Batch).
    """

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.flag = int(nlp.vocab.add_flag(_EndsSentence()))

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if not n:
            doc.user_data[SENT_STARTS] = []
            return doc
        ends = np.flatnonzero(doc.to_array(self.flag))
        starts = ends[[not wraps for wraps in self._wrapped(doc, ends.tolist())]] + 1
        starts = starts[starts < n]
        # -1 (as uint64) is how spaCy's arrays encode "not a sentence start".
        flags = np.full(n, -1, dtype=np.int64)
        flags[0] = 1
        flags[starts] = 1
        doc.from_array([SENT_START], cast(Any, flags.view(np.uint64).reshape(-1, 1)))
        doc.user_data[SENT_STARTS] = [0, *starts.tolist()]
        return doc

    @staticmethod
    def _wrapped(doc: Doc, ends: list[int]) -> Iterator[bool]:
        """For each sentence-ending token, in order: is it a line break that only wraps its line
        (tagger_match.wrapped_line_break)?"""
        line_start = 0
        for i in ends:
            token = doc[i]
            if not token.is_space:
                yield False
                continue
            yield 0 < i < len(doc) - 1 and wrapped_line_break(
                token.idx - line_start, doc[i - 1].text, token.text, doc[i + 1].text
            )
            line_start = token.idx + len(token)


@Language.factory("theme_matcher", default_config={"patterns_dir": str(PATTERNS_DIR)})
class ThemeMatcher:
    """Finds theme evidence (phrases, token patterns, co-occurrence rules) and the context
    cues, for every rule at once (see tagger_rules.ThemeRules).

    On a Doc it leaves the theme matches in ``doc.spans[MATCHES]``, the cues of the sentences
    that hold a theme match in ``doc.user_data[CUES]`` as (start, end, cue key), and the
    anchors of co-occurrence matches in ``doc.user_data[NEAR_CORES]``.
    """

    def __init__(self, nlp: Language, name: str, patterns_dir: str) -> None:
        self.nlp = nlp
        self.name = name
        self.pattern_set = load_pattern_set(Path(patterns_dir))
        self.rules = ThemeRules(nlp, self.pattern_set)
        self.version = self.pattern_set.version

    @property
    def themes(self) -> dict[str, dict[str, Any]]:
        return self.rules.themes

    @property
    def entries(self) -> dict[int, PatternEntry]:
        """Theme rules by match key (the string hash of the rule id)."""
        return dict(zip(self.rules.entry_keys, self.rules.entries, strict=True))

    @property
    def cues(self) -> dict[int, CueEntry]:
        """Context cues by match key (the string hash of "cue|" + cue id)."""
        return dict(zip(self.rules.cue_keys, self.rules.cues, strict=True))

    def add_entries(self, entries: Iterable[PatternEntry]) -> None:
        try:
            self.rules.add_entries(entries)
        except (ValueError, KeyError) as exc:
            if isinstance(exc, PatternError):
                raise
            raise PatternError(str(exc)) from None

    def __call__(self, doc: Doc) -> Doc:
        found = self.rules.match([doc], [as_read(doc.text)])
        rules = self.rules
        spans, cores = [], {}
        for start, end, _theme, core, _sentence, _scope, entry in _doc_matches(found, 0):
            key = rules.entry_keys[entry]
            start, end = _doc_span(found, start, end)
            spans.append(Span(doc, start, end, label=rules.entries[entry].theme, span_id=key))
            if len(core) == 2:  # a co-occurrence match: its anchors
                cores[(start, end, key)] = tuple(_doc_span(found, a, b) for a, b in core)
        doc.spans[MATCHES] = spans
        if cores:
            doc.user_data[NEAR_CORES] = cores
        sentences = sorted({found.sentence[i] for i in range(found.doc_first_match[0], found.doc_first_match[1])})
        doc.user_data[CUES] = [
            (*_doc_span(found, start, end), rules.cue_keys[cue])
            for sentence in sentences
            for start, end, cue in found.sentence_cue_rows(sentence, 0)
        ]
        doc.user_data[_FOUND] = found
        return doc


@Language.factory("theme_context")
class ThemeContext:
    """ConText-style scope of the cues over the theme matches (see tagger_context): each
    match goes to one of the span groups ASSERTED, NEGATED, HYPOTHETICAL or OTHER_PERSON."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.name = name
        self.matcher = cast(ThemeMatcher, nlp.get_pipe("theme_matcher"))

    def __call__(self, doc: Doc) -> Doc:
        found = doc.user_data.pop(_FOUND, None)
        if not isinstance(found, BatchMatches):
            found = self.matcher.rules.match([doc], [as_read(doc.text)])
        groups: dict[str, list[Span]] = {ASSERTED: [], NEGATED: [], HYPOTHETICAL: [], OTHER_PERSON: []}
        rules = self.matcher.rules
        for match, status in zip(_doc_matches(found, 0), _doc_statuses(found, 0), strict=True):
            (start, end), entry = _doc_span(found, match[0], match[1]), match[6]
            groups[_GROUP_OF[status]].append(
                Span(doc, start, end, label=rules.entries[entry].theme, span_id=rules.entry_keys[entry])
            )
        for group_name, spans in groups.items():
            doc.spans[group_name] = SpanGroup(doc, name=group_name, spans=spans)
        return doc


# (start, end, theme, core parts, sentence, scope status, entry) per match, Doc-local.
_Match = tuple[int, int, str, tuple[tuple[int, int], ...], int, int, int]


def _doc_matches(found: BatchMatches, doc: int) -> list[_Match]:
    base = int(found.batch.offset[doc])
    entries = found.rules.entries
    out: list[_Match] = []
    for i in range(found.doc_first_match[doc], found.doc_first_match[doc + 1]):
        start, end = found.start[i] - base, found.end[i] - base
        a_start, a_end, b_start, b_end = found.core[i]
        if a_start >= 0:
            core: tuple[tuple[int, int], ...] = ((a_start - base, a_end - base), (b_start - base, b_end - base))
        else:
            core = ((start, end),)
        entry = found.entry[i]
        out.append((start, end, entries[entry].theme, core, found.sentence[i], found.scope[i], entry))
    return out


def _doc_span(found: BatchMatches, start: int, end: int) -> tuple[int, int]:
    """The token span on the (only) Doc of a one-Doc batch of a Doc-local match [start, end)
    (they differ where the batch read past white space)."""
    base = int(found.batch.offset[0])
    token_start, token_end = found.batch.doc_tokens(0, base + start, base + end)
    return int(token_start), int(token_end)


def _doc_statuses(found: BatchMatches, doc: int, matches: list[_Match] | None = None) -> list[str]:
    if matches is None:
        matches = _doc_matches(found, doc)
    return statuses(found, doc, [m[:6] for m in matches])


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


def _token_patterns(entry_pattern: tuple[Any, ...]) -> list[list[dict[str, Any]]]:
    """The rule's token pattern as the matcher runs it (LEMMA read from NORM)."""
    return [token_patterns_on_norm(entry_pattern)]


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


# One piece of evidence before it becomes an Evidence: (start token, end token, rule key,
# whatever the evidence maker needs).
_Hit = tuple[int, int, int, Any]


def _independent(spans: list[_Hit], weights: dict[int, float]) -> list[tuple[_Hit, float]]:
    """Overlapping matches of one theme count once: keep the strongest, then the longest.

    Works cluster by cluster of overlapping spans, so it stays linear for long texts.
    """
    taken: list[tuple[_Hit, float]] = []
    ordered = sorted(spans, key=lambda s: (s[0], s[1]))
    index = 0
    while index < len(ordered):
        cluster = [ordered[index]]
        cluster_end = ordered[index][1]
        index += 1
        while index < len(ordered) and ordered[index][0] < cluster_end:
            cluster.append(ordered[index])
            cluster_end = max(cluster_end, ordered[index][1])
            index += 1
        if len(cluster) == 1:
            taken.append((cluster[0], weights[cluster[0][2]]))
            continue
        used: list[tuple[int, int]] = []
        for span in sorted(cluster, key=lambda s: (-weights[s[2]], -(s[1] - s[0]), s[0])):
            if any(span[0] < e and s < span[1] for s, e in used):
                continue
            used.append((span[0], span[1]))
            taken.append((span, weights[span[2]]))
    return sorted(taken, key=lambda item: item[0][0])


def _tag_result(
    grouped: dict[str, list[tuple[str, _Hit]]],
    *,
    weights: dict[int, float],
    evidence: Any,
    active_codes: frozenset[str] | None,
    ignore_context: bool,
) -> TagResult:
    """Score the matches of each group (as (theme, hit), in group order) into a TagResult.

    ``evidence(hit, weight)`` makes the Evidence of one hit. ignore_context treats every
    match as asserted: the "rules without context" ablation.
    """
    result = TagResult()
    by_theme: dict[str, list[_Hit]] = {}
    for group in (ASSERTED, NEGATED, HYPOTHETICAL, OTHER_PERSON) if ignore_context else (ASSERTED,):
        for code, hit in grouped[group]:
            by_theme.setdefault(code, []).append(hit)
    asserted: set[str] = set()
    for code in sorted(by_theme):
        if active_codes is not None and code not in active_codes:
            continue
        spans = _independent(by_theme[code], weights)
        # Noisy-OR over distinct rules: a weak word repeated ("argument", "argument") is one
        # piece of evidence, while two different weak cues together can assert the theme.
        strongest: dict[int, float] = {}
        for span, weight in spans:
            strongest[span[2]] = max(weight, strongest.get(span[2], 0.0))
        miss = 1.0
        for weight in strongest.values():
            miss *= 1.0 - weight
        score = round(1.0 - miss, 3)
        if score >= ASSERT_THRESHOLD:
            asserted.add(code)
            result.themes.append(ThemeResult(code, score, [evidence(s, w) for s, w in spans]))
    result.themes.sort(key=lambda t: (-t.score, t.code))
    for group, target in (
        (NEGATED, result.negated),
        (HYPOTHETICAL, result.hypothetical),
        (OTHER_PERSON, result.other_person),
    ):
        for code, hit in grouped[group]:
            if code in asserted or (active_codes is not None and code not in active_codes):
                continue
            target.setdefault(code, []).append(evidence(hit, weights[hit[2]]))
    return result


def result_from_doc(
    doc: Doc,
    *,
    weights: dict[int, float],
    active_codes: frozenset[str] | None = None,
    ignore_context: bool = False,
) -> TagResult:
    """Turn the context-marked matches of one Doc (its span groups) into a TagResult.

    ignore_context treats every match as asserted: the "rules without context" ablation.
    """
    if not len(doc):
        return TagResult()
    strings = doc.vocab.strings
    grouped = {
        group: [(span.label_, (span.start, span.end, span.id, None)) for span in doc.spans[group]]
        for group in (ASSERTED, NEGATED, HYPOTHETICAL, OTHER_PERSON)
    }

    def evidence(hit: _Hit, weight: float) -> Evidence:
        span = doc[hit[0] : hit[1]]
        return Evidence(span.start_char, span.end_char, span.text, strings[hit[2]], weight)

    return _tag_result(
        grouped, weights=weights, evidence=evidence, active_codes=active_codes, ignore_context=ignore_context
    )


def _batches(texts: Iterable[str], max_texts: int, max_chars: int) -> Iterator[list[str]]:
    """Consecutive batches of at most ``max_texts`` texts and ``max_chars`` characters (a longer
    text is a batch of its own)."""
    batch: list[str] = []
    chars = 0
    for text in texts:
        if batch and (len(batch) >= max_texts or chars + len(text) > max_chars):
            yield batch
            batch, chars = [], 0
        batch.append(text)
        chars += len(text)
    if batch:
        yield batch


class ThemeTagger:
    """Runs the pipeline over texts and returns TagResults (optionally limited to active themes)."""

    def __init__(
        self, nlp: Language | None = None, *, active_codes: Iterable[str] | None = None, ignore_context: bool = False
    ) -> None:
        self.nlp = nlp if nlp is not None else get_pipeline()
        self.ignore_context = ignore_context
        matcher = cast(ThemeMatcher, self.nlp.get_pipe("theme_matcher"))
        self.rules = matcher.rules
        self.weights = {key: e.weight for key, e in matcher.entries.items()}
        self.active_codes = frozenset(active_codes) if active_codes is not None else None
        self.version = pipeline_version(self.nlp)
        self.theme_codes = frozenset(matcher.themes)

    def tag(self, text: Any) -> TagResult:
        return next(self.tag_many([clean_text(text)], batch_size=1))

    def tag_many(
        self, texts: Iterable[str], *, batch_size: int = TAG_BATCH_TEXTS, batch_chars: int = TAG_BATCH_CHARS
    ) -> Iterator[TagResult]:
        """Texts must already be clean (see clean_text); results come back in input order.

        The tokenizer and the batch pass of ThemeRules run directly, not through nlp.pipe:
        the result is the same as the pipeline components give, without building Span
        objects and span groups for every Doc. A batch holds up to ``batch_size`` texts or
        ``batch_chars`` characters (at least one text); results do not depend on the batching.
        """
        make_doc = self.nlp.make_doc
        batches = _batches(texts, max(1, batch_size), batch_chars)
        while group := list(itertools.islice(batches, TOKENIZE_AHEAD)):
            # The Docs of a few batches are made back to back (each let go as soon as its two
            # arrays are read): the tokenizer runs with its caches warm, not once after every
            # batch pass has filled them with arrays.
            laid: list[list[np.ndarray] | None] = [TextDocs(chunk, make_doc).arrays() for chunk in group]
            for index, chunk in enumerate(group):
                arrays, laid[index] = laid[index], None
                # The texts are given as the word table reads words (a curly apostrophe as "'",
                # the same length): the rules compare them with exact-case phrases.
                read = [as_read(text) for text in chunk]
                found = self.rules.match(TextDocs(chunk, make_doc, arrays), read)
                yield from self._tagged(found, chunk)

    def _tagged(self, found: BatchMatches, chunk: list[str]) -> Iterator[TagResult]:
        """The results of one batch, in order."""
        status = self._statuses(found)
        if self.ignore_context:
            for doc, text in enumerate(chunk):
                yield self._result_without_context(found, doc, text, status)
            return
        yield from _results(found, score_batch(found, status, self._active_mask()), chunk)

    def _active_mask(self) -> np.ndarray:
        names = self.rules.theme_index
        mask = np.ones(len(names), dtype=bool)
        if self.active_codes is not None:
            for name, index in names.items():
                mask[index] = name in self.active_codes
        return mask

    @staticmethod
    def _statuses(found: BatchMatches) -> np.ndarray:
        """Status code per match of the batch (0 asserted, 1 negated, 2 hypothetical, 3 other
        person), with the cases the batch pass left open resolved by the context step."""
        status = found.scope_array.copy()
        if len(status) and status.min() < 0:
            for doc in np.unique(found.batch.doc_index[found.start_array[status < 0]]).tolist():
                low, high = found.doc_first_match[doc], found.doc_first_match[doc + 1]
                status[low:high] = [_STATUS_CODE[s] for s in _doc_statuses(found, doc)]
        return status

    def _result_without_context(self, found: BatchMatches, doc: int, text: str, statuses: np.ndarray) -> TagResult:
        """The "rules without context" ablation: every match counts as asserted."""
        rules = self.rules
        low, high = found.doc_first_match[doc], found.doc_first_match[doc + 1]
        grouped: dict[str, list[tuple[str, _Hit]]] = {ASSERTED: [], NEGATED: [], HYPOTHETICAL: [], OTHER_PERSON: []}
        for i, code in enumerate(statuses[low:high].tolist(), start=low):
            entry = found.entry[i]
            grouped[_GROUPS[code]].append((rules.entry_theme_code[entry], (found.start[i], found.end[i], entry, i)))
        make = _EvidenceMaker(found, text, rules)
        weights = dict(enumerate(rules.entry_weight))

        def evidence(hit: _Hit, _weight: float) -> Evidence:
            return make(hit[3])

        return _tag_result(
            grouped, weights=weights, evidence=evidence, active_codes=self.active_codes, ignore_context=True
        )


def _results(found: BatchMatches, scores: BatchScores, texts: list[str]) -> Iterator[TagResult]:
    """The TagResult of every Doc of a batch, in order, from its scores. Made one at a time:
    a consumer that handles each before asking for the next keeps few objects alive (fewer
    for the garbage collector to walk).

    What each piece of evidence cites (character offsets, rule id, weight) is gathered for
    the whole batch at once with numpy, in the order the results cite it; per Doc, only the
    objects are made. Evidence, a frozen dataclass, is filled through its ``__dict__``: for
    thousands per batch that costs a third of calling its ``__init__``.
    """
    rules, batch = found.rules, found.batch
    cited = scores.evidence
    start = found.start_array[cited]
    low_char, high_char = batch.char_span(start, found.end_array[cited], rules.words)
    entry = found.entry_array[cited]
    lows, highs = low_char.tolist(), high_char.tolist()
    patterns = rules.entry_pattern_objects[entry].tolist()
    weights = rules.entry_weight_objects[entry].tolist()
    theme_doc, theme_code, theme_score, theme_first = (
        scores.theme_doc,
        scores.theme_code,
        scores.theme_score,
        scores.theme_first,
    )
    mention_doc, mention_status, mention_code = scores.mention_doc, scores.mention_status, scores.mention_code
    n_themes, n_mentions = len(theme_doc), len(mention_doc)
    # Evidence of mention m is cited[mention_base + m].
    mention_base = theme_first[-1]
    # Where each Doc's themes and mentions start (both lists are in Doc order).
    no_runs = [0] * (batch.n_docs + 1)
    doc_themes = buckets(np.array(theme_doc, dtype=np.int64), batch.n_docs).tolist() if n_themes else no_runs
    doc_mentions = buckets(np.array(mention_doc, dtype=np.int64), batch.n_docs).tolist() if n_mentions else no_runs
    component = COMPONENT
    new = _new

    # The objects are made inline (no call per object): Evidence, ThemeResult and TagResult
    # are filled through their ``__dict__`` in field order, as their ``__init__`` would.
    for text, t_low, t_high, m_low, m_high in zip(
        texts, doc_themes, doc_themes[1:], doc_mentions, doc_mentions[1:], strict=False
    ):
        themes: list[ThemeResult] = []
        negated: dict[str, list[Evidence]] = {}
        hypothetical: dict[str, list[Evidence]] = {}
        other_person: dict[str, list[Evidence]] = {}
        if t_low < t_high:
            # The evidence of a Doc's themes is one run of the cited list, theme after theme.
            e_low, e_high = theme_first[t_low], theme_first[t_high]
            made: list[Evidence] = []
            for low, high, pattern, weight in zip(
                lows[e_low:e_high], highs[e_low:e_high], patterns[e_low:e_high], weights[e_low:e_high], strict=True
            ):
                evidence: Evidence = new(Evidence)
                fields = evidence.__dict__
                fields["start"] = low
                fields["end"] = high
                fields["text"] = text[low:high]
                fields["pattern"] = pattern
                fields["weight"] = weight
                fields["component"] = component
                made.append(evidence)
            for t in range(t_low, t_high):
                theme: ThemeResult = new(ThemeResult)
                fields = theme.__dict__
                fields["code"] = theme_code[t]
                fields["score"] = theme_score[t]
                fields["evidence"] = made[theme_first[t] - e_low : theme_first[t + 1] - e_low]
                themes.append(theme)
        if m_low < m_high:
            groups = (negated, hypothetical, other_person)
            for m in range(m_low, m_high):
                i = mention_base + m
                evidence = new(Evidence)
                fields = evidence.__dict__
                fields["start"] = low = lows[i]
                fields["end"] = high = highs[i]
                fields["text"] = text[low:high]
                fields["pattern"] = patterns[i]
                fields["weight"] = weights[i]
                fields["component"] = component
                target = groups[mention_status[m] - 1]
                code = mention_code[m]
                if code in target:
                    target[code].append(evidence)
                else:
                    target[code] = [evidence]
        result: TagResult = new(TagResult)
        fields = result.__dict__
        fields["themes"] = themes
        fields["negated"] = negated
        fields["hypothetical"] = hypothetical
        fields["other_person"] = other_person
        yield result


_STATUS_CODE = {_ASSERTED: 0, _NEGATED: 1, _HYPOTHETICAL: 2, _OTHER_PERSON: 3}
_GROUPS = (ASSERTED, NEGATED, HYPOTHETICAL, OTHER_PERSON)
_new = object.__new__


class _EvidenceMaker:
    """Evidence for match i of a batch, from the batch's character offsets."""

    def __init__(self, found: BatchMatches, text: str, rules: ThemeRules) -> None:
        self.start_char, self.end_char = found.char_spans
        self.entry = found.entry
        self.text = text
        self.pattern, self.weight = rules.entry_pattern, rules.entry_weight

    def __call__(self, i: int) -> Evidence:
        return self.make(i, self.text)

    def make(self, i: int, text: str) -> Evidence:
        start, end, entry = self.start_char[i], self.end_char[i], self.entry[i]
        # Evidence is a frozen dataclass; filling its __dict__ directly gives the same object
        # at a third of the cost of its __init__ (thousands are made per batch).
        evidence: Evidence = _new(Evidence)
        fields = evidence.__dict__
        fields["start"] = start
        fields["end"] = end
        fields["text"] = text[start:end]
        fields["pattern"] = self.pattern[entry]
        fields["weight"] = self.weight[entry]
        fields["component"] = COMPONENT
        return evidence


@functools.lru_cache(maxsize=1)
def get_tagger() -> ThemeTagger:
    """The default tagger (shipped patterns, every theme), for code without a database."""
    return ThemeTagger()
