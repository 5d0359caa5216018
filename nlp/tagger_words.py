"""Facts about each word type (lexeme) the theme tagger needs, computed once per type.

spaCy keeps one lexeme per distinct token text, and a lexeme's ``rank`` (attribute ``ID``) is
documented as the "sequential ID of the lexical type, used to index into tables". This
pipeline has no word vectors (the only other user of the rank), so the tagger sets the rank
to a row of its own table, when spaCy first creates the lexeme. Per Doc, one
``doc.to_array(ID)`` then gives every token's row, and all word-level tests (is it a theme
word, a sentence end, a pronoun, a word a token pattern accepts) are array look-ups for a
whole batch of Docs at once, instead of Python work per token.

Everything in a row depends on the word's text alone (read with a curly apostrophe as a
straight one, see READ_AS); rows are filled lazily, in bulk, the first time a batch uses
them, and refilled when the rules change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from spacy.attrs import ID

from nlp.tagger_spelling import Spelling

# Row 0 is the separator the tagger puts between Docs in a batch: no test holds for it, so
# no phrase or pattern can run from one Doc into the next.
SEPARATOR = 0
_WORD_MASK = (1 << 64) - 1

WordTest = Callable[[str, str, str], bool]  # (text, lower-case text, norm) -> holds

# Characters read as another when a word's facts are computed: the right single quotation
# mark (U+2019, what word processors type for an apostrophe) is read as "'", so "didn" U+2019
# "t", "mother" U+2019 "s" and "n" U+2019 "t" pass every test (lemma, phrase word, token
# pattern value, flag) that "didn't", "mother's" and "n't" pass, and the rules need no twin
# spelled with the curly apostrophe.
# One character for one: lengths, and so character offsets into the text, stay the same.
READ_AS = str.maketrans({"\u2019": "'"})


def as_read(text: str) -> str:
    """The text as the word table reads it (see READ_AS)."""
    return text.translate(READ_AS) if "\u2019" in text else text


class _Register:
    """Lexeme attribute getter for ``ID``: the word's row (picklable)."""

    def __init__(self, words: WordTypes) -> None:
        self.words = words

    def __call__(self, string: str) -> int:
        return self.words.row(string)


class WordTypes:
    """Rows of word facts, indexed by lexeme rank.

    Columns: ``norm_id`` (id of the word's NORM among the words of the phrases, 0 if none),
    ``length`` (in characters), ``flags`` (one bit per flag test, and a flag for words that
    pass given word tests) and ``tests`` (one bit per token-pattern test, in 64-bit words).
    """

    def __init__(self, vocab: Any, norm_of: Callable[[str], str]) -> None:
        # No reference to the vocab is kept: spaCy pickles a vocab's attribute getters (this
        # table's _Register among them) separately, and a way back to the vocab would recurse.
        self.norm_of = norm_of
        self._lock = threading.Lock()
        self._texts: list[str] = [""]
        self._rows: dict[str, int] = {}
        self._filled = 1  # rows below this are up to date
        self.norm_ids: dict[str, int] = {}
        self.flag_tests: Sequence[Callable[[str], bool] | None] = ()
        self.word_tests: Sequence[WordTest] = ()
        # Marked word tests: a word that passes test marks_of[j] has mark j, one of the
        # mark_items[mark_first[row] : mark_first[row] + mark_count[row]]; and ``mark_flag``
        # is set in its ``flags``.
        self.marks_of: Sequence[int] = ()
        self.mark_flag = 0
        self.spelling: Spelling | None = None
        self._columns(64)
        getters = vocab.lex_attr_getters
        getters[ID] = _Register(self)
        for lexeme in vocab:  # lexemes spaCy created before the getter was installed
            lexeme.rank = self.row(lexeme.orth_)

    def _columns(self, capacity: int) -> None:
        words = max(1, -(-len(self.word_tests) // 64))
        self.norm_id = np.zeros(capacity, dtype=np.int64)
        self.length = np.zeros(capacity, dtype=np.int64)
        self.flags = np.zeros(capacity, dtype=np.int64)
        self.tests = np.zeros((capacity, words), dtype=np.uint64)
        self.mark_first = np.zeros(capacity, dtype=np.int64)
        self.mark_count = np.zeros(capacity, dtype=np.int64)
        self._mark_items: list[int] = []
        self.mark_items = np.zeros(1, dtype=np.int64)
        self._filled = 1

    def row(self, text: str) -> int:
        row = self._rows.get(text)
        if row is None:
            row = self._rows[text] = len(self._texts)
            self._texts.append(text)
        return row

    def configure(
        self,
        *,
        norm_ids: dict[str, int],
        flag_tests: Sequence[Callable[[str], bool] | None],
        word_tests: Sequence[WordTest],
        marks_of: Sequence[int] = (),
        mark_flag: int = 0,
        spelling: Spelling | None = None,
    ) -> None:
        """New rules: every row is refilled the next time it is used. ``spelling`` reads a
        word that is not a rule word but one slip from one as that word (tagger_spelling)."""
        self.norm_ids = norm_ids
        self.spelling = spelling
        self.flag_tests = tuple(flag_tests)
        self.word_tests = tuple(word_tests)
        self.marks_of = tuple(marks_of)
        self.mark_flag = mark_flag
        self._columns(len(self.norm_id))

    def fill(self, upto: int) -> None:
        """Make rows below ``upto`` current (Python work once per word type)."""
        if upto <= self._filled:
            return
        with self._lock:  # two threads must not grow or fill the columns at once
            self._fill(upto)

    def _fill(self, upto: int) -> None:
        if upto <= self._filled:
            return
        if upto > len(self.norm_id):
            self._grow(max(upto, 2 * len(self.norm_id)))
        norm_ids, norm_of, spelling = self.norm_ids, self.norm_of, self.spelling
        flag_tests, word_tests, marks_of = self.flag_tests, self.word_tests, self.marks_of
        texts = self._texts
        for row in range(self._filled, upto):
            self.length[row] = len(texts[row])
            text = as_read(texts[row])
            lower = text.lower()
            norm = norm_of(text)
            norm_id = norm_ids.get(norm, 0)
            if not norm_id and spelling is not None:
                fixed = spelling.correct(text)
                if fixed is not None:
                    norm, norm_id = fixed, norm_ids.get(fixed, 0)
            self.norm_id[row] = norm_id
            flags = 0
            for bit, flag_test in enumerate(flag_tests):
                if flag_test is not None and flag_test(text):
                    flags |= 1 << bit
            bits = 0
            for bit, word_test in enumerate(word_tests):
                if word_test(text, lower, norm):
                    bits |= 1 << bit
            marks = [j for j, bit in enumerate(marks_of) if bits >> bit & 1]
            self.mark_count[row] = len(marks)
            if marks:
                flags |= self.mark_flag
                self.mark_first[row] = len(self._mark_items)
                self._mark_items.extend(marks)
            self.flags[row] = flags
            for word in range(self.tests.shape[1]):
                self.tests[row, word] = (bits >> (64 * word)) & _WORD_MASK
        self._filled = upto
        if len(self._mark_items) != len(self.mark_items) - 1:
            self.mark_items = np.array([*self._mark_items, 0], dtype=np.int64)

    def _grow(self, capacity: int) -> None:
        for name in ("norm_id", "length", "flags", "tests", "mark_first", "mark_count"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def text(self, row: int) -> str:
        """The word of a row as the table reads it (see READ_AS)."""
        return as_read(self._texts[row])

    def __len__(self) -> int:
        return len(self._texts)
