"""The context step: ConText-style scope of cues over theme matches, on plain token offsets.

A cue affects theme matches in its direction until a terminator. Scope ends at the sentence
boundary, at a terminator ("but", "however", "although", ";" ...; a hyphen inside a word is
not one) or after the cue's token reach; a reach of SENTENCE_WIDE or more covers the sentence
("Glossary:", "Terms of reference"). Cues inside any theme's wording ("was not brought", "not
given food") never negate; in a co-occurrence rule only the anchors are its wording, so a
"not" in the gap is a cue. Pseudo-cues ("no further action", "could not be ruled out") shadow
the cue words they contain.

Passage rules (after every sentence is decided; ``passage_statuses``). A cue with a reach of
PASSAGE_WIDE or more takes no part in the sentence rules above; instead

- a passage-wide cue followed by a theme match in its sentence is about that match and does
  nothing (the sentence rules decide it);
- weak evidence (a rule weighted below WEAK_WEIGHT, the pattern files' ordinary weight: an
  indirect sign such as "bruise on cheek", "police attended", "codeine") asserted before a
  passage-wide negation ("No further concerns.", "Nil safeguarding concerns.") or before an
  explicit negated mention of the same theme (one from a rule weighted WEAK_WEIGHT or more:
  "poor weight gain ... No evidence of neglect.", "bruise consistent with the fall, NAI not
  thought likely") is negated: the writer has ruled the concern out. Evidence at or above
  WEAK_WEIGHT is not cancelled this way ...
- ... except by a passage-wide negation with a reach of CONCLUSIVE or more: a conclusion that
  names the concern ("NAI ruled out.", "Not a DA or CP matter.") cancels earlier evidence of
  its themes of any weight (a denial by a party is never such a cue);
- neither reaches back into an earlier entry: a new entry starts after a blank line and at a
  terminate cue with a passage-wide reach (a date opening a chronology line, "12/03 HV visit:
  no concerns." says nothing about the police call-out of "02/03");
- a passage-wide hypothetical cue is a header ("Recommendations:", "Learning points
  include:", "Practitioners should consider the following:"): the asserted mentions in the
  sentences after it, up to a blank line (the list items), are hypothetical.

Person attribution: an other_person cue ("maternal grandmother", "the 15-year-old", "as a
child") marks the mention as about someone outside the theme unless a subject word of the
theme ("mother", "Dad") stands between them; a sentence opening with a pronoun inherits that
from the sentence before (``_Topic``).

These are the rules, on one Doc, in plain Python. The batch pass (tagger_rules.BatchMatches)
computes the same statuses for a whole batch with numpy and leaves here only what it cannot
decide there (more than 64 themes); the tests check the two agree match by match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from nlp.tagger_patterns import DEFAULT_WEIGHT, SENTENCE_WIDE, CueEntry

ASSERTED = "asserted"
NEGATED = "negated"
HYPOTHETICAL = "hypothetical"
OTHER_PERSON = "other_person"
_PRIORITY = {NEGATED: 0, HYPOTHETICAL: 1, OTHER_PERSON: 2}
# Only a person cue with at least this reach names whom a whole sentence is about; a sentence
# opening with a pronoun is followed back at most this many sentences.
TOPIC_REACH = 10
TOPIC_HOPS = 3
# A cue with at least this reach acts on the passage, not its sentence (see the module doc).
PASSAGE_WIDE = 100
# Evidence from a rule weighted below this (the pattern files' ordinary weight) is weak: a
# later negation in the passage cancels it.
WEAK_WEIGHT = DEFAULT_WEIGHT
# A passage-wide negation with at least this reach is the writer's conclusion about the concern
# it names ("NAI ruled out.", "Not a DA matter."): it cancels earlier evidence of its themes
# whatever the weight, since it reclassifies what was found, not just the weak signs.
CONCLUSIVE = 200

Cue = tuple[int, int, CueEntry]  # (start, end, cue), token offsets in the Doc
Part = tuple[int, int]


class DocCues(Protocol):
    """What the context step reads about one Doc (see tagger_rules.BatchMatches)."""

    def sentence_cues(self, sentence: int, doc: int) -> list[Cue]: ...

    def sentence_bounds(self, sentence: int, doc: int) -> tuple[int, int]: ...

    def first_sentence(self, doc: int) -> int: ...

    def pronoun_led(self, sentence: int) -> bool: ...

    def word_hyphen(self, doc: int, start: int, end: int) -> bool: ...

    def doc_sentences(self, doc: int) -> range: ...

    def paragraph_end(self, sentence: int) -> bool: ...

    def match_weight(self, doc: int, index: int) -> float: ...


def _share_themes(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    """Whether two cue scopes overlap (None: every theme)."""
    return a is None or b is None or bool(a & b)


class _Sentence:
    """One sentence's cues sorted into the roles the scope rules give them."""

    def __init__(
        self, cues: list[Cue], bounds: tuple[int, int], own: list[Part], hyphen: Callable[[int, int], bool]
    ) -> None:
        self.bounds = bounds
        self.own = own
        pseudo = [(s, e) for s, e, c in cues if c.category == "pseudo"]
        self.terminators = sorted(s for s, e, c in cues if c.category == "terminate" and not hyphen(s, e))
        # A terminator with a passage-wide reach also opens a new entry of a chronology ("12/03
        # HV visit ..."): what a later entry rules out is about its own event.
        self.entries = [s for s, _e, c in cues if c.category == "terminate" and c.max_tokens >= PASSAGE_WIDE]
        unshadowed = [
            cue
            for cue in cues
            if cue[2].category not in ("pseudo", "terminate", "subject")
            and not any(ps <= cue[0] and cue[1] <= pe and (ps, pe) != (cue[0], cue[1]) for ps, pe in pseudo)
        ]
        self.active = [cue for cue in unshadowed if cue[2].max_tokens < PASSAGE_WIDE]
        # Passage-wide cues: hypothetical ones (headers), and negated ones outside every theme's
        # own wording.
        self.passage = [
            cue
            for cue in unshadowed
            if cue[2].max_tokens >= PASSAGE_WIDE
            and cue[2].category in (NEGATED, HYPOTHETICAL)
            and not (cue[2].category == NEGATED and _inside(cue[0], cue[1], own))
        ]
        others = [c for c in self.active if c[2].category == OTHER_PERSON]
        # "mother" inside "her own mother" names someone else, not the parent (for the same themes).
        self.subjects = [
            cue
            for cue in cues
            if cue[2].category == "subject"
            and not any(
                o[0] <= cue[0]
                and cue[1] <= o[1]
                and (o[0], o[1]) != (cue[0], cue[1])
                and _share_themes(o[2].themes, cue[2].themes)
                for o in others
            )
        ]


