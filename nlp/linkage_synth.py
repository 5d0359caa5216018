"""Deterministic synthetic families and referral histories with ground truth (pure Python).

Used to estimate and check the matching model (bench/train_match_model.py, nlp/linkage_eval.py)
and by the Django benchmarks (legacy CSV rows at 100k referrals). Same seed and arguments, same
output, on any machine: only random.Random(seed) and data files shipped in nlp/matching_data.

Each family has a mother, usually a father, sometimes later partners, 1-6 children (twins,
unborn children) and 1-10 referrals over the years. Each referral lists a subset of the family
as typed by a different professional, with the noise seen in practice: typos, nicknames,
spelling variants, initials, swapped name order, hyphenated and changed surnames, aliases,
day-month swaps and digit typos in dates of birth, blank dates or an age only, house moves and
stale or mistyped postcodes, missing fields. Confounders: common surnames in one town,
look-alike families, twins.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from intake.nhs_numbers import nhs_check_digit
from nlp.legacy_format import LEGACY_CSV_COLUMNS
from nlp.matching import PersonRecord

DATA_DIR = Path(__file__).resolve().parent / "matching_data"


_NARRATIVES = (
    "School reports the children often arrive hungry and in unwashed clothes.",
    "Police attended a domestic incident at the home; the children were present.",
    "Health visitor concerned about missed appointments and the condition of the home.",
    "Mother disclosed that her partner is controlling and has been violent.",
    "The child has unexplained bruising to the upper arm noticed at nursery.",
    "Neighbours report shouting late at night and the children left alone.",
    "Concerns about parental drug use and the children's school attendance.",
    "Young person missing from home overnight; possible exploitation.",
)
_KEYBOARD_NEIGHBOURS = {
    "a": "qsz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "y": "tu",
    "z": "x",
}
_SPELLING_VARIANTS = (
    ("ph", "f"),
    ("ie", "y"),
    ("y", "ie"),
    ("ey", "y"),
    ("leigh", "lee"),
    ("lee", "leigh"),
    ("c", "k"),
    ("k", "c"),
    ("ll", "l"),
    ("nn", "n"),
    ("tt", "t"),
    ("ai", "ay"),
    ("ay", "ai"),
    ("ck", "k"),
    ("s", "z"),
    ("ee", "ea"),
    ("ou", "ow"),
    ("th", "t"),
    ("i", "y"),
)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_DISTRICTS = ("ME1", "ME2", "ME3", "ME4", "ME5", "ME7", "ME8")


@cache
def _names() -> dict[str, object]:
    data: dict[str, object] = json.loads((DATA_DIR / "synth_names.json").read_text(encoding="utf-8"))
    return data


@cache
def _nickname_variants() -> dict[str, tuple[str, ...]]:
    """canonical (lower) -> its nicknames; the generator's own copy, from the same sources."""
    variants: dict[str, set[str]] = {}
    try:
        import nicknames

        for triplet in nicknames.name_triplets():
            variants.setdefault(triplet.name1, set()).add(triplet.name2)
    except ImportError:  # pragma: no cover
        pass
    with (DATA_DIR / "nicknames_uk.csv").open(encoding="utf-8") as handle:
        for row in csv.reader(line for line in handle if not line.startswith("#")):
            if len(row) >= 2:
                variants.setdefault(row[0], set()).update(n for n in row[1:] if n)
    return {k: tuple(sorted(v)) for k, v in variants.items()}


@dataclass
class _Person:
    person_id: str
    role: str
    given: str
    middle: str
    surname_by_year: list[tuple[int, str]]  # (from year, surname)
    dob: date
    sex: str
    nhs: str
    aliases: list[str] = field(default_factory=list)
    present_from: int = 0
    present_to: int = 9999

    def surname_at(self, year: int) -> str:
        current = self.surname_by_year[0][1]
        for start, name in self.surname_by_year:
            if year >= start:
                current = name
        return current


