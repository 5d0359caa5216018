"""Theme tagger robustness benchmark: the same passages, written or pasted the way real records vary.

    .venv/bin/python bench/theme_robustness.py [FILES...] [--seed 7] [--top 10] [--json OUT]

Default files: tests/data/themes/dev.jsonl and tests/data/themes/tune_*.jsonl (never a holdout
file: the script refuses any path whose name starts with "holdout"). For each file the original
texts and one perturbed copy per perturbation are tagged (nlp.pipeline.get_tagger().tag_many
after clean_text) and scored with nlp.evaluation.evaluate: micro-F1 (with P and R), macro-F1 and
the negated-mention false-positive rate (negFP; hypFP is the same for hypothetical mentions),
each with its delta against the original texts. The same table is printed for all files pooled.

The perturbations keep the meaning, so the gold labels stay valid; each is a small pure function
of (text, rng), with the rng seeded from (seed, perturbation, file, passage id), so a run is
deterministic and a passage's copy does not depend on the others. ``join_two`` appends another
passage of the same file (the gold is the union of themes; negated and hypothetical are the union
minus the union of themes); its table row also shows, as ``join_two*``, the score the tagger
would get if it tagged the two passages apart and took the union of its themes, the fair
reference for what joining costs.

For each perturbation that costs more than 0.01 micro-F1 on a file (and pooled), the top (theme,
pattern id) pairs of asserted-theme evidence that stopped or started firing are listed, counted
in passages, with how many of those passages lost a gold theme (for "stopped") or gained a theme
not in gold (for "started"), so an engineer can see why.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import textwrap
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.evaluation import GoldRecord, evaluate, read_gold  # noqa: E402
from nlp.pipeline import TagResult, get_tagger  # noqa: E402
from nlp.pipeline import clean_text as _clean_text  # noqa: E402

DATA = ROOT / "tests" / "data" / "themes"
DIFF_THRESHOLD = 0.01

Perturb = Callable[[str, random.Random], str]

# --- Case and punctuation ----------------------------------------------------------------


def all_caps(text: str, rng: random.Random) -> str:
    """Some police and ED systems store free text in upper case."""
    return text.upper()


def all_lower(text: str, rng: random.Random) -> str:
    """Phone notes and quick entries typed with no capitals at all."""
    return text.lower()


_APOSTROPHES = "'\u2019\u2018"


# Symbols a writer who leaves out every punctuation mark still types ("78%", "A&E", "12/03").
_KEPT_SYMBOLS = frozenset("%&/")


def no_punctuation(text: str, rng: random.Random) -> str:
    """Every punctuation mark gone, one run-on line: apostrophes dropped ("didnt", "mums"),
    every other mark (. , ; : ! ? - ( ) " ...) and every line break read as one space; the
    symbols % & / stay."""
    out: list[str] = []
    for char in text:
        if char in _APOSTROPHES:
            continue
        if unicodedata.category(char).startswith("P") and char not in _KEPT_SYMBOLS:
            out.append(" ")
        else:
            out.append(char)
    return " ".join("".join(out).split())


# --- Layout as pasted from case management systems ----------------------------------------

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'\u2018\u201c(]?[A-Z0-9])")


def sentences(text: str) -> list[str]:
    """The passage split after . ! ? followed by white space and a capital or digit."""
    return [s for s in _SENTENCE_BREAK.split(text.strip()) if s]


def bullet_list(text: str, rng: random.Random) -> str:
    """One sentence per line with a bullet ("- ", "• ", "* " or numbered "1) "), LF or CRLF
    line ends, and (half the time) the full stops dropped, as notes pasted from a list."""
    style = rng.choice(["- ", "\u2022 ", "* ", "n) "])
    newline = rng.choice(["\n", "\r\n"])
    drop_stops = rng.random() < 0.5
    lines = []
    for number, sentence in enumerate(sentences(text), start=1):
        item = sentence.rstrip(".") if drop_stops and not sentence.endswith("...") else sentence
        marker = f"{number}) " if style == "n) " else style
        lines.append(marker + item)
    return newline.join(lines)


def hard_wrap(text: str, rng: random.Random) -> str:
    """Hard line breaks (CRLF) every 55-80 characters, mid-sentence, as text pasted from a
    fixed-width screen or a plain-text email; continuation lines sometimes tab-indented."""
    width = rng.randint(55, 80)
    indent = rng.choice(["", "", "\t"])
    lines = textwrap.wrap(
        " ".join(text.split()),
        width=width,
        break_long_words=False,
        break_on_hyphens=False,
        subsequent_indent=indent,
    )
    return "\r\n".join(lines) if lines else text


def messy_whitespace(text: str, rng: random.Random) -> str:
    """Double spaces after full stops, some spaces doubled or non-breaking (U+00A0), a tab
    or two, a leading tab and trailing spaces: one line, words unchanged."""
    parts = text.split(" ")
    out = [parts[0]]
    for part in parts[1:]:
        previous = out[-1]
        roll = rng.random()
        if previous.endswith((".", "!", "?")) or roll < 0.08:
            gap = "  "
        elif roll < 0.16:
            gap = "\u00a0"
        elif roll < 0.19:
            gap = "\t"
        else:
            gap = " "
        out.append(gap)
        out.append(part)
    return "\t" + "".join(out) + "  "


# --- Spelling ------------------------------------------------------------------------------

_STOPWORD_TEXT = (
    "about above after again against along although among another around because before being below "
    "between could during every further however might never other shall should since still their "
    "there these those though three through under until where whether which while whose within "
    "without would years"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_CONTENT_WORD = re.compile(r"\b[A-Za-z]{5,}\b")


def _typo(word: str, rng: random.Random) -> str:
    """One keyboard slip inside the word (first and last letters kept): two neighbouring
    letters swapped, a letter dropped or a letter doubled; always a different word."""
    kind = rng.choice(["swap", "drop", "double"])
    if kind == "swap":
        positions = [i for i in range(1, len(word) - 2) if word[i] != word[i + 1]]
        if positions:
            i = rng.choice(positions)
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        kind = "double"
    i = rng.randrange(1, len(word) - 1)
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def typos(text: str, rng: random.Random) -> str:
    """A typo in one or two content words (5+ letters, not an acronym, not a function word)."""
    spots = [m for m in _CONTENT_WORD.finditer(text) if not m.group().isupper() and m.group().lower() not in _STOPWORDS]
    if not spots:
        return text
    chosen = sorted(rng.sample(spots, min(len(spots), rng.randint(1, 2))), key=lambda m: m.start())
    out, at = [], 0
    for match in chosen:
        out.append(text[at : match.start()])
        out.append(_typo(match.group(), rng))
        at = match.end()
    out.append(text[at:])
    return "".join(out)


def _families(pairs: dict[str, str], suffixes: Sequence[str]) -> dict[str, str]:
    return {uk + s: us + s for uk, us in pairs.items() for s in suffixes}


# British -> American, whole words (lower case; the case of the text is kept).
UK_TO_US: dict[str, str] = {
    **_families({"behaviour": "behavior", "colour": "color", "neighbour": "neighbor"}, ("", "s", "al", "ally")),
    **_families({"honour": "honor", "labour": "labor", "odour": "odor", "rumour": "rumor"}, ("", "s", "ed")),
    **_families({"centre": "center", "programme": "program", "offence": "offense", "defence": "defense"}, ("", "s")),
    **_families({"judgement": "judgment", "foetus": "fetus", "enrolment": "enrollment"}, ("", "s")),
    **_families({"organisation": "organization"}, ("", "s", "al")),
    **_families({"paediatric": "pediatric"}, ("", "s", "ian", "ians")),
    **_families({"orthopaedic": "orthopedic", "gynaecolog": "gynecolog"}, ("", "s", "y", "ist")),
    **_families({"anaesthetic": "anesthetic", "anaesthetist": "anesthetist"}, ("", "s")),
    **_families({"haemorrhage": "hemorrhage", "haematoma": "hematoma", "oedema": "edema"}, ("", "s")),
    **_families({"anaemia": "anemia", "diarrhoea": "diarrhea", "mould": "mold", "mouldy": "moldy"}, ("",)),
    "anaemic": "anemic",
    "foetal": "fetal",
    "grey": "gray",
    "counselling": "counseling",
    "travelling": "traveling",
    "labelled": "labeled",
    "fulfil": "fulfill",
    "licence": "license",
    **_families({"practis": "practic"}, ("e", "ed", "es", "ing")),
    **_families(
        {
            stem + "is": stem + "iz"
            for stem in (
                "organ",
                "recogn",
                "minim",
                "priorit",
                "critic",
                "real",
                "hospital",
                "sexual",
                "normal",
                "traumat",
                "stigmat",
                "apolog",
                "emphas",
                "summar",
                "categor",
                "jeopard",
                "scrutin",
                "util",
                "radical",
                "victim",
            )
        },
        ("e", "ed", "es", "ing", "ation", "ations"),
    ),
    **_families({"analys": "analyz", "paralys": "paralyz"}, ("e", "ed", "es", "ing")),
}
# American -> British for the American forms a writer may already use ("practice", "program"
# and "license" are also British nouns, so they are not turned back).
US_TO_UK: dict[str, str] = {us: uk for uk, us in UK_TO_US.items() if us not in ("practice", "program", "license")}
_SPELLING = {**UK_TO_US, **US_TO_UK}
_WORD = re.compile(r"\b[A-Za-z]+\b")


def _same_case(source: str, word: str) -> str:
    if source.isupper() and len(source) > 1:
        return word.upper()
    if source[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def swap_spelling(text: str, rng: random.Random) -> str:
    """British spellings to American (behaviour -> behavior, paediatric -> pediatric,
    organisation -> organization, sexualised -> sexualized ...) and the American ones back."""

    def swap(match: re.Match[str]) -> str:
        word = match.group()
        other = _SPELLING.get(word.lower())
        return _same_case(word, other) if other else word

    return _WORD.sub(swap, text)


# --- Abbreviations -------------------------------------------------------------------------

# (short form, long form); "ED"/"A&E" are two short forms of one thing, swapped both ways.
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("mum", "mother"),
    ("mums", "mothers"),
    ("dad", "father"),
    ("dads", "fathers"),
    ("DV", "domestic violence"),
    ("DA", "domestic abuse"),
    ("HVs", "health visitors"),
    ("HV", "health visitor"),
    ("SWs", "social workers"),
    ("SW", "social worker"),
    ("CP", "child protection"),
    ("CSC", "children's social care"),
    ("ED", "A&E"),
    ("DSL", "designated safeguarding lead"),
    ("NFA", "no further action"),
    ("WNB", "was not brought"),
    ("EHE", "elective home education"),
)
# Not inside a word, and not a verb made of the abbreviation ("NFA'd" stays).
_EDGE_BEFORE, _EDGE_AFTER = r"(?<![\w&'\u2019])", r"(?![\w&]|['\u2019]d\b)"
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*)$")


def _long_regex(long: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w).replace("'", "['\u2019]") for w in long.split())
    return re.compile(_EDGE_BEFORE + body + _EDGE_AFTER, re.IGNORECASE)


def _short_regex(short: str) -> re.Pattern[str]:
    flags = re.IGNORECASE if short.islower() else 0  # acronyms only as capitals: "ED", not "ed"
    return re.compile(_EDGE_BEFORE + re.escape(short) + _EDGE_AFTER, flags)


_CONTRACT = [(_long_regex(long), short) for short, long in ABBREVIATIONS]
_EXPAND = [(_short_regex(short), long) for short, long in ABBREVIATIONS]


def _substitute(text: str, table: Sequence[tuple[re.Pattern[str], str]]) -> str:
    """Every match of every pattern replaced at once (a replacement is never re-replaced)."""
    spans: list[tuple[int, int, str]] = []
    for regex, target in table:
        for match in regex.finditer(text):
            if any(match.start() < e and s < match.end() for s, e, _ in spans):
                continue
            word = match.group()
            capital = target[:1].upper() + target[1:]
            if not target.islower():  # an acronym, "A&E", or a long form written as it is
                replacement = target
            elif word[:1].isupper() and not word.isupper():  # "Mother" -> "Mum"
                replacement = capital
            elif word.isupper() and len(word) > 1 and _SENTENCE_START.search(text, 0, match.start()):
                # An acronym opening a sentence: "HV visited" -> "Health visitor visited"; a
                # lower-case writer's "mum" stays lower case.
                replacement = capital
            else:
                replacement = target
            spans.append((match.start(), match.end(), replacement))
    out, at = [], 0
    for start, end, replacement in sorted(spans):
        out.append(text[at:start])
        out.append(replacement)
        at = end
    out.append(text[at:])
    return "".join(out)


def contract_abbreviations(text: str, rng: random.Random) -> str:
    """Long forms to the abbreviations front-line staff write: mother -> mum, domestic
    violence -> DV, health visitor -> HV, children's social care -> CSC, A&E -> ED ..."""
    return _substitute(text, _CONTRACT)


def expand_abbreviations(text: str, rng: random.Random) -> str:
    """Abbreviations to the long forms a reviewer writes: mum -> mother, DV -> domestic
    violence, WNB -> was not brought, NFA -> no further action, ED -> A&E ..."""
    return _substitute(text, _EXPAND)


def typography(text: str, rng: random.Random) -> str:
    """What a word processor does: curly apostrophes and quotes, " - " as an en or em dash,
    number ranges with an en dash, "..." as one ellipsis character."""
    dash = rng.choice(["\u2013", "\u2014"])
    text = text.replace("...", "\u2026")
    text = re.sub(r"(?<=\d)-(?=\d)", "\u2013", text)
    text = re.sub(r" - | -- ", f" {dash} ", text)
    text = re.sub(r"(?<=\w)'(?=\w)", "\u2019", text)
    text = re.sub(r"(?<![\w])'", "\u2018", text)
    text = text.replace("'", "\u2019")
    opening = True
    out = []
    for char in text:
        if char == '"':
            out.append("\u201c" if opening else "\u201d")
            opening = not opening
        else:
            out.append(char)
    return "".join(out)


# --- Whole-record changes ------------------------------------------------------------------

HEADERS = (
    "OFFICIAL-SENSITIVE",
    "OFFICIAL - SENSITIVE: PERSONAL\r\nReferral details:",
    "Referral details:",
    "OFFICIAL-SENSITIVE\nReason for referral / details of concern:",
)
FOOTERS = (
    "Signed: J. Morgan",
    "Signed: K. Ahmed, Designated Safeguarding Lead, Oakfield Primary School. Date: 14/02/2024",
    "Kind regards,\nSarah Collins\nFamily Support Worker | Early Help Service\nTel: 03000 411111\n\n"
    "This email and any attachments are confidential and intended solely for the addressee. If you are not "
    "the intended recipient, please notify the sender immediately and delete it. Do not copy or forward it.",
    "Sent from my iPhone",
)


def boilerplate(text: str, rng: random.Random) -> str:
    """The passage between a classification header ("OFFICIAL-SENSITIVE", "Referral
    details:") and a footer ("Signed: ...", an email signature and disclaimer)."""
    return f"{rng.choice(HEADERS)}\n{text}\n\n{rng.choice(FOOTERS)}"


def repeat_twice(text: str, rng: random.Random) -> str:
    """Copy-paste duplication: the passage twice, joined by a space, a line break or a blank line."""
    return text + rng.choice([" ", "\n", "\n\n"]) + text


def join_records(first: GoldRecord, second: GoldRecord, separator: str) -> GoldRecord:
    """Two unrelated passages as one record: themes are the union; negated and hypothetical
    are the union minus the union of themes (an assertion in either passage wins)."""
    themes = first.themes | second.themes
    return replace(
        first,
        id=f"{first.id}+{second.id}",
        text=first.text + separator + second.text,
        themes=themes,
        negated=(first.negated | second.negated) - themes,
        hypothetical=(first.hypothetical | second.hypothetical) - themes,
    )


@dataclass(frozen=True)
class Perturbation:
    name: str
    apply: Perturb


TEXT_PERTURBATIONS: tuple[Perturbation, ...] = (
    Perturbation("all_caps", all_caps),
    Perturbation("all_lower", all_lower),
    Perturbation("no_punctuation", no_punctuation),
    Perturbation("bullet_list", bullet_list),
    Perturbation("hard_wrap_crlf", hard_wrap),
    Perturbation("messy_whitespace", messy_whitespace),
    Perturbation("typos", typos),
    Perturbation("us_uk_spelling", swap_spelling),
    Perturbation("abbrev_contract", contract_abbreviations),
    Perturbation("abbrev_expand", expand_abbreviations),
    Perturbation("typography", typography),
    Perturbation("boilerplate", boilerplate),
    Perturbation("repeat_twice", repeat_twice),
)
JOIN = "join_two"
NAMES = [p.name for p in TEXT_PERTURBATIONS] + [JOIN]


def record_rng(seed: int, name: str, file_name: str, record_id: str) -> random.Random:
    """The rng of one perturbed passage (string seeds hash the same in every process)."""
    return random.Random(f"{seed}|{name}|{file_name}|{record_id}")


def perturb_records(
    records: Sequence[GoldRecord], name: str, *, seed: int, file_name: str
) -> tuple[list[GoldRecord], list[int]]:
    """The perturbed copy of every record, and for each the index of the record joined to it
    (join_two) or -1."""
    partners: list[int] = []
    out: list[GoldRecord] = []
    if name == JOIN:
        for i, record in enumerate(records):
            rng = record_rng(seed, name, file_name, record.id)
            if len(records) < 2:
                out.append(record)
                partners.append(-1)
                continue
            j = rng.randrange(len(records) - 1)
            j += j >= i
            out.append(join_records(record, records[j], rng.choice([" ", "\n", "\n\n"])))
            partners.append(j)
        return out, partners
    perturb = next(p.apply for p in TEXT_PERTURBATIONS if p.name == name)
    for record in records:
        rng = record_rng(seed, name, file_name, record.id)
        out.append(replace(record, text=perturb(record.text, rng)))
        partners.append(-1)
    return out, partners


# --- Scoring -------------------------------------------------------------------------------

Pairs = frozenset[tuple[str, str]]


@dataclass
class Tagged:
    records: list[GoldRecord]
    predictions: list[set[str]]
    evidence: list[Pairs]  # (theme, pattern id) of each asserted theme's evidence


def tag(records: Sequence[GoldRecord]) -> Tagged:
    tagger = get_tagger()
    results: list[TagResult] = list(tagger.tag_many([_clean_text(r.text) for r in records]))
    return Tagged(
        list(records),
        [r.codes for r in results],
        [frozenset((t.code, e.pattern) for t in r.themes for e in t.evidence) for r in results],
    )


def score(tagged: Tagged, codes: Sequence[str]) -> dict[str, float]:
    report = evaluate(tagged.records, tagged.predictions, codes=codes)
    return {
        "micro_p": report["micro"]["precision"],
        "micro_r": report["micro"]["recall"],
        "micro_f1": report["micro"]["f1"],
        "macro_f1": report["macro"]["f1"],
        "negated_fp": report["negated"]["rate"],
        "hypothetical_fp": report["hypothetical"]["rate"],
    }


def per_theme_f1(tagged: Tagged, codes: Sequence[str]) -> dict[str, float]:
    report = evaluate(tagged.records, tagged.predictions, codes=codes)
    return {code: float(s["f1"]) for code, s in report["themes"].items()}


@dataclass
class Diff:
    stopped: Counter[tuple[str, str]]
    started: Counter[tuple[str, str]]
    stopped_lost_gold: Counter[tuple[str, str]]
    started_new_fp: Counter[tuple[str, str]]

    def add(self, other: Diff) -> None:
        for name in ("stopped", "started", "stopped_lost_gold", "started_new_fp"):
            getattr(self, name).update(getattr(other, name))


def evidence_diff(original: Tagged, perturbed: Tagged, partners: Sequence[int]) -> Diff:
    """Per passage: the (theme, pattern) pairs of asserted evidence that stopped or started
    firing against the original (for a joined record, the union of its two originals)."""
    diff = Diff(Counter(), Counter(), Counter(), Counter())
    for i, after in enumerate(perturbed.evidence):
        before, predicted = original.evidence[i], original.predictions[i]
        if partners[i] >= 0:
            before = before | original.evidence[partners[i]]
            predicted = predicted | original.predictions[partners[i]]
        gold = perturbed.records[i].themes
        now = perturbed.predictions[i]
        for pair in before - after:
            diff.stopped[pair] += 1
            if pair[0] in gold and pair[0] in predicted and pair[0] not in now:
                diff.stopped_lost_gold[pair] += 1
        for pair in after - before:
            diff.started[pair] += 1
            if pair[0] not in gold and pair[0] not in predicted and pair[0] in now:
                diff.started_new_fp[pair] += 1
    return diff


# --- Output --------------------------------------------------------------------------------


def table(title: str, rows: dict[str, dict[str, float]]) -> str:
    base = rows["original"]
    lines = [
        title,
        f"{'perturbation':<18}{'microP':>8}{'microR':>8}{'microF1':>8}{'dF1':>8}"
        f"{'macroF1':>8}{'dMacro':>8}{'negFP':>8}{'dNegFP':>8}{'hypFP':>8}{'dHypFP':>8}",
    ]
    for name, s in rows.items():
        lines.append(
            f"{name:<18}{s['micro_p']:>8.3f}{s['micro_r']:>8.3f}{s['micro_f1']:>8.3f}"
            f"{s['micro_f1'] - base['micro_f1']:>+8.3f}{s['macro_f1']:>8.3f}"
            f"{s['macro_f1'] - base['macro_f1']:>+8.3f}{s['negated_fp']:>8.3f}"
            f"{s['negated_fp'] - base['negated_fp']:>+8.3f}{s['hypothetical_fp']:>8.3f}"
            f"{s['hypothetical_fp'] - base['hypothetical_fp']:>+8.3f}"
        )
    return "\n".join(lines)


def _most_common(counts: Counter[tuple[str, str]], top: int) -> list[tuple[tuple[str, str], int]]:
    """Counter.most_common with ties broken by (theme, pattern), so the listing is the same in
    every process (the order of a set of strings varies with the hash seed)."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


def diff_lines(name: str, delta: float, diff: Diff, theme_deltas: dict[str, float], top: int) -> list[str]:
    lines = [f"  {name}: micro-F1 {delta:+.3f}"]
    worst = sorted(theme_deltas.items(), key=lambda kv: kv[1])[:5]
    lines.append("    theme F1 deltas (worst 5): " + ", ".join(f"{c} {d:+.3f}" for c, d in worst))
    lines.append(f"    stopped firing (passages / of which a gold theme was lost), top {top}:")
    for (theme, pattern), n in _most_common(diff.stopped, top):
        lines.append(f"      {n:>4} / {diff.stopped_lost_gold[(theme, pattern)]:<4} {theme:<26} {pattern}")
    lines.append(f"    started firing (passages / of which a non-gold theme was gained), top {top}:")
    for (theme, pattern), n in _most_common(diff.started, top):
        lines.append(f"      {n:>4} / {diff.started_new_fp[(theme, pattern)]:<4} {theme:<26} {pattern}")
    return lines


def default_files() -> list[Path]:
    return [DATA / "dev.jsonl", *sorted(DATA.glob("tune_*.jsonl"))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", type=Path, help="gold JSON Lines files (default: dev + tune_*)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=int, default=10, help="(theme, pattern) pairs listed per direction")
    parser.add_argument("--json", type=Path, help="also write every score to this JSON file")
    args = parser.parse_args(argv)
    files: list[Path] = args.files or default_files()
    for path in files:
        if path.name.lower().startswith("holdout"):
            parser.error(f"{path.name}: holdout files are never scored here")
    tagger = get_tagger()
    codes = sorted(tagger.theme_codes)
    print(f"tagger {tagger.version}, seed {args.seed}")
    pooled: dict[str, list[Tagged]] = {"original": []}
    pooled_partners: dict[str, list[int]] = {}
    pooled_diffs: dict[str, Diff] = {}
    all_scores: dict[str, dict[str, dict[str, float]]] = {}
    for path in files:
        records = read_gold(path, known_codes=codes)
        original = tag(records)
        pooled["original"].append(original)
        rows = {"original": score(original, codes)}
        base_themes = per_theme_f1(original, codes)
        notes: list[str] = []
        for name in NAMES:
            copies, partners = perturb_records(records, name, seed=args.seed, file_name=path.name)
            perturbed = tag(copies)
            pooled.setdefault(name, []).append(perturbed)
            offset = sum(len(t.records) for t in pooled["original"][:-1])
            pooled_partners.setdefault(name, []).extend(p + offset if p >= 0 else -1 for p in partners)
            rows[name] = score(perturbed, codes)
            if name == JOIN:
                separate = Tagged(
                    copies,
                    [
                        original.predictions[i] | (original.predictions[j] if j >= 0 else set())
                        for i, j in enumerate(partners)
                    ],
                    [],
                )
                rows[JOIN + "*"] = score(separate, codes)
            diff = evidence_diff(original, perturbed, partners)
            pooled_diffs.setdefault(name, Diff(Counter(), Counter(), Counter(), Counter())).add(diff)
            delta = rows[name]["micro_f1"] - rows["original"]["micro_f1"]
            if delta < -DIFF_THRESHOLD:
                now = per_theme_f1(perturbed, codes)
                notes += diff_lines(name, delta, diff, {c: now[c] - base_themes[c] for c in now}, args.top)
        all_scores[path.name] = rows
        print()
        print(table(f"{path.name} ({len(records)} passages)", rows))
        if notes:
            print(f"why (perturbations costing more than {DIFF_THRESHOLD} micro-F1 on {path.name}):")
            print("\n".join(notes))
    if len(files) > 1:
        merged = {
            name: Tagged(
                [r for t in parts for r in t.records],
                [p for t in parts for p in t.predictions],
                [e for t in parts for e in t.evidence],
            )
            for name, parts in pooled.items()
        }
        rows = {name: score(merged[name], codes) for name in ("original", *NAMES)}
        join_partners = pooled_partners[JOIN]
        separate = Tagged(
            merged[JOIN].records,
            [
                merged["original"].predictions[i] | (merged["original"].predictions[j] if j >= 0 else set())
                for i, j in enumerate(join_partners)
            ],
            [],
        )
        rows[JOIN + "*"] = score(separate, codes)
        all_scores["pooled"] = rows
        total = len(merged["original"].records)
        print()
        print(table(f"all files pooled ({total} passages)", rows))
        base_themes = per_theme_f1(merged["original"], codes)
        notes = []
        for name in NAMES:
            delta = rows[name]["micro_f1"] - rows["original"]["micro_f1"]
            if delta < -DIFF_THRESHOLD:
                now = per_theme_f1(merged[name], codes)
                notes += diff_lines(
                    name, delta, pooled_diffs[name], {c: now[c] - base_themes[c] for c in now}, args.top
                )
        if notes:
            print(f"why (pooled; perturbations costing more than {DIFF_THRESHOLD} micro-F1):")
            print("\n".join(notes))
    if args.json:
        payload: dict[str, Any] = {"tagger": tagger.version, "seed": args.seed, "scores": all_scores}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