def _inside(c_start: int, c_end: int, own: Sequence[Part]) -> bool:
    """A cue inside (and shorter than) some theme match's own words."""
    return any(
        o_start <= c_start and c_end <= o_end and (o_end - o_start) > (c_end - c_start) for o_start, o_end in own
    )


def cue_status(theme: str, span_end: int, core: Sequence[Part], sentence: _Sentence) -> str:
    """The strongest cue in scope: negated beats hypothetical beats another person.

    An other_person cue ("maternal grandmother", "the young person") is not stopped by
    terminators, since a relative clause still describes that person ("her own mother, who
    misused alcohol"), but by a subject word for the theme between it and the theme words
    ("Child T's mother drinks").
    """
    sent_start, sent_end = sentence.bounds
    best: tuple[int, str] | None = None
    for c_start, c_end, entry in sentence.active:
        if c_start < sent_start or c_end > sent_end:
            continue
        if entry.themes is not None and theme not in entry.themes:
            continue
        other = entry.category == OTHER_PERSON
        # A cue inside the theme's own words ("was not brought", "no access") is not a cue;
        # in a co-occurrence rule only the anchors count as its own words, not the gap.
        # A person cue that covers or leads into the theme's words names whose they are ("her
        # own mother" drinks, "Father was | not spoken to"); one inside them does not.
        if any(c_start < p_end and p_start < c_end for p_start, p_end in core):
            owner = other and any(
                c_start < p_start or (c_start == p_start and c_end >= p_end) for p_start, p_end in core
            )
            if owner and (best is None or _PRIORITY[OTHER_PERSON] * 1000 < best[0]):
                best = (_PRIORITY[OTHER_PERSON] * 1000, OTHER_PERSON)
            continue
        # A cue inside another theme's wording ("not given food", "was not brought") is that
        # theme's content, not a negation of this one.
        if not other and _inside(c_start, c_end, sentence.own):
            continue
        stops: Sequence[int]
        if other:
            stops = [s[0] for s in sentence.subjects if s[2].themes is None or theme in s[2].themes]
        elif entry.max_tokens >= SENTENCE_WIDE:
            stops = []  # "Glossary:", "Terms of reference:" frame the whole sentence.
        else:
            stops = sentence.terminators
        later = [p_start for p_start, _ in core if p_start >= c_end]
        if later and entry.direction in ("forward", "both"):
            target = min(later)
            reach = min(sent_end, c_end + entry.max_tokens)
            if any(c_end <= t < target + other for t in stops) or target >= reach:
                continue
            distance = target - c_end
        elif c_start >= span_end and entry.direction in ("backward", "both"):
            reach = max(sent_start, c_start - entry.max_tokens)
            if any(span_end - other <= t < c_start for t in stops) or span_end <= reach:
                continue
            distance = c_start - span_end
        else:
            continue
        rank = _PRIORITY[entry.category] * 1000 + distance
        if best is None or rank < best[0]:
            best = (rank, entry.category)
    return best[1] if best else ASSERTED