@dataclass(frozen=True, slots=True)
class _Typed:
    role: str
    given_name: str
    family_name: str
    other_names: tuple[str, ...]
    date_of_birth: date | None
    sex: str
    address_line: str
    postcode: str
    nhs_number: str
    age_years: int | None
    expected_date: date | None
    person_id: str


@dataclass(frozen=True, slots=True)
class _Draft:
    received_date: date
    family_id: str
    typed: list[_Typed]


@dataclass(frozen=True, slots=True)
class SynthRow:
    """One person row of one referral, as typed, with its ground truth."""

    row_number: int  # 1-based data row in the legacy CSV
    reference: str
    received_date: date
    form_type: str
    role: str
    given_name: str
    family_name: str
    other_names: tuple[str, ...]
    date_of_birth: date | None
    sex: str
    address_line: str
    postcode: str
    nhs_number: str
    narrative: str
    age_years: int | None  # set when only an age was given (not in the legacy CSV)
    expected_date: date | None  # unborn child (not in the legacy CSV)
    family_id: str
    person_id: str

    @property
    def key(self) -> str:
        return f"{self.reference}:{self.row_number}"

    def person_record(self) -> PersonRecord:
        return PersonRecord(
            key=self.key,
            referral_key=self.reference,
            role=self.role,
            given_name=self.given_name,
            family_name=self.family_name,
            other_names=self.other_names,
            date_of_birth=self.date_of_birth,
            sex=self.sex,
            postcode=self.postcode,
            address_line=self.address_line,
            nhs_number=self.nhs_number,
            age_years=self.age_years,
            as_of=self.received_date,
            expected_date=self.expected_date,
        )

    def csv_row(self, *, first_of_referral: bool) -> dict[str, str]:
        return {
            "reference": self.reference,
            "received_date": self.received_date.isoformat(),
            "form_type": self.form_type,
            "role": self.role,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "other_names": ";".join(self.other_names),
            "date_of_birth": self.date_of_birth.isoformat() if self.date_of_birth else "",
            "sex": self.sex,
            "address_line": self.address_line,
            "postcode": self.postcode,
            "nhs_number": self.nhs_number,
            "narrative": self.narrative if first_of_referral else "",
        }


@dataclass(frozen=True, slots=True)
class SynthReferral:
    reference: str
    received_date: date
    family_id: str
    rows: tuple[SynthRow, ...]


@dataclass(frozen=True)
class SynthDataset:
    seed: int
    referrals: tuple[SynthReferral, ...]  # in received order

    @property
    def rows(self) -> list[SynthRow]:
        return [row for referral in self.referrals for row in referral.rows]

    def person_records(self) -> list[PersonRecord]:
        return [row.person_record() for row in self.rows]

    def legacy_csv_rows(self) -> Iterator[dict[str, str]]:
        for referral in self.referrals:
            for index, row in enumerate(referral.rows):
                yield row.csv_row(first_of_referral=index == 0)

    def write_legacy_csv(self, path: Path | str) -> int:
        """Write the legacy CSV (interfaces.md); returns the number of data rows."""
        count = 0
        with Path(path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=LEGACY_CSV_COLUMNS)
            writer.writeheader()
            for row in self.legacy_csv_rows():
                writer.writerow(row)
                count += 1
        return count


def nhs_number_make(rng: random.Random) -> str:
    """A random NHS number with a valid modulus-11 check digit."""
    while True:
        first_nine = "".join(str(rng.randrange(10)) for _ in range(9))
        check = nhs_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)


