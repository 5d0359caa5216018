"""Streaming reader and validator for the legacy referral CSV (see shared/spec/interfaces.md).

Two passes over the file, so memory stays flat however big it is:

1. ``LegacyCsv.check()`` validates every row, reports each problem through ``on_error``
   and keeps a small summary per reference (row numbers, dates, a digest of the narrative),
   never the people or the free text. The summaries live in a temporary SQLite file
   (ReferenceStore) behind a small cache, so 10,000 and 1,000,000 references take the same
   memory.
2. ``LegacyCsv.referrals()`` reads the file again and yields each referral complete, in the
   order each reference first appears. When the rows of every reference are next to each
   other (any export sorted by reference) it streams one referral at a time; otherwise rows
   sharing a reference need not be adjacent, and the rows are first spilled to the same
   temporary file and read back grouped.

The temporary file is in a private directory (mode 0700) and is removed by ``close()`` (or
when the reader is garbage collected); only the spill of a file whose references are
scattered holds people's details, as the input file itself does.

Errors name the row, the physical line and the column, never the value: the values are
personal data. No Django models are touched here; the management commands and services
do the writing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sqlite3
import tempfile
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from django.core.exceptions import ValidationError

from intake.models import FormType, PersonRole, Sex
from intake.validators import normalise_nhs_number, normalise_postcode, validate_nhs_number, validate_postcode
from nlp.legacy_format import LEGACY_CSV_COLUMNS, LEGACY_CSV_REQUIRED_COLUMNS
from nlp.matching import PersonRecord

COLUMNS = LEGACY_CSV_COLUMNS
REQUIRED_COLUMNS = LEGACY_CSV_REQUIRED_COLUMNS
# Columns that describe the referral, not the person: they must agree across its rows.
REFERRAL_COLUMNS: tuple[str, ...] = ("received_date", "form_type", "narrative")

# One physical line is read at most this many characters at a time, so a 100 MB line is
# skipped in chunks and reported instead of being loaded whole.
MAX_LINE_CHARS = 1_000_000
# Lengths of the columns these values are stored in (intake.models).
MAX_LENGTHS: dict[str, int] = {
    "reference": 20,
    "given_name": 100,
    "family_name": 100,
    "other_names": 1000,
    "address_line": 300,
}
EARLIEST_DATE = date(1900, 1, 1)

_ISO_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# Bytes that are not UTF-8 come through as lone surrogates (errors="surrogateescape").
_NOT_UTF8_RE = re.compile("[\udc80-\udcff]")
_NOT_UTF8_MESSAGE = "not UTF-8 encoded; save the file as 'CSV UTF-8'"
_FORM_TYPES = frozenset(FormType.values)
_ROLES = frozenset(PersonRole.values)
_SEXES = frozenset(value for value in Sex.values if value)


class LegacyCsvFileError(Exception):
    """The file as a whole cannot be read (missing, empty, no header, wrong encoding)."""


@dataclass(frozen=True)
class RowError:
    """One problem in one row; ``row`` is the 1-based data-row number (the header is row 0)."""

    row: int
    line: int
    column: str | None
    message: str

    def format(self, path: str) -> str:
        where = f"{path}: row {self.row} (line {self.line})"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class LegacyPerson:
    """One valid person row, cleaned: postcode normalised, NHS number as 10 digits."""

    row: int
    role: str
    given_name: str
    family_name: str
    other_names: tuple[str, ...]
    date_of_birth: date | None
    sex: str
    address_line: str
    postcode: str
    nhs_number: str

    def person_record(self, *, key: str, referral_key: str, as_of: date) -> PersonRecord:
        """The matcher's view of this row; ``as_of`` lets an age be read against the referral date."""
        return PersonRecord(
            key=key,
            referral_key=referral_key,
            role=self.role,
            given_name=self.given_name,
            family_name=self.family_name,
            other_names=self.other_names,
            date_of_birth=self.date_of_birth,
            sex=self.sex,
            postcode=self.postcode,
            address_line=self.address_line,
            nhs_number=self.nhs_number,
            as_of=as_of,
        )


