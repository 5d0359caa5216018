"""Rule matching for a whole batch of Docs at once, with numpy (the theme tagger's hot path).

The Docs of a batch are laid end to end in one array of word-type rows (see tagger_words),
with a separator row between them, and every rule is found over that array in one go:

- one phrase trie holds theme phrases, context-cue phrases and the anchor phrases of the
  co-occurrence (near) rules, all as sequences of lemma (NORM) ids; it is walked level by
  level over every position at once (what spaCy's PhraseMatcher on NORM finds);
- token patterns are expanded into fixed-length variants of word tests and checked at the
  places of their rarest word (what spaCy's Matcher finds; patterns the word tests cannot
  express still go to spaCy's Matcher);
- (tagger_rules pairs the near rules' anchors with sorted searches.)

The results are plain integers (token offsets, rule indices); numpy's sorts and binary
searches cost far more per element than gathers and masks, so the hot path uses hash
look-ups, counting sorts and windowed pairing instead. No pairing is bounded only by a
sentence: a text without full stops is one sentence of any length.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast, overload

import numpy as np
from spacy.attrs import ID, IDS, IDX, SENT_START
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from nlp.tagger_words import WordTest, WordTypes

_OP_COUNTS = {"1": (1, 1), "?": (0, 1), "+": (1, None), "*": (0, None)}
# A "*" or "+" token is expanded up to the longest run of words it accepts in the batch;
# beyond these limits the pattern is left to spaCy's Matcher for that batch.
_MAX_RUN = 16
_MAX_VARIANTS = 512
# Token-pattern candidates few enough to check on all their remaining tokens at once.
_FEW_CANDIDATES = 512


def op_counts(token: dict[str, Any]) -> tuple[int, int | None] | None:
    """How many words one pattern token consumes: (min, max or None), None if not supported."""
    op = str(token.get("OP", "1"))
    if op in _OP_COUNTS:
        return _OP_COUNTS[op]
    counts = re.fullmatch(r"\{(\d*)(,?)(\d*)\}", op)
    if counts is None:
        return None  # "!" and anything unknown
    low, comma, high = counts.groups()
    if not comma:
        return int(low), int(low)
    return int(low or 0), int(high) if high else None


# --- Word tests for token patterns ------------------------------------------------------


class _Equals:
    def __init__(self, which: int, value: str) -> None:
        self.which, self.value = which, value

    def __call__(self, text: str, lower: str, norm: str) -> bool:
        return (text, lower, norm)[self.which] == self.value


class _In:
    def __init__(self, which: int, values: frozenset[str], inside: bool) -> None:
        self.which, self.values, self.inside = which, values, inside

    def __call__(self, text: str, lower: str, norm: str) -> bool:
        return ((text, lower, norm)[self.which] in self.values) is self.inside


class _Regex:
    def __init__(self, which: int, pattern: str) -> None:
        self.which, self.pattern = which, re.compile(pattern)

    def __call__(self, text: str, lower: str, norm: str) -> bool:
        return self.pattern.search((text, lower, norm)[self.which]) is not None


class _Flag:
    def __init__(self, getter: Callable[[str], Any], value: bool) -> None:
        self.getter, self.value = getter, value

    def __call__(self, text: str, lower: str, norm: str) -> bool:
        return bool(self.getter(text)) is self.value


class _All:
    def __init__(self, tests: Sequence[WordTest]) -> None:
        self.tests = tuple(tests)

    def __call__(self, text: str, lower: str, norm: str) -> bool:
        return all(test(text, lower, norm) for test in self.tests)


_WHICH = {"ORTH": 0, "TEXT": 0, "LOWER": 1, "NORM": 2}
# Breadth of a regular expression or a boolean flag (after any value list), and of a test that
# cannot anchor a pattern (NOT_IN, a wildcard).
_BROAD = 10_000
_STOP_WORD = 1_000
_UNANCHORED = 1 << 30
# Words nearly every referral or review uses, which spaCy's stop list does not know: counted
# like stop words, so a pattern is checked at the places of a rarer token ("suicidal") rather
# than at every "mother". This only chooses where matching starts; what matches is the same.
_COMMON_IN_REFERRALS = frozenset(
    {"m", "f", "mother", "mum", "father", "dad", "parent", "parents", "child", "children", "baby"}
    | {"family", "young", "carer", "infant", "son", "daughter", "siblings", "kids", "toddler", "twins"}
    | {"the", "a", "local", "all", "these", "those"}
)


def _predicates(which: int, value: Any) -> list[WordTest] | None:
    if isinstance(value, str):
        return [_Equals(which, value)]
    if not isinstance(value, dict) or not value:
        return None
    tests: list[WordTest] = []
    for op, arg in value.items():
        if op in ("IN", "NOT_IN") and isinstance(arg, list) and all(isinstance(v, str) for v in arg):
            tests.append(_In(which, frozenset(arg), op == "IN"))
        elif op == "REGEX" and isinstance(arg, str):
            tests.append(_Regex(which, arg))
        else:
            return None
    return tests


class WordTestSet:
    """Distinct word tests of all token patterns, one bit each in WordTypes.tests."""

    def __init__(self, flag_getters: dict[str, Callable[[str], Any]]) -> None:
        self.flag_getters = flag_getters
        self.tests: list[WordTest] = []
        self.selective: list[bool] = []  # holds for few words: worth anchoring on
        # How many words the test accepts, roughly: patterns are anchored on their rarest test.
        self.breadth: list[int] = []
        self._bits: dict[str, int] = {}

    def _breadth(self, values: Iterable[str]) -> int:
        """A value list's breadth: a stop word ("in", "was") is far more common than others."""
        is_stop = self.flag_getters.get("IS_STOP")

        def common(value: str) -> bool:
            return value.lower() in _COMMON_IN_REFERRALS or (is_stop is not None and bool(is_stop(value)))

        return sum(_STOP_WORD if common(v) else 1 for v in values)

    def bit(self, token: dict[str, Any]) -> int | None:
        """The bit of the word-level part of one pattern token, None if not supported."""
        tests: list[WordTest] = []
        breadth = _UNANCHORED
        described = []
        for raw, value in sorted(token.items(), key=lambda item: str(item[0])):
            name = str(raw).upper()
            if name in ("OP", "IS_SENT_START", "SENT_START"):
                continue
            described.append((name, repr(value)))
            if name in _WHICH:
                found = _predicates(_WHICH[name], value)
                if found is None:
                    return None
                tests.extend(found)
                for test in found:
                    if isinstance(test, _Equals):
                        breadth = min(breadth, self._breadth([test.value]))
                    elif isinstance(test, _In) and test.inside:
                        breadth = min(breadth, self._breadth(test.values))
                    elif isinstance(test, _Regex):
                        breadth = min(breadth, _BROAD)
            elif name in self.flag_getters and isinstance(value, bool):
                tests.append(_Flag(self.flag_getters[name], value))
                if value:
                    breadth = min(breadth, _BROAD)
            else:
                return None
        label = repr(described)
        if label not in self._bits:
            self._bits[label] = len(self.tests)
            self.tests.append(tests[0] if len(tests) == 1 else _All(tests))
            self.selective.append(breadth < _UNANCHORED)
            self.breadth.append(breadth)
        return self._bits[label]