class _Topic:
    """Carries who a sentence is about into the next one when that one opens with a pronoun.

    "Maternal grandmother has schizophrenia. She was admitted in 2019." and "Mother described
    her own childhood. She had been neglected by her parents." are about someone outside the
    theme. Only a previous sentence whose people are all outside the theme is followed (no
    subject word for it), so "Child X lives with her mother. She drinks" stays asserted.
    """

    def __init__(self, doc_cues: DocCues, doc: int, cues: dict[int, list[Cue]]) -> None:
        self.doc_cues = doc_cues
        self.doc = doc
        self.cues = cues
        self.first = doc_cues.first_sentence(doc)

    def _cues(self, sentence: int) -> list[Cue]:
        found = self.cues.get(sentence)
        if found is None:
            found = self.cues[sentence] = self.doc_cues.sentence_cues(sentence, self.doc)
        return found

    def _people(self, sentence: int, theme: str, before: int | None = None) -> tuple[bool, bool]:
        """(someone outside the theme is named, a subject of the theme is named) in a sentence."""
        other = subject = False
        for start, _end, entry in self._cues(sentence):
            if before is not None and start >= before:
                continue
            if entry.themes is not None and theme not in entry.themes:
                continue
            other = other or (entry.category == OTHER_PERSON and entry.max_tokens >= TOPIC_REACH)
            subject = subject or entry.category == "subject"
        return other, subject

    def about_someone_else(self, sentence: int, theme: str, start: int) -> bool:
        if not self.doc_cues.pronoun_led(sentence) or self._people(sentence, theme, before=start) != (False, False):
            return False
        for _hop in range(TOPIC_HOPS):
            if sentence == self.first or not self.doc_cues.pronoun_led(sentence):
                return False
            sentence -= 1
            other, subject = self._people(sentence, theme)
            if subject:
                return False
            if other:
                return True
        return False


_DECIDED = (ASSERTED, NEGATED, HYPOTHETICAL, OTHER_PERSON)


