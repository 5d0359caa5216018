"""The theme rules compiled for batch matching, and what they find in a batch of Docs.

ThemeRules holds every rule of a pattern set (theme phrases and token patterns, the
co-occurrence rules, the context cues) in the structures of tagger_match, and ``match``
returns, for a batch of Docs, a BatchMatches: the theme matches in the order the results
rely on, the context cues, and each match's status under the context step's rules
(tagger_context), computed for all (match, cue) pairs of the batch at once.

Order. Where two rules of one theme match the same words, the one cited as evidence is the
first in the order spaCy's matchers gave when the tagger ran them one by one: theme phrases
(in the order of their PhraseMatcher's trie, which depends on every key stored at that point
of it), then token patterns, then co-occurrence rules (by each rule's first anchor match).
That order is kept: for each phrase with several keys, a small PhraseMatcher holding exactly
the keys the old trie held there, added in the same order, is asked once at build time, and
matches are sorted by that rank.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from spacy.attrs import IS_PUNCT, IS_QUOTE, IS_SPACE, NORM
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from nlp.tagger_context import CONCLUSIVE, PASSAGE_WIDE, WEAK_WEIGHT
from nlp.tagger_context import TOPIC_HOPS as _TOPIC_HOPS
from nlp.tagger_context import TOPIC_REACH as _TOPIC_REACH
from nlp.tagger_match import (
    ANCHOR,
    DASH,
    ENDS_SENTENCE,
    LINE_BREAK,
    LOWER_START,
    PRONOUN,
    SKIPPED,
    SPACE,
    Batch,
    FallbackMatchers,
    IntMap,
    PhraseTrie,
    Postings,
    TokenPattern,
    TokenPatternSet,
    WordTestSet,
    buckets,
    compile_token_pattern,
    ends_sentence,
    flag_getters,
    lexsort,
    run_pairs,
    window_pairs,
)
from nlp.tagger_patterns import SENTENCE_WIDE, CueEntry, PatternEntry, PatternError, PatternSet, _thaw
from nlp.tagger_spelling import Spelling, read_common_words
from nlp.tagger_words import WordTypes

CUE_PREFIX = "cue|"
# The version of the context step's rules (tagger_context and BatchMatches). It is also the
# "context_rules" field of the meta line of patterns/_context.jsonl (a test checks they are
# equal), and that file's bytes are in the pattern set's version hash, hence in the tagger
# version: bump both when the context code changes what it decides.
CONTEXT_RULES = 3
_PLAIN_WORD = re.compile("[a-z]+")
_SEPARATOR_WORD = "\uffff"
# The longest anchor phrase the pairing of a near rule looks back over (as before: anchors
# are short phrases).
MAX_ANCHOR_TOKENS = 12
DASHES = frozenset({"-", "\u2013", "\u2014"})
PRONOUNS = frozenset({"she", "he", "they", "her", "his", "their"})
# Cue categories as numbers: the three that change a status first, in priority order.
_CATEGORY = {"negated": 1, "hypothetical": 2, "other_person": 3, "pseudo": 4, "terminate": 5, "subject": 6}
_NEGATED, _HYPOTHETICAL, _OTHER, _PSEUDO, _TERMINATE, _SUBJECT = 1, 2, 3, 4, 5, 6
# A cue's rank is its priority * 1000 + its distance; the ranks order cues exactly only when
# no reach reaches 1000 tokens.
_RANK_STEP = 1000
# Word flag bits from here on mark the near rules' exclude lists (see tagger_match for the others).
_EXCLUDE_BIT = 8
# Largest table (sentences x rules) the pairing of near anchors allocates to keep only the
# anchors whose rule has an anchor of the other side in their sentence.
_MAX_BUCKETS = 1 << 22

# Sources of theme matches, in the order spaCy-based matching listed them.
_PHRASE, _TOKEN, _NEAR = 0, 1, 2


def token_patterns_on_norm(entry_pattern: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The pattern with LEMMA read from NORM: this pipeline keeps the lookup lemma in NORM."""
    return [
        {"NORM" if str(attr).upper() == "LEMMA" else attr: value for attr, value in token.items()}
        for token in _thaw(entry_pattern)
    ]


@dataclass(frozen=True)
class NearRule:
    entry: int
    window: int
    any_order: bool
    exclude_words: frozenset[str]  # lower-case words that must not stand between the anchors


class _LowerIn:
    """Word flag: the lower-case word is in a set (picklable)."""

    def __init__(self, words: frozenset[str]) -> None:
        self.words = words

    def __call__(self, text: str) -> bool:
        return text.lower() in self.words


class _Flags:
    """The word flags the tagger reads (picklable)."""

    def __init__(self, vocab: Any) -> None:
        getters = vocab.lex_attr_getters
        self.skips = [getters[attr] for attr in (IS_PUNCT, IS_SPACE, IS_QUOTE) if attr in getters]

    def tests(self) -> list[Any]:
        """One test per flag bit below _EXCLUDE_BIT (None: the bit is set otherwise, ANCHOR)."""
        return [ends_sentence, self.skipped, _pronoun, _dash, None, _space, _line_break, _lower_start]

    def skipped(self, text: str) -> bool:
        return any(bool(getter(text)) for getter in self.skips)


def _pronoun(text: str) -> bool:
    return text.lower() in PRONOUNS


def _dash(text: str) -> bool:
    return text in DASHES


def _space(text: str) -> bool:
    return text.isspace() and "\n" not in text and "\r" not in text


def _line_break(text: str) -> bool:
    return text.isspace() and "\n" in text


def _lower_start(text: str) -> bool:
    return text[:1].islower()


assert [1 << i for i in range(8)] == [ENDS_SENTENCE, SKIPPED, PRONOUN, DASH, ANCHOR, SPACE, LINE_BREAK, LOWER_START]