@dataclass(frozen=True)
class _PatternToken:
    bit: int
    sent_start: bool | None  # IS_SENT_START requirement
    low: int
    high: int | None


@dataclass
class TokenPattern:
    """One spaCy token pattern, compiled to word tests (or left to spaCy's Matcher)."""

    key: int  # string hash of the rule or cue key
    owner: int  # index of the theme entry or cue
    tokens: tuple[_PatternToken, ...] | None  # None: spaCy's Matcher
    pattern: list[dict[str, Any]]
    anchor_bit: int = -1  # the test of its rarest required token: candidates are its places
    _variants: dict[tuple[int, ...], list[tuple[tuple[int, bool | None], ...]] | None] = field(default_factory=dict)

    def anchor(self, tests: WordTestSet) -> None:
        if self.tokens is not None:
            required = [t for t in self.tokens if t.low >= 1]
            self.anchor_bit = min(required, key=lambda t: tests.breadth[t.bit]).bit

    def variants(self, runs: Callable[[int, bool | None], int]) -> list[tuple[tuple[int, bool | None], ...]] | None:
        """Every fixed-length sequence of word tests the pattern accepts in this batch.

        A "*" or "+" token takes at most as many words as the longest run of words it
        accepts in the batch (``runs``), so the variants are exactly the pattern's matches.
        """
        assert self.tokens is not None
        limits = tuple(min(runs(t.bit, t.sent_start), _MAX_RUN + 1) if t.high is None else t.high for t in self.tokens)
        if limits in self._variants:
            return self._variants[limits]
        found: list[tuple[tuple[int, bool | None], ...]] | None = []
        choices = [range(t.low, limit + 1) for t, limit in zip(self.tokens, limits, strict=True)]
        total = 1
        for choice in choices:
            total *= max(1, len(choice))
        if any(limit > _MAX_RUN for limit in limits) or total > _MAX_VARIANTS:
            found = None
        else:
            seen = set()
            assert found is not None
            for counts in itertools.product(*choices):
                variant = tuple(
                    (t.bit, t.sent_start) for t, count in zip(self.tokens, counts, strict=True) for _ in range(count)
                )
                if variant and variant not in seen:
                    seen.add(variant)
                    found.append(variant)
        self._variants[limits] = found
        return found


def compile_token_pattern(tests: WordTestSet, pattern: list[dict[str, Any]]) -> tuple[_PatternToken, ...] | None:
    """Word tests for every token, or None when some token needs spaCy's Matcher."""
    compiled = []
    for token in pattern:
        counts = op_counts(token)
        bit = tests.bit(token)
        if counts is None or bit is None:
            return None
        sent_start = None
        for raw, value in token.items():
            if str(raw).upper() in ("IS_SENT_START", "SENT_START"):
                if not isinstance(value, bool):
                    return None
                sent_start = value
        compiled.append(_PatternToken(bit, sent_start, counts[0], counts[1]))
    if not any(tests.selective[t.bit] and t.low >= 1 for t in compiled):
        return None  # nothing selective to anchor on: the Matcher is as good
    return tuple(compiled)


# --- Array helpers ------------------------------------------------------------------------