def statuses(
    doc_cues: DocCues,
    doc: int,
    matches: Sequence[tuple[int, int, str, Sequence[Part], int, int]],
) -> list[str]:
    """The status of each theme match (start, end, theme, core parts, sentence, scope).

    ``scope`` is the status the batch pass found (an index into _DECIDED, the pronoun rule
    applied), -1 when an other_person cue that subject words may stop has to be checked here,
    or -2 when the match is asserted but the pronoun rule has to be applied here. The passage
    rules are applied here when some match was left open (the batch pass applies them
    itself to a Doc it decided entirely).
    """
    out: list[str] = []
    cues: dict[int, list[Cue]] = {}
    topic: _Topic | None = None
    contexts: dict[int, _Sentence] = {}
    for start, end, theme, core, sentence, scope in matches:
        if scope >= 0:
            out.append(_DECIDED[scope])
            continue
        status = ASSERTED
        if scope == -1:
            context = contexts.get(sentence)
            if context is None:
                context = contexts[sentence] = _sentence(doc_cues, doc, sentence, matches, cues)
            if context.active:
                status = cue_status(theme, end, core, context)
        if status == ASSERTED and doc_cues.pronoun_led(sentence):
            if topic is None:
                topic = _Topic(doc_cues, doc, cues)
            if topic.about_someone_else(sentence, theme, start):
                status = OTHER_PERSON
        out.append(status)
    if any(match[5] < 0 for match in matches):
        out = passage_statuses(doc_cues, doc, matches, out, contexts, cues)
    return out


def passage_statuses(
    doc_cues: DocCues,
    doc: int,
    matches: Sequence[tuple[int, int, str, Sequence[Part], int, int]],
    decided: list[str],
    contexts: dict[int, _Sentence] | None = None,
    cues: dict[int, list[Cue]] | None = None,
) -> list[str]:
    """The passage rules (module doc) over the sentence-level statuses of a Doc's matches."""
    contexts = {} if contexts is None else contexts
    cues = {} if cues is None else cues
    negations: list[Cue] = []
    headers: list[tuple[int, Cue]] = []
    boundaries: list[int] = []  # where a new entry starts: a dated line, or after a blank line
    for sentence in doc_cues.doc_sentences(doc):
        context = contexts.get(sentence)
        if context is None:
            context = contexts[sentence] = _sentence(doc_cues, doc, sentence, matches, cues)
        boundaries += context.entries
        if doc_cues.paragraph_end(sentence):
            boundaries.append(context.bounds[1])
        for cue in context.passage:
            # A theme match after it in its sentence: the cue is about that (sentence rules).
            if any(m[4] == sentence and m[0] >= cue[1] for m in matches):
                continue
            if cue[2].category == NEGATED:
                negations.append(cue)
            else:
                headers.append((sentence, cue))
    out = list(decided)
    for i, (start, end, theme, _core, sentence, _scope) in enumerate(matches):
        if out[i] != ASSERTED:
            continue
        weak = doc_cues.match_weight(doc, i) < WEAK_WEIGHT
        if any(
            c_start >= end
            and _for(entry, theme)
            and (weak or entry.max_tokens >= CONCLUSIVE)
            and _same_entry(start, c_start, boundaries)
            for c_start, _c_end, entry in negations
        ) or (
            weak
            and any(
                decided[j] == NEGATED
                and other[2] == theme
                and other[0] >= end
                and doc_cues.match_weight(doc, j) >= WEAK_WEIGHT
                and _same_entry(start, other[0], boundaries)
                for j, other in enumerate(matches)
            )
        ):
            out[i] = NEGATED
            continue
        for header_sentence, (_h_start, _h_end, entry) in headers:
            if (
                header_sentence < sentence
                and _for(entry, theme)
                and not any(doc_cues.paragraph_end(s) for s in range(header_sentence, sentence))
            ):
                out[i] = HYPOTHETICAL
                break
    return out


def _same_entry(first: int, second: int, boundaries: Sequence[int]) -> bool:
    """No new entry starts after token ``first`` up to and including token ``second``."""
    return not any(first < boundary <= second for boundary in boundaries)


def _for(entry: CueEntry, theme: str) -> bool:
    return entry.themes is None or theme in entry.themes


def _sentence(
    doc_cues: DocCues,
    doc: int,
    sentence: int,
    matches: Sequence[tuple[int, int, str, Sequence[Part], int, int]],
    cues: dict[int, list[Cue]],
) -> _Sentence:
    sentence_cues = cues.get(sentence)
    if sentence_cues is None:
        sentence_cues = cues[sentence] = doc_cues.sentence_cues(sentence, doc)
    own = [part for match in matches if match[4] == sentence for part in match[3]]
    return _Sentence(
        sentence_cues,
        doc_cues.sentence_bounds(sentence, doc),
        own,
        lambda s, e: doc_cues.word_hyphen(doc, s, e),
    )
