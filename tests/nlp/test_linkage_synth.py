"""The synthetic family/referral generator: deterministic, legacy-CSV shaped, with ground truth."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from nlp.linkage_synth import LEGACY_CSV_COLUMNS, SynthDataset, synth_generate
from nlp.matching import nhs_number_valid

ROLES = {"child", "mother", "father", "partner", "carer", "other"}


@pytest.fixture(scope="module")
def dataset() -> SynthDataset:
    return synth_generate(seed=7, families=300)


def test_same_seed_gives_the_same_rows_and_another_seed_different_rows(dataset: SynthDataset) -> None:
    again = synth_generate(seed=7, families=300)
    other = synth_generate(seed=8, families=300)
    assert again.rows == dataset.rows
    assert [r.given_name for r in other.rows[:50]] != [r.given_name for r in dataset.rows[:50]]


def test_referrals_are_in_received_order_with_unique_references(dataset: SynthDataset) -> None:
    dates = [r.received_date for r in dataset.referrals]
    assert dates == sorted(dates)
    references = [r.reference for r in dataset.referrals]
    assert len(set(references)) == len(references)
    assert min(len(r.rows) for r in dataset.referrals) >= 1


def test_legacy_csv_has_the_interface_columns_and_valid_values(dataset: SynthDataset, tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    written = dataset.write_legacy_csv(path)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == LEGACY_CSV_COLUMNS
        rows = list(reader)
    assert written == len(rows) == len(dataset.rows)
    narratives: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        assert row["role"] in ROLES
        assert row["form_type"] in {"practice_alert", "case_review"}
        date.fromisoformat(row["received_date"])
        if row["date_of_birth"]:
            date.fromisoformat(row["date_of_birth"])
        assert row["sex"] in {"", "female", "male"}
        if row["nhs_number"]:
            assert nhs_number_valid(row["nhs_number"].replace(" ", ""))
        if row["narrative"]:
            narratives[row["reference"]].add(row["narrative"])
    # Referral-level columns: the narrative is given once per referral, blank on the other rows.
    assert all(len(v) == 1 for v in narratives.values())
    assert len(narratives) == len(dataset.referrals)


def test_ground_truth_links_people_across_referrals(dataset: SynthDataset) -> None:
    referrals_by_person: dict[str, set[str]] = defaultdict(set)
    families_by_person: dict[str, set[str]] = defaultdict(set)
    for row in dataset.rows:
        referrals_by_person[row.person_id].add(row.reference)
        families_by_person[row.person_id].add(row.family_id)
    assert all(len(f) == 1 for f in families_by_person.values())
    assert sum(1 for refs in referrals_by_person.values() if len(refs) > 1) > 100


def test_the_noise_that_matching_must_survive_is_present() -> None:
    rows = synth_generate(seed=11, families=1500).rows
    by_person: dict[str, list] = defaultdict(list)
    for row in rows:
        by_person[row.person_id].append(row)
    family_changes = sum(
        1 for rs in by_person.values() if len({r.family_name.strip().lower() for r in rs if r.family_name.strip()}) > 1
    )
    dob_changes = sum(1 for rs in by_person.values() if len({r.date_of_birth for r in rs if r.date_of_birth}) > 1)
    assert family_changes > 50
    assert dob_changes > 20
    assert any(r.other_names for r in rows)
    assert any(r.expected_date for r in rows)  # unborn children
    assert any(r.age_years is not None for r in rows)
    # Twins: two children of one family with the same date of birth in one referral.
    twins = 0
    for referral in {r.reference for r in rows}:
        children = [r for r in rows if r.reference == referral and r.role == "child" and r.date_of_birth]
        twins += len({c.date_of_birth for c in children}) < len(children)
        if twins:
            break
    assert twins
