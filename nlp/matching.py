"""Record linkage of people named in referrals (pure Python: no Django, no ORM).

Fellegi-Sunter scoring: each compared field falls into one agreement level; each level has an
m-probability (P(level | same person)) and a u-probability (P(level | different people)) that
were *estimated from data* (bench/train_match_model.py: EM for m, random pairs for u) and are
stored with a version in nlp/matching_data/model.json. The match weight is the sum of
log2(m/u) over fields (with a term-frequency adjustment for common names); the score is the
posterior probability given the model's prior.

Flow used by the Django side:
    person_normalise(PersonRecord) -> NormalisedPerson          (store each field in a column)
    person_blocking_keys(NormalisedPerson) -> {key name: value}  (indexed columns)
    candidates = prior people sharing a key value (see person_blocking_lookups for aliases)
    referral_matches(new_people, candidates, MatchModel.load_default()) -> [ReferralMatch]

A referral link combines all its one-to-one person pairs (referral_link_evidence): the best
pair's posterior log-odds plus, for each further pair, log2(q * BF + 1 - q), where q is how
often two people of those roles in one family's referrals are the same person (estimated by EM).
"""

from __future__ import annotations

import csv
import json
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jellyfish
from rapidfuzz.distance import OSA, JaroWinkler

from intake.nhs_numbers import nhs_number_is_valid

DATA_DIR = Path(__file__).resolve().parent / "matching_data"
MODEL_PATH = DATA_DIR / "model.json"

NameFrequency = Callable[[str, str], float]

ROLES = ("child", "mother", "father", "partner", "carer", "other")
ADULT_ROLES = frozenset({"mother", "father", "partner", "carer", "other"})
PARENT_ROLES = frozenset({"mother", "father", "partner", "carer"})

# Agreement labels promised to callers (interfaces.md / issue #4).
AGREEMENT_LABELS = ("exact", "fuzzy", "phonetic", "nickname", "swapped", "partial", "different", "missing")

# Compared fields, their internal levels in precedence order, and the public label of each level.
# Finer internal levels let EM give, say, a same-sector postcode more weight than a same-district one.
FIELD_LEVELS: dict[str, tuple[tuple[str, str], ...]] = {
    "nhs_number": (("exact", "exact"), ("different", "different"), ("missing", "missing")),
    "given_name": (
        ("exact", "exact"),
        ("nickname", "nickname"),
        ("fuzzy", "fuzzy"),
        ("phonetic", "phonetic"),
        ("swapped", "swapped"),
        ("partial", "partial"),
        ("fuzzy_weak", "fuzzy"),
        ("different", "different"),
        ("missing", "missing"),
    ),
    "family_name": (
        ("exact", "exact"),
        ("fuzzy", "fuzzy"),
        ("phonetic", "phonetic"),
        ("swapped", "swapped"),
        ("partial", "partial"),
        ("fuzzy_weak", "fuzzy"),
        ("different", "different"),
        ("missing", "missing"),
    ),
    "date_of_birth": (
        ("exact", "exact"),
        ("swapped", "swapped"),
        ("typo", "partial"),
        ("month", "partial"),
        ("expected", "partial"),  # an unborn child's expected date within 45 days of the birth
        ("year", "partial"),
        ("different", "different"),
        ("missing", "missing"),
    ),
    "sex": (("exact", "exact"), ("different", "different"), ("missing", "missing")),
    "postcode": (
        ("exact", "exact"),
        ("sector", "partial"),
        ("district", "partial"),
        ("different", "different"),
        ("missing", "missing"),
    ),
    "role": (("exact", "exact"), ("partial", "partial"), ("different", "different")),
}
FIELDS: tuple[str, ...] = tuple(FIELD_LEVELS)
LEVEL_INDEX: dict[str, dict[str, int]] = {
    f: {lv: i for i, (lv, _) in enumerate(levels)} for f, levels in FIELD_LEVELS.items()
}
LEVEL_LABEL: dict[str, dict[str, str]] = {f: dict(levels) for f, levels in FIELD_LEVELS.items()}

# Every key combines two pieces of evidence, so that no key value is shared by a fixed share of
# all people (a date of birth alone, a surname alone, a postcode sector with a given name): the
# candidate set then grows with the data only as fast as the rarest piece does. At 1M people
# (bench/bench_matching.py, PostgreSQL) the median candidate set of a referral went from 866
# people to 245, at the cost of 0.2-0.3% referral recall on the synthetic seeds.
BLOCKING_KEY_NAMES: tuple[str, ...] = (
    "nhs",  # valid NHS number
    "dob_given",  # ISO date of birth + first letter of the given name
    "dob_family",  # ISO date of birth + first letter of the family name (a nickname, another initial)
    "dob_swap",  # year + {day, month} unordered + family initial: a day-month swap gives the same value
    "name_phon",  # metaphone(given) + metaphone(family): adults without a date of birth; also looked
    # up with the metaphone of every name in the given name's nickname groups ("Mandy" -> "Amanda")
    "fam_phon_dob_md",  # metaphone(family) + month-day: nickname or year typo
    "given_phon_dob_ym",  # metaphone(given) + year-month: changed surname + day typo
    "alias_phon",  # metaphone(given) + metaphone(an alias surname); looked up in name_phon too
    "name_sdx",  # soundex of given and family, order-free: spelling variants, no date of birth
    "unborn_fam_yob",  # unborn child: metaphone(family) + expected year; born children look it up
    # with their year of birth +/-1 (only unborn records are indexed: a surname and a year alone
    # were hundreds of children at a million people)
    "given3_fam_phon",  # first three letters of the given name + metaphone(family): late typos,
    # truncations ("Isabie" for "Isabelle", "Dani" for "Daniela")
    "postcode",  # full postcode: the household, whatever the names (blank, changed or swapped)
    "nameless_fam",  # no given name: child/adult + metaphone(family) + postcode district ("-" when
    # none); people of the same kind look up their own district and "-"
    "nameless_fam_yob",  # no given name but a date (or an "Unborn" placeholder's referral year): child/adult
    # + metaphone(family) + year of birth;
    # anyone with a year of birth looks it up +/-1, so a nameless record is found after a move
)

# Source systems fill an unknown date of birth with a sentinel (01/01/1900 is the commonest);
# two records agreeing on a sentinel is no evidence at all, so such a date counts as missing.
_EARLIEST_REAL_DOB = date(1901, 1, 1)

