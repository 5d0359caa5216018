"""Reads for prior-referral matching: candidates, name frequencies, decisions, links."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from itertools import islice
from operator import or_

from django.db.models import Q, QuerySet

from intake.models import Referral
from nlp.legacy_csv import LegacyReferral
from nlp.matching import (
    BLOCKING_KEY_NAMES,
    MatchModel,
    NormalisedPerson,
    ReferralMatch,
    person_blocking_lookups,
    person_normalise,
    referral_matches,
)
from nlp.models.matching import (
    BLOCKING_COLUMNS,
    NORMALISED_COLUMNS,
    Decision,
    MatchDecision,
    NameFrequency,
    PersonKey,
    ReferralLink,
)

NameFrequencyLookup = Callable[[str, str], float]

_VALUE_COLUMNS: tuple[str, ...] = ("person_id", "referral_id", *NORMALISED_COLUMNS)
# Beyond this many candidate people for one referral, blocking has failed (a key value shared
# by thousands); the cap keeps the scoring of one match bounded and is logged by the caller.
MAX_CANDIDATES = 5000


def _normalised(row: Sequence[object]) -> NormalisedPerson:
    return NormalisedPerson(str(row[0]), str(row[1]), *row[2:])  # type: ignore[arg-type]


def person_keys_normalised(*, referral_id: int) -> list[NormalisedPerson]:
    """The stored normalised people of one referral, in form order."""
    rows = PersonKey.objects.filter(referral_id=referral_id).order_by("person_id").values_list(*_VALUE_COLUMNS)
    return [_normalised(row) for row in rows]


def candidates_query(
    *, people: Iterable[NormalisedPerson], exclude_referral_ids: Collection[int] = ()
) -> QuerySet[PersonKey] | None:
    """One query: every stored person sharing a blocking-key value with any of ``people``."""
    wanted: dict[str, set[str]] = {}
    for person in people:
        for key_name, values in person_blocking_lookups(person).items():
            wanted.setdefault(key_name, set()).update(values)
    clauses = [
        Q(**{f"{BLOCKING_COLUMNS[key_name]}__in": sorted(values)})
        for key_name, values in wanted.items()
        if key_name in BLOCKING_COLUMNS and values
    ]
    if not clauses:
        return None
    query = PersonKey.objects.filter(reduce(or_, clauses))
    if exclude_referral_ids:
        query = query.exclude(referral_id__in=list(exclude_referral_ids))
    return query


def person_candidates_list(
    *, people: Iterable[NormalisedPerson], exclude_referral_ids: Collection[int] = (), limit: int = MAX_CANDIDATES
) -> list[NormalisedPerson]:
    """Candidate prior people for a referral's people: one query, a small set, never the table."""
    query = candidates_query(people=people, exclude_referral_ids=exclude_referral_ids)
    if query is None:
        return []
    # The cap is applied here, not as an SQL LIMIT: given a LIMIT, PostgreSQL may choose a
    # sequential scan that it expects to stop early whenever its statistics are stale (a table
    # never analysed, autovacuum off), turning one match into a read of the whole table. The
    # selective keys keep the rows fetched small (median 245 people at 1M indexed).
    rows = query.values_list(*_VALUE_COLUMNS)
    return [_normalised(row) for row in islice(rows, limit)]


@dataclass(frozen=True)
class NameStatistics:
    """Name frequencies for term-frequency adjustment, and how many people are indexed."""

    lookup: NameFrequencyLookup
    population: int | None


def name_statistics(*, people: Iterable[NormalisedPerson]) -> NameStatistics:
    """name_frequency(field, value) and the indexed population, from one small indexed query.

    Only the new people's names are looked up: the model adjusts an exact agreement by the
    frequency of the agreed value, which is the new person's own value.
    """
    given = {p.given_first for p in people if p.given_first}
    family = {p.family for p in people if p.family}
    clauses = Q(kind=NameFrequency.TOTAL, value="")
    if given:
        clauses |= Q(kind="given_name", value__in=sorted(given))
    if family:
        clauses |= Q(kind="family_name", value__in=sorted(family))
    counts = {
        (kind, value): count
        for kind, value, count in NameFrequency.objects.filter(clauses).values_list("kind", "value", "count")
    }
    total = counts.get((NameFrequency.TOTAL, ""), 0)

    def lookup(field_name: str, value: str) -> float:
        return counts.get((field_name, value), 0) / total if total else 0.0

    return NameStatistics(lookup=lookup, population=total or None)


def referral_rejected_pairs(*, referral_id: int) -> set[tuple[str, str]]:
    """(referral key, other referral key) for every pair a person said is not a match."""
    rows = MatchDecision.objects.filter(
        Q(referral_id=referral_id) | Q(prior_referral_id=referral_id), decision=Decision.REJECTED
    ).values_list("referral_id", "prior_referral_id")
    key = str(referral_id)
    return {(key, str(prior if mine == referral_id else mine)) for mine, prior in rows}


def referral_references(*, referral_ids: Collection[int]) -> dict[int, str]:
    return dict(Referral.objects.filter(pk__in=list(referral_ids)).values_list("pk", "reference"))


def references_existing(*, references: Collection[str]) -> dict[str, str]:
    """reference -> source for the references already stored (checked in chunks by callers)."""
    return dict(Referral.objects.filter(reference__in=list(references)).values_list("reference", "source"))


def referral_id_for_reference(*, reference: str) -> int | None:
    return Referral.objects.filter(reference=reference).values_list("pk", flat=True).first()


def referral_links_list(*, referral_id: int) -> QuerySet[ReferralLink]:
    """Links from a referral to earlier ones, best first."""
    return ReferralLink.objects.filter(referral_id=referral_id).select_related("prior_referral").order_by("-score")


def blocking_columns_missing() -> list[str]:
    """Blocking keys the matcher produces that have no column here (should be empty)."""
    return [name for name in BLOCKING_KEY_NAMES if name not in BLOCKING_COLUMNS]


def legacy_referral_matches(
    *, referral: LegacyReferral, model: MatchModel
) -> tuple[list[ReferralMatch], dict[int, str]]:
    """Match one referral read from a CSV (not stored) against the stored ones.

    People are keyed by their data-row number. A stored referral with the same reference is
    the same referral, not a prior one: it is left out, and its rejected pairs apply.
    """
    new_key = f"csv:{referral.reference}"
    people = [
        person_normalise(row.person_record(key=str(row.row), referral_key=new_key, as_of=referral.received_date))
        for row in referral.people
    ]
    stored_id = referral_id_for_reference(reference=referral.reference)
    exclude = [stored_id] if stored_id is not None else []
    rejected = (
        {(new_key, prior) for _, prior in referral_rejected_pairs(referral_id=stored_id)}
        if stored_id is not None
        else set()
    )
    names = name_statistics(people=people)
    matches = referral_matches(
        people,
        person_candidates_list(people=people, exclude_referral_ids=exclude),
        model,
        name_frequency=names.lookup,
        population=names.population,
        rejected_pairs=rejected,
    )
    references = referral_references(referral_ids=[int(m.referral_key) for m in matches]) if matches else {}
    return matches, references
