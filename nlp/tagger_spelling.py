"""One-slip spelling tolerance for the theme tagger's own words ("alchohol", "brusing", "referal").

Professionals type fast: one slipped letter in "drinking" or "referrals" must not lose a rule.
A word is read as a rule word when

- it is lower case, letters only, at least MIN_LETTERS long (names are capitalised, and short
  words are one slip from too many others; a changed letter counts from MIN_LETTERS_CHANGED);
- it is not a known English word: not in the lemma table (forms and lemmas) and not in
  ``common_words.txt`` (below), so a real word ("cruise") is never read as another ("bruise");
- exactly one rule word (a form of one lemma used in some phrase) is one slip away: a letter
  dropped, added, changed, or two neighbours swapped (Damerau-Levenshtein distance 1).

``common_words.txt`` lists the lower-case words of MIN_LETTERS or more letters that spaCy's
``en_lexeme_prob`` table (spacy-lookups-data) gives a log probability of COMMON_LOG_PROB or
more; it is derived, not written: ``python -m nlp.tagger_spelling`` rebuilds it. (Loading the
whole table of a million words takes ~2 s; this list is 270 KB.) Common web misspellings
("alchohol" -15.2, "referal" -16.5) fall below the line, and so stay correctable.

Pure Python; works once per word type (tagger_words), never per token.
"""

from __future__ import annotations

import gzip
import json
import string
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

MIN_LETTERS = 6
# A changed letter makes more real words from a short one ("chard" / "chart"), so it counts
# only in words this long; a dropped, added or swapped letter counts from MIN_LETTERS.
MIN_LETTERS_CHANGED = 7
COMMON_LOG_PROB = -15.0
COMMON_WORDS = Path(__file__).resolve().parent / "data" / "common_words.txt"
_LETTERS = string.ascii_lowercase


def one_slip(word: str, *, changed: bool = True) -> Iterator[str]:
    """Every string one slip from ``word``: a letter dropped, swapped with the next, added, or
    (if ``changed``) changed."""
    for i in range(len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail:
            yield head + tail[1:]
            if len(tail) > 1:
                yield head + tail[1] + tail[0] + tail[2:]
            if changed:
                for letter in _LETTERS:
                    if letter != tail[0]:
                        yield head + letter + tail[1:]
        for letter in _LETTERS:
            yield head + letter + tail


def read_common_words(path: Path = COMMON_WORDS) -> frozenset[str]:
    if not path.exists():
        return frozenset()
    return frozenset(path.read_text(encoding="utf-8").split())


class Spelling:
    """Reads a slipped word as the rule word it is one slip from (see module doc)."""

    def __init__(self, forms: dict[str, str], known: frozenset[str]) -> None:
        # forms: lower-case word -> the lemma (NORM) it stands for, for every form of every rule
        # word of MIN_LETTERS or more.
        self.forms = forms
        self.known = known

    @classmethod
    def build(cls, lemma_forms: Iterable[tuple[str, Iterable[str]]], known: frozenset[str]) -> Spelling:
        """From (rule word lemma, its lower-case forms) pairs; a form of two lemmas is left out."""
        forms: dict[str, str] = {}
        clash: set[str] = set()
        for lemma, words in lemma_forms:
            for word in words:
                if len(word) < MIN_LETTERS or not word.isalpha():
                    continue
                if forms.setdefault(word, lemma) != lemma:
                    clash.add(word)
        for word in clash:
            del forms[word]
        return cls(forms, known)

    def correct(self, word: str) -> str | None:
        """The lemma of the one rule word ``word`` is a slip of, or None."""
        if len(word) < MIN_LETTERS or not (word.isalpha() and word.islower() and word.isascii()):
            return None
        if word in self.forms or word in self.known:
            return None
        slips = one_slip(word, changed=len(word) >= MIN_LETTERS_CHANGED)
        found = {self.forms[near] for near in slips if near in self.forms}
        return found.pop() if len(found) == 1 else None


def build_common_words(out: Path = COMMON_WORDS) -> int:
    """Write ``common_words.txt`` from spacy-lookups-data's en_lexeme_prob; returns the count."""
    import spacy_lookups_data

    source = Path(spacy_lookups_data.__file__).resolve().parent / "data" / "en_lexeme_prob.json.gz"
    probs: dict[str, float] = json.loads(gzip.decompress(source.read_bytes()))
    words = sorted(
        {
            w.lower()
            for w, p in probs.items()
            if p >= COMMON_LOG_PROB and len(w) >= MIN_LETTERS and w.isalpha() and w.isascii()
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(words) + "\n", encoding="utf-8")
    return len(words)


if __name__ == "__main__":
    print(f"{build_common_words()} words written to {COMMON_WORDS}", file=sys.stderr)