# Names that mean "not known" rather than a name.
_PLACEHOLDER_NAMES = frozenset(
    {"unknown", "unborn", "baby", "babyof", "notknown", "nk", "tbc", "tba", "na", "none", "unnamed", "infant", "child"}
)
# First words that make a whole name a placeholder ("Unborn baby", "Baby Smith"); with "babyof"
# written together, they mark a child not yet born or named.
_UNBORN_FIRST_WORDS = frozenset({"unborn", "baby"})
_UNBORN_PLACEHOLDERS = _UNBORN_FIRST_WORDS | {"babyof"}
_TITLES = frozenset({"mr", "mrs", "miss", "ms", "mx", "dr", "master", "prof", "rev", "sir"})
_NAME_SPLIT_RE = re.compile(r"[\s\-_/,.]+")
_NON_LETTER_RE = re.compile(r"[^a-z\s\-]")
_POSTCODE_STRIP_RE = re.compile(r"[^A-Z0-9]")
_NHS_STRIP_RE = re.compile(r"[\s\-]+")
_ADDRESS_TOKEN_RE = re.compile(r"[a-z0-9]+")


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A person as typed in one referral (raw values; normalising is person_normalise's job)."""

    key: str  # opaque id of the person row (e.g. "123" or "NEW-1:3")
    referral_key: str  # opaque id of its referral
    role: str  # child|mother|father|partner|carer|other
    given_name: str = ""
    family_name: str = ""
    other_names: tuple[str, ...] = ()
    date_of_birth: date | None = None
    sex: str = ""
    postcode: str = ""
    address_line: str = ""
    nhs_number: str = ""
    # Optional extras from the online form (the legacy CSV has none of these).
    age_years: int | None = None  # when only an age was given
    as_of: date | None = None  # the referral's date, to turn an age into a year of birth
    expected_date: date | None = None  # unborn child's expected date of delivery


@dataclass(frozen=True, slots=True)
class NormalisedPerson:
    """Normalised fields and precomputed codes; flat str/int/None so each fits a DB column."""

    key: str
    referral_key: str
    role: str
    given: str = ""  # all given tokens, space-separated, lower-case ascii
    given_first: str = ""
    given_phon: str = ""  # metaphone of given_first
    given_groups: str = ""  # nickname groups of given_first, "|"-separated
    family: str = ""  # all family tokens, space-separated ("smith jones" for Smith-Jones)
    family_first: str = ""
    family_phon: str = ""  # metaphone of family_first
    alias_given: str = ""  # "|"-separated given tokens from other names
    alias_family: str = ""  # "|"-separated family tokens from other names
    alias_family_phon: str = ""  # metaphone of the first alias surname
    dob: str | None = None  # ISO date; for an unborn child, the expected date
    dob_year: int | None = None
    dob_month: int | None = None
    dob_day: int | None = None
    dob_kind: str = ""  # "" none, "exact" typed, "expected" unborn, "age" year from an age,
    # "unborn" a year only: an unborn or new-born child with no date ("Unborn Smith"), born about
    # the year of the referral
    sex: str = ""  # "f", "m", "o" or ""
    postcode: str = ""  # "ME4 6BX"
    pc_sector: str = ""  # "ME4 6"
    pc_district: str = ""  # "ME4"
    address: str = ""  # lower-case tokens of the address line
    nhs: str = ""  # 10 digits with a valid check digit, else ""


@dataclass(frozen=True, slots=True)
class PersonComparison:
    score: float  # posterior probability of the same person, 0..1
    match_weight: float  # log2 Bayes factor summed over fields (no prior), after the caps
    agreements: dict[str, str]  # field -> one of AGREEMENT_LABELS
    field_weights: dict[str, float] = field(default_factory=dict)  # field -> its log2 weight
    # The lowest cap that a conflict between the two people put on their posterior (twins, two
    # NHS numbers...); None when there is no such conflict. A name-only agreement's cap is not
    # here: it says the two records may be namesakes in another family, not that they differ.
    conflict_cap: float | None = None


@dataclass(frozen=True, slots=True)
class PersonMatch:
    new_key: str
    prior_key: str
    score: float
    agreements: dict[str, str]
    relation: str  # "same_child" | "same_parent" | "same_adult" | "role_changed"


@dataclass(frozen=True, slots=True)
class ReferralMatch:
    referral_key: str  # the prior referral
    score: float
    band: str  # "likely" | "possible"
    link_type: str  # "same_person" (a child in both) | "same_family" (a parent/partner/carer shared)
    persons: list[PersonMatch]


# --------------------------------------------------------------------------------------------
# Normalising
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)  # bounded: an import sees a million distinct spellings
def _fold(text: str) -> str:
    """Lower-case ascii letters, spaces and hyphens (accents dropped, apostrophes joined)."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower().replace("'", "")
    return _NON_LETTER_RE.sub(" ", ascii_text)


def _folded_words(text: str) -> list[str]:
    """The words of a typed name, folded (see _fold), titles and placeholders still in."""
    return [t for t in _NAME_SPLIT_RE.split(_fold(text or "")) if t]


def _name_tokens(text: str) -> list[str]:
    return _names_of(_folded_words(text))


def _names_of(words: list[str]) -> list[str]:
    """The name in folded words: "Baby of", "Unknown" etc. are placeholders, and titles are not names."""
    first = 0
    while first < len(words) and words[first] in _TITLES:
        first += 1
    tokens = words[first:]
    if "".join(tokens) in _PLACEHOLDER_NAMES or (tokens and tokens[0] in _UNBORN_FIRST_WORDS):
        return []
    return [t for t in tokens if t not in _PLACEHOLDER_NAMES]


@lru_cache(maxsize=65536)
def _phon(token: str) -> str:
    if not token:
        return ""
    return jellyfish.metaphone(token) or token[:4]


@lru_cache(maxsize=65536)
def _sdx(token: str) -> str:
    return jellyfish.soundex(token) if token else ""


@cache
def _nickname_table() -> dict[str, frozenset[str]]:
    """Name -> the set of group ids it belongs to (a canonical name and all its diminutives)."""
    groups: dict[str, set[str]] = defaultdict(set)

    def add(canonical: str, nickname: str) -> None:
        canonical, nickname = canonical.strip().lower(), nickname.strip().lower()
        if canonical and nickname:
            groups[canonical].add(canonical)
            groups[nickname].add(canonical)

    try:  # the curated public table (Apache-2.0), when installed
        import nicknames

        for triplet in nicknames.name_triplets():
            add(triplet.name1, triplet.name2)
    except ImportError:  # pragma: no cover - the package is a declared dependency
        pass
    with (DATA_DIR / "nicknames_uk.csv").open(encoding="utf-8") as handle:
        for row in csv.reader(line for line in handle if not line.startswith("#")):
            if len(row) >= 2:
                for nickname in row[1:]:
                    add(row[0], nickname)
    return {name: frozenset(ids) for name, ids in groups.items()}


def name_groups(token: str) -> frozenset[str]:
    """Nickname group ids of a normalised given name ('liz' -> {'elizabeth'})."""
    return _nickname_table().get(token, frozenset())


@cache
def _nickname_members() -> dict[str, frozenset[str]]:
    """Group id -> every name in the group."""
    members: dict[str, set[str]] = defaultdict(set)
    for name, ids in _nickname_table().items():
        for group_id in ids:
            members[group_id].add(name)
    return {group_id: frozenset(names) for group_id, names in members.items()}


@lru_cache(maxsize=16384)
def nickname_phonetic_variants(token: str) -> frozenset[str]:
    """Metaphone codes of every name that shares a nickname group with `token` ('mandy' -> AMNT...)."""
    members = _nickname_members()
    return frozenset(_phon(name) for group_id in name_groups(token) for name in members.get(group_id, ()))


def normalise_postcode(value: str) -> tuple[str, str, str]:
    """(full, sector, district): ('ME4 6BX', 'ME4 6', 'ME4'); partial inputs keep what they can."""
    compact = _POSTCODE_STRIP_RE.sub("", (value or "").upper())
    if len(compact) >= 5 and compact[-3].isdigit():
        outward, inward = compact[:-3], compact[-3:]
        return f"{outward} {inward}", f"{outward} {inward[0]}", outward
    if 2 <= len(compact) <= 4 and compact[0].isalpha():
        return "", "", compact  # an outward code alone ("ME4")
    return "", "", ""


# The matcher's name for the one modulus-11 check (intake/nhs_numbers.py has no Django imports).
nhs_number_valid = nhs_number_is_valid


def _unborn_placeholder(words: list[str]) -> bool:
    """Folded words that are a placeholder for an unborn or new-born child's name ("Unborn", "Baby", "Baby of")."""
    return bool(words) and words[0] in _UNBORN_PLACEHOLDERS


