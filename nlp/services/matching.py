"""Writes for prior-referral matching: index people, link referrals, record decisions, import.

The scoring itself is nlp.matching (pure); this module stores its inputs (PersonKey) and
outputs (ReferralLink), and keeps what people decided (MatchDecision, Family).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from itertools import islice
from typing import Any, TypeVar

from django.db import connections, models, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from intake.models import Person, Referral, ReferralSource, ReferralStatus
from nlp import matching
from nlp.legacy_csv import LegacyReferral
from nlp.matching import MatchModel, NormalisedPerson, PersonRecord, ReferralMatch
from nlp.models.matching import (
    BLOCKING_COLUMNS,
    NORMALISED_COLUMNS,
    Decision,
    Family,
    FamilyPerson,
    FamilyReferral,
    MatchDecision,
    NameFrequency,
    PersonKey,
    ReferralLink,
)
from nlp.selectors import matching as selectors

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
T = TypeVar("T")


class MatchDecisionError(Exception):
    """A decision that cannot be recorded (the message names ids, never people)."""


# --- indexing ---------------------------------------------------------------------------


def person_record_from_person(person: Person, *, received_date: date | None) -> PersonRecord:
    return PersonRecord(
        key=str(person.pk),
        referral_key=str(person.referral_id),
        role=person.role,
        given_name=person.given_name,
        family_name=person.family_name,
        other_names=tuple(str(name) for name in person.aliases or () if str(name).strip()),
        date_of_birth=person.date_of_birth,
        sex=person.sex,
        postcode=person.postcode,
        address_line=person.address_line,
        nhs_number=person.nhs_number,
        age_years=person.age_years,
        as_of=received_date,
        expected_date=person.expected_date if person.is_unborn else None,
    )


def person_key_values(normalised: NormalisedPerson, *, person_id: int, referral_id: int) -> dict[str, Any]:
    """PersonKey column values: normalised fields plus one column per blocking key."""
    values: dict[str, Any] = {"person_id": person_id, "referral_id": referral_id}
    for column in NORMALISED_COLUMNS:
        values[column] = getattr(normalised, column)
    for key_name, value in matching.person_blocking_keys(normalised).items():
        if key_name not in BLOCKING_COLUMNS:
            raise LookupError(f"blocking key {key_name!r} has no PersonKey column; add one and a migration")
        values[BLOCKING_COLUMNS[key_name]] = value
    return values


def person_key_build(normalised: NormalisedPerson, *, person_id: int, referral_id: int) -> PersonKey:
    """An unsaved PersonKey for ``normalised``."""
    return PersonKey(**person_key_values(normalised, person_id=person_id, referral_id=referral_id))


def _referral_index(referral: Referral) -> list[NormalisedPerson]:
    people = list(Person.objects.filter(referral_id=referral.pk).order_by("position", "pk"))
    normalised = [
        matching.person_normalise(person_record_from_person(p, received_date=referral.received_date)) for p in people
    ]
    old_names = _person_keys_delete(referral_id=referral.pk)
    PersonKey.objects.bulk_create(
        [person_key_build(n, person_id=p.pk, referral_id=referral.pk) for p, n in zip(people, normalised, strict=True)]
    )
    name_counts_apply(added=normalised, removed=old_names)
    return normalised


def _person_keys_delete(*, referral_id: int) -> list[tuple[str, str]]:
    """Delete a referral's keys; returns the (given_first, family) names they had."""
    connection = connections[router.db_for_write(PersonKey)]
    if not connection.features.can_return_columns_from_insert:  # no RETURNING: two queries
        rows = PersonKey.objects.filter(referral_id=referral_id)
        names = list(rows.values_list("given_first", "family"))
        rows.delete()
        return names
    quote = connection.ops.quote_name
    table = quote(PersonKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE {quote('referral_id')} = %s "  # noqa: S608 - identifiers only
            f"RETURNING {quote('given_first')}, {quote('family')}",
            [referral_id],
        )
        return [(str(given), str(family)) for given, family in cursor.fetchall()]