class ThemeRules:
    """Every rule of a pattern set, ready to match batches of Docs."""

    def __init__(self, nlp: Language, pattern_set: PatternSet) -> None:
        self.nlp = nlp
        vocab: Any = nlp.vocab
        self.strings = vocab.strings
        norm_getter = vocab.lex_attr_getters.get(NORM, str.lower)
        self._norm_of = norm_getter
        self.words = WordTypes(vocab, norm_getter)
        self.tests = WordTestSet(flag_getters(vocab))
        self._flags = _Flags(vocab)
        self.trie = PhraseTrie()
        self._norm_ids: dict[str, int] = {}
        self._known_words: frozenset[str] | None = None
        self._norm_hashes: list[int] = [0]  # norm id -> string hash of the norm
        self._texts: dict[tuple[int, ...], list[str]] = {}  # sequence -> the words of a phrase
        self._sequences: dict[str, tuple[int, ...]] = {}
        self.version = pattern_set.version
        self.themes: dict[str, dict[str, Any]] = dict(pattern_set.themes)
        self.theme_index: dict[str, int] = {}
        # Theme rules: entry index -> entry, key (string hash of its id), theme index.
        self.entries: list[PatternEntry] = []
        self.entry_keys: list[int] = []
        self._entry_of_key: dict[int, int] = {}
        self.cues: list[CueEntry] = []
        self.cue_keys: list[int] = []
        self._cue_of_key: dict[int, int] = {}
        self.near: list[NearRule] = []
        self._near_of_entry: dict[int, int] = {}
        self.patterns: list[TokenPattern] = []
        self._pattern_is_cue: list[bool] = []
        self._fallback = FallbackMatchers(vocab)
        # Trie node -> theme entries / cues / near anchors (2 * rule + side) ending there.
        self._theme_at: dict[int, list[int]] = {}
        self._cue_at: dict[int, list[int]] = {}
        self._subject_at: dict[int, list[int]] = {}
        self._anchor_at: dict[int, list[int]] = {}
        self.max_cue_phrase = 1
        # The order of keys the former theme trie held for each phrase (see module doc).
        self._trie_keys: dict[tuple[int, ...], list[tuple[str, str]]] = {}
        self._phrase_rank: dict[int, int] = {}
        self._prepare(pattern_set)
        self._contested = self._contested_sequences(pattern_set.entries)
        self._ready = False  # compile once, after every rule of the pattern set is in
        self._add_cues(pattern_set.cues)
        self.add_entries(pattern_set.entries)
        self._anchor_rank = self._tied_anchor_order(pattern_set)
        self._tied_rank = self._tied_ranks()
        self._ready = True
        self._compile()

    # --- Building ---------------------------------------------------------------------

    def _spelling(self) -> Spelling | None:
        """Slip tolerance for the rules' words (tagger_spelling), from the lemma table's forms."""
        lemmatizer: Any = self.nlp.get_pipe("lemmatizer") if "lemmatizer" in self.nlp.pipe_names else None
        if lemmatizer is None or not hasattr(lemmatizer, "forms"):
            return None
        if self._known_words is None:
            common = read_common_words()
            if not common:  # without the list every rare real word would be "corrected"
                return None
            table = lemmatizer.table
            self._known_words = frozenset(table) | frozenset(table.values()) | common
        norms = [norm for norm in self._norm_ids if norm.isalpha()]
        return Spelling.build(((norm, lemmatizer.forms(norm)) for norm in norms), self._known_words)

    def _prepare(self, pattern_set: PatternSet) -> None:
        """Tokenize every phrase once, in one pass."""
        phrases: list[str] = [c.phrase for c in pattern_set.cues if c.phrase is not None]
        for entry in pattern_set.entries:
            if entry.phrase is not None:
                phrases.append(entry.phrase)
            if entry.near is not None:
                phrases.extend(entry.near[0] + entry.near[1])
        self._tokenize(phrases)

    def _tokenize(self, phrases: Iterable[str]) -> None:
        todo = list(dict.fromkeys(p.lower() for p in phrases if p.lower() not in self._sequences))
        tokenizer: Any = self.nlp.tokenizer
        special = tokenizer.rules or {}
        norm_of, strings = self._norm_of, self.strings
        rest = []
        for lowered in todo:
            words = lowered.split(" ")
            # Lower-case letters only, one space apart, no tokenizer exception: the tokenizer
            # would give these words as they are (building thousands of Docs is slow).
            if all(_PLAIN_WORD.fullmatch(w) and w not in special for w in words):
                norms = [norm_of(w) for w in words]
                sequence = tuple(self._norm_id(n, int(strings.add(n))) for n in norms)
                self._sequences[lowered] = sequence
                self._texts.setdefault(sequence, words)
            else:
                rest.append(lowered)
        for lowered, doc in zip(rest, tokenizer.pipe(rest), strict=True):
            sequence = tuple(self._norm_id(token.norm_, token.norm) for token in doc)
            self._sequences[lowered] = sequence
            self._texts.setdefault(sequence, [token.text for token in doc])

    def _norm_id(self, norm: str, norm_hash: int) -> int:
        found = self._norm_ids.get(norm)
        if found is None:
            found = self._norm_ids[norm] = len(self._norm_ids) + 1
            self._norm_hashes.append(norm_hash)
        return found

    def _keyword(self, sequence: tuple[int, ...]) -> list[int]:
        """The NORM hashes of a sequence: a phrase as PhraseMatcher.add takes it without a Doc."""
        return [self._norm_hashes[word] for word in sequence]

    def sequence(self, phrase: str) -> tuple[int, ...]:
        """The phrase as NORM (lemma) ids, as a PhraseMatcher on NORM sees it."""
        lowered = phrase.lower()
        if lowered not in self._sequences:
            self._tokenize([lowered])
        return self._sequences[lowered]

    def _key(self, rule_id: str) -> int:
        return int(self.strings.add(rule_id))

    def _contested_sequences(self, entries: Iterable[PatternEntry]) -> set[tuple[int, ...]]:
        """Lemma sequences shared by two phrases of one theme ("was not told", "were not told")."""
        seen: dict[tuple[str, tuple[int, ...]], int] = {}
        for entry in entries:
            if entry.phrase is not None:
                sequence = (entry.theme, self.sequence(entry.phrase))
                seen[sequence] = seen.get(sequence, 0) + 1
        return {sequence for (_theme, sequence), count in seen.items() if count > 1}

    def _theme_index(self, theme: str) -> int:
        found = self.theme_index.get(theme)
        if found is None:
            found = self.theme_index[theme] = len(self.theme_index)
        return found

    def _add_cues(self, cues: Iterable[CueEntry]) -> None:
        for cue in cues:
            key = self._key(CUE_PREFIX + cue.id)
            index = self._cue_of_key.get(key)
            if index is None:
                index = self._cue_of_key[key] = len(self.cues)
                self.cues.append(cue)
                self.cue_keys.append(key)
            else:
                self.cues[index] = cue  # a repeated id: the last definition wins, as before
            if cue.phrase is not None:
                sequence = self.sequence(cue.phrase)
                if sequence:
                    self.max_cue_phrase = max(self.max_cue_phrase, len(sequence))
                    # Subject words ("mother", "the parents") are many and rarely read: kept apart.
                    table = self._subject_at if cue.category == "subject" else self._cue_at
                    _append_new(table.setdefault(self.trie.add(sequence), []), index)
                    if sequence in self._contested:
                        self._trie_keys.setdefault(sequence, []).append((CUE_PREFIX + cue.id, cue.phrase))
            elif cue.pattern is not None:
                self._add_pattern(key, index, cue.id, cue.pattern, is_cue=True)
        if self._ready:
            self._compile()

    def add_entries(self, entries: Iterable[PatternEntry]) -> None:
        """Theme rules, in order; a rule whose id is already known is skipped."""
        entries = list(entries)
        self._tokenize(p for e in entries if e.phrase is not None for p in [e.phrase])
        for entry in entries:
            key = self._key(entry.id)
            if key in self._entry_of_key:
                continue
            index = self._entry_of_key[key] = len(self.entries)
            self.entries.append(entry)
            self.entry_keys.append(key)
            self._theme_index(entry.theme)
            self.themes.setdefault(entry.theme, {"theme": entry.theme})
            if entry.near is not None:
                self._add_near(index, entry)
            elif entry.phrase is not None:
                sequence = self.sequence(entry.phrase)
                if sequence:
                    self._theme_at.setdefault(self.trie.add(sequence), []).append(index)
                    self._trie_keys.setdefault(sequence, []).append((entry.id, entry.phrase))
            elif entry.pattern is not None:
                self._add_pattern(key, index, entry.id, entry.pattern, is_cue=False)
        if self._ready:
            self._compile()

    def _add_near(self, index: int, entry: PatternEntry) -> None:
        assert entry.near is not None
        a_side, b_side, window, order, exclude = entry.near
        rule = len(self.near)
        self._near_of_entry[index] = rule
        self.near.append(NearRule(index, window, order == "any", frozenset(exclude)))
        for side, phrases in ((0, a_side), (1, b_side)):
            anchor_id = f"near|{entry.id}|{'ab'[side]}"
            for phrase in phrases:
                sequence = self.sequence(phrase)
                if not sequence:
                    continue
                # One hit per rule side, as one PhraseMatcher key per side gave.
                _append_new(self._anchor_at.setdefault(self.trie.add(sequence), []), 2 * rule + side)
                if sequence in self._contested:
                    self._trie_keys.setdefault(sequence, []).append((anchor_id, phrase))

    def _add_pattern(self, key: int, owner: int, rule_id: str, pattern: tuple[Any, ...], *, is_cue: bool) -> None:
        tokens = token_patterns_on_norm(pattern)
        try:
            Matcher(self.nlp.vocab, validate=True).add("check", [tokens])  # spaCy's checks and messages
        except (ValueError, KeyError) as exc:
            raise PatternError(f"rule {rule_id!r}: {exc}") from None
        compiled = compile_token_pattern(self.tests, tokens)
        self.patterns.append(TokenPattern(key=key, owner=owner, tokens=compiled, pattern=tokens))
        self._pattern_is_cue.append(is_cue)

    def _compile(self) -> None:
        n_nodes = len(self.trie)
        terminal = np.zeros(n_nodes, dtype=bool)
        for table in (self._theme_at, self._cue_at, self._subject_at, self._anchor_at):
            terminal[list(table)] = True
        self.trie.compile(len(self._norm_ids), terminal)
        self._theme_post = Postings(n_nodes, self._theme_at)
        self._cue_post = Postings(n_nodes, self._cue_at)
        self.subject_post = Postings(n_nodes, self._subject_at)
        self._anchor_post = Postings(n_nodes, self._anchor_at)
        for pattern in self.patterns:
            pattern.anchor(self.tests)
        self._token_patterns = TokenPatternSet(self.patterns, self.tests, self._fallback)
        # Each distinct exclude list of the near rules is a word flag (bits from _EXCLUDE_BIT).
        # (Past the 64 flag bits, a list is checked word by word: _near_spans.)
        exclude_lists = list(dict.fromkeys(r.exclude_words for r in self.near if r.exclude_words))
        exclude_lists = exclude_lists[: 63 - _EXCLUDE_BIT]
        exclude_bit = {words: 1 << (_EXCLUDE_BIT + i) for i, words in enumerate(exclude_lists)}
        self._near_exclude_flag = np.array(
            [exclude_bit.get(r.exclude_words, 0) for r in self.near] or [0], dtype=np.int64
        )
        self._near_exclude_slow = np.array(
            [bool(r.exclude_words) and r.exclude_words not in exclude_bit for r in self.near] or [False], dtype=bool
        )
        exclude_tests = [_LowerIn(words) for words in exclude_lists]
        self.words.configure(
            norm_ids=self._norm_ids,
            flag_tests=[*self._flags.tests(), *exclude_tests],
            word_tests=self.tests.tests,
            marks_of=self._token_patterns.anchor_bits,
            mark_flag=ANCHOR,
            spelling=self._spelling(),
        )
        self.entry_theme = np.array([self.theme_index[e.theme] for e in self.entries] or [0], dtype=np.int64)
        self._entry_exact = np.array([e.exact_case for e in self.entries] or [False], dtype=bool)
        # Per theme rule, as lists: read once per match by the results.
        self.entry_theme_code = [e.theme for e in self.entries]
        self.entry_weight = [e.weight for e in self.entries]
        self.entry_weight_array = np.array(self.entry_weight or [0.0], dtype=np.float64)
        self.entry_pattern = [e.id for e in self.entries]
        # The same objects as numpy object arrays: the results gather them for a whole batch.
        self.entry_pattern_objects = _objects(self.entry_pattern)
        self.entry_weight_objects = _objects(self.entry_weight)
        self._phrase_rank = self._phrase_ranks()
        self._rank_of_entry = np.array(
            [self._phrase_rank.get(i, 0) for i in range(len(self.entries))] or [0], dtype=np.int64
        )
        self._near_window = np.array([r.window for r in self.near] or [0], dtype=np.int64)
        self._near_any = np.array([r.any_order for r in self.near] or [False], dtype=bool)
        self._near_entry = np.array([r.entry for r in self.near] or [0], dtype=np.int64)
        self._cue_arrays()
        self.theme_names = sorted(self.theme_index)
        self.theme_rank = np.zeros(len(self.theme_index), dtype=np.int64)
        for rank, name in enumerate(self.theme_names):
            self.theme_rank[self.theme_index[name]] = rank
        self._pattern_owner = np.array([p.owner for p in self.patterns] or [0], dtype=np.int64)
        self._pattern_cue = np.array(self._pattern_is_cue or [False], dtype=bool)

    def _cue_arrays(self) -> None:
        for cue in self.cues:  # themes named only by cues still need a bit of their own
            for theme in sorted(cue.themes or ()):
                self._theme_index(theme)
        n_themes = len(self.theme_index)
        every = np.uint64((1 << 64) - 1)
        masks = []
        for cue in self.cues:
            if cue.themes is None or n_themes > 64:
                masks.append(every)
            else:
                bits = 0
                for theme in cue.themes:
                    bits |= 1 << self.theme_index[theme]
                masks.append(np.uint64(bits))
        self.cue_mask = np.array(masks or [np.uint64(0)], dtype=np.uint64)
        self.cue_category = np.array([_CATEGORY[c.category] for c in self.cues] or [0], dtype=np.int64)
        self.cue_forward = np.array([c.direction in ("forward", "both") for c in self.cues] or [False], dtype=bool)
        self.cue_backward = np.array([c.direction in ("backward", "both") for c in self.cues] or [False], dtype=bool)
        self.cue_reach = np.array([c.max_tokens for c in self.cues] or [0], dtype=np.int64)
        # Passage-wide cues (tagger_context.passage_statuses) take no part in the sentence rules.
        self.cue_passage = self.cue_reach >= PASSAGE_WIDE
        self.ranks_fit = all(c.max_tokens < _RANK_STEP for c in self.cues if c.max_tokens < PASSAGE_WIDE)
        self.max_reach = max([0, *(c.max_tokens for c in self.cues if c.max_tokens < PASSAGE_WIDE)])

    def _phrase_ranks(self) -> dict[int, int]:
        """Entry index -> place among the keys the former theme trie returned for its words,
        for phrases where two keys of one theme share the words."""
        asked: dict[tuple[int, ...], list[str]] = {}
        for sequence, keyed in self._trie_keys.items():
            themes = [self.entries[self._entry_of_key[k]].theme for k in self._entry_keys_of(keyed)]
            if len(themes) != len(set(themes)):
                asked[sequence] = [rule_id for rule_id, _phrase in keyed]
        ranks: dict[int, int] = {}
        for sequence, found in self._phrase_matcher_order(asked).items():
            whole = [key for key, start, end in found if start == 0 and end == len(sequence)]
            for rank, key in enumerate(whole):
                if key in self._entry_of_key:
                    ranks.setdefault(self._entry_of_key[key], rank)
        return ranks

    def _entry_keys_of(self, keyed: list[tuple[str, str]]) -> list[int]:
        keys = [self._key(rule_id) for rule_id, _phrase in keyed]
        return [k for k in keys if k in self._entry_of_key]

    def _phrase_matcher_order(
        self, keys: dict[tuple[int, ...], list[str]]
    ) -> dict[tuple[int, ...], list[tuple[int, int, int]]]:
        """What one spaCy PhraseMatcher (on NORM) holding these keys (for each word sequence,
        its keys added in the given order) returns on each of the sequences: (key, start, end)
        in its order. All sequences are matched in one Doc, a separator between them."""
        if not keys:
            return {}
        oracle = PhraseMatcher(self.nlp.vocab, attr="NORM")
        for sequence, rule_ids in keys.items():
            for rule_id in rule_ids:
                # PhraseMatcher.add also takes a phrase as its attribute values (here NORM
                # hashes) instead of a Doc: no tokenizing at build time.
                oracle.add(rule_id, cast(Any, [self._keyword(sequence)]))
        words: list[str] = []
        segment: list[tuple[int, ...] | None] = []
        first: dict[tuple[int, ...], int] = {}
        for sequence in keys:
            first[sequence] = len(words)
            words += self._texts[sequence]
            segment += [sequence] * len(sequence)
            words.append(_SEPARATOR_WORD)  # its lemma is in no phrase: no match runs across it
            segment.append(None)
        found: dict[tuple[int, ...], list[tuple[int, int, int]]] = {sequence: [] for sequence in keys}
        for key, start, end in oracle(Doc(self.nlp.vocab, words=words)):
            owner = segment[start]
            assert owner is not None
            found[owner].append((int(key), start - first[owner], end - first[owner]))
        return found

    def _tied_anchor_order(self, pattern_set: PatternSet) -> dict[tuple[tuple[int, ...], int], int]:
        """(lemma sequence, anchor key) -> the key's place among the keys a single trie over
        everything returns for those words, for anchor phrases shared by two near rules of one
        theme: near spans are listed rule by rule in the order of each rule's first anchor
        match, and when two rules then produce the same span the first is cited."""
        owners: dict[tuple[int, ...], set[tuple[str, int]]] = {}
        for entry in pattern_set.entries:
            if entry.near is not None:
                for phrase in entry.near[0] + entry.near[1]:
                    owners.setdefault(self.sequence(phrase), set()).add((entry.theme, self._key(entry.id)))
        tied = set()
        for sequence, rules in owners.items():
            themes = [theme for theme, _rule in rules]
            if len(themes) != len(set(themes)):
                tied.add(sequence)
        if not tied:
            return {}
        # The single trie's insertion order: cue phrases, then rules in file order.
        keyed: list[tuple[str, str]] = [(CUE_PREFIX + c.id, c.phrase) for c in pattern_set.cues if c.phrase]
        for entry in pattern_set.entries:
            if entry.near is not None:
                keyed += [(f"near|{entry.id}|a", p) for p in entry.near[0]]
                keyed += [(f"near|{entry.id}|b", p) for p in entry.near[1]]
            elif entry.phrase is not None:
                keyed.append((entry.id, entry.phrase))
        by_sequence: dict[tuple[int, ...], list[tuple[str, str]]] = {}
        for key, phrase in keyed:
            sequence = self.sequence(phrase)
            if sequence in tied:
                by_sequence.setdefault(sequence, []).append((key, phrase))
        ranks: dict[tuple[tuple[int, ...], int], int] = {}
        orders = self._phrase_matcher_order({seq: [key for key, _p in items] for seq, items in by_sequence.items()})
        for sequence, found in orders.items():
            for rank, (match_key, _start, _end) in enumerate(found):
                ranks.setdefault((sequence, match_key), rank)
        return ranks

    # --- Matching -----------------------------------------------------------------------

    def match(self, docs: Sequence[Doc], texts: Sequence[str] | None = None) -> BatchMatches:
        """Everything the rules find in a batch of Docs (``texts``: their texts, if at hand)."""
        batch = Batch.of(docs, self.words)
        norm = self.words.norm_id[batch.rows]
        pos, length, node = self.trie.find(norm)
        t_start, t_end, t_owner = self._token_patterns(batch, self.words)
        is_cue = self._pattern_cue[t_owner] if len(t_owner) else np.zeros(0, dtype=bool)
        matches = self._theme_matches(batch, texts, pos, length, node, t_start, t_end, t_owner, is_cue)
        phrase_start, phrase_len, phrase_cue = self._cue_post.expand(pos, length, node)
        cued = np.flatnonzero(is_cue)
        cue_start = np.concatenate((phrase_start, t_start[cued]))
        cue_end = np.concatenate((phrase_start + phrase_len, t_end[cued]))
        cue = np.concatenate((phrase_cue, self._pattern_owner[t_owner[cued]]))
        found = BatchMatches(self, batch, matches, cue_start, cue_end, cue, (pos, length, node))
        batch.docs = ()  # the callers own the Docs; nothing after matching reads them
        return found

    def token_matches(self, docs: Sequence[Doc]) -> list[list[tuple[str, int, int]]]:
        """Per Doc, (key, start, end) of every token-pattern match, theme rules and cues alike
        (the key: a rule id, or "cue|" + cue id). For checks against spaCy's Matcher."""
        batch = Batch.of(docs, self.words)
        start, end, owner = self._token_patterns(batch, self.words)
        found: list[list[tuple[str, int, int]]] = [[] for _ in docs]
        for s, e, o in zip(start.tolist(), end.tolist(), owner.tolist(), strict=True):
            doc = int(batch.doc_index[s])
            token_start, token_end = batch.doc_tokens(doc, s, e)
            found[doc].append((self.strings[self.patterns[o].key], int(token_start), int(token_end)))
        return found

    def near_matches(self, docs: Sequence[Doc]) -> list[list[tuple[str, int, int]]]:
        """Per Doc, (rule id, start, end) of every co-occurrence match. For checks."""
        batch = Batch.of(docs, self.words)
        pos, length, node = self.trie.find(self.words.norm_id[batch.rows])
        start, end, entry, _tie, _core = self._near_spans(batch, pos, length, node)
        found: list[list[tuple[str, int, int]]] = [[] for _ in docs]
        for s, e, i in zip(start.tolist(), end.tolist(), entry.tolist(), strict=True):
            doc = int(batch.doc_index[s])
            token_start, token_end = batch.doc_tokens(doc, s, e)
            found[doc].append((self.entries[i].id, int(token_start), int(token_end)))
        return found

    def _theme_matches(
        self,
        batch: Batch,
        texts: Sequence[str] | None,
        pos: np.ndarray,
        length: np.ndarray,
        node: np.ndarray,
        t_start: np.ndarray,
        t_end: np.ndarray,
        t_owner: np.ndarray,
        is_cue: np.ndarray,
    ) -> dict[str, np.ndarray]:
        p_start, p_len, p_entry = self._theme_post.expand(pos, length, node)
        p_end = p_start + p_len
        exact = np.flatnonzero(self._entry_exact[p_entry])
        if len(exact):
            keep = np.ones(len(p_start), dtype=bool)
            docs = batch.doc_index[p_start[exact]]
            start_char, end_char = batch.char_span(p_start[exact], p_end[exact], self.words)
            keep[exact] = [
                (texts[d] if texts is not None else batch.docs[d].text)[low:high] == self.entries[e].phrase
                for d, low, high, e in zip(
                    docs.tolist(), start_char.tolist(), end_char.tolist(), p_entry[exact].tolist(), strict=True
                )
            ]
            kept = np.flatnonzero(keep)
            p_start, p_end, p_entry = p_start[kept], p_end[kept], p_entry[kept]
        themed = np.flatnonzero(~is_cue)
        k_start, k_end = t_start[themed], t_end[themed]
        k_entry = self._pattern_owner[t_owner[themed]]
        n_start, n_end, n_entry, n_tie, n_core = self._near_spans(batch, pos, length, node)
        none = np.full(len(p_start) + len(k_start), -1, dtype=np.int64)
        core = np.concatenate((np.stack((none, none, none, none), axis=1), n_core))
        start = np.concatenate((p_start, k_start, n_start))
        end = np.concatenate((p_end, k_end, n_end))
        entry = np.concatenate((p_entry, k_entry, n_entry))
        source = np.concatenate(
            (
                np.full(len(p_start), _PHRASE, dtype=np.int64),
                np.full(len(k_start), _TOKEN, dtype=np.int64),
                np.full(len(n_start), _NEAR, dtype=np.int64),
            )
        )
        tie = np.concatenate((self._rank_of_entry[p_entry], t_owner[themed], n_tie))
        order = lexsort((tie, source, end, start))
        return {"start": start[order], "end": end[order], "entry": entry[order], "core": core[order]}

    def _near_spans(
        self, batch: Batch, pos: np.ndarray, length: np.ndarray, node: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """(start, end, entry, tie, core) of every near span: one per pair of A and B anchors
        close together in one sentence, the first pair for each span of a rule."""
        empty = np.zeros(0, dtype=np.int64)
        nothing = (empty, empty, empty, empty, np.zeros((0, 4), dtype=np.int64))
        if not self.near:
            return nothing
        # Every anchor of every trie hit: its hit and item (2 * rule + side); a hit's start,
        # length and node are read only for the anchors that are paired.
        post = self._anchor_post
        anchor_hit, index = run_pairs(post.start[node], post.count[node])
        if not len(anchor_hit):
            return nothing
        item = post.items[index]
        rule, side = item >> 1, item & 1
        # A pair lies in one sentence: keep the anchors whose rule has an anchor of the other
        # side in the same sentence, then pair those.
        n_rules = len(self.near)
        key = batch.sentence[pos][anchor_hit] * n_rules + rule
        space = (len(batch.sentence_start) + 1) * n_rules
        a, b = np.flatnonzero(side == 0), np.flatnonzero(side == 1)
        if space <= _MAX_BUCKETS:
            present = np.zeros(space, dtype=bool)
            present[key[b]] = True
            a = a[np.flatnonzero(present[key[a]])]
            present[:] = False
            present[key[a]] = True
            b = b[np.flatnonzero(present[key[b]])]
        if not len(a) or not len(b):
            return nothing
        # B anchors in (rule, position) order; each A anchor is paired with the B anchors of
        # its rule that start in its window (as the rules were once applied).
        a_hit, b_hit = anchor_hit[a], anchor_hit[b]
        a_rule, a_start = rule[a], pos[a_hit]
        a_end = a_start + length[a_hit]
        stride = len(batch.rows) + 2 * (MAX_ANCHOR_TOKENS + 64)
        b_start = pos[b_hit]
        b_key = rule[b] * stride + b_start
        by_key = b_key.argsort()
        b_key, b_start, b_hit = b_key[by_key], b_start[by_key], b_hit[by_key]
        b_end = b_start + length[b_hit]
        window_a = self._near_window[a_rule]
        low = a_rule * stride + np.maximum(a_start - window_a - MAX_ANCHOR_TOKENS, 0)
        high = a_rule * stride + a_end + window_a + 1
        i, j = window_pairs(b_key, low, high)
        a_s, a_e, b_s, b_e = a_start[i], a_end[i], b_start[j], b_end[j]
        r = a_rule[i]
        window = self._near_window[r]
        # Only B anchors starting from MAX_ANCHOR_TOKENS before the A anchor's reach are tried.
        keep = (b_s >= a_s - window - MAX_ANCHOR_TOKENS) & (b_s <= a_e + window)
        keep &= ~((a_s < b_e) & (b_s < a_e))
        after = b_s >= a_e
        keep &= after | self._near_any[r]
        gap = np.where(after, b_s - a_e, a_s - b_e)
        keep &= gap <= window
        start, end = np.minimum(a_s, b_s), np.maximum(a_e, b_e)
        keep &= batch.sentence[start] == batch.sentence[end - 1]
        excluding = np.flatnonzero(keep & (self._near_exclude_flag[r] != 0))
        if len(excluding):
            # Words between the anchors that the rule excludes: a flag per exclude list.
            low_gap = np.minimum(a_e, b_e)[excluding]
            high_gap = np.maximum(a_s, b_s)[excluding]
            widest = int((high_gap - low_gap).max()) if len(low_gap) else 0
            if widest > 0:
                at = low_gap[:, None] + np.arange(widest)[None, :]
                inside = at < high_gap[:, None]
                flags = batch.flags[np.where(inside, at, 0)]
                hit = inside & ((flags & self._near_exclude_flag[r[excluding]][:, None]) != 0)
                keep[excluding[hit.any(axis=1)]] = False
        for k in np.flatnonzero(keep & self._near_exclude_slow[r]).tolist():
            between = batch.rows[min(int(a_e[k]), int(b_e[k])) : max(int(a_s[k]), int(b_s[k]))]
            excluded = self.near[int(r[k])].exclude_words
            if any(self.words.text(row).lower() in excluded for row in between.tolist()):
                keep[k] = False
        if not keep.any():
            return nothing
        kept = np.flatnonzero(keep)
        a_s, a_e, b_s, b_e, r, start, end = (x[kept] for x in (a_s, a_e, b_s, b_e, r, start, end))
        # The first pair (in A order, then B order) of each span of a rule.
        # (By rule, A start, A end, B start, B end; each key after the first two as an offset
        # from the one before it, which gives the same order in fewer bits: see lexsort.)
        b_offset = b_s - a_s
        walk = lexsort((b_e - b_s, b_offset - int(b_offset.min()), a_e - a_s, a_s, r))
        rank = np.empty(len(walk), dtype=np.int64)
        rank[walk] = np.arange(len(walk))
        group = lexsort((rank, end, start, r))
        lead = np.ones(len(group), dtype=bool)
        gr, gs, ge = r[group], start[group], end[group]
        lead[1:] = (gr[1:] != gr[:-1]) | (gs[1:] != gs[:-1]) | (ge[1:] != ge[:-1])
        chosen = group[lead]
        a_s, a_e, b_s, b_e, r, start, end = (x[chosen] for x in (a_s, a_e, b_s, b_e, r, start, end))
        tie = np.zeros(len(r), dtype=np.int64)
        # Spans of one theme from two rules are listed in the order of the rules' first anchor
        # matches; the order matters for nothing else.
        theme = self.entry_theme[self._near_entry[r]]
        by_span = lexsort((end, start, theme))
        twin = (np.diff(start[by_span]) == 0) & (np.diff(end[by_span]) == 0) & (np.diff(theme[by_span]) == 0)
        if twin.any():
            shared = np.zeros(len(r), dtype=bool)
            shared[by_span[1:][twin]] = True
            shared[by_span[:-1][twin]] = True
            tie[shared] = self._near_rule_order(batch, r[shared], start[shared], anchor_hit, rule, (pos, length, node))
        core = np.stack((a_s, a_e, b_s, b_e), axis=1)
        return start, end, self._near_entry[r], tie, core

    def _near_rule_order(
        self,
        batch: Batch,
        span_rule: np.ndarray,
        span_start: np.ndarray,
        anchor_hit: np.ndarray,
        anchor_rule: np.ndarray,
        hits: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """A sort key for some near spans (compared only between spans of one Doc): their rule's
        place in the Doc, by the rule's first anchor match (start, end, tied-anchor rank), then
        rule number, as when each rule was matched on its own. ``anchor_hit``, ``anchor_rule``:
        every anchor (either side) as its trie hit (in ``hits``: start, length, node) and rule."""
        n_rules = len(self.near) + 1
        span_key = batch.doc_of(span_start) * n_rules + span_rule
        wanted = np.unique(span_key)
        # Only the anchors of the rules asked about (a few of many) are read.
        rule_wanted = np.zeros(n_rules, dtype=bool)
        rule_wanted[span_rule] = True
        some = np.flatnonzero(rule_wanted[anchor_rule])
        pos, length, node = hits
        hit = anchor_hit[some]
        h_start = pos[hit]
        h_end = h_start + length[hit]
        rule = anchor_rule[some]
        hit_key = batch.doc_of(h_start) * n_rules + rule
        # A mask over every (Doc, rule) key: one gather, cheaper than np.isin's sort.
        is_wanted = np.zeros(batch.n_docs * n_rules, dtype=bool)
        is_wanted[wanted] = True
        mine = np.flatnonzero(is_wanted[hit_key])
        order = mine[lexsort((h_end[mine], h_start[mine], hit_key[mine]))]
        order_key = hit_key[order]
        lead = np.ones(len(order), dtype=bool)
        lead[1:] = order_key[1:] != order_key[:-1]
        firsts = order[np.flatnonzero(lead)]  # one per wanted key, in key order
        rank = self._tied_rank.get(node[hit[firsts]] * n_rules + rule[firsts], 0)
        at = np.searchsorted(wanted, span_key)
        ordering = lexsort((span_rule, rank[at], h_end[firsts][at], h_start[firsts][at]))
        tie = np.empty(len(span_rule), dtype=np.int64)
        tie[ordering] = np.arange(len(span_rule))
        return tie

    def _tied_ranks(self) -> IntMap:
        """(anchor trie node, rule) -> the rank of the rule's keys there (see _tied_anchor_order)."""
        keys, values = [], []
        n_rules = len(self.near) + 1
        if self._anchor_rank:
            paths = self.trie.paths()
            for node_id, items in self._anchor_at.items():
                sequence = paths[node_id]
                ranks: dict[int, int] = {}
                for anchor in items:
                    rank = self._anchor_rank.get((sequence, self._anchor_key(anchor)), 0)
                    ranks[anchor >> 1] = min(rank, ranks.get(anchor >> 1, rank))
                for rule_index, rank in ranks.items():
                    if rank:
                        keys.append(node_id * n_rules + rule_index)
                        values.append(rank)
        return IntMap(keys, values)

    def _anchor_key(self, item: int) -> int:
        entry = self.entries[self.near[item >> 1].entry]
        return self._key(f"near|{entry.id}|{'ab'[item & 1]}")


def _objects(values: list[Any]) -> np.ndarray:
    """A 1-d object array holding exactly these objects."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _append_new(items: list[int], item: int) -> None:
    if item not in items:
        items.append(item)


class BatchMatches:
    """What the rules found in a batch: theme matches, cues, and which matches need the
    context step's full attention. Positions are local to each Doc."""

    def __init__(
        self,
        rules: ThemeRules,
        batch: Batch,
        matches: dict[str, np.ndarray],
        cue_start: np.ndarray,
        cue_end: np.ndarray,
        cue: np.ndarray,
        hits: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        """``cue_*``: every cue but the subject words found by the phrase trie; those are read
        from the trie ``hits`` (start, length, node) only for the sentences that need them."""
        self.rules = rules
        self.batch = batch
        self._hits = hits
        start, end = matches["start"], matches["end"]
        self.doc_first_match = buckets(batch.doc_index[start], batch.n_docs).tolist()
        sentence = batch.sentence[start]
        # Cues grouped by sentence (sentences are runs of positions).
        order = cue_start.argsort()
        cue_start, cue_end, cue = cue_start[order], cue_end[order], cue[order]
        c_sentence = batch.sentence[cue_start]
        n_sentences = len(batch.sentence_start)
        self._cue_first = buckets(c_sentence, n_sentences)
        self._sentence_end = np.append(batch.sentence_start[1:], len(batch.rows))
        self._cue_start = cue_start
        self._cue_end = cue_end
        self._cue = cue
        self._c_sentence = c_sentence
        core = matches["core"]
        self.start_array, self.end_array, self.entry_array = start, end, matches["entry"]
        self.sentence_array, self.core_array = sentence, core
        self._led = self._pronoun_led()
        scope = self._scope(start, end, matches["entry"], sentence, core, cue_start, cue_end, cue, c_sentence)
        self._topic(scope, start, matches["entry"], sentence, cue_start, cue, c_sentence)
        self._passage(scope, start, end, matches["entry"], sentence, core, cue_start, cue_end, cue, c_sentence)
        self.scope_array = scope

    # Python lists of the match arrays, made on first use (the results read a few of them).

    @functools.cached_property
    def start(self) -> list[int]:
        return cast(list[int], self.start_array.tolist())

    @functools.cached_property
    def end(self) -> list[int]:
        return cast(list[int], self.end_array.tolist())

    @functools.cached_property
    def entry(self) -> list[int]:
        return cast(list[int], self.entry_array.tolist())

    @functools.cached_property
    def sentence(self) -> list[int]:
        return cast(list[int], self.sentence_array.tolist())

    @functools.cached_property
    def scope(self) -> list[int]:
        return cast(list[int], self.scope_array.tolist())

    @functools.cached_property
    def core(self) -> list[list[int]]:
        return cast(list[list[int]], self.core_array.tolist())

    @functools.cached_property
    def char_spans(self) -> tuple[list[int], list[int]]:
        """Character offsets of every match in its Doc's text: (starts, ends)."""
        start_char, end_char = self.batch.char_span(self.start_array, self.end_array, self.rules.words)
        return start_char.tolist(), end_char.tolist()

    def _scope(
        self,
        start: np.ndarray,
        end: np.ndarray,
        entry: np.ndarray,
        sentence: np.ndarray,
        core: np.ndarray,
        cue_start: np.ndarray,
        cue_end: np.ndarray,
        cue: np.ndarray,
        c_sentence: np.ndarray,
    ) -> np.ndarray:
        """Each match's status from the cues of its sentence, as the context step decides it
        (tagger_context.cue_status): 0 asserted (before the pronoun rule), 1 negated,
        2 hypothetical, 3 about another person, -1 left to the context step.

        Everything but one rule is computed here for all (match, cue) pairs of a sentence at
        once: a cue's category, themes, reach and direction, pseudo-cues shadowing it, a cue
        inside some theme's own wording, terminators ending its scope. The exception is an
        other_person cue, which subject words can stop: a match whose strongest cue is one
        (and not one over its own words) is left to the context step.
        """
        rules, batch = self.rules, self.batch
        status = np.zeros(len(start), dtype=np.int64)
        if not len(start) or not len(cue) or not rules.ranks_fit:
            if len(start) and len(cue):
                status[:] = -1
            return status
        category = rules.cue_category[cue]
        shadowed = self._cue_shadowed
        active = np.flatnonzero((category <= _OTHER) & ~shadowed & ~rules.cue_passage[cue])
        if not len(active):
            return status
        # Every cue that can reach a match starts within its reach of the match (and in its
        # sentence): pair each match with the active cues of that window only.
        widest = int((cue_end[active] - cue_start[active]).max())
        low = np.maximum(batch.sentence_start[sentence], start - widest - rules.max_reach)
        high = np.minimum(self._sentence_end[sentence], end + rules.max_reach)
        m, j = window_pairs(cue_start[active], low, high)
        c = active[j]
        kind = cue[c]
        # Per match first (fewer than the pairs), then read per pair.
        match_bit = np.left_shift(np.uint64(1), rules.entry_theme[entry].astype(np.uint64) % np.uint64(64))
        match_sentence_end = self._sentence_end[sentence]
        # Cheap tests first, on all pairs: the cue is for the match's theme, within the sentence.
        ok = cue_end[c] <= match_sentence_end[m]
        if len(rules.theme_index) <= 64:
            ok &= (rules.cue_mask[kind] & match_bit[m]) != 0
        ok = np.flatnonzero(ok)
        m, c, kind = m[ok], c[ok], kind[ok]
        if not len(m):
            return status
        theme_bit = match_bit[m]
        cs, ce = cue_start[c], cue_end[c]
        me = end[m]
        sentence_end = match_sentence_end[m]
        sentence_start = batch.sentence_start[sentence[m]]
        # A co-occurrence match's parts are its two anchors; any other match is one part.
        near = core[:, 0] >= 0
        p1s = np.where(near, core[:, 0], start)[m]
        p1e = np.where(near, core[:, 1], end)[m]
        p2s = np.where(near, core[:, 2], start)[m]
        p2e = np.where(near, core[:, 3], end)[m]
        other = category[c] == _OTHER
        overlaps = ((cs < p1e) & (p1s < ce)) | ((cs < p2e) & (p2s < ce))
        owner = other & overlaps & ((cs < p1s) | ((cs == p1s) & (ce >= p1e)) | (cs < p2s) | ((cs == p2s) & (ce >= p2e)))
        reach = rules.cue_reach[kind]
        later1, later2 = p1s >= ce, p2s >= ce
        target = np.where(later1 & later2, np.minimum(p1s, p2s), np.where(later1, p1s, p2s))
        ahead = (later1 | later2) & rules.cue_forward[kind]
        forward = ahead & (target < np.minimum(sentence_end, ce + reach))
        backward = ~ahead & rules.cue_backward[kind] & (cs >= me) & (me > np.maximum(sentence_start, cs - reach))
        # Terminators stop negation and hypothetical cues (not sentence-wide ones).
        stops = self._terminator_counts(category, cue_start, cue_end)
        limited = ~other & (reach < SENTENCE_WIDE)
        blocked = limited & forward & (stops[np.maximum(target, ce)] > stops[ce])
        blocked |= limited & backward & (stops[np.maximum(cs, me)] > stops[me])
        # (Read for the negation and hypothetical cues only: other_person ones are not asked.)
        inside = self._inside_cues[c]
        scoped = (forward | backward) & ~blocked & (other | ~inside)
        ok = np.where(overlaps, owner, scoped)
        exact = len(rules.theme_index) <= 64
        if exact:
            # Subject words of the theme between a person cue and the theme words stop it. Only
            # where the person cue could decide: no negation or hypothetical cue outranks it,
            # and no person cue over the theme's own words (rank 2000) already decides.
            decided = np.zeros(len(start), dtype=bool)
            decided[m[ok & (~other | overlaps)]] = True
            stopped = self._subject_stops(
                np.flatnonzero(ok & other & ~overlaps & ~decided[m]),
                category,
                cue_start,
                cue_end,
                cue,
                c_sentence,
                shadowed,
                sentence[m],
                theme_bit,
                forward,
                backward,
                target,
                cs,
                ce,
                me,
            )
            ok[stopped] = False
        if not ok.any():
            return status
        ok = np.flatnonzero(ok)
        m, c, kind, owner = m[ok], c[ok], kind[ok], owner[ok]
        distance = np.where(owner, 0, np.where(forward[ok], target[ok] - ce[ok], cs[ok] - me[ok]))
        rank = (category[c] - 1) * _RANK_STEP + distance
        order = lexsort((c, rank, m))
        m_sorted = m[order]
        lead = np.ones(len(order), dtype=bool)
        lead[1:] = m_sorted[1:] != m_sorted[:-1]
        best = order[lead]
        status[m[best]] = category[c[best]]
        if not exact:
            has_owner = np.zeros(len(start), dtype=bool)
            has_owner[m[owner]] = True
            undecided = m[best][(category[c[best]] == _OTHER) & ~has_owner[m[best]]]
            status[undecided] = -1
        return status

    def _subject_stops(
        self,
        asked: np.ndarray,
        category: np.ndarray,
        cue_start: np.ndarray,
        cue_end: np.ndarray,
        cue: np.ndarray,
        c_sentence: np.ndarray,
        shadowed: np.ndarray,
        pair_sentence: np.ndarray,
        theme_bit: np.ndarray,
        forward: np.ndarray,
        backward: np.ndarray,
        target: np.ndarray,
        cs: np.ndarray,
        ce: np.ndarray,
        me: np.ndarray,
    ) -> np.ndarray:
        """Which of the ``asked`` (match, other_person cue) pairs a subject word stops: one for
        the match's theme, from the cue up to and including the theme words' first token
        (forward), or from the theme words' last token up to the cue (backward). A subject
        word inside a person cue that shares a theme with it ("her own mother") is no stop."""
        if not len(asked):
            return asked
        n_sentences = len(self.batch.sentence_start)
        cue_mask = self.rules.cue_mask
        wanted = np.zeros(n_sentences, dtype=bool)
        wanted[pair_sentence[asked]] = True
        here = wanted[c_sentence]
        persons = np.flatnonzero((category == _OTHER) & ~shadowed & here)
        s_start, s_end, s_cue = self._subjects_in(wanted, category, cue_start, cue_end, cue, here)
        s_sentence = self.batch.sentence[s_start]
        if len(s_start) and len(persons):
            j, i = window_pairs(s_start, cue_start[persons], cue_end[persons])
            o = persons[j]
            inside = s_end[i] <= cue_end[o]
            inside &= ~((cue_start[o] == s_start[i]) & (cue_end[o] == s_end[i]))
            inside &= (c_sentence[o] == s_sentence[i]) & ((cue_mask[cue[o]] & cue_mask[s_cue[i]]) != 0)
            valid = np.ones(len(s_start), dtype=bool)
            valid[i[inside]] = False
            s_start, s_cue = s_start[valid], s_cue[valid]
        if not len(s_start):
            return asked[:0]
        # Where a stop would have to stand: within the sentence, so any subject word there counts.
        ahead = forward[asked]
        low = np.where(ahead, ce[asked], me[asked] - 1)
        high = np.where(ahead, target[asked] + 1, cs[asked])
        q, k = window_pairs(s_start, low, high)
        p = asked[q]
        stops = (cue_mask[s_cue[k]] & theme_bit[p]) != 0
        return np.unique(p[stops])

    def _subjects_in(
        self,
        wanted: np.ndarray,
        category: np.ndarray,
        cue_start: np.ndarray,
        cue_end: np.ndarray,
        cue: np.ndarray,
        here: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, cue) of every subject cue in the wanted sentences, in start order: the
        token-pattern ones (with the other cues) and the phrase ones (from the trie hits)."""
        own = np.flatnonzero((category == _SUBJECT) & here)
        t_start, t_end, t_cue = self._subject_cues(wanted)
        start = np.concatenate((cue_start[own], t_start))
        order = start.argsort(kind="stable")
        return start[order], np.concatenate((cue_end[own], t_end))[order], np.concatenate((cue[own], t_cue))[order]

    def _subject_cues(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, cue) of the subject-word cues from the phrase trie that start in the
        ``wanted`` sentences (a mask over sentences), in start order."""
        pos, length, node = self._hits
        post = self.rules.subject_post
        hits, hit_sentence = self._subject_hits
        here = hits[np.flatnonzero(wanted[hit_sentence])]
        start, span, cue = post.expand(pos[here], length[here], node[here])
        order = start.argsort()
        return start[order], start[order] + span[order], cue[order]

    @functools.cached_property
    def _subject_hits(self) -> tuple[np.ndarray, np.ndarray]:
        """The phrase-trie hits that end in subject words (ascending), and their sentences."""
        pos, _length, node = self._hits
        hits = np.flatnonzero(self.rules.subject_post.count[node] > 0)
        return hits, self.batch.sentence[pos[hits]]

    @functools.cached_property
    def _all_subjects(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every subject-word cue from the phrase trie: (start, end, cue, first per sentence)."""
        wanted = np.ones(len(self.batch.sentence_start), dtype=bool)
        start, end, cue = self._subject_cues(wanted)
        return start, end, cue, buckets(self.batch.sentence[start], len(wanted))

    @functools.cached_property
    def _cue_shadowed(self) -> np.ndarray:
        """_shadowed of every cue of the batch, once: the scope and the passage steps both read it."""
        category = self.rules.cue_category[self._cue]
        return self._shadowed(category, self._cue_start, self._cue_end, self._c_sentence)

    def _shadowed(
        self, category: np.ndarray, cue_start: np.ndarray, cue_end: np.ndarray, c_sentence: np.ndarray
    ) -> np.ndarray:
        """Cues strictly inside a pseudo-cue of their sentence ("no further action")."""
        shadowed = np.zeros(len(category), dtype=bool)
        pseudo = np.flatnonzero(category == _PSEUDO)
        if not len(pseudo):
            return shadowed
        i, c = window_pairs(cue_start, cue_start[pseudo], cue_end[pseudo])
        p = pseudo[i]
        ps, pe, cs, ce = cue_start[p], cue_end[p], cue_start[c], cue_end[c]
        inside = (ce <= pe) & ~((ps == cs) & (pe == ce)) & (c_sentence[c] == c_sentence[p])
        shadowed[c[inside]] = True
        return shadowed

    @functools.cached_property
    def _inside_cues(self) -> np.ndarray:
        """_inside_own of every cue of the batch: found once for the negation and hypothetical
        cues (False for the others: no step asks about them); the scope and the passage steps
        both read it."""
        category = self.rules.cue_category[self._cue]
        asked = np.flatnonzero((category == _NEGATED) | (category == _HYPOTHETICAL))
        found = np.zeros(len(category), dtype=bool)
        found[asked] = self._inside_own(self._cue_start[asked], self._cue_end[asked], self._c_sentence[asked])
        return found

    def _inside_own(self, cue_start: np.ndarray, cue_end: np.ndarray, c_sentence: np.ndarray) -> np.ndarray:
        """Which of the given cues lie inside the own words of some theme match of their
        sentence (and are shorter).

        A match's own words are its parts: the whole match, or a co-occurrence match's two
        anchors; a part's sentence is its match's. A cue (cs, ce) lies inside a part (os, oe)
        of its sentence, and is shorter, when os <= cs, ce <= oe and the two spans differ. With
        the parts in start order and, for each, the running maximum of (sentence, end) (one
        number: sentence * span + end; sentences only grow with position), that is: some part
        starting before cs reaches ce, or some part starting at or before cs reaches past ce.
        """
        start, sentence, core = self.start_array, self.sentence_array, self.core_array
        near = np.flatnonzero(core[:, 0] >= 0)
        first_start = start.copy()
        first_end = self.end_array.copy()
        first_start[near], first_end[near] = core[near, 0], core[near, 1]
        part_start = np.concatenate((first_start, core[near, 2]))
        part_end = np.concatenate((first_end, core[near, 3]))
        part_sentence = np.concatenate((sentence, sentence[near]))
        if not len(part_start) or not len(cue_start):
            return np.zeros(len(cue_start), dtype=bool)
        span = len(self.batch.rows) + 2
        order = part_start.argsort(kind="stable")
        reach = np.maximum.accumulate(part_sentence[order] * span + part_end[order])
        starts = part_start[order]
        wanted = c_sentence * span + cue_end
        before = np.searchsorted(starts, cue_start, side="left") - 1  # parts starting before cs
        upto = np.searchsorted(starts, cue_start, side="right") - 1  # ... at or before cs
        reach_before = np.where(before >= 0, reach[np.maximum(before, 0)], -1)
        reach_upto = np.where(upto >= 0, reach[np.maximum(upto, 0)], -1)
        return (reach_before >= wanted) | (reach_upto > wanted)

    def _terminator_counts(self, category: np.ndarray, cue_start: np.ndarray, cue_end: np.ndarray) -> np.ndarray:
        """Running count of terminator positions: stops[x] = terminators before position x."""
        batch = self.batch
        marks = np.zeros(len(batch.rows) + 1, dtype=np.int64)
        term = np.flatnonzero(category == _TERMINATE)
        if len(term):
            s, e = cue_start[term], cue_end[term]
            dash = (e - s == 1) & ((batch.flags[s] & DASH) != 0) & (batch.rows[s - 1] != 0)
            keep = np.ones(len(term), dtype=bool)
            dashes = s[dash]
            if len(dashes):
                # No space after the word before the dash: a hyphen inside a word. (A token's
                # trailing white space is one space: the gap between it and the next token.)
                before = dashes - 1
                gap = batch.idx[dashes] - batch.idx[before] - self.rules.words.length[batch.rows[before]]
                keep[dash] = gap > 0
            marks[s[keep]] = 1
        stops = np.zeros(len(marks) + 1, dtype=np.int64)
        np.cumsum(marks, out=stops[1:])
        return stops

    def sentence_cues(self, sentence: int, doc: int) -> list[tuple[int, int, CueEntry]]:
        """The cues that start in a sentence, as (start, end, cue), positions local to the Doc."""
        cues = self.rules.cues
        return [(start, end, cues[cue]) for start, end, cue in self.sentence_cue_rows(sentence, doc)]

    def sentence_cue_rows(self, sentence: int, doc: int) -> list[tuple[int, int, int]]:
        """The cues that start in a sentence, as (start, end, cue index), local to the Doc."""
        base = int(self.batch.offset[doc])
        s_start, s_end, s_cue, s_first = self._all_subjects
        found: list[tuple[int, int, int]] = []
        for starts, ends, kinds, first in (
            (self._cue_start, self._cue_end, self._cue, self._cue_first),
            (s_start, s_end, s_cue, s_first),
        ):
            low, high = int(first[sentence]), int(first[sentence + 1])
            found += [
                (s - base, e - base, k)
                for s, e, k in zip(
                    starts[low:high].tolist(), ends[low:high].tolist(), kinds[low:high].tolist(), strict=True
                )
            ]
        return found

    def sentence_bounds(self, sentence: int, doc: int) -> tuple[int, int]:
        base = int(self.batch.offset[doc])
        return int(self.batch.sentence_start[sentence]) - base, int(self._sentence_end[sentence]) - base

    def first_sentence(self, doc: int) -> int:
        return int(self.batch.sentence[self.batch.offset[doc]])

    def _pronoun_led(self) -> np.ndarray:
        """Per sentence: its first word that is not punctuation, space or a quote is a pronoun."""
        batch = self.batch
        words = np.flatnonzero((batch.rows != 0) & ((batch.flags & SKIPPED) == 0))
        led = np.zeros(len(batch.sentence_start), dtype=bool)
        if len(words):
            at = np.searchsorted(words, batch.sentence_start)
            first = words[np.minimum(at, len(words) - 1)]
            led = (at < len(words)) & (first < self._sentence_end) & ((batch.flags[first] & PRONOUN) != 0)
        return led

    def pronoun_led(self, sentence: int) -> bool:
        return bool(self._led[sentence])

    def _topic(
        self,
        status: np.ndarray,
        start: np.ndarray,
        entry: np.ndarray,
        sentence: np.ndarray,
        cue_start: np.ndarray,
        cue: np.ndarray,
        c_sentence: np.ndarray,
    ) -> None:
        """The pronoun rule (tagger_context._Topic) for asserted matches, in place: status 3
        when the sentence opens with a pronoun and carries on about someone outside the
        theme, -2 when the rule is left to the context step (more than 64 themes)."""
        rules, batch = self.rules, self.batch
        asked = np.flatnonzero((status == 0) & self._led[sentence])
        if not len(asked):
            return
        if len(rules.theme_index) > 64:
            status[asked] = -2
            return
        n_sentences = len(batch.sentence_start)
        # Only the cues of the sentences the rule reads: a mention's own and the few before it.
        wanted = np.zeros(n_sentences, dtype=bool)
        for back in range(_TOPIC_HOPS + 1):
            wanted[np.maximum(sentence[asked] - back, 0)] = True
        near = np.flatnonzero(wanted[c_sentence])
        t_start, _t_end, t_cue = self._subject_cues(wanted)  # the subject words kept apart
        cue_start = np.concatenate((cue_start[near], t_start))
        cue = np.concatenate((cue[near], t_cue))
        c_sentence = batch.sentence[cue_start]
        category = rules.cue_category[cue]
        wide = (category == _OTHER) & (rules.cue_reach[cue] >= _TOPIC_REACH)
        subject = category == _SUBJECT
        others = np.zeros(n_sentences, dtype=np.uint64)
        subjects = np.zeros(n_sentences, dtype=np.uint64)
        np.bitwise_or.at(others, c_sentence[wide], rules.cue_mask[cue[wide]])
        np.bitwise_or.at(subjects, c_sentence[subject], rules.cue_mask[cue[subject]])
        bit = np.left_shift(np.uint64(1), rules.entry_theme[entry[asked]].astype(np.uint64))
        here = sentence[asked]
        # Someone named before the mention in its own sentence: the pronoun is theirs. (Per
        # sentence and theme, where its first person cue for the theme starts; only the
        # themes of the mentions asked about, in their sentences.)
        asked_themes = np.bitwise_or.reduce(bit)
        in_here = np.zeros(n_sentences, dtype=bool)
        in_here[here] = True
        people = np.flatnonzero((wide | subject) & in_here[c_sentence])
        people_masks = rules.cue_mask[cue[people]] & asked_themes
        people = people[people_masks != 0]
        masks = people_masks[people_masks != 0].astype("<u8").view(np.uint8).reshape(-1, 8)
        themes = np.unpackbits(masks, axis=1, bitorder="little")
        person, theme = np.nonzero(themes.view(bool))  # (0 or 1 per byte: a bool view)
        # (sentence * 64 + theme) -> the first start, for the few keys named: sorted by key, then
        # start, the first of each key; looked up for the mentions asked about.
        named_key = c_sentence[people[person]] * 64 + theme
        named_at = cue_start[people[person]]
        by_key = lexsort((named_at, named_key))
        named_key, named_at = named_key[by_key], named_at[by_key]
        lead = np.ones(len(named_key), dtype=bool)
        lead[1:] = named_key[1:] != named_key[:-1]
        lead_at = np.flatnonzero(lead)
        named_key, named_at = named_key[lead_at], named_at[lead_at]
        theme_of = rules.entry_theme[entry[asked]]
        alive = np.ones(len(asked), dtype=bool)
        if len(named_key):
            wanted_key = here * 64 + theme_of
            at = np.minimum(np.searchsorted(named_key, wanted_key), len(named_key) - 1)
            alive = (named_key[at] != wanted_key) | (named_at[at] >= start[asked])
        found = np.zeros(len(asked), dtype=bool)
        first = batch.sentence[batch.offset[batch.doc_index[start[asked]]]]
        for _hop in range(_TOPIC_HOPS):
            alive &= (here != first) & self._led[here]
            here = np.where(alive, here - 1, here)
            has_subject = (subjects[here] & bit) != 0
            has_other = (others[here] & bit) != 0
            found |= alive & ~has_subject & has_other
            alive &= ~has_subject & ~has_other
        status[asked[found]] = _OTHER

    def _passage(
        self,
        status: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        entry: np.ndarray,
        sentence: np.ndarray,
        core: np.ndarray,
        cue_start: np.ndarray,
        cue_end: np.ndarray,
        cue: np.ndarray,
        c_sentence: np.ndarray,
    ) -> None:
        """The passage rules (tagger_context.passage_statuses), in place, for the Docs whose
        every match is decided here (the context step applies them to the others): weak
        asserted evidence before a passage-wide negation or a negated mention of its theme
        becomes negated (1); asserted mentions in the list under a header become
        hypothetical (2)."""
        rules, batch = self.rules, self.batch
        if not len(start):
            return
        doc = batch.doc_index[start]
        open_docs = np.zeros(batch.n_docs, dtype=bool)
        open_docs[doc[status < 0]] = True
        asserted = (status == 0) & ~open_docs[doc]
        if not asserted.any():
            return
        n_themes = len(rules.theme_index)
        theme = rules.entry_theme[entry]
        passage = np.flatnonzero(rules.cue_passage[cue])
        category = rules.cue_category[cue[passage]] if len(passage) else passage
        if len(passage):
            keep = (category == _NEGATED) | (category == _HYPOTHETICAL)
            passage, category = passage[keep], category[keep]
        if len(passage):
            shadowed = self._cue_shadowed[passage]
            negated = category == _NEGATED
            inside = np.zeros(len(passage), dtype=bool)
            if negated.any():
                at = passage[negated]
                inside[negated] = self._inside_cues[at]
            # One followed by a theme match in its sentence is about that match: not passage-wide.
            last_start = np.full(len(batch.sentence_start), -1, dtype=np.int64)
            np.maximum.at(last_start, sentence, start)
            keep = ~shadowed & ~inside & (last_start[c_sentence[passage]] < cue_end[passage])
            passage, category = passage[keep], category[keep]
        # Per (entry, theme): the latest start of an explicit negated mention (a rule weighted
        # WEAK_WEIGHT or more) or of a passage-wide negation; weak evidence before it in its
        # entry is cancelled.
        entries = self._entries(cue_start, cue)
        n_slots = (int(entries[-1]) + 1) * n_themes
        negated_match = np.flatnonzero((status == 1) & (rules.entry_weight_array[entry] >= WEAK_WEIGHT))
        latest = np.full(n_slots, -1, dtype=np.int64)
        np.maximum.at(latest, entries[start[negated_match]] * n_themes + theme[negated_match], start[negated_match])
        negations = passage[category == _NEGATED] if len(passage) else passage
        # Per (entry, theme): the latest start of a conclusive negation; evidence of any weight
        # before it in its entry is cancelled.
        conclusive = np.full(n_slots, -1, dtype=np.int64)
        for kind in np.unique(cue[negations]).tolist():  # a few kinds of cue, many cues
            these = negations[cue[negations] == kind]
            kind_themes = np.array(self._cue_themes(kind), dtype=np.int64)
            slots = entries[cue_start[these]][:, None] * n_themes + kind_themes[None, :]
            np.maximum.at(latest, slots.ravel(), np.repeat(cue_start[these], len(kind_themes)))
            if rules.cue_reach[kind] >= CONCLUSIVE:
                np.maximum.at(conclusive, slots.ravel(), np.repeat(cue_start[these], len(kind_themes)))
        weak = asserted & (rules.entry_weight_array[entry] < WEAK_WEIGHT)
        slot = entries[start] * n_themes + theme
        cancelled = (weak & (latest[slot] >= end)) | (asserted & (conclusive[slot] >= end))
        status[cancelled] = 1
        asserted &= ~cancelled
        headers = passage[category == _HYPOTHETICAL] if len(passage) else passage
        if not len(headers) or not asserted.any():
            return
        for c in headers.tolist():
            h_sentence = int(c_sentence[c])
            stop = h_sentence
            last = int(batch.sentence[batch.offset[batch.doc_index[cue_start[c]]]]) + self._doc_sentence_count(
                int(batch.doc_index[cue_start[c]])
            )
            while stop < last - 1 and not self.paragraph_end(stop):
                stop += 1
            header_themes = self._cue_themes(int(cue[c]))
            under = asserted & (sentence > h_sentence) & (sentence <= stop) & np.isin(theme, header_themes)
            status[under] = 2
            asserted &= ~under

    def _entries(self, cue_start: np.ndarray, cue: np.ndarray) -> np.ndarray:
        """The entry of every position (tagger_context.passage_statuses): a new one starts at
        each Doc, after a blank line, and at a terminate cue with a passage-wide reach."""
        batch, rules = self.batch, self.rules
        marks = np.zeros(len(batch.rows) + 1, dtype=np.int64)
        marks[batch.offset[: batch.n_docs]] = 1
        opening = (rules.cue_category[cue] == _TERMINATE) & rules.cue_passage[cue]
        marks[cue_start[opening]] = 1
        last = self._sentence_end - 1
        rows = batch.rows[last]
        blank = [row for row in np.unique(rows).tolist() if row and self.rules.words.text(row).count("\n") >= 2]
        if blank:
            marks[self._sentence_end[np.isin(rows, blank)]] = 1
        return np.cumsum(marks)

    def _cue_themes(self, cue: int) -> list[int]:
        themes = self.rules.cues[cue].themes
        if themes is None:
            return list(range(len(self.rules.theme_index)))
        return [self.rules.theme_index[t] for t in themes]

    def _doc_sentence_count(self, doc: int) -> int:
        batch = self.batch
        first = int(batch.offset[doc])
        if not int(batch.lengths[doc]):
            return 0
        return int(batch.sentence[first + int(batch.lengths[doc]) - 1]) - int(batch.sentence[first]) + 1

    def doc_sentences(self, doc: int) -> range:
        first = self.first_sentence(doc)
        return range(first, first + self._doc_sentence_count(doc))

    def paragraph_end(self, sentence: int) -> bool:
        """The sentence ends with a blank line."""
        end = int(self._sentence_end[sentence]) - 1
        row = int(self.batch.rows[end])
        return row != 0 and self.rules.words.text(row).count("\n") >= 2

    def match_weight(self, doc: int, index: int) -> float:
        """The weight of the rule of a Doc's match (in the Doc's match order)."""
        return float(self.rules.entry_weight[int(self.entry_array[self.doc_first_match[doc] + index])])

    def word_hyphen(self, doc: int, start: int, end: int) -> bool:
        """A hyphen inside a word ("self-harm", "post-natal") is not a clause break."""
        if end - start != 1 or start <= 0:
            return False
        batch = self.batch
        position = int(batch.offset[doc]) + start
        if not int(batch.flags[position]) & DASH:
            return False
        before = position - 1  # no white space after the word before: inside a word
        return int(batch.idx[position]) == int(batch.idx[before]) + int(self.rules.words.length[batch.rows[before]])


__all__ = ["SENTENCE_WIDE", "BatchMatches", "ThemeRules"]