def person_normalise(record: PersonRecord) -> NormalisedPerson:
    """Normalise one typed person and precompute the codes that comparing and blocking use."""
    given_words, family_words = _folded_words(record.given_name), _folded_words(record.family_name)
    given_tokens, family_tokens = _names_of(given_words), _names_of(family_words)
    child = (record.role or "").strip().lower() == "child"
    unborn_name = child and (_unborn_placeholder(given_words) or _unborn_placeholder(family_words))
    if unborn_name and given_tokens and not family_tokens:
        # "Williams" / "Unborn baby": the name order swapped, so the surname was typed as given.
        given_tokens, family_tokens = [], given_tokens
    alias_given: list[str] = []
    alias_family: list[str] = []
    for alias in record.other_names:
        tokens = _name_tokens(alias)
        if len(tokens) >= 2:
            alias_given.append(tokens[0])
            alias_family.extend(tokens[1:])
        elif tokens:  # one word: a maiden name or a known-as given name, so keep it as both
            alias_given.append(tokens[0])
            alias_family.append(tokens[0])
    given_first = given_tokens[0] if given_tokens else ""
    family_first = family_tokens[0] if family_tokens else ""

    dob = record.date_of_birth
    if dob is not None and dob < _EARLIEST_REAL_DOB:
        dob = None
    dob_kind = "exact" if dob else ""
    year_only: int | None = None
    if dob is None and record.expected_date is not None:
        dob, dob_kind = record.expected_date, "expected"
    if dob is None and record.age_years is not None and record.as_of is not None and 0 <= record.age_years < 120:
        # Mid-point of the two possible years of birth; compared with a +/-1 year tolerance.
        year_only, dob_kind = record.as_of.year - record.age_years - (1 if record.as_of.month < 7 else 0), "age"
    if dob is None and year_only is None and record.as_of is not None and unborn_name:
        # "Unborn" / "Baby Smith" with no expected date: born within months of the referral, so
        # the referral's year (+/-1) places the birth; compared like a year from an age.
        year_only, dob_kind = record.as_of.year, "unborn"

    sex = (record.sex or "").strip().lower()[:1]
    postcode, sector, district = normalise_postcode(record.postcode)
    nhs = _NHS_STRIP_RE.sub("", record.nhs_number or "")
    return NormalisedPerson(
        key=record.key,
        referral_key=record.referral_key,
        role=(record.role or "other").strip().lower(),
        given=" ".join(given_tokens),
        given_first=given_first,
        given_phon=_phon(given_first),
        given_groups="|".join(sorted(name_groups(given_first))),
        family=" ".join(family_tokens),
        family_first=family_first,
        family_phon=_phon(family_first),
        alias_given="|".join(dict.fromkeys(alias_given)),
        alias_family="|".join(dict.fromkeys(alias_family)),
        alias_family_phon=_phon(alias_family[0]) if alias_family else "",
        dob=dob.isoformat() if dob else None,
        dob_year=dob.year if dob else year_only,
        dob_month=dob.month if dob else None,
        dob_day=dob.day if dob else None,
        dob_kind=dob_kind,
        sex=sex if sex in {"f", "m", "o"} else "",
        postcode=postcode,
        pc_sector=sector,
        pc_district=district,
        address=" ".join(_ADDRESS_TOKEN_RE.findall((record.address_line or "").lower())),
        nhs=nhs if nhs_number_valid(nhs) else "",
    )


# --------------------------------------------------------------------------------------------
# Blocking
# --------------------------------------------------------------------------------------------