def referral_index_people(*, referral_id: int) -> int:
    """(Re)build the match keys of one referral's people; returns how many were indexed."""
    with transaction.atomic():
        referral = Referral.objects.select_for_update().only("pk", "received_date").get(pk=referral_id)
        return len(_referral_index(referral))


def name_counts_apply(*, added: Iterable[NormalisedPerson], removed: Iterable[tuple[str, str]] = ()) -> None:
    """Move the name counts by the people added and the (given_first, family) pairs removed.

    Atomic increments in the database (an upsert adding to the stored count), so concurrent
    submissions never lose a count and the cost does not grow with the table; usually one
    statement. name_frequencies_rebuild() recounts from scratch.
    """
    deltas: Counter[tuple[str, str]] = Counter()
    total = 0
    for person in added:
        total += 1
        deltas["given_name", person.given_first] += 1
        deltas["family_name", person.family] += 1
    for given, family in removed:
        total -= 1
        deltas["given_name", given] -= 1
        deltas["family_name", family] -= 1
    deltas[NameFrequency.TOTAL, ""] = total
    changes = {key: delta for key, delta in deltas.items() if delta and (key[1] or key[0] == NameFrequency.TOTAL)}
    increments = [(kind, value, delta) for (kind, value), delta in changes.items() if delta > 0]
    if increments:
        connection = connections[router.db_for_write(NameFrequency)]
        quote = connection.ops.quote_name
        table = quote(NameFrequency._meta.db_table)
        count = quote("count")
        sql = (
            f"INSERT INTO {table} ({quote('kind')}, {quote('value')}, {count}) "  # noqa: S608 - identifiers only
            f"VALUES {', '.join(['(%s, %s, %s)'] * len(increments))} "
            f"ON CONFLICT ({quote('kind')}, {quote('value')}) "
            f"DO UPDATE SET {count} = {table}.{count} + excluded.{count}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [item for row in increments for item in row])
    decrements: dict[tuple[str, int], list[str]] = defaultdict(list)
    for (kind, value), delta in changes.items():
        if delta < 0:
            decrements[kind, delta].append(value)
    for (kind, delta), values in decrements.items():
        # Never below zero (a count the rebuild has not seen yet stays at zero).
        NameFrequency.objects.filter(kind=kind, value__in=values, count__gte=-delta).update(count=F("count") + delta)


def name_frequencies_rebuild() -> int:
    """Recount every name from the stored keys; returns the rows written.

    Set-based, in the database: no name passes through Python, so memory does not grow with
    the table (it built a model instance per distinct name). One transaction, so readers see
    the old counts or the new ones. A submission indexed meanwhile adds its own increment
    (name_counts_apply); ON CONFLICT keeps that from failing this rebuild, and any drift of a
    count or two is corrected by the next rebuild.
    """
    connection = connections[router.db_for_write(NameFrequency)]
    quote = connection.ops.quote_name
    counts = quote(NameFrequency._meta.db_table)
    keys = quote(PersonKey._meta.db_table)
    kind, value, count = quote("kind"), quote("value"), quote("count")
    upsert = f"ON CONFLICT ({kind}, {value}) DO UPDATE SET {count} = excluded.{count}"
    written = 0
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # Identifiers come from the models' metadata; values are parameters.
        cursor.execute(f"DELETE FROM {counts}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {counts} ({kind}, {value}, {count}) "  # noqa: S608
            f"SELECT %s, '', COUNT(*) FROM {keys} WHERE 1 = 1 {upsert}",
            [NameFrequency.TOTAL],
        )
        written += max(cursor.rowcount, 0)
        for name_kind, column in (("given_name", "given_first"), ("family_name", "family")):
            field = quote(column)
            cursor.execute(
                f"INSERT INTO {counts} ({kind}, {value}, {count}) "  # noqa: S608
                f"SELECT %s, {field}, COUNT(*) FROM {keys} WHERE {field} <> '' GROUP BY {field} {upsert}",
                [name_kind],
            )
            written += max(cursor.rowcount, 0)
    return written


# --- matching ---------------------------------------------------------------------------


def _link_persons(match: ReferralMatch) -> list[dict[str, Any]]:
    return [
        {
            "person": int(p.new_key),
            "prior_person": int(p.prior_key),
            "score": p.score,
            "relation": p.relation,
            "agreements": p.agreements,
        }
        for p in match.persons
    ]


def referral_match_prior(*, referral_id: int) -> int:
    """Index a referral's people and link it to prior referrals; returns the number of links.

    Idempotent: the machine links of this referral are replaced, never duplicated, and a
    pair a person rejected is never suggested again. Human decisions are left as they are.
    """
    model = MatchModel.load_default()
    with transaction.atomic():
        connection = connections[router.db_for_write(ReferralLink)]
        if connection.vendor == "postgresql":
            # Everything written here is derived and rebuilt by re-running this (idempotent)
            # task, so the commit need not wait for the WAL flush.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        # The row lock serialises two runs for the same referral (a retried task).
        referral = Referral.objects.select_for_update().only("pk", "received_date").filter(pk=referral_id).first()
        if referral is None:
            logger.warning("Match skipped: referral id=%s no longer exists", referral_id)
            return 0
        new_people = _referral_index(referral)
        candidates = selectors.person_candidates_list(people=new_people, exclude_referral_ids=[referral_id])
        if len(candidates) >= selectors.MAX_CANDIDATES:
            logger.warning("Referral id=%s: candidate cap of %s reached", referral_id, selectors.MAX_CANDIDATES)
        names = selectors.name_statistics(people=new_people)
        matches = matching.referral_matches(
            new_people,
            candidates,
            model,
            name_frequency=names.lookup,
            population=names.population,
            rejected_pairs=selectors.referral_rejected_pairs(referral_id=referral_id),
        )
        ReferralLink.objects.filter(referral_id=referral_id).delete()
        ReferralLink.objects.bulk_create(
            [
                ReferralLink(
                    referral_id=referral_id,
                    prior_referral_id=int(match.referral_key),
                    score=match.score,
                    band=match.band,
                    link_type=match.link_type,
                    model_version=model.version,
                    persons=_link_persons(match),
                )
                for match in matches
            ]
        )
    return len(matches)


# --- decisions --------------------------------------------------------------------------


def _decision_record(*, link: ReferralLink, decision: str, user: Any) -> MatchDecision:
    existing = MatchDecision.objects.filter(
        Q(referral_id=link.referral_id, prior_referral_id=link.prior_referral_id)
        | Q(referral_id=link.prior_referral_id, prior_referral_id=link.referral_id)
    ).first()
    if existing is not None:
        if existing.decision == decision:
            return existing
        raise MatchDecisionError(f"Link #{link.pk}: this pair was already decided ({existing.decision})")
    snapshot = {
        "link_id": link.pk,
        "score": link.score,
        "band": link.band,
        "link_type": link.link_type,
        "model_version": link.model_version,
        "persons": link.persons,
    }
    return MatchDecision.objects.create(
        referral_id=link.referral_id,
        prior_referral_id=link.prior_referral_id,
        decision=decision,
        decided_by=user if getattr(user, "is_authenticated", False) else None,
        link_snapshot=snapshot,
    )


def referral_link_reject(*, link_id: int, user: Any = None) -> MatchDecision:
    """A person says "not a match": record it and drop the link (both directions)."""
    with transaction.atomic():
        link = ReferralLink.objects.select_for_update().get(pk=link_id)
        decision = _decision_record(link=link, decision=Decision.REJECTED, user=user)
        ReferralLink.objects.filter(
            Q(referral_id=link.referral_id, prior_referral_id=link.prior_referral_id)
            | Q(referral_id=link.prior_referral_id, prior_referral_id=link.referral_id)
        ).delete()
    return decision


def referral_link_confirm(*, link_id: int, user: Any = None) -> Family:
    """A person confirms the link: record it and join both referrals into one family."""
    with transaction.atomic():
        link = ReferralLink.objects.select_for_update().get(pk=link_id)
        _decision_record(link=link, decision=Decision.CONFIRMED, user=user)
        same_people = [(int(p["person"]), int(p["prior_person"])) for p in link.persons]
        return family_join(referral_ids=[link.referral_id, link.prior_referral_id], same_people=same_people)


def family_join(*, referral_ids: Sequence[int], same_people: Iterable[tuple[int, int]] = ()) -> Family:
    """Put referrals (and all their people) in one family, merging families they were in.

    ``same_people`` pairs are the same individual: they get one ``individual`` number.
    """
    with transaction.atomic():
        family_ids = sorted(
            set(FamilyReferral.objects.filter(referral_id__in=referral_ids).values_list("family_id", flat=True))
        )
        if family_ids:
            family = Family.objects.select_for_update().get(pk=family_ids[0])
            others = family_ids[1:]
            FamilyReferral.objects.filter(family_id__in=others).update(family=family)
            FamilyPerson.objects.filter(family_id__in=others).update(family=family)
            Family.objects.filter(pk__in=others).delete()
        else:
            family = Family.objects.create()
        present = set(FamilyReferral.objects.filter(referral_id__in=referral_ids).values_list("referral_id", flat=True))
        FamilyReferral.objects.bulk_create(
            [
                FamilyReferral(family=family, referral_id=rid)
                for rid in dict.fromkeys(referral_ids)
                if rid not in present
            ]
        )
        person_ids = list(Person.objects.filter(referral_id__in=referral_ids).values_list("pk", flat=True))
        members = set(FamilyPerson.objects.filter(person_id__in=person_ids).values_list("person_id", flat=True))
        FamilyPerson.objects.bulk_create(
            [FamilyPerson(family=family, person_id=pid, individual=pid) for pid in person_ids if pid not in members]
        )
        for a, b in same_people:
            individuals = dict(
                FamilyPerson.objects.filter(family=family, person_id__in=[a, b]).values_list("person_id", "individual")
            )
            if len(individuals) == 2 and individuals[a] != individuals[b]:
                keep, drop = sorted((individuals[a], individuals[b]))
                FamilyPerson.objects.filter(family=family, individual=drop).update(individual=keep)
        family.save(update_fields=["updated_at"])
    return family


# --- legacy import ----------------------------------------------------------------------


_DIRECT_FIELDS = (models.CharField, models.TextField, models.IntegerField, models.ForeignKey)


def _max_query_params(connection: Any) -> int:
    if connection.vendor == "sqlite":
        # Django assumes SQLite's old limit of 999; SQLite 3.32+ allows 32766 (ask the library).
        limit_id = getattr(sqlite3, "SQLITE_LIMIT_VARIABLE_NUMBER", None)
        raw = connection.connection
        if limit_id is not None and raw is not None and hasattr(raw, "getlimit"):
            return int(raw.getlimit(limit_id))
        return 999
    return 65535 if connection.vendor == "postgresql" else 2000


def _statement_slices(total: int, per_statement: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of each statement: full ones, then the rest in power-of-two sizes.

    sqlite3 caches a prepared statement per distinct SQL text (128 of them, large when they
    hold thousands of placeholders). A remainder of any size gave every batch new texts, so
    the cache grew as the import went on; powers of two give a dozen texts in all.
    """
    start = 0
    while total - start >= per_statement:
        yield start, start + per_statement
        start += per_statement
    size = 1 << max(per_statement.bit_length() - 1, 0)
    while start < total:
        if total - start >= size:
            yield start, start + size
            start += size
        size >>= 1


def _bulk_insert(model: type[models.Model], rows: Sequence[dict[str, Any]], *, returning: bool) -> list[int]:
    """INSERT many rows, preparing each column's constant default once; returns new ids.

    Django's bulk_create prepares every value of every field of every object and caps a
    SQLite statement at 999 parameters; for 100,000 referrals (~40 columns) and 250,000
    people that was most of an import. Only the values given in ``rows`` (the same keys in
    every row) vary; every other column gets its field default, prepared once.
    """
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    connection.ensure_connection()
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    varying = list(rows[0])
    by_attname = {f.attname: f for f in fields}
    unknown = [name for name in varying if name not in by_attname]
    if unknown:
        raise ValueError(f"{meta.label} has no column(s) {unknown}")
    constants: list[tuple[str, Any]] = []
    for field in fields:
        if field.attname in varying:
            continue
        if field.has_default() and callable(field.default) and field.default not in (dict, list):
            raise ValueError(f"{meta.label}.{field.attname} has a per-row default; give its value")
        constants.append((field.column, field.get_db_prep_save(field.get_default(), connection)))
    prepare: list[models.Field[Any, Any] | None] = []
    for name in varying:
        field = by_attname[name]
        direct = isinstance(field, _DIRECT_FIELDS)
        prepare.append(None if direct else field)
    if connection.vendor == "postgresql":
        return _bulk_insert_unnest(
            connection, model, [by_attname[name] for name in varying], rows, constants, returning
        )
    columns = [by_attname[name].column for name in varying] + [column for column, _ in constants]
    constant_values = [value for _, value in constants]
    quote = connection.ops.quote_name
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    # Only identifiers from the model's own metadata are interpolated; values are parameters.
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES "  # noqa: S608
    tail = f" RETURNING {quote(meta.pk.column)}" if returning else ""
    per_statement = max(1, min(2000, _max_query_params(connection) // len(columns)))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start, stop in _statement_slices(len(rows), per_statement):
            chunk = rows[start:stop]
            params: list[Any] = []
            for row in chunk:
                for name, preparer in zip(varying, prepare, strict=True):
                    value = row[name]
                    params.append(value if preparer is None else preparer.get_db_prep_save(value, connection))
                params.extend(constant_values)
            cursor.execute(head + ", ".join([row_sql] * len(chunk)) + tail, params)
            if returning:
                ids.extend(int(r[0]) for r in cursor.fetchall())
    return ids


def _bulk_insert_unnest(
    connection: Any,
    model: type[models.Model],
    fields: list[models.Field[Any, Any]],
    rows: Sequence[dict[str, Any]],
    constants: list[tuple[str, Any]],
    returning: bool,
) -> list[int]:
    """PostgreSQL: one array parameter per column (INSERT ... SELECT FROM unnest(...)).

    A multi-row VALUES list with tens of thousands of placeholders spends most of its time in
    the driver's client-side query parsing; a handful of array parameters does not.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [f.column for f in fields] + [column for column, _ in constants]
    casts = []
    for field in fields:
        casts.append(
            "%s::text[]::jsonb[]" if isinstance(field, models.JSONField) else f"%s::{field.db_type(connection)}[]"
        )
    # Only identifiers and types from the model's own metadata are interpolated; values are parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"SELECT u.*{''.join(', %s' for _ in constants)} FROM unnest({', '.join(casts)}) AS u"
        + (f" RETURNING {quote(meta.pk.column)}" if returning else "")
    )
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            arrays: list[list[Any]] = []
            for field in fields:
                name = field.attname
                if isinstance(field, models.JSONField):
                    encoder = field.encoder
                    arrays.append([None if r[name] is None else json.dumps(r[name], cls=encoder) for r in chunk])
                elif isinstance(field, _DIRECT_FIELDS):
                    arrays.append([r[name] for r in chunk])
                else:
                    arrays.append([field.get_db_prep_save(r[name], connection) for r in chunk])
            cursor.execute(sql, [value for _, value in constants] + arrays)
            if returning:
                ids.extend(int(r[0]) for r in cursor.fetchall())
    return ids


@dataclass
class ImportResult:
    referrals_created: int = 0
    people_created: int = 0
    referrals_skipped: int = 0
    themes_tagged: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def theme_tagger() -> Callable[..., Any] | None:
    """nlp.services.themes.referrals_tag_themes when the theme tagger is installed."""
    try:
        from nlp.services.themes import referrals_tag_themes
    except ImportError:
        return None
    return referrals_tag_themes


def _received_at(received_date: date) -> datetime:
    return timezone.make_aware(datetime.combine(received_date, time(9, 0)))


def legacy_referrals_import(
    *,
    referrals: Iterable[LegacyReferral],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], object] | None = None,
) -> ImportResult:
    """Store validated legacy referrals in batches, index their people and tag their themes.

    All or nothing: one transaction, so a failure part-way stores nothing. References already
    stored are skipped, so importing the same file twice changes nothing.
    """
    result = ImportResult()
    tag_themes = theme_tagger()
    result.themes_tagged = tag_themes is not None
    with transaction.atomic():
        for batch in _chunks(referrals, batch_size):
            existing = selectors.references_existing(references=[r.reference for r in batch])
            fresh = [r for r in batch if r.reference not in existing]
            result.referrals_skipped += len(batch) - len(fresh)
            if fresh:
                created_ids = _import_batch(fresh)
                result.referrals_created += len(created_ids)
                result.people_created += sum(len(r.people) for r in fresh)
                if tag_themes is not None:
                    tag_themes(referral_ids=created_ids)
            if progress is not None:
                progress(len(batch))
        if result.referrals_created:
            name_frequencies_rebuild()
            planner_statistics_refresh([Referral, Person, PersonKey, NameFrequency])
    return result