@dataclass
class LegacyReferral:
    """All rows of one reference, in file order."""

    reference: str
    received_date: date
    form_type: str
    narrative: str
    first_row: int
    people: list[LegacyPerson] = field(default_factory=list)


@dataclass(slots=True)
class _ReferenceState:
    """Pass 1 keeps one of these per reference (on disk), never the rows."""

    first_row: int
    first_line: int
    last_row: int
    # Referral-level values and the row that first gave each one.
    received_date: date | None = None
    received_row: int = 0
    form_type: str = ""
    form_row: int = 0
    narrative_digest: bytes = b""
    narrative_row: int = 0
    # A value was given but invalid: already reported, so not "blank on every row" too.
    given_invalid: bool = False


_STATE_COLUMNS = tuple(_ReferenceState.__dataclass_fields__)


def _state_row(reference: str, state: _ReferenceState) -> tuple[Any, ...]:
    # Spelled out: dataclasses.astuple deep-copies every value and was most of pass 1's time.
    return (
        reference,
        state.first_row,
        state.first_line,
        state.last_row,
        state.received_date.isoformat() if state.received_date else None,
        state.received_row,
        state.form_type,
        state.form_row,
        state.narrative_digest,
        state.narrative_row,
        state.given_invalid,
    )


def _state_from_row(row: tuple[Any, ...]) -> _ReferenceState:
    state = _ReferenceState(*row)
    received = row[_STATE_COLUMNS.index("received_date")]
    state.received_date = date.fromisoformat(str(received)) if received else None
    state.narrative_digest = bytes(state.narrative_digest or b"")
    state.given_invalid = bool(state.given_invalid)
    return state


def _close_store(connection: sqlite3.Connection, directory: tempfile.TemporaryDirectory[str]) -> None:
    connection.close()
    directory.cleanup()