class IntMap:
    """Non-negative int64 keys -> int64 values, looked up for whole arrays at once.

    Open addressing (linear probing), at most an eighth full. A look-up is one round of
    gathers per probe for the whole array, so what counts is the *longest* probe among the
    keys looked up, not the average: a few rounds are done with numpy and the few keys still
    probing after them are looked up one by one in a dict. The multiplier of the hash is the
    one (of a few) that gives the shortest longest probe for the keys at hand: the trie's keys
    (node * stride + word) are regular enough to cluster under some multipliers.
    """

    _MULTIPLIERS = (0x94D049BB133111EB, 0xBF58476D1CE4E5B9, 0x9E3779B97F4A7C15)
    _ROUNDS = 2

    def __init__(self, keys: Sequence[int], values: Sequence[int]) -> None:
        self._table = dict(zip(keys, values, strict=True))  # a repeated key: its last value
        bits = max(4, (8 * len(self._table)).bit_length())
        self._size = 1 << bits
        self._shift = np.uint64(64 - bits)
        unique = list(self._table)
        best: tuple[int, list[int], np.uint64] | None = None
        for multiplier in self._MULTIPLIERS:
            self._multiplier = np.uint64(multiplier)
            slots = self._slots(np.array(unique, dtype=np.int64)).tolist()
            table_keys = [-1] * self._size
            longest = 0
            for key, slot in zip(unique, slots, strict=True):
                probe = 0
                while table_keys[(slot + probe) % self._size] != -1:
                    probe += 1
                table_keys[(slot + probe) % self._size] = key
                longest = max(longest, probe)
            if best is None or longest < best[0]:
                best = (longest, table_keys, self._multiplier)
        assert best is not None
        _longest, table_keys, self._multiplier = best
        self._keys = np.array(table_keys, dtype=np.int64)
        self._values = np.array([self._table.get(key, 0) for key in table_keys], dtype=np.int64)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.astype(np.uint64) * self._multiplier) >> self._shift).astype(np.int64)

    def get(self, keys: np.ndarray, default: int = -1) -> np.ndarray:
        out = np.full(len(keys), default, dtype=np.int64)
        todo = np.arange(len(keys))
        slot = self._slots(keys)
        wanted = keys
        for probe in range(self._ROUNDS):
            at = (slot + probe) & (self._size - 1)
            found = self._keys[at]
            hit = found == wanted
            taken = np.flatnonzero(hit)
            out[todo[taken]] = self._values[at[taken]]
            going = np.flatnonzero(~hit & (found != -1))
            todo, slot, wanted = todo[going], slot[going], wanted[going]
            if not len(todo):
                return out
        table = self._table
        out[todo] = [table.get(key, default) for key in wanted.tolist()]
        return out


def buckets(sorted_keys: np.ndarray, n: int) -> np.ndarray:
    """For keys sorted ascending in [0, n): first[k] .. first[k + 1] is the run of key k."""
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(sorted_keys, minlength=n), out=first[1:])
    return first


def window_pairs(positions: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) for every j with low[i] <= positions[j] < high[i] (``positions`` ascending).

    Pairs are bounded by windows, not by sentences: a sentence of 100,000 tokens (a text with
    no full stops) must not pair every match with every cue.
    """
    first = np.searchsorted(positions, low, side="left")
    count = np.maximum(np.searchsorted(positions, high, side="left") - first, 0)
    return run_pairs(first, count)


def run_pairs(first: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) for every i and every j in first[i] .. first[i] + count[i] - 1, in that order.

    j is one ``arange`` plus a per-run shift repeated over the run: repeating the shift (one
    value per run) is cheaper than gathering ``first`` and the run offsets for every pair.
    """
    i = np.repeat(np.arange(len(count)), count)
    shift = first - (np.cumsum(count) - count)
    return i, np.arange(len(i)) + np.repeat(shift, count)


def lexsort(keys: Sequence[np.ndarray]) -> np.ndarray:
    """``np.lexsort(keys)`` (the last key sorts first; stable) for integer keys.

    When every key is non-negative and all fit in 63 bits together, they are packed into one
    int64 (the last key in the highest bits) and sorted once with a stable argsort: the same
    permutation (lexicographic order, ties in input order), at a fraction of lexsort's cost,
    which sorts once per key.
    """
    if len(keys[0]) < 2:
        return np.lexsort(keys)
    bits = [int(key.max()).bit_length() for key in keys]
    if sum(bits) > 63 or any(int(key.min()) < 0 for key in keys):
        return np.lexsort(keys)
    packed = keys[0].astype(np.int64)
    shift = bits[0]
    for key, width in zip(keys[1:], bits[1:], strict=True):
        packed |= key.astype(np.int64, copy=False) << shift
        shift += width
    return stable_order(packed, shift)


def stable_order(keys: np.ndarray, bits: int | None = None) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for non-negative integer keys (below 2 ** bits, if
    given). Keys that fit in 16 bits are sorted as uint16, which numpy radix-sorts (the same
    permutation: a stable sort of the same order)."""
    if len(keys) and (bits if bits is not None else int(keys.max()).bit_length()) <= 16 and int(keys.min()) >= 0:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    return np.argsort(keys, kind="stable")


def pairs(first: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) for every i and every j in the bucket of keys[i] (see ``buckets``)."""
    low = first[keys]
    return run_pairs(low, first[keys + 1] - low)


# --- The phrase trie ----------------------------------------------------------------------

# Largest dense table (branching first words x vocabulary) for a phrase's second word, in int32
# cells: 8M cells is 32 MB. Past it the second word goes through the hash map, 2-3% slower in
# all (the rules of session 4 fill 4.0M cells, which had been the limit).
_MAX_DENSE = 8 << 20