def planner_statistics_refresh(models_written: Sequence[type[models.Model]]) -> None:
    """PostgreSQL: ANALYZE the matching tables (after a bulk import, inside its transaction).

    Without statistics the planner guessed thousands of rows for each blocking-key look-up and
    chose a sequential scan of every person: 250-400 ms instead of 2-5 ms for one match in five
    (100,000 referrals, when the candidate query still had a LIMIT). Autovacuum analyzes only
    after a delay, or never when it is off, so the import and the daily recount both do it.
    ANALYZE counts the rows this transaction inserted.
    """
    connection = connections[router.db_for_write(PersonKey)]
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models_written:
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")


def _import_batch(batch: list[LegacyReferral]) -> list[int]:
    """Insert one batch of referrals, their people and match keys; returns the referral ids."""
    referral_ids = _bulk_insert(
        Referral,
        [
            {
                "public_id": uuid.uuid4(),
                "reference": item.reference,
                "form_type": item.form_type,
                "source": ReferralSource.IMPORTED,
                "status": ReferralStatus.IMPORTED,
                "received_date": item.received_date,
                "submitted_at": _received_at(item.received_date),
                "narrative": item.narrative,
            }
            for item in batch
        ],
        returning=True,
    )
    person_rows: list[dict[str, Any]] = []
    normalised: list[NormalisedPerson] = []
    for referral_id, item in zip(referral_ids, batch, strict=True):
        for position, row in enumerate(item.people, start=1):
            person_rows.append(
                {
                    "referral_id": referral_id,
                    "position": position,
                    "role": row.role,
                    "given_name": row.given_name,
                    "family_name": row.family_name,
                    "aliases": list(row.other_names),
                    "date_of_birth": row.date_of_birth,
                    "sex": row.sex,
                    "address_line": row.address_line,
                    "postcode": row.postcode,
                    "nhs_number": row.nhs_number,
                }
            )
            record = row.person_record(key="", referral_key=str(referral_id), as_of=item.received_date)
            normalised.append(matching.person_normalise(record))
    person_ids = _bulk_insert(Person, person_rows, returning=True)
    _bulk_insert(
        PersonKey,
        [
            person_key_values(n, person_id=pid, referral_id=r["referral_id"])
            for pid, r, n in zip(person_ids, person_rows, normalised, strict=True)
        ],
        returning=False,
    )
    return referral_ids