class _Generator:
    def __init__(self, seed: int, start: date, end: date) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.start = start
        self.end = end
        self.names = _names()
        self.nick = _nickname_variants()
        self._person_counter = 0
        british = self.names["surnames_british"]
        assert isinstance(british, dict)
        self.british_surnames = list(british)
        self.british_weights = [float(w) for w in british.values()]
        self.used_postcodes: dict[str, int] = {}
        self.families_made: list[tuple[str, str, str]] = []  # (group, surname, a child's given name)

    # ---- people ------------------------------------------------------------------------

    def _pid(self, family_id: str) -> str:
        self._person_counter += 1
        return f"{family_id}-P{self._person_counter}"

    def _group(self) -> str:
        r = self.rng.random()
        return "british" if r < 0.8 else ("south_asian" if r < 0.92 else "eastern_european")

    def _surname(self, group: str) -> str:
        if group == "british":
            return self.rng.choices(self.british_surnames, self.british_weights)[0]
        table = self.names[group]
        assert isinstance(table, dict)
        surnames: dict[str, float] = table["surnames"]
        return self.rng.choices(list(surnames), list(surnames.values()))[0]

    def _given(self, group: str, sex: str, *, child: bool) -> str:
        if group != "british" and self.rng.random() < (0.5 if child else 0.9):
            table = self.names[group]
            assert isinstance(table, dict)
            pool = table["given_female" if sex == "female" else "given_male"]
        else:
            key = ("child_given_" if child else "adult_given_") + sex
            pool = self.names[key]
        assert isinstance(pool, list)
        # Lists are in popularity order: weight 1/(rank+10) gives the top name about 3% of a
        # cohort, as in the ONS tables, and a long tail.
        return str(self.rng.choices(pool, cum_weights=_cum_weights(len(pool)))[0])

    def _postcode(self, district: str | None = None) -> str:
        district = district or self.rng.choice(_DISTRICTS)
        inward = f"{self.rng.randrange(10)}{self.rng.choice(_INWARD_LETTERS)}{self.rng.choice(_INWARD_LETTERS)}"
        return f"{district} {inward}"

    def _address(self) -> tuple[str, str]:
        streets = self.names["streets"]
        assert isinstance(streets, list)
        return f"{self.rng.randint(1, 180)} {self.rng.choice(streets)}", self._postcode()

    def _random_date(self, year_from: int, year_to: int) -> date:
        first = date(year_from, 1, 1)
        span = (date(year_to, 12, 31) - first).days
        return first + timedelta(days=self.rng.randrange(span + 1))

    # ---- a family ----------------------------------------------------------------------

    def family(self, number: int) -> list[_Draft]:
        rng = self.rng
        family_id = f"F{self.seed}-{number}"
        group = self._group()
        lookalike = self.families_made and rng.random() < 0.08
        if lookalike:
            group, surname, twin_name = rng.choice(self.families_made)
        else:
            surname, twin_name = self._surname(group), ""
        married = rng.random() < 0.5
        maiden = self._surname(group) if not married or rng.random() < 0.9 else surname
        first_birth = self._random_date(self.start.year - 12, self.end.year - 1)
        mother_age = rng.randint(16, 34)
        mother_dob = self._random_date(first_birth.year - mother_age, first_birth.year - mother_age)
        mother = _Person(
            self._pid(family_id),
            "mother",
            self._given(group, "female", child=False),
            "",
            [(0, surname if married else maiden)],
            mother_dob,
            "female",
            nhs_number_make(rng),
        )
        if married and maiden != surname and rng.random() < 0.4:
            mother.aliases.append(f"{mother.given} {maiden}")
        father = _Person(
            self._pid(family_id),
            "father",
            self._given(group, "male", child=False),
            "",
            [(0, surname)],
            mother_dob + timedelta(days=rng.randint(-6 * 365, 8 * 365)),
            "male",
            nhs_number_make(rng),
        )
        split_year = first_birth.year + rng.randint(1, 14) if rng.random() < 0.55 else 9999
        father.present_to = split_year
        partner: _Person | None = None
        if split_year < self.end.year and rng.random() < 0.75:
            partner_surname = self._surname(group)
            partner = _Person(
                self._pid(family_id),
                "partner",
                self._given(group, "male", child=False),
                "",
                [(0, partner_surname)],
                mother_dob + timedelta(days=rng.randint(-8 * 365, 10 * 365)),
                "male",
                nhs_number_make(rng),
                present_from=split_year,
            )
            if rng.random() < 0.3:  # mother takes the new partner's surname
                old = mother.surname_at(split_year)
                mother.surname_by_year.append((split_year + rng.randint(0, 2), partner_surname))
                if rng.random() < 0.5:
                    mother.aliases.append(f"{mother.given} {old}")

        children: list[_Person] = []
        n_children = rng.choices((1, 2, 3, 4, 5, 6), (30, 30, 20, 10, 6, 4))[0]
        birth = first_birth
        child_surname = surname if (married or rng.random() < 0.6) else maiden
        used_names: set[str] = set()
        while len(children) < n_children and birth <= self.end + timedelta(days=200):
            twins = rng.random() < 0.04
            for _ in range(2 if twins else 1):
                sex = rng.choice(("female", "male"))
                given = twin_name if twin_name and not children else self._given(group, sex, child=True)
                tries = 0
                while given in used_names and tries < 20:
                    given, tries = self._given(group, sex, child=True), tries + 1
                used_names.add(given)
                by_partner = partner is not None and birth.year >= partner.present_from
                child_name = child_surname
                if by_partner and partner is not None:
                    partner_name = partner.surname_at(0)
                    child_name = (
                        f"{mother.surname_at(birth.year)}-{partner_name}" if rng.random() < 0.4 else partner_name
                    )
                middle = self._given(group, sex, child=True) if rng.random() < 0.3 else ""
                children.append(
                    _Person(
                        self._pid(family_id),
                        "child",
                        given,
                        middle,
                        [(0, child_name)],
                        birth,
                        sex,
                        nhs_number_make(rng),
                    )
                )
            birth = birth + timedelta(days=rng.randint(300, 5 * 365))
        if children:
            self.families_made.append((group, surname, children[0].given))

        # Addresses: moves over the years, within the town.
        moves: list[tuple[date, str, str]] = [(date(1900, 1, 1), *self._address())]
        for _ in range(rng.choices((0, 1, 2, 3), (35, 35, 20, 10))[0]):
            line, postcode = self._address()
            if rng.random() < 0.3:  # a move within the same district
                postcode = self._postcode(moves[-1][2].split()[0])
            moves.append((self._random_date(first_birth.year, self.end.year), line, postcode))
        moves.sort()

        n_referrals = rng.choices(range(1, 11), (30, 20, 14, 10, 8, 6, 5, 3, 2, 2))[0]
        window_start = max(first_birth - timedelta(days=150), self.start)
        if window_start >= self.end:
            return []
        referrals: list[_Draft] = []
        span = (self.end - window_start).days
        for _ in range(n_referrals):
            received = window_start + timedelta(days=rng.randrange(span + 1))
            referral = self._referral(family_id, received, mother, father, partner, children, moves)
            if referral is not None:
                referrals.append(referral)
        return referrals

    def _referral(
        self,
        family_id: str,
        received: date,
        mother: _Person,
        father: _Person,
        partner: _Person | None,
        children: list[_Person],
        moves: list[tuple[date, str, str]],
    ) -> _Draft | None:
        rng = self.rng
        eligible = [
            c for c in children if c.dob - timedelta(days=150) <= received and (received - c.dob).days < 18 * 365
        ]
        if not eligible:
            return None
        subjects = eligible if rng.random() < 0.5 else rng.sample(eligible, rng.randint(1, len(eligible)))
        subjects.sort(key=lambda c: c.dob)
        people: list[_Person] = list(subjects)
        if rng.random() < 0.85:
            people.insert(0, mother)
        if father.present_to > received.year and rng.random() < 0.45:
            people.insert(1 if people[0] is mother else 0, father)
        if partner is not None and received.year >= partner.present_from and rng.random() < 0.55:
            people.append(partner)
        current = [m for m in moves if m[0] <= received][-1]
        previous = [m for m in moves if m[0] <= received][-2:][0]
        # Each professional has habits: some never give adults' dates of birth, some never NHS numbers.
        habit_adult_dob = rng.random() < 0.55
        habit_nhs = rng.random() < 0.4
        typed = [self._typed(p, received, current, previous, habit_adult_dob, habit_nhs) for p in people]
        return _Draft(received, family_id, typed)

    # ---- typing noise --------------------------------------------------------------------

    def _typo(self, word: str) -> str:
        rng = self.rng
        if len(word) < 3:
            return word
        i = rng.randrange(1, len(word))  # first letters are rarely mistyped
        kind = rng.random()
        ch = word[i].lower()
        if kind < 0.3 and ch in _KEYBOARD_NEIGHBOURS:
            return word[:i] + rng.choice(_KEYBOARD_NEIGHBOURS[ch]) + word[i + 1 :]
        if kind < 0.55:
            return word[:i] + word[i + 1 :]
        if kind < 0.75 and i < len(word) - 1:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        return word[:i] + word[i] + word[i:]

    def _spelling_variant(self, word: str) -> str:
        lower = word.lower()
        options = [(a, b) for a, b in _SPELLING_VARIANTS if a in lower[1:]]
        if not options:
            return self._typo(word)
        a, b = self.rng.choice(options)
        position = lower.index(a, 1)
        changed = lower[:position] + b + lower[position + len(a) :]
        return changed.capitalize()

    def _nickname(self, given: str) -> str:
        options = self.nick.get(given.lower(), ())
        if options and self.rng.random() < 0.75:
            return self.rng.choice(options).capitalize()
        if len(given) >= 5:  # a truncation the table may not know ("Kayleigh" -> "Kay")
            return given[: self.rng.randint(3, 4)] + self.rng.choice(("", "ie", "y"))
        return given

    def _case(self, text: str) -> str:
        r = self.rng.random()
        if r < 0.1:
            return text.upper()
        if r < 0.15:
            return text.lower()
        if r < 0.18:
            return f" {text} "
        return text

    def _typed(
        self,
        person: _Person,
        received: date,
        current: tuple[date, str, str],
        previous: tuple[date, str, str],
        habit_adult_dob: bool,
        habit_nhs: bool,
    ) -> _Typed:
        rng = self.rng
        child = person.role == "child"
        unborn = child and person.dob > received
        given = person.given
        r = rng.random()
        if r < (0.12 if not child else 0.08):
            given = self._nickname(given)
        elif r < 0.16:
            given = self._typo(given)
        elif r < 0.20:
            given = self._spelling_variant(given)
        elif r < 0.215:
            given = given[0]
        elif r < (0.23 if child else 0.26):
            given = ""
        if person.middle and rng.random() < 0.25:
            given = f"{given} {person.middle}" if rng.random() < 0.8 else person.middle
        family = person.surname_at(received.year)
        r = rng.random()
        if r < 0.05:
            family = self._typo(family)
        elif r < 0.07:
            family = self._spelling_variant(family)
        elif r < 0.09:
            family = ""
        elif r < 0.11 and "-" in family:
            family = rng.choice(family.split("-"))  # one half of a hyphenated surname
        if unborn:
            given = rng.choice(("", "Unborn", "Baby", "Unborn baby"))
        if rng.random() < 0.015 and given and family:
            given, family = family, given  # name order swapped
        current_surname = person.surname_at(received.year)
        aliases = (
            tuple(a for a in person.aliases if not a.endswith(f" {current_surname}")) if rng.random() < 0.5 else ()
        )

        dob: date | None = person.dob
        age: int | None = None
        expected: date | None = None
        if unborn:
            dob, expected = None, person.dob + timedelta(days=rng.randint(-20, 20))
            if rng.random() < 0.3:
                expected = None
        elif not child and (not habit_adult_dob or rng.random() < 0.2):
            dob = None
            if rng.random() < 0.15:
                age = (received - person.dob).days // 365
        else:
            r = rng.random()
            if r < 0.05:
                dob = None
                if rng.random() < 0.4:
                    age = (received - person.dob).days // 365
            elif r < 0.075:
                dob = _swap_day_month(person.dob) or _digit_typo(rng, person.dob)
            elif r < 0.10:
                dob = _digit_typo(rng, person.dob)
            elif r < 0.11:
                dob = _safe_date(person.dob.year + rng.choice((-1, 1)), person.dob.month, person.dob.day)

        sex = person.sex if rng.random() < (0.3 if unborn else 0.92 if child else 0.7) else ""
        if sex and rng.random() < 0.003:
            sex = "male" if sex == "female" else "female"
        address, postcode = current[1], current[2]
        r = rng.random()
        if r < 0.05:
            address, postcode = previous[1], previous[2]  # an old address on file
        elif r < 0.07:
            postcode = _postcode_typo(rng, postcode)
        elif r < (0.15 if child else 0.22):
            address, postcode = "", ""
        if postcode and rng.random() < 0.3:
            postcode = rng.choice((postcode.replace(" ", ""), postcode.lower()))
        nhs = person.nhs if habit_nhs and rng.random() < (0.6 if child else 0.25) and not unborn else ""
        if nhs and rng.random() < 0.5:
            nhs = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"
        return _Typed(
            role=person.role,
            given_name=self._case(given),
            family_name=self._case(family),
            other_names=aliases,
            date_of_birth=dob,
            sex=sex,
            address_line=address,
            postcode=postcode,
            nhs_number=nhs,
            age_years=age,
            expected_date=expected,
            person_id=person.person_id,
        )


