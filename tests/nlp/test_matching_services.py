"""Matching services: indexing, candidate selection, idempotent links, decisions, families."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from intake.models import Person, PersonRole, Referral
from nlp import matching
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
from nlp.selectors.matching import (
    candidates_query,
    person_candidates_list,
    person_keys_normalised,
    referral_rejected_pairs,
)
from nlp.services.matching import (
    MatchDecisionError,
    _statement_slices,
    name_frequencies_rebuild,
    person_record_from_person,
    referral_index_people,
    referral_link_confirm,
    referral_link_reject,
    referral_match_prior,
)
from nlp.tasks import name_frequencies_recount
from tests.factories import PersonFactory, ReferralFactory

pytestmark = pytest.mark.django_db

DOB = dt.date(2016, 4, 9)


def family_referral(
    *,
    child_given="Olivia",
    family="Pemberton",
    dob=DOB,
    postcode="ME4 4TR",
    mother_given="Karen",
    mother_dob=dt.date(1990, 2, 3),
    received=None,
    **kw,
):
    """A referral naming a child and her mother, as a professional would type them."""
    referral = ReferralFactory(received_date=received or dt.date(2024, 1, 10), **kw)
    PersonFactory(
        referral=referral,
        position=1,
        role=PersonRole.CHILD,
        given_name=child_given,
        family_name=family,
        date_of_birth=dob,
        sex="female",
        postcode=postcode,
    )
    PersonFactory(
        referral=referral,
        position=2,
        role=PersonRole.MOTHER,
        given_name=mother_given,
        family_name=family,
        date_of_birth=mother_dob,
        sex="female",
        postcode=postcode,
    )
    return referral


def unrelated_referral(n: int) -> Referral:
    # Distinct names, dates and areas: none shares a blocking key with the family above.
    return family_referral(
        child_given=f"Zed{chr(97 + n % 26)}{chr(97 + n // 26 % 26)}x",
        family=f"Quill{chr(97 + n % 26)}{chr(98 + n // 26 % 24)}ton",
        dob=dt.date(2001 + n % 9, 1 + n % 12, 1 + n % 28),
        postcode=f"TN{1 + n % 30} {1 + n % 9}AB",
        mother_given=f"Yara{chr(97 + n % 26)}{chr(97 + n // 26 % 26)}q",
        mother_dob=dt.date(1970 + n % 9, 1 + n % 12, 1 + n % 28),
    )


def test_model_columns_follow_the_matcher_fields_and_blocking_keys():
    fields = [f.name for f in dataclasses.fields(matching.NormalisedPerson)]
    assert fields[:2] == ["key", "referral_key"]
    assert list(NORMALISED_COLUMNS) == fields[2:]
    assert tuple(BLOCKING_COLUMNS) == matching.BLOCKING_KEY_NAMES


def test_indexing_stores_normalised_fields_and_blocking_keys_that_round_trip():
    referral = family_referral()
    assert referral_index_people(referral_id=referral.pk) == 2
    child = Person.objects.get(referral=referral, role="child")
    keys = PersonKey.objects.filter(person=child).values(*BLOCKING_COLUMNS.values()).get()
    expected_keys = matching.person_blocking_keys(
        matching.person_normalise(person_record_from_person(child, received_date=referral.received_date))
    )
    assert keys == {BLOCKING_COLUMNS[name]: value for name, value in expected_keys.items()}
    assert keys["bk_dob_given"] == f"2016-04-09:{child.given_name[0].lower()}"
    assert keys["bk_nhs"] is None
    expected = matching.person_normalise(person_record_from_person(child, received_date=referral.received_date))
    stored = {p.key: p for p in person_keys_normalised(referral_id=referral.pk)}[str(child.pk)]
    assert stored == expected


def test_reindexing_replaces_keys_and_keeps_name_counts_exact():
    referral = family_referral()
    referral_index_people(referral_id=referral.pk)
    referral_index_people(referral_id=referral.pk)
    assert PersonKey.objects.filter(referral=referral).count() == 2
    counts = dict(NameFrequency.objects.values_list("kind", "count").filter(value__in=["", "pemberton"]))
    assert counts == {"total": 2, "family_name": 2}
    Person.objects.filter(referral=referral, role="mother").update(family_name="Okafor")
    referral_index_people(referral_id=referral.pk)
    assert NameFrequency.objects.get(kind="family_name", value="pemberton").count == 1
    assert NameFrequency.objects.get(kind="family_name", value="okafor").count == 1


def test_name_frequencies_rebuild_recounts_from_the_keys_in_the_database():
    for n in range(3):
        referral_index_people(referral_id=family_referral(child_given=("Olivia", "Amir", "Olivia")[n]).pk)
    NameFrequency.objects.update(count=99)
    NameFrequency.objects.create(kind="family_name", value="gone", count=5)

    written = name_frequencies_rebuild()

    rows = NameFrequency.objects.values_list("kind", "value", "count")
    counts = {(kind, value): count for kind, value, count in rows}
    assert counts == {
        ("total", ""): 6,
        ("given_name", "olivia"): 2,
        ("given_name", "amir"): 1,
        ("given_name", "karen"): 3,
        ("family_name", "pemberton"): 6,
    }
    assert written == len(counts)


def test_the_daily_recount_task_corrects_drifted_counts_and_logs_no_names(caplog):
    referral_index_people(referral_id=family_referral().pk)
    NameFrequency.objects.filter(kind="family_name", value="pemberton").update(count=41)

    with caplog.at_level(logging.INFO, logger="nlp.tasks"):
        name_frequencies_recount()

    assert NameFrequency.objects.get(kind="family_name", value="pemberton").count == 2
    assert caplog.records, "the task reports what it did"
    assert not any("pemberton" in r.getMessage().lower() or "karen" in r.getMessage().lower() for r in caplog.records)


def test_the_daily_recount_refreshes_postgresql_planner_statistics_for_the_keys():
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    for n in range(3):
        referral_index_people(referral_id=unrelated_referral(n).pk)
    table = PersonKey._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        name_frequencies_recount()

    analysed = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith("ANALYZE")]
    assert any(table in sql for sql in analysed), analysed
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        assert cursor.fetchone()[0] == PersonKey.objects.count()


def test_bulk_inserts_use_a_dozen_statement_shapes_whatever_the_batch_sizes():
    # sqlite3 keeps a prepared statement per distinct SQL text; one per remainder size filled
    # its cache with megabyte statements as an import went on.
    sizes: set[int] = set()
    for total in range(0, 6000, 37):
        slices = list(_statement_slices(total, 819))
        assert [start for start, _ in slices] == [0, *(stop for _, stop in slices)][: len(slices)]
        assert (slices[-1][1] if slices else 0) == total
        sizes.update(stop - start for start, stop in slices)
    assert len(sizes) <= 11
    assert max(sizes) == 819


def test_match_links_a_referral_to_the_prior_one_about_the_same_child():
    prior = family_referral(received=dt.date(2021, 5, 1))
    referral_index_people(referral_id=prior.pk)
    new = family_referral(child_given="Livvy", postcode="ME5 8QD")  # nickname and a house move
    assert referral_match_prior(referral_id=new.pk) == 1
    link = ReferralLink.objects.get(referral=new)
    assert link.prior_referral_id == prior.pk
    assert link.band in {"likely", "possible"}
    assert link.link_type == "same_person"
    assert link.model_version == matching.MatchModel.load_default().version
    child_pair = next(p for p in link.persons if p["relation"] == "same_child")
    assert child_pair["agreements"]["date_of_birth"] == "exact"
    assert child_pair["prior_person"] == Person.objects.get(referral=prior, role="child").pk


def test_match_is_idempotent_and_replaces_its_own_links():
    prior = family_referral(received=dt.date(2021, 5, 1))
    referral_index_people(referral_id=prior.pk)
    new = family_referral()
    first = referral_match_prior(referral_id=new.pk)
    link_ids = set(ReferralLink.objects.values_list("pk", flat=True))
    second = referral_match_prior(referral_id=new.pk)
    assert first == second == 1
    assert ReferralLink.objects.count() == 1
    assert set(ReferralLink.objects.values_list("pk", flat=True)) != link_ids  # replaced, not duplicated
    assert PersonKey.objects.count() == 4


def test_queued_task_run_twice_writes_no_second_row():
    from nlp.tasks import referral_analyse

    prior = family_referral(received=dt.date(2021, 5, 1))
    referral_index_people(referral_id=prior.pk)
    new = family_referral()
    referral_analyse(new.pk)
    referral_analyse(new.pk)
    assert ReferralLink.objects.filter(referral=new).count() == 1
    assert PersonKey.objects.filter(referral=new).count() == 2


def test_match_of_a_deleted_referral_returns_zero():
    referral = family_referral()
    referral_id = referral.pk
    referral.delete()
    assert referral_match_prior(referral_id=referral_id) == 0


def test_unrelated_referrals_are_not_linked():
    for n in range(5):
        referral_index_people(referral_id=unrelated_referral(n).pk)
    new = family_referral()
    assert referral_match_prior(referral_id=new.pk) == 0
    assert not ReferralLink.objects.exists()


def test_rejected_pair_is_never_suggested_again_in_either_direction():
    prior = family_referral(received=dt.date(2021, 5, 1))
    referral_index_people(referral_id=prior.pk)
    new = family_referral()
    referral_match_prior(referral_id=new.pk)
    decision = referral_link_reject(link_id=ReferralLink.objects.get(referral=new).pk)
    assert decision.decision == Decision.REJECTED
    assert not ReferralLink.objects.exists()
    assert referral_match_prior(referral_id=new.pk) == 0
    assert referral_match_prior(referral_id=prior.pk) == 0  # the same pair, seen from the other side
    assert referral_rejected_pairs(referral_id=prior.pk) == {(str(prior.pk), str(new.pk))}
    assert not ReferralLink.objects.exists()


def test_confirmed_link_joins_both_referrals_and_people_into_one_family():
    user = get_user_model().objects.create_user("reviewer", password="a-long-test-password")
    prior = family_referral(received=dt.date(2021, 5, 1))
    referral_index_people(referral_id=prior.pk)
    new = family_referral()
    referral_match_prior(referral_id=new.pk)
    link = ReferralLink.objects.get(referral=new)
    family = referral_link_confirm(link_id=link.pk, user=user)
    assert set(family.referrals.values_list("pk", flat=True)) == {prior.pk, new.pk}
    assert family.people.count() == 4
    decision = MatchDecision.objects.get()
    assert (decision.decision, decision.decided_by) == (Decision.CONFIRMED, user)
    assert decision.link_snapshot["score"] == link.score
    children = FamilyPerson.objects.filter(person__role="child")
    assert len({m.individual for m in children}) == 1  # the same child across both referrals
    # Confirming again changes nothing; rejecting a confirmed pair is refused.
    referral_link_confirm(link_id=link.pk)
    assert Family.objects.count() == 1
    with pytest.raises(MatchDecisionError):
        referral_link_reject(link_id=link.pk)


def test_confirming_links_between_two_families_merges_them():
    a = family_referral(received=dt.date(2019, 5, 1))
    b = family_referral(received=dt.date(2021, 5, 1))
    referral_index_people(referral_id=a.pk)
    referral_match_prior(referral_id=b.pk)
    referral_link_confirm(link_id=ReferralLink.objects.get(referral=b, prior_referral=a).pk)
    c = family_referral(child_given="Poppy", dob=dt.date(2019, 8, 8), received=dt.date(2022, 1, 1))
    d = family_referral(child_given="Poppy", dob=dt.date(2019, 8, 8), received=dt.date(2023, 1, 1))
    Person.objects.filter(referral__in=[c, d], role="mother").update(
        given_name="Sian", date_of_birth=dt.date(1985, 1, 1)
    )
    referral_index_people(referral_id=c.pk)
    referral_match_prior(referral_id=d.pk)
    referral_link_confirm(link_id=ReferralLink.objects.get(referral=d, prior_referral=c).pk)
    assert Family.objects.count() == 2
    e = family_referral(received=dt.date(2024, 3, 3))
    Person.objects.create(
        referral=e,
        position=3,
        role="child",
        given_name="Poppy",
        family_name="Pemberton",
        date_of_birth=dt.date(2019, 8, 8),
    )
    referral_match_prior(referral_id=e.pk)
    for link in ReferralLink.objects.filter(referral=e, prior_referral__in=[b, d]):
        referral_link_confirm(link_id=link.pk)
    assert Family.objects.count() == 1
    assert FamilyReferral.objects.count() == 5


def test_candidate_selection_is_one_query_returning_a_small_set():
    prior = family_referral(received=dt.date(2021, 5, 1))
    referral_index_people(referral_id=prior.pk)
    for n in range(60):
        referral_index_people(referral_id=unrelated_referral(n).pk)
    new = family_referral()
    referral_index_people(referral_id=new.pk)
    people = person_keys_normalised(referral_id=new.pk)
    with CaptureQueriesContext(connection) as queries:
        candidates = person_candidates_list(people=people, exclude_referral_ids=[new.pk])
    assert len(queries.captured_queries) == 1
    # No SQL LIMIT: with stale statistics it can tempt PostgreSQL into a sequential scan.
    assert "LIMIT" not in queries.captured_queries[0]["sql"].upper()
    assert PersonKey.objects.count() == 124
    assert {c.referral_key for c in candidates} == {str(prior.pk)}
    sql = str(candidates_query(people=people, exclude_referral_ids=[new.pk]).query)  # type: ignore[union-attr]
    assert "bk_dob_given" in sql
    assert "bk_name_phon" in sql


def test_the_candidate_cap_bounds_what_one_referral_is_scored_against():
    for n in range(4):
        referral_index_people(referral_id=family_referral(received=dt.date(2020, 1, n + 1)).pk)
    new = family_referral()
    referral_index_people(referral_id=new.pk)
    people = person_keys_normalised(referral_id=new.pk)

    assert len(person_candidates_list(people=people, exclude_referral_ids=[new.pk])) == 8
    assert len(person_candidates_list(people=people, exclude_referral_ids=[new.pk], limit=3)) == 3


def test_matching_one_referral_uses_the_same_few_queries_however_many_are_stored():
    prior = family_referral(received=dt.date(2021, 5, 1))
    referral_index_people(referral_id=prior.pk)
    counts: list[int] = []
    for size in (3, 40):
        for n in range(len(counts) * 3, size):
            referral_index_people(referral_id=unrelated_referral(n).pk)
        new = family_referral()
        with CaptureQueriesContext(connection) as queries:
            assert referral_match_prior(referral_id=new.pk) >= 1
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 18


def test_log_lines_from_matching_carry_ids_not_people(caplog):
    caplog.set_level(logging.DEBUG)
    prior = family_referral(received=dt.date(2021, 5, 1))
    referral_index_people(referral_id=prior.pk)
    new = family_referral()
    referral_match_prior(referral_id=new.pk)
    referral_link_reject(link_id=ReferralLink.objects.get().pk)
    text = caplog.text.lower()
    assert "pemberton" not in text
    assert "olivia" not in text
    assert "2016-04-09" not in text


def test_admin_actions_confirm_and_reject_links(client):
    admin_user = get_user_model().objects.create_superuser("boss", "boss@example.gov.uk", "a-long-test-password")
    client.force_login(admin_user)
    prior = family_referral(received=dt.date(2021, 5, 1))
    referral_index_people(referral_id=prior.pk)
    new = family_referral()
    referral_match_prior(referral_id=new.pk)
    link = ReferralLink.objects.get()
    url = reverse("admin:nlp_referrallink_changelist")
    assert client.get(url).status_code == 200
    response = client.post(url, {"action": "reject_links", "_selected_action": [link.pk]})
    assert response.status_code == 302
    assert MatchDecision.objects.get().decision == Decision.REJECTED
    assert not ReferralLink.objects.exists()