class ReferenceStore:
    """reference -> _ReferenceState, on disk behind a small write-back cache.

    A dict of every reference grew by about 450 bytes per referral (45 MB for 100,000
    referrals, ~150 MB for a million people); here memory is the cache and a 2 MB filter
    whatever the file's size. Rows of one
    reference are nearly always adjacent, so almost every look-up is a cache hit, and a new
    reference costs one indexed SELECT. Iteration is in order of first appearance.
    """

    CACHE_SIZE = 4096
    PAGE = 1000
    # A fixed-size Bloom filter of the references on disk spares the SELECT for a reference
    # never seen before (nearly every new one): 2**24 bits (2 MB), 3 probes; at a million
    # references about 1 in 200 new ones still asks the disk.
    BLOOM_BITS = 1 << 24

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="legacy_csv_")
        self._db = sqlite3.connect(Path(self._directory.name) / "references.sqlite3", isolation_level=None)
        # A scratch file: no journal, no fsync, a small page cache (memory stays flat).
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8000; PRAGMA temp_store=FILE;"
        )
        columns = ", ".join(f"{name}" for name in _STATE_COLUMNS[1:])
        self._db.execute(
            "CREATE TABLE refs (reference TEXT NOT NULL UNIQUE, first_row INTEGER PRIMARY KEY, " + columns + ")"
        )
        placeholders = ", ".join("?" * (len(_STATE_COLUMNS) + 1))
        self._upsert = f"INSERT OR REPLACE INTO refs (reference, {', '.join(_STATE_COLUMNS)}) VALUES ({placeholders})"  # noqa: S608 - fixed column names
        self._select = f"SELECT {', '.join(_STATE_COLUMNS)} FROM refs"  # noqa: S608 - fixed column names
        # One transaction for the store's whole life: it is never read by anyone else, and in
        # autocommit mode every row written was its own transaction (4x slower).
        self._db.execute("BEGIN")
        self._cache: OrderedDict[str, _ReferenceState] = OrderedDict()
        self._bloom = bytearray(self.BLOOM_BITS // 8)
        self._count = 0
        self._finalizer = weakref.finalize(self, _close_store, self._db, self._directory)

    @property
    def connection(self) -> sqlite3.Connection:
        return self._db

    def close(self) -> None:
        self._finalizer()

    def get(self, reference: str) -> _ReferenceState | None:
        state = self._cache.get(reference)
        if state is not None:
            self._cache.move_to_end(reference)
            return state
        if not self._maybe_stored(reference):
            return None
        row = self._db.execute(self._select + " WHERE reference = ?", (reference,)).fetchone()
        if row is None:
            return None
        state = _state_from_row(row)
        self._remember(reference, state)
        return state

    def add(self, reference: str, state: _ReferenceState) -> None:
        """Store a reference seen for the first time."""
        self._count += 1
        for bit in self._bloom_bits(reference):
            self._bloom[bit >> 3] |= 1 << (bit & 7)
        self._remember(reference, state)

    def _bloom_bits(self, reference: str) -> tuple[int, int, int]:
        # hash() of a str is stable within a process, which is all an in-memory filter needs.
        value = hash(reference) & 0xFFFF_FFFF_FFFF_FFFF
        mask = self.BLOOM_BITS - 1
        return value & mask, (value >> 24) & mask, (value >> 40) & mask  # three slices of 64 bits

    def _maybe_stored(self, reference: str) -> bool:
        return all(self._bloom[bit >> 3] & (1 << (bit & 7)) for bit in self._bloom_bits(reference))

    def _remember(self, reference: str, state: _ReferenceState) -> None:
        self._cache[reference] = state
        if len(self._cache) > self.CACHE_SIZE:
            # Write back the least recently used quarter in one statement.
            evicted = [self._cache.popitem(last=False) for _ in range(self.CACHE_SIZE // 4)]
            self._db.executemany(self._upsert, [_state_row(ref, st) for ref, st in evicted])

    def flush(self) -> None:
        """Write every cached state to disk (they stay cached)."""
        if self._cache:
            self._db.executemany(self._upsert, [_state_row(ref, st) for ref, st in self._cache.items()])

    def items(self) -> Iterator[tuple[str, _ReferenceState]]:
        """Every (reference, state) in order of first appearance, read a page at a time."""
        self.flush()
        after = 0
        while True:
            page = self._db.execute(
                f"SELECT reference, {', '.join(_STATE_COLUMNS)} FROM refs "  # noqa: S608 - fixed column names
                "WHERE first_row > ? ORDER BY first_row LIMIT ?",
                (after, self.PAGE),
            ).fetchall()
            if not page:
                return
            for row in page:
                yield str(row[0]), _state_from_row(row[1:])
            after = int(page[-1][1])

    def __iter__(self) -> Iterator[str]:
        return (reference for reference, _ in self.items())

    def __len__(self) -> int:
        return self._count

    def __contains__(self, reference: object) -> bool:
        return isinstance(reference, str) and self.get(reference) is not None

    def __getitem__(self, reference: str) -> _ReferenceState:
        state = self.get(reference)
        if state is None:
            raise KeyError(reference)
        return state


@dataclass
class CsvSummary:
    """What pass 1 learned: counts, and per reference its first and last rows."""

    rows: int = 0
    error_count: int = 0
    references: ReferenceStore = field(default_factory=ReferenceStore)
    # True when the rows of each reference are next to each other: pass 2 can stream.
    grouped: bool = True

    @property
    def referral_count(self) -> int:
        return len(self.references)


@dataclass
class _RawRow:
    row: int
    line: int
    values: dict[str, str]
    errors: list[RowError]


class _CappedLines:
    """Yields physical lines of at most MAX_LINE_CHARS; longer ones are skipped in chunks.

    A skipped line is replaced by a bare newline and remembered, so the caller can report
    the row it belonged to without ever holding the line in memory.
    """

    def __init__(self, handle: IO[str], cap: int) -> None:
        self.handle = handle
        self.cap = cap
        self.oversized = False

    def __iter__(self) -> _CappedLines:
        return self

    def __next__(self) -> str:
        line = self.handle.readline(self.cap + 1)
        if not line:
            raise StopIteration
        if len(line) > self.cap and line[-1] not in "\r\n":
            while True:
                rest = self.handle.readline(self.cap)
                if not rest or rest[-1] in "\r\n":
                    break
            self.oversized = True
            return "\n"
        return line


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).digest()


def _parse_iso_date(value: str) -> date | None:
    """A real calendar date written exactly YYYY-MM-DD, else None."""
    if not _ISO_DATE_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


_NHS_MESSAGES = {
    "nhs_characters": "NHS number must contain only digits and spaces",
    "nhs_length": "NHS number must be 10 digits",
    "nhs_checksum": "NHS number check digit is wrong (not a valid NHS number)",
}


class LegacyCsv:
    """One legacy CSV file: validate it (pass 1), then read its referrals (pass 2)."""

    def __init__(self, path: str | Path, *, max_line_chars: int = MAX_LINE_CHARS, today: date | None = None) -> None:
        self.path = Path(path)
        self.max_line_chars = max_line_chars
        self.today = today or date.today()
        self.summary: CsvSummary | None = None

    def close(self) -> None:
        """Remove the temporary reference store (also done when the reader is garbage collected)."""
        if self.summary is not None:
            self.summary.references.close()

    def __enter__(self) -> LegacyCsv:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------

    def _open(self) -> IO[str]:
        try:
            with self.path.open("rb") as raw:
                head = raw.read(4)
        except FileNotFoundError as exc:
            raise LegacyCsvFileError("file not found") from exc
        except IsADirectoryError as exc:
            raise LegacyCsvFileError("is a directory, not a CSV file") from exc
        except OSError as exc:
            raise LegacyCsvFileError(f"cannot be read ({exc.__class__.__name__})") from exc
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise LegacyCsvFileError("is UTF-16 encoded; save it as 'CSV UTF-8' and try again")
        # utf-8-sig drops an optional BOM; surrogateescape lets us name the rows that are not UTF-8.
        return self.path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")

    def _header(self, lines: _CappedLines, reader: Iterator[list[str]]) -> list[str]:
        try:
            header = next(reader)
        except StopIteration as exc:
            raise LegacyCsvFileError("is empty; a header row is required") from exc
        except csv.Error as exc:
            raise LegacyCsvFileError("line 1 (header): cannot be read as CSV") from exc
        if lines.oversized:
            raise LegacyCsvFileError(f"line 1 (header): longer than {self.max_line_chars:,} characters")
        if any(_NOT_UTF8_RE.search(name) for name in header):
            raise LegacyCsvFileError("line 1 (header): not UTF-8 encoded; save it as 'CSV UTF-8' and try again")
        names = [name.strip().lower() for name in header]
        known = [name for name in names if name in COLUMNS]
        if not known:
            raise LegacyCsvFileError(
                "line 1: header row is missing; the first row must name the columns "
                f"({', '.join(REQUIRED_COLUMNS)}, ...)"
            )
        problems = []
        missing = [name for name in REQUIRED_COLUMNS if name not in names]
        if missing:
            problems.append(f"missing required column(s): {', '.join(missing)}")
        unknown = [name for name in names if name not in COLUMNS]
        if unknown:
            problems.append(f"unknown column(s): {', '.join(repr(name) for name in unknown)}")
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            problems.append(f"column(s) named twice: {', '.join(duplicated)}")
        if problems:
            raise LegacyCsvFileError("line 1 (header): " + "; ".join(problems))
        return names

    def _raw_rows(self) -> Iterator[_RawRow]:
        """Every data row as a dict of stripped strings, with its reading errors."""
        with self._open() as handle:
            lines = _CappedLines(handle, self.max_line_chars)
            reader = csv.reader(lines, strict=True)
            names = self._header(lines, reader)
            width = len(names)
            row = 0
            while True:
                start_line = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    row += 1
                    lines.oversized = False
                    yield _RawRow(row, start_line, {}, [RowError(row, start_line, None, _csv_message(exc))])
                    continue
                row += 1
                if lines.oversized:
                    lines.oversized = False
                    message = f"line is longer than {self.max_line_chars:,} characters"
                    yield _RawRow(row, start_line, {}, [RowError(row, start_line, None, message)])
                    continue
                if not any(cell.strip() for cell in cells):
                    continue  # blank rows (spreadsheet padding) are counted but skipped
                if len(cells) != width:
                    message = f"has {len(cells)} fields but the header has {width}"
                    yield _RawRow(row, start_line, {}, [RowError(row, start_line, None, message)])
                    continue
                errors = []
                values: dict[str, str] = {}
                for name, cell in zip(names, cells, strict=True):
                    if _NOT_UTF8_RE.search(cell):
                        errors.append(RowError(row, start_line, name, _NOT_UTF8_MESSAGE))
                        cell = ""
                    values[name] = cell.strip()
                yield _RawRow(row, start_line, values, errors)

    # --- validation ----------------------------------------------------------------

    def _validate(self, raw: _RawRow) -> tuple[list[RowError], LegacyPerson | None, dict[str, object]]:
        """Problems in one row, the person it describes, and its referral-level values."""
        errors = list(raw.errors)
        if not raw.values:
            return errors, None, {}
        values = raw.values

        def problem(column: str, message: str) -> None:
            errors.append(RowError(raw.row, raw.line, column, message))

        for column in ("reference", "role"):
            if not values.get(column):
                problem(column, "is required on every row")
        for column, limit in MAX_LENGTHS.items():
            if len(values.get(column, "")) > limit:
                problem(column, f"is longer than {limit} characters")

        received = None
        if text := values.get("received_date", ""):
            received = _parse_iso_date(text)
            if received is None:
                problem("received_date", "is not a real date in the form YYYY-MM-DD")
            elif not EARLIEST_DATE <= received <= self.today:
                problem("received_date", f"must be between {EARLIEST_DATE.isoformat()} and today")
                received = None
        form_type = values.get("form_type", "").lower()
        if form_type and form_type not in _FORM_TYPES:
            problem("form_type", f"must be one of: {', '.join(sorted(_FORM_TYPES))}")
        role = values.get("role", "").lower()
        if role and role not in _ROLES:
            problem("role", f"must be one of: {', '.join(sorted(_ROLES))}")
        sex = values.get("sex", "").lower()
        if sex and sex not in _SEXES:
            problem("sex", f"must be one of: {', '.join(sorted(_SEXES))}, or blank")
        date_of_birth = None
        if text := values.get("date_of_birth", ""):
            date_of_birth = _parse_iso_date(text)
            # No range check: a year typo (2044 for 2014) is real legacy data that the matcher
            # scores as a partial agreement, and refusing it would block the whole file.
            if date_of_birth is None:
                problem("date_of_birth", "is not a real date in the form YYYY-MM-DD (or leave it blank)")
        postcode = ""
        if text := values.get("postcode", ""):
            try:
                validate_postcode(text)
                postcode = normalise_postcode(text)
            except ValidationError:
                problem("postcode", "is not a UK postcode (like ME4 4TR)")
        nhs_number = ""
        if text := values.get("nhs_number", ""):
            try:
                validate_nhs_number(text)
                nhs_number = normalise_nhs_number(text)
            except ValidationError as exc:
                problem("nhs_number", _NHS_MESSAGES.get(str(exc.code), "is not a valid NHS number"))

        referral_values: dict[str, object] = {
            "received_date": received,
            "form_type": form_type if form_type in _FORM_TYPES else "",
            "narrative": values.get("narrative", ""),
        }
        if errors:
            return errors, None, referral_values
        person = LegacyPerson(
            row=raw.row,
            role=role,
            given_name=values.get("given_name", ""),
            family_name=values.get("family_name", ""),
            other_names=tuple(name.strip() for name in values.get("other_names", "").split(";") if name.strip()),
            date_of_birth=date_of_birth,
            sex=sex,
            address_line=values.get("address_line", ""),
            postcode=postcode,
            nhs_number=nhs_number,
        )
        return errors, person, referral_values

    def check(self, *, on_error: Callable[[RowError], None]) -> CsvSummary:
        """Pass 1: validate every row, calling ``on_error`` for each problem as it is found.

        Raises LegacyCsvFileError when the file as a whole cannot be read.
        """
        self.close()  # a second check() starts from a fresh store
        summary = CsvSummary()
        refs = summary.references
        previous_reference = ""

        def report(error: RowError) -> None:
            summary.error_count += 1
            on_error(error)

        for raw in self._raw_rows():
            summary.rows += 1
            errors, _person, referral_values = self._validate(raw)
            for error in errors:
                report(error)
            reference = raw.values.get("reference", "")
            if not reference or len(reference) > MAX_LENGTHS["reference"]:
                continue
            state = refs.get(reference)
            if state is None:
                state = _ReferenceState(first_row=raw.row, first_line=raw.line, last_row=raw.row)
                refs.add(reference, state)
            elif reference != previous_reference:
                summary.grouped = False  # this reference's rows are not all next to each other
            previous_reference = reference
            state.last_row = raw.row
            if any(error.column in ("received_date", "form_type") for error in errors):
                state.given_invalid = True
            self._check_referral_values(state, raw, referral_values, report)

        for reference, state in refs.items():
            if state.given_invalid:
                continue
            for column, value in (("received_date", state.received_date), ("form_type", state.form_type)):
                if not value:
                    message = f"is blank on every row of reference {reference!r}; one row must give it"
                    report(RowError(state.first_row, state.first_line, column, message))
        self.summary = summary
        return summary

    @staticmethod
    def _check_referral_values(
        state: _ReferenceState, raw: _RawRow, values: dict[str, object], report: Callable[[RowError], None]
    ) -> None:
        """Rows of one reference must agree on referral-level columns, or leave them blank."""

        def conflict(column: str, other_row: int) -> None:
            message = f"differs from row {other_row} of the same reference; give it on one row or make the rows agree"
            report(RowError(raw.row, raw.line, column, message))

        received = values.get("received_date")
        if isinstance(received, date):
            if state.received_date is None:
                state.received_date, state.received_row = received, raw.row
            elif state.received_date != received:
                conflict("received_date", state.received_row)
        form_type = values.get("form_type")
        if isinstance(form_type, str) and form_type:
            if not state.form_type:
                state.form_type, state.form_row = form_type, raw.row
            elif state.form_type != form_type:
                conflict("form_type", state.form_row)
        narrative = values.get("narrative")
        if isinstance(narrative, str) and narrative:
            digest = _digest(narrative)
            if not state.narrative_digest:
                state.narrative_digest, state.narrative_row = digest, raw.row
            elif state.narrative_digest != digest:
                conflict("narrative", state.narrative_row)

    def referrals(self) -> Iterator[LegacyReferral]:
        """Pass 2: yield each referral, complete, in order of first appearance.

        Only valid after ``check()`` found no errors. Memory holds one referral at a time.
        """
        summary = self.summary
        if summary is None or summary.error_count:
            raise RuntimeError("referrals() needs a successful check() first")
        people = self._valid_people() if summary.grouped else self._spilled_people(summary.references)
        # Both readers give references in order of first appearance, the store's order: its
        # summaries are read alongside, a page at a time, with no look-up per referral.
        states = summary.references.items()
        current: LegacyReferral | None = None
        last_row = expected_last_row = 0
        for reference, person, narrative in people:
            if current is None or reference != current.reference:
                if current is not None:
                    _check_last_row(last_row, expected_last_row)
                    yield current
                current, expected_last_row = _referral_start(reference, person.row, next(states, None))
            if narrative:
                current.narrative = narrative
            current.people.append(person)
            last_row = person.row
        if current is not None:
            _check_last_row(last_row, expected_last_row)
            yield current
        if next(states, None) is not None:
            raise LegacyCsvFileError("changed while being imported")

    def _valid_people(self) -> Iterator[tuple[str, LegacyPerson, str]]:
        """(reference, person, narrative) for every row, in file order."""
        for raw in self._raw_rows():
            _errors, person, values = self._validate(raw)
            if person is None:  # the file changed since check()
                raise LegacyCsvFileError(f"row {raw.row}: changed while being imported")
            narrative = values.get("narrative")
            yield raw.values["reference"], person, narrative if isinstance(narrative, str) else ""

    def _spilled_people(self, refs: ReferenceStore) -> Iterator[tuple[str, LegacyPerson, str]]:
        """The same, grouped by reference in order of first appearance, via the temporary store.

        Used only when some reference's rows are scattered through the file: holding the
        referrals still open in memory could mean holding nearly the whole file.
        """
        db = refs.connection
        db.execute("DROP TABLE IF EXISTS spill")
        db.execute(
            "CREATE TABLE spill (first_row INTEGER, row INTEGER, reference TEXT, data TEXT, "
            "PRIMARY KEY (first_row, row))"
        )
        insert = "INSERT INTO spill VALUES (?, ?, ?, ?)"
        batch: list[tuple[int, int, str, str]] = []
        for reference, person, narrative in self._valid_people():
            state = refs.get(reference)
            if state is None:
                raise LegacyCsvFileError(f"row {person.row}: changed while being imported")
            batch.append((state.first_row, person.row, reference, _person_dump(person, narrative)))
            if len(batch) >= ReferenceStore.PAGE:
                db.executemany(insert, batch)
                batch.clear()
        db.executemany(insert, batch)
        after = (0, 0)
        while page := db.execute(
            "SELECT first_row, row, reference, data FROM spill WHERE (first_row, row) > (?, ?) "
            "ORDER BY first_row, row LIMIT ?",
            (*after, ReferenceStore.PAGE),
        ).fetchall():
            for _first_row, _row, reference, data in page:
                person, narrative = _person_load(str(data))
                yield str(reference), person, narrative
            after = (int(page[-1][0]), int(page[-1][1]))
        db.execute("DROP TABLE spill")


def _referral_start(
    reference: str, first_row: int, expected: tuple[str, _ReferenceState] | None
) -> tuple[LegacyReferral, int]:
    """A new referral from pass 1's summary, and its last row; refuses when the file changed."""
    if expected is None or expected[0] != reference or expected[1].first_row != first_row:
        raise LegacyCsvFileError(f"row {first_row}: changed while being imported")
    state = expected[1]
    assert state.received_date is not None
    referral = LegacyReferral(
        reference=reference,
        received_date=state.received_date,
        form_type=state.form_type,
        narrative="",
        first_row=state.first_row,
    )
    return referral, state.last_row


def _check_last_row(last_row: int, expected: int) -> None:
    if last_row != expected:
        raise LegacyCsvFileError(f"row {last_row}: changed while being imported")


_PERSON_FIELDS = tuple(LegacyPerson.__dataclass_fields__)
_ALIASES = _PERSON_FIELDS.index("other_names")
_BIRTH = _PERSON_FIELDS.index("date_of_birth")


def _person_dump(person: LegacyPerson, narrative: str) -> str:
    values: list[Any] = [getattr(person, name) for name in _PERSON_FIELDS]
    values[_BIRTH] = person.date_of_birth.isoformat() if person.date_of_birth else None
    return json.dumps([*values, narrative], ensure_ascii=False)


def _person_load(data: str) -> tuple[LegacyPerson, str]:
    *values, narrative = json.loads(data)
    values[_ALIASES] = tuple(values[_ALIASES])
    values[_BIRTH] = date.fromisoformat(values[_BIRTH]) if values[_BIRTH] else None
    return LegacyPerson(*values), str(narrative)


def _csv_message(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a field is longer than {csv.field_size_limit():,} characters"
    if "NUL" in text:
        return "contains a NUL byte; is this a CSV text file?"
    if "expected after" in text or "end of data" in text:
        return 'quotes are not balanced (a field that starts with " must end with ")'
    return "cannot be read as CSV"