@cache
def _cum_weights(n: int) -> list[float]:
    total, out = 0.0, []
    for rank in range(1, n + 1):
        total += 1.0 / (rank + 10)
        out.append(total)
    return out


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _swap_day_month(value: date) -> date | None:
    if value.day > 12 or value.day == value.month:
        return None
    return _safe_date(value.year, value.day, value.month)


def _digit_typo(rng: random.Random, value: date) -> date:
    for _ in range(20):
        text = list(value.strftime("%Y%m%d"))
        i = rng.choice((2, 3, 3, 5, 6, 7, 7))
        text[i] = str(rng.randrange(10))
        typo = _safe_date(int("".join(text[:4])), int("".join(text[4:6])), int("".join(text[6:])))
        if typo is not None and typo != value:
            return typo
    return value


def _postcode_typo(rng: random.Random, postcode: str) -> str:
    outward, inward = postcode.split()
    i = rng.randrange(3)
    if i == 0:
        inward = str((int(inward[0]) + rng.choice((1, 9))) % 10) + inward[1:]
    else:
        letters = list(inward)
        letters[i] = rng.choice(_INWARD_LETTERS)
        inward = "".join(letters)
    return f"{outward} {inward}"


def synth_generate(
    *, seed: int, families: int, start: date = date(2012, 1, 1), end: date = date(2025, 6, 30)
) -> SynthDataset:
    """Generate `families` families' referral histories; referrals sorted by received date."""
    generator = _Generator(seed, start, end)
    drafts: list[_Draft] = []
    for number in range(1, families + 1):
        drafts.extend(generator.family(number))
    drafts.sort(key=lambda d: (d.received_date, d.family_id))
    referrals: list[SynthReferral] = []
    row_number = 0
    for index, draft in enumerate(drafts, start=1):
        reference = f"LEG-{seed}-{index:07d}"
        rows: list[SynthRow] = []
        narrative = generator.rng.choice(_NARRATIVES)
        form_type = "case_review" if generator.rng.random() < 0.2 else "practice_alert"
        for typed in draft.typed:
            row_number += 1
            rows.append(
                SynthRow(
                    row_number=row_number,
                    reference=reference,
                    received_date=draft.received_date,
                    form_type=form_type,
                    role=typed.role,
                    given_name=typed.given_name,
                    family_name=typed.family_name,
                    other_names=typed.other_names,
                    date_of_birth=typed.date_of_birth,
                    sex=typed.sex,
                    address_line=typed.address_line,
                    postcode=typed.postcode,
                    nhs_number=typed.nhs_number,
                    narrative=narrative,
                    age_years=typed.age_years,
                    expected_date=typed.expected_date,
                    family_id=draft.family_id,
                    person_id=typed.person_id,
                )
            )
        referrals.append(SynthReferral(reference, draft.received_date, draft.family_id, tuple(rows)))
    return SynthDataset(seed=seed, referrals=tuple(referrals))