def person_blocking_keys(person: NormalisedPerson) -> dict[str, str | None]:
    """Blocking key values (same names as BLOCKING_KEY_NAMES, None when not computable).

    A prior person is a candidate when it has the same value in the same key column for at
    least one key; person_blocking_lookups() adds the cross-column look-ups that catch an alias.
    """
    p = person
    exact_dob = p.dob if p.dob_kind == "exact" else None
    swap = None
    if exact_dob and p.family_first and p.dob_day and p.dob_month and p.dob_day <= 12 and p.dob_day != p.dob_month:
        lo, hi = sorted((p.dob_day, p.dob_month))
        swap = f"{p.dob_year}:{lo:02d}{hi:02d}:{p.family_first[0]}"
    # Order-free, so that a swapped given/family name gives the same key.
    name_phon = ":".join(sorted((p.given_phon, p.family_phon))) if p.given_phon and p.family_phon else None
    name_sdx = (
        ":".join(sorted((_sdx(p.given_first), _sdx(p.family_first)))) if p.given_first and p.family_first else None
    )
    nameless = not p.given_first and bool(p.family_phon)
    return {
        "nhs": p.nhs or None,
        "dob_given": f"{exact_dob}:{p.given_first[0]}" if exact_dob and p.given_first else None,
        "dob_family": f"{exact_dob}:{p.family_first[0]}" if exact_dob and p.family_first else None,
        "dob_swap": swap,
        "name_phon": name_phon,
        "fam_phon_dob_md": (
            f"{p.family_phon}:{p.dob_month:02d}{p.dob_day:02d}"
            if p.family_phon and exact_dob and p.dob_month and p.dob_day
            else None
        ),
        "given_phon_dob_ym": f"{p.given_phon}:{p.dob_year}{p.dob_month:02d}"
        if p.given_phon and exact_dob and p.dob_month
        else None,
        "alias_phon": ":".join(sorted((p.given_phon, p.alias_family_phon)))
        if p.given_phon and p.alias_family_phon
        else None,
        "name_sdx": name_sdx,
        "unborn_fam_yob": f"{p.family_phon}:{p.dob_year}"
        if p.role == "child" and p.family_phon and p.dob_year and p.dob_kind == "expected"
        else None,
        "given3_fam_phon": f"{p.given_first[:3]}:{p.family_phon}"
        if len(p.given_first) >= 3 and p.family_phon
        else None,
        "postcode": p.postcode or None,
        "nameless_fam": f"{_kind(p)}:{p.family_phon}:{p.pc_district or '-'}" if nameless else None,
        "nameless_fam_yob": f"{_kind(p)}:{p.family_phon}:{p.dob_year}"
        if nameless and p.dob_year and p.dob_kind in _DATED_KINDS
        else None,
    }


# Kinds of date of birth that give a year worth blocking on (an age gives a year +/-1 only; an
# "Unborn" placeholder's referral year is indexed, for nameless records only).
_DATED_KINDS = frozenset({"exact", "expected", "unborn"})


def _kind(person: NormalisedPerson) -> str:
    return "c" if person.role == "child" else "a"


def person_blocking_lookups(person: NormalisedPerson) -> dict[str, frozenset[str]]:
    """Column -> values to look up for candidates: its own keys plus alias <-> name crossings.

    A new "Jane Smith (aka Jane Jones)" must find a prior "Jane Jones", whose name_phon equals
    the new alias_phon; and a prior record carrying the alias must be found from the new name.
    """
    keys = person_blocking_keys(person)
    lookups: dict[str, set[str]] = {name: {value} for name, value in keys.items() if value}
    if keys["alias_phon"]:
        lookups.setdefault("name_phon", set()).add(keys["alias_phon"])
    if keys["name_phon"]:
        lookups.setdefault("alias_phon", set()).add(keys["name_phon"])
    if person.family_phon and person.dob_year and person.dob_kind in _DATED_KINDS | {"age"}:
        years = (person.dob_year - 1, person.dob_year, person.dob_year + 1)
        if person.role == "child":
            # An unborn child's expected date becomes a date of birth, maybe across a new year.
            lookups["unborn_fam_yob"] = {f"{person.family_phon}:{year}" for year in years}
        # An earlier record without a given name ("Baby Smith", "Ms Kaur") but with a date.
        lookups["nameless_fam_yob"] = {f"{_kind(person)}:{person.family_phon}:{year}" for year in years}
    if person.family_phon:
        # An earlier record without a given name in the same district, or with no postcode.
        prefix = f"{_kind(person)}:{person.family_phon}:"
        lookups["nameless_fam"] = {prefix + "-"} | ({prefix + person.pc_district} if person.pc_district else set())
    if person.given_first and person.family_phon:
        # A nickname ("Mandy" for "Amanda") with nothing else shared: the group's other names.
        variants = {
            ":".join(sorted((code, person.family_phon)))
            for code in nickname_phonetic_variants(person.given_first)
            if code and code != person.given_phon
        }
        if variants:
            lookups.setdefault("name_phon", set()).update(variants)
    if keys["dob_given"] and person.dob:
        # A middle name or an alias used as the first name ("Noah Harry" / "Harry"), with the same
        # date of birth: their initials.
        initials = {token[0] for token in person.given.split()[1:]}
        initials.update(token[0] for token in person.alias_given.split("|") if token)
        lookups["dob_given"].update(f"{person.dob}:{initial}" for initial in initials)
    return {name: frozenset(values) for name, values in lookups.items()}


class CandidateIndex:
    """In-memory blocking index (for evaluation and small batches; the app uses DB columns)."""

    def __init__(self) -> None:
        self._index: dict[str, dict[str, list[NormalisedPerson]]] = {
            name: defaultdict(list) for name in BLOCKING_KEY_NAMES
        }

    def add(self, person: NormalisedPerson) -> None:
        for name, value in person_blocking_keys(person).items():
            if value:
                self._index[name][value].append(person)

    def candidates(self, person: NormalisedPerson) -> list[NormalisedPerson]:
        seen: dict[str, NormalisedPerson] = {}
        for name, values in person_blocking_lookups(person).items():
            column = self._index[name]
            for value in values:
                for prior in column.get(value, ()):
                    seen.setdefault(prior.key, prior)
        return list(seen.values())


# --------------------------------------------------------------------------------------------
# Comparing two people: agreement levels
# --------------------------------------------------------------------------------------------

_JW_STRONG = 0.92  # thresholds of the fuzzy levels; their weights are estimated, not set
_JW_WEAK = 0.80


def _jw(a: str, b: str) -> float:
    return JaroWinkler.normalized_similarity(a, b)


