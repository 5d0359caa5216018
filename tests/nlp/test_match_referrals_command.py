"""match_referrals: JSON Lines in input order, exactly as interfaces.md; nothing stored."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from intake.models import Person, Referral
from nlp.models.matching import PersonKey, ReferralLink
from tests.nlp.test_import_referrals import csv_file, line

pytestmark = pytest.mark.django_db

PERSON_KEYS = {"row", "prior_person", "score", "agreements"}


def history(tmp_path: Path) -> None:
    """Two stored referrals about one family and one about another."""
    path = csv_file(
        tmp_path,
        line(reference="OLD-1", given_name="Olivia", family_name="Pemberton", date_of_birth="2016-04-09", sex="female"),
        line(
            reference="OLD-1",
            role="mother",
            given_name="Karen",
            family_name="Pemberton",
            date_of_birth="1990-02-03",
            postcode="ME4 4TR",
        ),
        line(
            reference="OLD-2",
            received_date="2021-06-01",
            given_name="Olivia",
            family_name="Pemberton",
            date_of_birth="2016-09-04",
            postcode="ME4 4TR",
        ),
        line(reference="OLD-3", given_name="Tobias", family_name="Wainwright", date_of_birth="2011-11-11"),
        name="history.csv",
    )
    call_command("import_referrals", str(path), stdout=StringIO(), stderr=StringIO())


def new_file(tmp_path: Path) -> Path:
    return csv_file(
        tmp_path,
        line(
            reference="NEW-1",
            received_date="2024-01-05",
            given_name="Ellie",
            family_name="Nobody",
            date_of_birth="2020-01-01",
        ),
        line(
            reference="NEW-2",
            received_date="2024-01-05",
            role="mother",
            given_name="Karen",
            family_name="Pemberton-Hale",
            date_of_birth="1990-02-03",
        ),
        line(
            reference="NEW-2",
            received_date="2024-01-05",
            given_name="Livvy",
            family_name="Pemberton",
            date_of_birth="2016-04-09",
        ),
        name="new.csv",
    )


def run(*args: str) -> str:
    out = StringIO()
    call_command("match_referrals", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_output_is_one_json_object_per_referral_in_input_order(tmp_path):
    history(tmp_path)
    lines = [json.loads(text) for text in run(str(new_file(tmp_path))).splitlines()]
    assert [obj["reference"] for obj in lines] == ["NEW-1", "NEW-2"]
    assert all(set(obj) == {"reference", "matches"} for obj in lines)
    assert lines[0]["matches"] == []
    matches = lines[1]["matches"]
    assert matches[0]["reference"] in {"OLD-1", "OLD-2"}
    assert "OLD-3" not in {m["reference"] for m in matches}
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    for match in matches:
        assert set(match) == {"reference", "score", "band", "persons"}
        assert 0 <= match["score"] <= 1
        assert match["band"] in {"likely", "possible"}
        for person in match["persons"]:
            assert set(person) == PERSON_KEYS
            assert 0 <= person["score"] <= 1
            assert Person.objects.get(pk=person["prior_person"]).referral.reference == match["reference"]


def test_rows_are_data_row_numbers_of_the_input(tmp_path):
    history(tmp_path)
    lines = [json.loads(text) for text in run(str(new_file(tmp_path))).splitlines()]
    old1 = next(m for m in lines[1]["matches"] if m["reference"] == "OLD-1")
    rows = {p["row"]: p for p in old1["persons"]}
    assert set(rows) <= {2, 3}
    assert rows
    child = rows.get(3)
    assert child is not None
    assert child["agreements"]["date_of_birth"] == "exact"
    assert Person.objects.get(pk=child["prior_person"]).role == "child"


def test_nothing_is_stored(tmp_path):
    history(tmp_path)
    before = (Referral.objects.count(), Person.objects.count(), PersonKey.objects.count())
    run(str(new_file(tmp_path)))
    assert (Referral.objects.count(), Person.objects.count(), PersonKey.objects.count()) == before
    assert not ReferralLink.objects.exists()


def test_output_file_is_written_whole(tmp_path):
    history(tmp_path)
    target = tmp_path / "out.jsonl"
    assert run(str(new_file(tmp_path)), "--output", str(target)) == ""
    assert [json.loads(t)["reference"] for t in target.read_text().splitlines()] == ["NEW-1", "NEW-2"]


def test_bad_input_fails_and_writes_no_output(tmp_path):
    history(tmp_path)
    path = csv_file(
        tmp_path, line(reference="NEW-1"), line(reference="NEW-2", date_of_birth="2016-02-30"), name="bad.csv"
    )
    target = tmp_path / "out.jsonl"
    with pytest.raises(CommandError, match="nothing was matched"):
        run(str(path), "--output", str(target))
    assert not target.exists()
    assert list(tmp_path.glob("*.partial")) == []


def test_a_stored_referral_is_not_matched_to_itself(tmp_path):
    history(tmp_path)
    path = csv_file(
        tmp_path,
        line(reference="OLD-3", given_name="Tobias", family_name="Wainwright", date_of_birth="2011-11-11"),
        name="again.csv",
    )
    (obj,) = [json.loads(t) for t in run(str(path)).splitlines()]
    assert obj == {"reference": "OLD-3", "matches": []}