class PhraseTrie:
    """Phrases as sequences of word ids (0 = a word in no phrase), found level by level."""

    def __init__(self) -> None:
        self._children: list[dict[int, int]] = [{}]
        self.deepest = 0

    def add(self, sequence: Sequence[int]) -> int:
        """The node that ends ``sequence`` (created if needed)."""
        node = 0
        for word in sequence:
            following = self._children[node].get(word)
            if following is None:
                following = len(self._children)
                self._children[node][word] = following
                self._children.append({})
            node = following
        self.deepest = max(self.deepest, len(sequence))
        return node

    def __len__(self) -> int:
        return len(self._children)

    def paths(self) -> list[tuple[int, ...]]:
        """The word sequence that leads to each node."""
        found: list[tuple[int, ...]] = [()] * len(self._children)
        for node, children in enumerate(self._children):  # children are created after parents
            for word, child in children.items():
                found[child] = (*found[node], word)
        return found

    def compile(self, n_words: int, terminal: np.ndarray) -> None:
        self._stride = n_words + 1
        self._root = np.zeros(self._stride, dtype=np.int64)
        for word, child in self._children[0].items():
            self._root[word] = child
        # The second word is looked up in a dense table (one gather) when it is small enough;
        # deeper words, far fewer, in a hash map.
        branching = [child for child in self._children[0].values() if self._children[child]]
        self._dense: np.ndarray | None = None
        if len(branching) * self._stride <= _MAX_DENSE:
            # Row 0 is all zeros: the row of every node with no second word.
            self._row_of = np.zeros(len(self._children), dtype=np.int64)
            self._row_of[branching] = np.arange(1, len(branching) + 1)
            self._dense = np.zeros((len(branching) + 1, self._stride), dtype=np.int32)
            for row, node in enumerate(branching, start=1):
                for word, child in self._children[node].items():
                    self._dense[row, word] = child
            # Read as one flat array (a 1-d gather costs half a 2-d one): node's row starts at
            # _dense_start[node].
            self._dense_flat = self._dense.ravel()
            self._dense_start = self._row_of * self._stride
        first_words = set(self._children[0].values()) if self._dense is not None else set()
        codes, targets = [], []
        for node, children in enumerate(self._children):
            if node and node not in first_words:
                for word, child in children.items():
                    codes.append(node * self._stride + word)
                    targets.append(child)
        self._next = IntMap(codes, targets)
        self._branches = np.array([bool(c) for c in self._children], dtype=bool)
        self._branches[0] = False
        self._terminal = terminal

    def find(self, words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (start, length, end node) of a phrase over ``words`` (which end with a 0)."""
        node = self._root[words]
        found_pos, found_len, found_node = [], [], []
        if self._dense is not None:
            # The first two words over every position at once: most positions start some
            # phrase, so selecting them first would cost more than it saves. The root is no
            # phrase's end, and a word with no phrase (node 0) or a node with no second word
            # (row 0) gives child 0.
            first = np.flatnonzero(self._terminal[node])
            if len(first):
                found_pos.append(first)
                found_len.append(np.ones(len(first), dtype=np.int64))
                found_node.append(node[first])
            child = np.take(self._dense_flat, self._dense_start[node[:-1]] + words[1:])
            # (Selections go through index arrays: numpy's nonzero of a bool array and a
            # gather cost a fraction of nonzero of an int array or of a boolean-mask index.)
            pos = np.flatnonzero(child != 0)
            cur = child[pos].astype(np.int64)
            depth = 2
        else:
            pos = np.flatnonzero(node != 0)
            cur = node[pos]
            depth = 1
        while len(pos):
            ends = np.flatnonzero(self._terminal[cur])
            if len(ends):
                found_pos.append(pos[ends])
                found_len.append(np.full(len(ends), depth, dtype=np.int64))
                found_node.append(cur[ends])
            more = np.flatnonzero(self._branches[cur])
            pos, cur = pos[more], cur[more]
            if not len(pos):
                break
            following = words[pos + depth]
            known = np.flatnonzero(following != 0)
            pos, cur, following = pos[known], cur[known], following[known]
            child = self._next.get(cur * self._stride + following, 0)
            hit = np.flatnonzero(child != 0)
            pos, cur = pos[hit], child[hit]
            depth += 1
        if not found_pos:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return np.concatenate(found_pos), np.concatenate(found_len), np.concatenate(found_node)


class Postings:
    """Items attached to trie nodes: node -> items[start[node] : start[node] + count[node]]."""

    def __init__(self, n_nodes: int, lists: dict[int, list[int]]) -> None:
        self.count = np.zeros(n_nodes, dtype=np.int64)
        self.start = np.zeros(n_nodes, dtype=np.int64)
        items: list[int] = []
        for node in sorted(lists):
            self.start[node] = len(items)
            self.count[node] = len(lists[node])
            items.extend(lists[node])
        self.items = np.array(items or [0], dtype=np.int64)

    def expand(
        self, pos: np.ndarray, length: np.ndarray, node: np.ndarray, *, with_nodes: bool = False
    ) -> tuple[np.ndarray, ...]:
        """(start, length, item[, node]) for every item of every hit, hit by hit."""
        hit, index = run_pairs(self.start[node], self.count[node])
        if with_nodes:
            return pos[hit], length[hit], self.items[index], node[hit]
        return pos[hit], length[hit], self.items[index]


# --- Batch layout -------------------------------------------------------------------------


END_PUNCT = (".", "!", "?", "..", "...", "!!", "??", "?!", "!?", "…")


def ends_sentence(text: str) -> bool:
    """Sentence-final punctuation, or white space holding a line break."""
    return text in END_PUNCT or ("\n" in text and text.isspace())


ENDS_SENTENCE = 1
SKIPPED = 2  # punctuation, space or quote
PRONOUN = 4
DASH = 8
ANCHOR = 16  # passes the anchor test of some token pattern
SPACE = 32  # white space with no line break (a second space, a tab, a no-break space)
LINE_BREAK = 64  # white space holding a line break
LOWER_START = 128  # begins with a lower-case letter

# A line break is read as a space (the line was wrapped by the system the text was pasted from,
# not ended by the writer) when the line before is at least this long, does not end with
# sentence punctuation, and the next line carries on in lower case: "Mum denied\r\ndrinking".
# Short lines stay separate: one-line notes ("no concerns re DV" / "mum drinking") do not run on.
WRAPPED_LINE_CHARS = 40


def wrapped_line_break(line_chars: int, before: str, line_break: str, after: str) -> bool:
    """A line break that only wraps a line (see WRAPPED_LINE_CHARS), given the length of the line
    it ends and the words either side ("" for none). A blank line ends a paragraph, however long."""
    return (
        line_chars >= WRAPPED_LINE_CHARS
        and line_break.count("\n") == 1
        and before != ""
        and not before.endswith(END_PUNCT)  # (covers every sentence-final mark: ends_sentence)
        and not before.isspace()
        and after[:1].islower()
    )


_COLUMNS = [ID, IDX]
_SEPARATOR = np.zeros((1, len(_COLUMNS)), dtype=np.uint64)


class TextDocs(Sequence[Doc]):
    """The Docs of a batch of texts, made only when asked for (by the tokenizer, ``make_doc``).

    ``Batch.of`` reads each Doc's two arrays right after making it and lets it go: a batch of
    256 Docs held at once fills several MB that the tokenizer has to allocate afresh for every
    batch, while one Doc at a time reuses the same, cache-warm memory (about a quarter of the
    tokenizer's own time). The rare steps that need a Doc after that (spaCy's Matcher for
    leftover patterns, giving a row to a lexeme that has none) make it again: the same text
    gives the same tokens.
    """

    def __init__(
        self, texts: Sequence[str], make_doc: Callable[[str], Doc], arrays: list[np.ndarray] | None = None
    ) -> None:
        self.texts = texts
        self.make_doc = make_doc
        self._arrays = arrays  # ``arrays()`` already read (handed over once)

    def __len__(self) -> int:
        return len(self.texts)

    @overload
    def __getitem__(self, index: int) -> Doc: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Doc]: ...

    def __getitem__(self, index: int | slice) -> Doc | Sequence[Doc]:
        if isinstance(index, slice):
            return TextDocs(self.texts[index], self.make_doc)
        return self.make_doc(self.texts[index])

    def arrays(self) -> list[np.ndarray]:
        """``doc.to_array(_COLUMNS)`` of every Doc, one Doc alive at a time."""
        if self._arrays is not None:
            found, self._arrays = self._arrays, None
            return found
        make_doc = self.make_doc
        nlp = getattr(make_doc, "__self__", None)
        if (
            isinstance(nlp, Language)
            and getattr(make_doc, "__func__", None) is Language.make_doc
            and max(map(len, self.texts), default=0) <= nlp.max_length
        ):
            # Language.make_doc is its tokenizer once the text's length is checked: called
            # directly (no Python frame per text).
            tokenizer = nlp.tokenizer
            return [tokenizer(text).to_array(_COLUMNS) for text in self.texts]
        return [make_doc(text).to_array(_COLUMNS) for text in self.texts]


@dataclass
class Batch:
    """Docs laid end to end: ``rows[offset[d] + i]`` is token i of Doc d; separators between."""

    docs: Sequence[Doc]  # while matching only
    n_docs: int
    rows: np.ndarray
    idx: np.ndarray  # character offset of every token in its Doc's text
    offset: np.ndarray
    lengths: np.ndarray
    flags: np.ndarray
    doc_index: np.ndarray  # Doc of every position (a separator: the Doc before it)
    is_start: np.ndarray  # sentence starts (a separator is a one-token sentence of its own)
    sentence: np.ndarray  # global sentence number of every position
    sentence_start: np.ndarray  # global position of every sentence's first token
    # The Doc token of every position, where white space was read past (see ``of``); None when
    # nothing was, and position ``offset[d] + i`` is token i of Doc d.
    token: np.ndarray | None = None

    @classmethod
    def of(cls, docs: Sequence[Doc], words: WordTypes) -> Batch:
        """Lay the Docs end to end. White space that is not a line break ("no further  action",
        a tab, a no-break space: spaCy makes each a token) and a wrapped line's break (see
        WRAPPED_LINE_CHARS) get no position: every rule, cue reach and sentence reads past them,
        as it reads past a single space. Character offsets are unaffected (``idx``)."""
        arrays = docs.arrays() if isinstance(docs, TextDocs) else [doc.to_array(_COLUMNS) for doc in docs]
        parts = [_SEPARATOR] * (2 * len(arrays) + 1)
        parts[1::2] = arrays  # a separator before, between and after the Docs
        table = np.concatenate(parts)
        top = int(table[:, 0].max())
        if top >= len(words):
            table = cls._register(docs, arrays, words)
            top = int(table[:, 0].max())
        rows = table[:, 0].astype(np.int64)
        words.fill(top + 1)
        flags = words.flags[rows]
        token = None
        passed = cls._read_past(rows, table[:, 1].astype(np.int64), flags, words)
        if passed is None:
            lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
        else:
            separators = np.flatnonzero(rows == 0)
            doc_of_row = np.cumsum(rows == 0) - 1
            kept = ~passed
            token = (np.arange(len(rows)) - separators[doc_of_row] - 1)[kept]
            lengths = np.bincount(doc_of_row[kept & (rows != 0)], minlength=len(arrays)).astype(np.int64)
            table, rows, flags = table[kept], rows[kept], flags[kept]
        offset = np.cumsum(lengths + 1) - lengths
        real = rows != 0
        is_start = ~real
        is_start[1:] |= (flags[:-1] & ENDS_SENTENCE) != 0
        is_start[1:] |= ~real[:-1]
        sentence = np.cumsum(is_start) - 1
        doc_index = np.concatenate(([0], np.repeat(np.arange(len(arrays)), lengths + 1)))
        return cls(
            docs=docs,
            n_docs=len(docs),
            rows=rows,
            idx=table[:, 1].astype(np.int64),
            offset=offset,
            lengths=lengths,
            flags=flags,
            doc_index=doc_index,
            is_start=is_start,
            sentence=sentence,
            sentence_start=np.flatnonzero(is_start),
            token=token,
        )

    @staticmethod
    def _read_past(rows: np.ndarray, idx: np.ndarray, flags: np.ndarray, words: WordTypes) -> np.ndarray | None:
        """Rows of white space that get no position (see ``of``), or None if there are none."""
        passed = (flags & SPACE) != 0
        breaks = np.flatnonzero(flags & LINE_BREAK)
        if len(breaks):
            # The break's line: from the previous break of the same Doc (or the Doc's start).
            before = np.concatenate(([-1], breaks[:-1]))
            separator_between = np.cumsum(rows == 0)
            same_doc = (before >= 0) & (separator_between[np.maximum(before, 0)] == separator_between[breaks])
            line_start = np.where(same_doc, idx[before] + words.length[rows[before]], 0)
            for at, line_chars in zip(breaks.tolist(), (idx[breaks] - line_start).tolist(), strict=True):
                passed[at] = wrapped_line_break(
                    line_chars, words.text(int(rows[at - 1])), words.text(int(rows[at])), words.text(int(rows[at + 1]))
                )
        return passed if passed.any() else None

    def doc_tokens(self, doc: int, start: np.ndarray | int, end: np.ndarray | int) -> tuple[Any, Any]:
        """The Doc's token span [start, end) of the positions [start, end) of one of its tokens."""
        if self.token is None:
            base = int(self.offset[doc])
            return start - base, end - base
        return self.token[start], self.token[np.asarray(end) - 1] + 1

    def doc_positions(self, doc: int, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions [start, end) of the Doc token spans [start, end) (inverse of ``doc_tokens``)."""
        base = int(self.offset[doc])
        if self.token is None:
            return base + start, base + end
        tokens = self.token[base : base + int(self.lengths[doc])]
        return base + np.searchsorted(tokens, start), base + np.searchsorted(tokens, end)

    @staticmethod
    def _register(docs: Sequence[Doc], arrays: list[np.ndarray], words: WordTypes) -> np.ndarray:
        """Give a row to lexemes that have none (made outside this vocab's getters)."""
        parts: list[np.ndarray] = [_SEPARATOR]
        for doc, array in zip(docs, arrays, strict=True):
            for i in np.flatnonzero(array[:, 0] >= len(words)).tolist():
                lexeme = doc.vocab[doc[i].orth]
                lexeme.rank = words.row(lexeme.orth_)
                array[i, 0] = lexeme.rank
            parts.append(array)
            parts.append(_SEPARATOR)
        return np.concatenate(parts)

    def char_span(self, start: np.ndarray, end: np.ndarray, words: WordTypes) -> tuple[np.ndarray, np.ndarray]:
        """Character offsets in its Doc's text of each token span [start, end) (positions)."""
        last = end - 1
        return self.idx[start], self.idx[last] + words.length[self.rows[last]]

    def doc_of(self, positions: np.ndarray) -> np.ndarray:
        return self.doc_index[positions]

    def word_runs(self, mask: np.ndarray) -> int:
        """The longest run of consecutive True values (0 if none)."""
        if 2 * np.count_nonzero(mask) > len(mask):
            # Mostly True: the widest gap between False values (or the ends).
            falses = np.flatnonzero(~mask)
            return int(np.diff(falses, prepend=-1, append=len(mask)).max()) - 1
        trues = np.flatnonzero(mask)
        if not len(trues):
            return 0
        # Runs end where the next True is not the next position.
        ends = np.flatnonzero(np.diff(trues) != 1)
        if not len(ends):
            return len(trues)
        lengths = np.diff(ends, prepend=-1, append=len(trues) - 1)
        return int(lengths.max())


def sentence_starts_of(batch: Batch, doc: int) -> list[int]:
    """Local sentence starts of one Doc (0 first), as the referral senter sets them."""
    low = int(batch.offset[doc])
    high = low + int(batch.lengths[doc])
    first = np.searchsorted(batch.sentence_start, low)
    last = np.searchsorted(batch.sentence_start, high)
    starts = batch.sentence_start[first:last]
    return cast(list[int], batch.doc_tokens(doc, starts, starts + 1)[0].tolist())


class FallbackMatchers:
    """spaCy's Matcher for the patterns word tests cannot express (built once per set)."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        self._matchers: dict[tuple[int, ...], Matcher] = {}

    def matcher(self, patterns: Sequence[TokenPattern], indices: tuple[int, ...]) -> Matcher:
        found = self._matchers.get(indices)
        if found is None:
            found = self._matchers[indices] = Matcher(self.vocab)
            for index in indices:
                found.add(str(index), [patterns[index].pattern])
        return found


class _VariantTable:
    """Every variant of every compiled pattern as arrays: test bit and sentence-start
    requirement per token (-1: none; shorter variants are padded), the anchor token, and the
    order to check the other tokens in (rarest test first, so most candidates fail early)."""

    def __init__(
        self,
        patterns: Sequence[TokenPattern],
        tests: WordTestSet,
        variants: list[tuple[int, tuple[tuple[int, bool | None], ...]]],
        anchor_mark: dict[int, int],
    ) -> None:
        longest = max((len(v) for _p, v in variants), default=1)
        self.pattern = np.array([p for p, _v in variants], dtype=np.int64)
        self.length = np.array([len(v) for _p, v in variants], dtype=np.int64)
        self.bits = np.full((len(variants), longest), -1, dtype=np.int64)
        self.sent_start = np.full((len(variants), longest), -1, dtype=np.int64)
        self.anchor = np.zeros(len(variants), dtype=np.int64)
        self.checks = np.full((len(variants), max(1, longest - 1)), -1, dtype=np.int64)
        for row, (index, variant) in enumerate(variants):
            for k, (bit, sent_start) in enumerate(variant):
                self.bits[row, k] = bit
                if sent_start is not None:
                    self.sent_start[row, k] = int(sent_start)
            anchor_bit = patterns[index].anchor_bit
            anchor = next(k for k, (bit, _s) in enumerate(variant) if bit == anchor_bit)
            self.anchor[row] = anchor
            others = sorted((k for k in range(len(variant)) if k != anchor), key=lambda k: tests.breadth[variant[k][0]])
            self.checks[row, : len(others)] = others
        self.anchor_bit = self.bits[np.arange(len(variants)), self.anchor] if variants else np.zeros(0, np.int64)
        self.needs_start = bool((self.sent_start >= 0).any())
        # Variants grouped by anchor mark (WordTypes.marks): for mark j, its variants are
        # variants_by_anchor[variants_first[j] : variants_first[j + 1]].
        which = np.array([anchor_mark[int(b)] for b in self.anchor_bit], dtype=np.int64)
        self.variants_by_anchor = np.argsort(which, kind="stable")
        self.variants_first = buckets(which[self.variants_by_anchor], max(len(anchor_mark), 1))
        self.longest = longest
        # The checks as flat look-ups, one row of ``n_steps`` per variant (read at
        # variant * n_steps + step): the token's offset (-1: no tokens left), and where its
        # test bit is, the 64-bit word of WordTypes.tests and the mask within it. One more
        # step than any variant needs, so every candidate meets its -1.
        self.n_steps = self.checks.shape[1] + 1
        offset = np.full((len(variants), self.n_steps), -1, dtype=np.int64)
        offset[:, :-1] = self.checks
        check_bit = np.where(offset >= 0, self.bits[np.arange(len(variants))[:, None], np.maximum(offset, 0)], 0)
        self.check_offset = offset.ravel()
        self.check_word = (check_bit >> 6).ravel()
        self.check_mask = np.left_shift(np.uint64(1), (check_bit & 63).astype(np.uint64)).ravel()
        # The token places that carry a sentence-start requirement in some variant.
        self.start_places = [k for k in range(longest) if bool((self.sent_start[:, k] >= 0).any())]


class TokenPatternSet:
    """All token patterns of a rule set, matched over a batch at once.

    Candidates are the places of each variant's anchor test; then, token by token (rarest
    test first), every candidate's test is read from the words' test bits and those that fail
    are dropped. Patterns the word tests cannot express, or that would need too many variants
    in a batch, go to spaCy's Matcher.
    """

    def __init__(self, patterns: Sequence[TokenPattern], tests: WordTestSet, fallback: FallbackMatchers) -> None:
        self.patterns = patterns
        self.tests = tests
        self.fallback = fallback
        self._keys = np.array([p.key for p in patterns] or [0], dtype=np.uint64)
        # Each pattern's key as its place among the distinct keys: the same order and equality
        # as the keys themselves, in few bits (see ``lexsort``).
        self._key_rank = np.unique(self._keys, return_inverse=True)[1].astype(np.int64).reshape(-1)
        self._open = [
            i for i, p in enumerate(patterns) if p.tokens is not None and any(t.high is None for t in p.tokens)
        ]
        self._closed: list[tuple[int, tuple[tuple[int, bool | None], ...]]] = []
        self._matcher_only: list[int] = []
        for index, pattern in enumerate(patterns):
            if pattern.tokens is None:
                self._matcher_only.append(index)
            elif index not in self._open:
                found = pattern.variants(_no_runs)
                if found is None:
                    self._matcher_only.append(index)
                else:
                    self._closed.extend((index, v) for v in found)
        self._tables: dict[tuple[int, ...], _VariantTable] = {}
        # The anchor tests, marked on the words that pass them (WordTypes.marks).
        self.anchor_bits = sorted({p.anchor_bit for p in patterns if p.tokens is not None})
        self._anchor_mark = {bit: j for j, bit in enumerate(self.anchor_bits)}

    def __call__(self, batch: Batch, words: WordTypes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, pattern index) of every distinct (key, start, end) the patterns match."""
        empty = np.zeros(0, dtype=np.int64)
        if not self.patterns:
            return empty, empty, empty
        rows = batch.rows
        # Test bits are read per word type, from WordTypes.tests seen as one flat array, not
        # gathered for every token of the batch: most tokens are never looked at.
        n_words = words.tests.shape[1]
        flat_tests = words.tests.ravel()
        seen_runs: dict[tuple[int, bool | None], int] = {}

        def runs(bit: int, sent_start: bool | None) -> int:
            found = seen_runs.get((bit, sent_start))
            if found is None:
                column, mask = words.tests[:, bit >> 6], np.uint64(1 << (bit & 63))
                # Per word type first (then one byte per position) when there are fewer types.
                per_type = len(column) <= len(rows)
                holds = ((column & mask) != 0)[rows] if per_type else (column[rows] & mask) != 0
                if sent_start is not None:
                    holds &= batch.is_start == sent_start
                found = seen_runs[(bit, sent_start)] = batch.word_runs(holds)
            return found

        leftover = list(self._matcher_only)
        opened: list[tuple[int, list[tuple[tuple[int, bool | None], ...]]]] = []
        for index in self._open:
            found = self.patterns[index].variants(runs)
            if found is None:
                leftover.append(index)
            else:
                opened.append((index, found))
        # The open patterns' variant lists are cached by the patterns: their identities name
        # the table of this batch.
        key = tuple(id(found) for _index, found in opened)
        table = self._tables.get(key)
        if table is None:
            if len(self._tables) > 64:
                self._tables.clear()
            variants = self._closed + [(index, v) for index, found in opened for v in found]
            table = self._tables[key] = _VariantTable(self.patterns, self.tests, variants, self._anchor_mark)
        out_start, out_end, out_pattern = [], [], []
        if len(table.pattern):
            # Separator rows (row 0: no test holds) after the batch: a candidate running off
            # either end reads them (negative positions wrap around), never a wrong word.
            padded = np.concatenate((rows, np.zeros(table.longest, dtype=np.int64)))
            start, variant = _candidates(table, batch, words)
            # Token by token (rarest test first) while many candidates are left: most fail the
            # first check. The few left after that are checked on all their remaining tokens
            # at once, as one matrix (candidates x steps), instead of a round of numpy calls
            # per token.
            at = variant * table.n_steps  # candidate's place in the check rows, step by step
            check_offset, check_word, check_mask = table.check_offset, table.check_word, table.check_mask
            done_start, done_at = [], []
            for _step in range(table.n_steps):
                k = check_offset[at]
                finished = k < 0
                if finished.any():
                    ended = np.flatnonzero(finished)
                    done_start.append(start[ended])
                    done_at.append(at[ended])
                    going = np.flatnonzero(~finished)
                    start, at, k = start[going], at[going], k[going]
                holds = flat_tests[padded[start + k] * n_words + check_word[at]] & check_mask[at]
                keep = np.flatnonzero(holds != 0)  # (nonzero of a bool array: far cheaper)
                start, at = start[keep], at[keep] + 1
                if len(start) <= _FEW_CANDIDATES:
                    break
            if len(start):
                # The rest of each candidate's row (all are at the same step; offset -1: no
                # token left to check).
                cell = at[:, None] + np.arange(table.n_steps - int(at[0] % table.n_steps))
                offset = check_offset[cell]
                ahead = offset >= 0
                place = padded[start[:, None] + np.where(ahead, offset, 0)]
                ok = ~ahead | ((flat_tests[place * n_words + check_word[cell]] & check_mask[cell]) != 0)
                passed = ok.all(axis=1)
                done_start.append(start[passed])
                done_at.append(at[passed])
            start = np.concatenate(done_start) if done_start else empty
            # A candidate's place is variant * n_steps + step, with step < n_steps.
            variant = np.concatenate(done_at) // table.n_steps if done_at else empty
            if table.start_places and len(start):
                # Sentence-start requirements, on the few candidates left.
                is_start = np.concatenate((batch.is_start, np.zeros(table.longest, dtype=bool)))
                for k in table.start_places:
                    wanted = table.sent_start[variant, k]
                    keep = (wanted < 0) | (is_start[start + k] == (wanted == 1))
                    start, variant = start[keep], variant[keep]
            out_start.append(start)
            out_end.append(start + table.length[variant])
            out_pattern.append(table.pattern[variant])
        if leftover:
            _fallback_matches(
                batch, self.fallback.matcher(self.patterns, tuple(sorted(leftover))), out_start, out_end, out_pattern
            )
        start = np.concatenate(out_start) if out_start else empty
        if not len(start):
            return empty, empty, empty
        end = np.concatenate(out_end)
        owner = np.concatenate(out_pattern)
        # One match per (key, start, end), as spaCy's Matcher gives.
        keys = self._key_rank[owner]
        order = lexsort((owner, end, start, keys))
        start, end, owner, keys = start[order], end[order], owner[order], keys[order]
        first = np.ones(len(start), dtype=bool)
        first[1:] = (keys[1:] != keys[:-1]) | (start[1:] != start[:-1]) | (end[1:] != end[:-1])
        distinct = np.flatnonzero(first)
        return start[distinct], end[distinct], owner[distinct]


def _no_runs(bit: int, sent_start: bool | None) -> int:
    raise AssertionError("a pattern without '*' or '+' needs no word runs")


def _candidates(table: _VariantTable, batch: Batch, words: WordTypes) -> tuple[np.ndarray, np.ndarray]:
    """(start, variant) for every place of every variant's anchor test: the words with the
    ANCHOR flag, and for each the anchor tests it passes (its marks, see WordTypes)."""
    places = np.flatnonzero((batch.flags & ANCHOR) != 0)
    if not len(places):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    rows = batch.rows[places]
    place, item = run_pairs(words.mark_first[rows], words.mark_count[rows])
    which = words.mark_items[item]
    # Each (place, anchor test) stands for every variant anchored on that test.
    hit, member = pairs(table.variants_first, which)
    variant = table.variants_by_anchor[member]
    return places[place[hit]] - table.anchor[variant], variant


def _fallback_matches(
    batch: Batch,
    matcher: Matcher,
    out_start: list[np.ndarray],
    out_end: list[np.ndarray],
    out_pattern: list[np.ndarray],
) -> None:
    for d, doc in enumerate(batch.docs):
        if not len(doc):
            continue
        if not doc.has_annotation("SENT_START"):
            flags = np.full(len(doc), -1, dtype=np.int64)
            flags[sentence_starts_of(batch, d)] = 1
            doc.from_array([SENT_START], cast(Any, flags.view(np.uint64).reshape(-1, 1)))
        strings = doc.vocab.strings
        found = matcher(doc)
        if found:
            start, end = batch.doc_positions(
                d,
                np.array([s for _k, s, _e in found], dtype=np.int64),
                np.array([e for _k, _s, e in found], dtype=np.int64),
            )
            out_start.append(start)
            out_end.append(end)
            out_pattern.append(np.array([int(strings[k]) for k, _s, _e in found], dtype=np.int64))


def flag_getters(vocab: Any) -> dict[str, Callable[[str], Any]]:
    """The vocab's boolean lexeme attributes (IS_ALPHA, LIKE_NUM, ...) by name."""
    getters = vocab.lex_attr_getters
    return {
        name: getters[attr_id]
        for name, attr_id in IDS.items()
        if attr_id < 64 and attr_id in getters and name.startswith(("IS_", "LIKE_"))
    }