def _edits(a: str, b: str) -> int:
    """Damerau-Levenshtein (OSA) distance: one slip in a short name ('Ivy'/'Icy') is one edit."""
    return OSA.distance(a, b)


def _given_level(a: NormalisedPerson, b: NormalisedPerson) -> str:
    ga, gb = a.given_first, b.given_first
    if not ga or not gb:
        return "missing"
    if ga == gb:
        return "exact"
    if a.given_groups and b.given_groups and not set(a.given_groups.split("|")).isdisjoint(b.given_groups.split("|")):
        return "nickname"
    similarity = _jw(ga, gb)
    edits = _edits(ga, gb)
    if similarity >= _JW_STRONG or (edits <= 1 and min(len(ga), len(gb)) >= 3):
        return "fuzzy"
    if a.given_phon == b.given_phon:
        return "phonetic"
    if a.family_first and b.family_first and ga == b.family_first and gb == a.family_first:
        return "swapped"
    if _given_partial(a, b):
        return "partial"
    if similarity >= _JW_WEAK or (edits <= 2 and min(len(ga), len(gb)) >= 4):
        return "fuzzy_weak"
    if _name_close(ga, b.family_first) and _name_close(gb, a.family_first):
        return "swapped"  # the order swapped and a slip in one name ("Olyvia Jarvis" / "Jarvis Olivia")
    return "different"


def _name_close(x: str, y: str) -> bool:
    """The 'fuzzy' test of a name level: Jaro-Winkler >= 0.92 or one edit in names of 3+ letters."""
    if not x or not y:
        return False
    return _jw(x, y) >= _JW_STRONG or (_edits(x, y) <= 1 and min(len(x), len(y)) >= 3)


def _given_partial(a: NormalisedPerson, b: NormalisedPerson) -> bool:
    """An initial, a middle name used as the first, or a known-as name."""
    ga, gb = a.given_first, b.given_first
    if (len(ga) == 1 or len(gb) == 1) and ga[0] == gb[0]:
        return True
    return not _given_tokens(a.given, a.alias_given).isdisjoint(_given_tokens(b.given, b.alias_given))


@lru_cache(maxsize=16384)
def _given_tokens(given: str, alias_given: str) -> frozenset[str]:
    # The same few people are compared with every candidate of a referral: split them once.
    return frozenset(given.split()) | frozenset(filter(None, alias_given.split("|")))


def _family_level(a: NormalisedPerson, b: NormalisedPerson, given_level: str) -> str:
    fa, fb = a.family, b.family
    if not fa or not fb:
        return "missing"
    if fa == fb:
        return "exact"
    if given_level == "swapped":
        return "swapped"
    similarity = _jw(fa, fb)
    edits = _edits(fa, fb)
    if similarity >= _JW_STRONG or (edits <= 1 and min(len(fa), len(fb)) >= 3):
        return "fuzzy"
    if a.family_phon == b.family_phon and len(a.family_first) > 2:
        return "phonetic"
    # Hyphenated / double-barrelled / changed surname that the other record gives as an alias.
    tokens_a = set(fa.split()) | set(filter(None, a.alias_family.split("|")))
    tokens_b = set(fb.split()) | set(filter(None, b.alias_family.split("|")))
    if not tokens_a.isdisjoint(tokens_b):
        return "partial"
    if similarity >= _JW_WEAK or (edits <= 2 and min(len(fa), len(fb)) >= 4):
        return "fuzzy_weak"
    return "different"


def _one_digit_apart(x: int, y: int) -> bool:
    sx, sy = str(x), str(y)
    if len(sx) != len(sy):
        return False
    diffs = [i for i in range(len(sx)) if sx[i] != sy[i]]
    if len(diffs) == 1:
        return True
    # Two adjacent digits transposed (2016 <-> 2061, 12 <-> 21).
    return (
        len(diffs) == 2 and diffs[1] == diffs[0] + 1 and sx[diffs[0]] == sy[diffs[1]] and sx[diffs[1]] == sy[diffs[0]]
    )


def _dob_level(a: NormalisedPerson, b: NormalisedPerson) -> str:
    if a.dob_year is None or b.dob_year is None:
        return "missing"
    if "age" in (a.dob_kind, b.dob_kind) or "unborn" in (a.dob_kind, b.dob_kind):
        return "year" if abs(a.dob_year - b.dob_year) <= 1 else "different"
    ya, ma, da, yb, mb, db = a.dob_year, a.dob_month, a.dob_day, b.dob_year, b.dob_month, b.dob_day
    if ma is None or mb is None or da is None or db is None:  # pragma: no cover - full dates only
        return "missing"
    if "expected" in (a.dob_kind, b.dob_kind):
        # Unborn then born: the birth is near the expected date.
        days = abs((date(ya, ma, da) - date(yb, mb, db)).days)
        return "expected" if days <= 45 else ("year" if days <= 120 else "different")
    if ya == yb and ma == mb and da == db:
        return "exact"
    if ya == yb and ma == db and da == mb:
        return "swapped"
    if (ya == yb and ma == mb and _one_digit_apart(da, db)) or (
        ma == mb and da == db and (_one_digit_apart(ya, yb) or abs(ya - yb) == 1)
    ):
        return "typo"
    if ya == yb and da == db and _one_digit_apart(ma, mb):
        return "typo"
    if ya == yb and ma == mb:
        return "month"
    if ya == yb:
        return "year"
    return "different"


def _postcode_level(a: NormalisedPerson, b: NormalisedPerson) -> str:
    if not a.pc_district or not b.pc_district:
        return "missing"
    if a.postcode and a.postcode == b.postcode:
        return "exact"
    if a.pc_sector and a.pc_sector == b.pc_sector:
        return "sector"
    if a.pc_district == b.pc_district:
        return "district"
    return "different"


def _role_level(a: NormalisedPerson, b: NormalisedPerson) -> str:
    if a.role == b.role:
        return "exact"
    if (a.role == "child") == (b.role == "child"):
        return "partial"
    return "different"


def comparison_levels(a: NormalisedPerson, b: NormalisedPerson) -> dict[str, str]:
    """Internal agreement level of every compared field (what the model weighs)."""
    given = _given_level(a, b)
    return {
        "nhs_number": ("exact" if a.nhs == b.nhs else "different") if a.nhs and b.nhs else "missing",
        "given_name": given,
        "family_name": _family_level(a, b, given),
        "date_of_birth": _dob_level(a, b),
        "sex": ("exact" if a.sex == b.sex else "different")
        if a.sex and b.sex and "o" not in (a.sex, b.sex)
        else "missing",
        "postcode": _postcode_level(a, b),
        "role": _role_level(a, b),
    }


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


# Levels that namesakes in another family rarely share (an NHS number agreeing is checked apart).
_DOB_CORROBORATES = frozenset({"exact", "swapped", "typo", "month", "expected"})
_POSTCODE_CORROBORATES = frozenset({"exact", "sector"})
_NO_GIVEN_AGREEMENT = frozenset({"missing", "different"})


def _logit(probability: float) -> float:
    probability = min(max(probability, 1e-12), 1 - 1e-12)
    return math.log2(probability / (1 - probability))


def _sigmoid2(weight: float) -> float:
    if weight > 60:
        return 1.0
    if weight < -60:
        return 0.0
    return 1.0 / (1.0 + 2.0**-weight)


class MatchModel:
    """Estimated Fellegi-Sunter parameters (m, u per level), prior, bands and caps.

    The prior is the probability that two *random* records are the same person (the population
    that the u-probabilities describe), so it shrinks as the prior data grows: it is stored as
    the expected number of earlier records of the same person, divided by `population` (the
    number of prior person records) at scoring time. Scores mean the same at any data size.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.version: str = str(params["version"])
        self.bands: dict[str, float] = {
            "likely": float(params["bands"]["likely"]),
            "possible": float(params["bands"]["possible"]),
        }
        prior = params["prior"]
        self.matches_per_record: float = float(prior["matches_per_record"])
        self.population: int = int(prior["population"])
        self._weights: dict[str, dict[str, float]] = {}
        self._m: dict[str, dict[str, float]] = {}
        for field_name, levels in FIELD_LEVELS.items():
            spec = params["fields"][field_name]
            self._weights[field_name] = {}
            self._m[field_name] = {}
            # A missing value is no evidence either way (weight 0, as in Splink's null level);
            # the other levels' m and u are taken conditional on both values being present.
            m_present = sum(float(spec[lv]["m"]) for lv, _ in levels if lv != "missing")
            u_present = sum(float(spec[lv]["u"]) for lv, _ in levels if lv != "missing")
            for level, _label in levels:
                m = float(spec[level]["m"]) / m_present
                u = float(spec[level]["u"]) / u_present
                self._m[field_name][level] = m
                self._weights[field_name][level] = 0.0 if level == "missing" else math.log2(m / u)
        tf = params.get("term_frequency", {})
        self.tf_min: float = float(tf.get("min_frequency", 1e-4))
        self.tf_fields: tuple[str, ...] = tuple(tf.get("fields", ("given_name", "family_name")))
        caps = params.get("caps", {})
        # Caps are posterior probabilities; None means no cap.
        self.cap_given_conflict: float | None = caps.get("given_conflict")
        self.cap_dob_conflict: float | None = caps.get("dob_conflict")
        self.cap_role_conflict: float | None = caps.get("role_conflict")
        self.cap_twins: float | None = caps.get("twins")  # different given names, same date of birth
        self.cap_nhs_conflict: float | None = caps.get("nhs_conflict")
        # Names (and sex, role) agree but nothing that namesakes rarely share does: no NHS number, no
        # date of birth closer than the year, no postcode sector. Namesakes in another family.
        self.cap_name_only: float | None = caps.get("name_only")
        # Only a surname agrees (no given name, or another one), with nothing that a namesake in
        # another family rarely shares: "Baby Smith" and any Smith. Weights treat an agreeing
        # surname as independent of the rest; in a town, a surname alone is a weak clue.
        self.cap_surname_only: float | None = caps.get("surname_only")
        aggregation = params.get("aggregation", {})
        # P(a new person and a prior person of these roles are the same | the two referrals are
        # about one family), estimated by EM on training data (bench/train_match_model.py).
        self.role_agreement: dict[str, float] = {
            str(k): float(v) for k, v in aggregation.get("role_agreement", {}).items()
        }
        self.show_pair_min_score: float = float(aggregation.get("show_pair_min_score", 0.5))
        self._prior_weights: dict[int | None, float] = {}

    @property
    def prior(self) -> float:
        return self.prior_for(None)

    def prior_for(self, population: int | None) -> float:
        """P(two random records are the same person) when there are `population` prior records."""
        n = max(int(population or self.population), 1)
        return min(self.matches_per_record / n, 0.5)

    def prior_weight(self, population: int | None = None) -> float:
        # Asked once per compared pair with the same population: remembered (a few sizes at most).
        weight = self._prior_weights.get(population)
        if weight is None:
            weight = self._prior_weights[population] = _logit(self.prior_for(population))
        return weight

    @classmethod
    def load(cls, path: Path | str) -> MatchModel:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def load_default(cls) -> MatchModel:
        """The shipped model (nlp/matching_data/model.json), loaded once per process."""
        return _default_model()

    def weight(self, field_name: str, level: str) -> float:
        return self._weights[field_name][level]

    def score_of_weight(self, match_weight: float, *, population: int | None = None) -> float:
        return _sigmoid2(match_weight + self.prior_weight(population))

    def person_compare(
        self,
        a: NormalisedPerson,
        b: NormalisedPerson,
        *,
        name_frequency: NameFrequency | None = None,
        population: int | None = None,
    ) -> PersonComparison:
        """Compare two people.

        name_frequency(field, value) gives a name's share of the prior records (see NameCounts);
        population is the number of prior person records (default: the training data's).
        """
        levels = comparison_levels(a, b)
        weights = {f: self._weights[f][lv] for f, lv in levels.items()}
        if name_frequency is not None:
            # Term-frequency adjustment: agreeing on "smith" is weaker evidence than on "okonkwo".
            if levels["given_name"] == "exact" and "given_name" in self.tf_fields:
                weights["given_name"] = self._tf_weight("given_name", a.given_first, name_frequency)
            if levels["family_name"] == "exact" and "family_name" in self.tf_fields:
                weights["family_name"] = self._tf_weight("family_name", a.family, name_frequency)
        if levels["given_name"] == "swapped":
            weights["family_name"] = 0.0  # one event (the order swapped), so counted once
        total = sum(weights.values())
        prior_weight = self.prior_weight(population)
        conflict_cap: float | None = None
        if levels["nhs_number"] == "different" and self.cap_nhs_conflict is not None:
            # Two valid NHS numbers that differ: different people unless a human says otherwise.
            conflict_cap = self.cap_nhs_conflict
        if levels["nhs_number"] != "exact":
            # Twins and siblings share surname, address and often a date of birth, look-alike
            # families share names, and a child and a parent can share names: independent field
            # weights over-count that shared evidence, so a clear conflict on given name, on a full
            # date of birth, or child-versus-adult role caps the pair's score.
            for conflict, cap in (
                (levels["given_name"] == "different" and levels["date_of_birth"] == "exact", self.cap_twins),
                (levels["given_name"] == "different", self.cap_given_conflict),
                (levels["date_of_birth"] == "different" and a.dob_kind == b.dob_kind == "exact", self.cap_dob_conflict),
                (levels["role"] == "different", self.cap_role_conflict),
            ):
                if conflict and cap is not None:
                    conflict_cap = cap if conflict_cap is None else min(conflict_cap, cap)
            uncorroborated = (
                levels["date_of_birth"] not in _DOB_CORROBORATES and levels["postcode"] not in _POSTCODE_CORROBORATES
            )
            if uncorroborated and self.cap_name_only is not None:
                total = min(total, _logit(self.cap_name_only) - prior_weight)
            if uncorroborated and self.cap_surname_only is not None and levels["given_name"] in _NO_GIVEN_AGREEMENT:
                total = min(total, _logit(self.cap_surname_only) - prior_weight)
        if conflict_cap is not None:
            total = min(total, _logit(conflict_cap) - prior_weight)
        return PersonComparison(
            score=_sigmoid2(total + prior_weight),
            match_weight=total,
            agreements=_agreement_labels(tuple(levels.values())),
            field_weights=weights,
            conflict_cap=conflict_cap,
        )

    def _tf_weight(self, field_name: str, value: str, name_frequency: NameFrequency) -> float:
        try:
            frequency = float(name_frequency(field_name, value))
        except (TypeError, ValueError):
            return self._weights[field_name]["exact"]
        if not math.isfinite(frequency) or frequency <= 0:
            frequency = self.tf_min
        return math.log2(self._m[field_name]["exact"] / max(frequency, self.tf_min))

    def band(self, score: float) -> str | None:
        if score >= self.bands["likely"]:
            return "likely"
        if score >= self.bands["possible"]:
            return "possible"
        return None


@lru_cache(maxsize=4096)
def _labels_cached(levels: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((f, LEVEL_LABEL[f][lv]) for f, lv in zip(FIELDS, levels, strict=True) if f != "role")


def _agreement_labels(levels: tuple[str, ...]) -> dict[str, str]:
    """Public labels per field (role is weighed but not shown); few distinct combinations, so cached."""
    return dict(_labels_cached(levels))


@cache
def _default_model() -> MatchModel:
    return MatchModel.load(MODEL_PATH)


# --------------------------------------------------------------------------------------------
# Referral links
# --------------------------------------------------------------------------------------------


def _relation(new: NormalisedPerson, prior: NormalisedPerson) -> str:
    if new.role == "child" and prior.role == "child":
        return "same_child"
    if (new.role == "child") != (prior.role == "child"):
        return "role_changed"
    if new.role in PARENT_ROLES and prior.role in PARENT_ROLES:
        return "same_parent"
    return "same_adult"


def role_pair_key(new: NormalisedPerson, prior: NormalisedPerson) -> str:
    """Key of MatchModel.role_agreement: the role if both have it, else 'adult_changed' or 'child_adult'."""
    if new.role == prior.role:
        return new.role
    if (new.role == "child") == (prior.role == "child"):
        return "adult_changed"
    return "child_adult"


@dataclass(frozen=True, slots=True)
class PairEvidence:
    """One person pair of a referral link and what it adds to the link (see referral_link_evidence)."""

    new: NormalisedPerson
    prior: NormalisedPerson
    comparison: PersonComparison
    role_key: str
    independent_weight: float  # log2 Bayes factor without what an earlier pair's household already showed
    added_weight: float  # what it added to the link's log2 odds (the first pair: its posterior log-odds)


def _assign_pairs(
    pairs: list[tuple[float, PersonComparison, NormalisedPerson, NormalisedPerson]],
) -> list[tuple[float, PersonComparison, NormalisedPerson, NormalisedPerson]]:
    """Greedy one-to-one assignment, best pairs first: one prior person per new person and back."""
    pairs.sort(key=lambda item: (-item[0], item[2].key, item[3].key))
    used_new: set[str] = set()
    used_prior: set[str] = set()
    chosen = []
    for item in pairs:
        _, _, new, prior = item
        if new.key in used_new or prior.key in used_prior:
            continue
        used_new.add(new.key)
        used_prior.add(prior.key)
        chosen.append(item)
    return chosen


def referral_link_evidence(
    chosen: Sequence[tuple[PersonComparison, NormalisedPerson, NormalisedPerson]],
    model: MatchModel,
    *,
    prior_weight: float,
) -> tuple[float, list[PairEvidence]]:
    """Log2 odds that two referrals name a common person, from their one-to-one person pairs.

    `chosen` is best pair first. The first pair gives its posterior log-odds. Each further pair
    is a second look at the same hypothesis H (the referrals are about one family): under H the
    two people are the same with probability q (MatchModel.role_agreement, by role pair: a
    mother is usually the same mother, a child is often a sibling), otherwise they are a random
    pair, so its likelihood ratio is q * BF + (1 - q), BF its Bayes factor. Evidence against H
    is not counted (people who did not match were mostly never compared), and a surname or a
    postcode sector that an earlier pair already agreed on is one household's, counted once.
    """
    q_default = model.role_agreement.get("default", 0.5)
    surnames: set[str] = set()
    sectors: set[str] = set()
    total = 0.0
    evidence: list[PairEvidence] = []
    for position, (comparison, new, prior) in enumerate(chosen):
        levels = comparison.agreements
        weights = comparison.field_weights
        raw = sum(weights.values())
        independent = raw
        family_agrees = levels.get("family_name") in {"exact", "fuzzy", "phonetic", "partial"}
        postcode_agrees = levels.get("postcode") in {"exact", "partial"} and new.pc_sector == prior.pc_sector
        if family_agrees and (new.family_phon in surnames or prior.family_phon in surnames):
            independent -= max(0.0, weights.get("family_name", 0.0))
        if postcode_agrees and new.pc_sector in sectors:
            independent -= max(0.0, weights.get("postcode", 0.0))
        role_key = role_pair_key(new, prior)
        if position == 0:
            added = comparison.match_weight + prior_weight
        else:
            q = model.role_agreement.get(role_key, q_default)
            odds = q / (1.0 - q) * 2.0 ** min(independent, 60.0)
            if comparison.conflict_cap is not None:
                odds = min(odds, comparison.conflict_cap / (1.0 - comparison.conflict_cap))
            added = max(0.0, math.log2((1.0 - q) * (1.0 + odds)))
        total += added
        if family_agrees:
            surnames.update(filter(None, (new.family_phon, prior.family_phon)))
        if postcode_agrees and new.pc_sector:
            sectors.add(new.pc_sector)
        evidence.append(PairEvidence(new, prior, comparison, role_key, independent, added))
    return total, evidence


def _pair_score(item: PairEvidence, link_score: float, model: MatchModel) -> float:
    """P(same person): the pair's own posterior, or P(link) x P(same | link) when higher."""
    q = model.role_agreement.get(item.role_key, model.role_agreement.get("default", 0.5))
    odds = q / (1.0 - q) * 2.0 ** min(item.independent_weight, 60.0)
    if item.comparison.conflict_cap is not None:
        odds = min(odds, item.comparison.conflict_cap / (1.0 - item.comparison.conflict_cap))
    return max(item.comparison.score, link_score * odds / (1.0 + odds))


def referral_evidence(
    new_people: Sequence[NormalisedPerson],
    candidates: Sequence[NormalisedPerson],
    model: MatchModel,
    *,
    name_frequency: NameFrequency | None = None,
    rejected_pairs: Collection[tuple[str, str]] = (),
    population: int | None = None,
) -> dict[str, tuple[float, list[PairEvidence]]]:
    """Prior referral -> (log2 odds of a link, its one-to-one person pairs best first), unbanded."""
    prior_weight = model.prior_weight(population)
    new_referrals = {p.referral_key for p in new_people}
    rejected = set(rejected_pairs)
    by_referral: dict[str, list[tuple[float, PersonComparison, NormalisedPerson, NormalisedPerson]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for prior in candidates:
        if prior.referral_key in new_referrals or any((nr, prior.referral_key) in rejected for nr in new_referrals):
            continue
        for new in new_people:
            if (new.key, prior.key) in seen:
                continue
            seen.add((new.key, prior.key))
            comparison = model.person_compare(new, prior, name_frequency=name_frequency, population=population)
            # Only pairs that favour "same person" can raise a link (evidence against is not counted).
            if sum(comparison.field_weights.values()) > 0:
                by_referral[prior.referral_key].append((comparison.match_weight, comparison, new, prior))
    return {
        referral_key: referral_link_evidence(
            [(comparison, new, prior) for _, comparison, new, prior in _assign_pairs(pairs)],
            model,
            prior_weight=prior_weight,
        )
        for referral_key, pairs in by_referral.items()
    }


def referral_matches(
    new_people: Sequence[NormalisedPerson],
    candidates: Sequence[NormalisedPerson],
    model: MatchModel,
    *,
    name_frequency: NameFrequency | None = None,
    rejected_pairs: Collection[tuple[str, str]] = (),
    population: int | None = None,
) -> list[ReferralMatch]:
    """Link a new referral's people to prior referrals (score desc, 'possible' band and above).

    Each prior referral gets a one-to-one assignment of new to prior people (best pairs first);
    its score combines the evidence of all of them (referral_link_evidence); link_type is
    same_person when a child is in both, otherwise same_family. Candidates from the new
    referral itself and rejected (new, prior) referral pairs are skipped.
    population: number of prior person records (see MatchModel); default the training size.
    """
    possible = model.bands["possible"]
    evidence_by_referral = referral_evidence(
        new_people,
        candidates,
        model,
        name_frequency=name_frequency,
        rejected_pairs=rejected_pairs,
        population=population,
    )
    results: list[ReferralMatch] = []
    for referral_key, (log_odds, evidence) in evidence_by_referral.items():
        score = _sigmoid2(log_odds)
        band = model.band(score)
        if band is None:
            continue
        # Show (and type the link by) the pairs that are more likely than not the same person;
        # a weak link shows its best pair only.
        scored = [(item, _pair_score(item, score, model)) for item in evidence]
        shown = [(item, s) for item, s in scored if s >= possible and s > model.show_pair_min_score] or scored[:1]
        persons = [
            PersonMatch(
                new_key=item.new.key,
                prior_key=item.prior.key,
                score=round(pair_score, 6),
                agreements=item.comparison.agreements,
                relation=_relation(item.new, item.prior),
            )
            for item, pair_score in shown
        ]
        # A child pair under a conflict cap (twins: same date of birth, other given name) is the
        # same family, not the same child.
        same_child = any(
            _relation(item.new, item.prior) == "same_child" and item.comparison.conflict_cap is None
            for item, _ in shown
        )
        link_type = "same_person" if same_child else "same_family"
        results.append(
            ReferralMatch(
                referral_key=referral_key, score=round(score, 6), band=band, link_type=link_type, persons=persons
            )
        )
    results.sort(key=lambda m: (-m.score, m.referral_key))
    return results


def people_normalise(records: Iterable[PersonRecord]) -> list[NormalisedPerson]:
    """person_normalise over many records."""
    return [person_normalise(r) for r in records]


class NameCounts:
    """Counts of normalised names, usable as name_frequency for term-frequency adjustment.

    name_frequency(field, value): field is "given_name" (value = NormalisedPerson.given_first)
    or "family_name" (value = NormalisedPerson.family); returns the value's share of the rows.
    """

    def __init__(self) -> None:
        self.given: dict[str, int] = defaultdict(int)
        self.family: dict[str, int] = defaultdict(int)
        self.total = 0

    def add(self, person: NormalisedPerson) -> None:
        self.total += 1
        if person.given_first:
            self.given[person.given_first] += 1
        if person.family:
            self.family[person.family] += 1

    def __call__(self, field_name: str, value: str) -> float:
        table = self.given if field_name == "given_name" else self.family
        return table.get(value, 0) / self.total if self.total else 0.0
