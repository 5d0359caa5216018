"""import_referrals: all-or-nothing, idempotent, dry run, indexing and theme tagging."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from intake.models import Person, Referral, ReferralSource, ReferralStatus
from nlp.legacy_csv import COLUMNS, LegacyCsv
from nlp.linkage_synth import synth_generate
from nlp.models import ThemeTag
from nlp.models.matching import NameFrequency, PersonKey
from nlp.services import matching as services
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

NEGLECT = "The home was filthy, there was no food in the house and the baby was left unattended for hours."


def line(**values: str) -> str:
    base = {"reference": "OLD-1", "received_date": "2019-03-04", "form_type": "practice_alert", "role": "child"}
    base.update(values)
    out = []
    for column in COLUMNS:
        value = base.get(column, "")
        out.append('"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value)
    return ",".join(out)


def csv_file(tmp_path: Path, *lines: str, bom: bool = False, name: str = "legacy.csv") -> Path:
    path = tmp_path / name
    text = "\n".join([",".join(COLUMNS), *lines]) + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_referrals", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def good_lines() -> list[str]:
    return [
        line(given_name="Olivia", family_name="Pemberton", date_of_birth="2016-04-09", narrative=NEGLECT),
        line(role="mother", given_name="Karen", family_name="Pemberton", nhs_number="943 476 5919", postcode="me4 4tr"),
        line(reference="OLD-2", received_date="2020-07-08", form_type="case_review", given_name="Sam"),
    ]


def test_import_stores_referrals_people_and_match_keys(tmp_path):
    out, _ = run(str(csv_file(tmp_path, *good_lines())))
    assert "imported 2 referral(s) with 3 people" in out
    old = Referral.objects.get(reference="OLD-1")
    assert (old.source, old.status, old.received_date, old.form_type) == (
        ReferralSource.IMPORTED,
        ReferralStatus.IMPORTED,
        dt.date(2019, 3, 4),
        "practice_alert",
    )
    assert old.narrative == NEGLECT
    people = list(Person.objects.filter(referral=old).order_by("position"))
    assert [(p.position, p.role) for p in people] == [(1, "child"), (2, "mother")]
    assert (people[1].nhs_number, people[1].postcode) == ("9434765919", "ME4 4TR")
    assert PersonKey.objects.count() == 3
    assert PersonKey.objects.filter(person=people[1]).values_list("bk_nhs", flat=True).get() == "9434765919"
    assert NameFrequency.objects.get(kind="total").count == 3
    assert NameFrequency.objects.get(kind="family_name", value="pemberton").count == 2


def test_imported_referrals_are_tagged_with_themes(tmp_path):
    run(str(csv_file(tmp_path, *good_lines())))
    old = Referral.objects.get(reference="OLD-1")
    assert ThemeTag.objects.filter(referral=old, negated=False).exists()
    assert not ThemeTag.objects.filter(referral__reference="OLD-2").exists()  # no narrative, no tags


def test_any_bad_row_imports_nothing_and_every_bad_row_is_reported(tmp_path):
    path = csv_file(
        tmp_path,
        *good_lines(),
        line(reference="OLD-3", date_of_birth="2019-02-30"),
        line(reference="OLD-4", nhs_number="943 476 5918"),
        line(reference="OLD-5", role="neighbour"),
    )
    with pytest.raises(CommandError, match="3 problem"):
        run(str(path))
    assert not Referral.objects.exists()
    assert not PersonKey.objects.exists()


def test_bad_rows_are_printed_with_file_row_and_column(tmp_path, capsys):
    path = csv_file(tmp_path, line(given_name="Zebulon", date_of_birth="09/04/2016"), line(reference="OLD-2", sex="x"))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_referrals", str(path), stdout=StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert lines == [
        f"{path}: row 1 (line 2), column date_of_birth: is not a real date in the form YYYY-MM-DD (or leave it blank)",
        f"{path}: row 2 (line 3), column sex: must be one of: female, male, other, or blank",
    ]
    assert "Zebulon" not in err.getvalue()
    assert "09/04/2016" not in err.getvalue()


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    path = str(csv_file(tmp_path, *good_lines()))
    run(path)
    before = (
        list(Referral.objects.values_list("pk", "reference", "narrative").order_by("pk")),
        list(Person.objects.values_list("pk", "referral_id", "given_name").order_by("pk")),
        list(NameFrequency.objects.values_list("kind", "value", "count").order_by("kind", "value")),
        ThemeTag.objects.count(),
    )
    out, _ = run(path)
    assert "imported 0 referral(s)" in out
    assert "skipped 2 already imported" in out
    after = (
        list(Referral.objects.values_list("pk", "reference", "narrative").order_by("pk")),
        list(Person.objects.values_list("pk", "referral_id", "given_name").order_by("pk")),
        list(NameFrequency.objects.values_list("kind", "value", "count").order_by("kind", "value")),
        ThemeTag.objects.count(),
    )
    assert after == before


def test_dry_run_validates_and_stores_nothing(tmp_path):
    out, _ = run(str(csv_file(tmp_path, *good_lines())), "--dry-run")
    assert "would import 2 referral(s)" in out
    assert not Referral.objects.exists()
    assert not Person.objects.exists()
    assert not PersonKey.objects.exists()


def test_dry_run_still_reports_bad_rows_and_fails(tmp_path):
    with pytest.raises(CommandError):
        run(str(csv_file(tmp_path, line(received_date="2019-13-01"))), "--dry-run")
    assert not Referral.objects.exists()


def test_file_with_a_bom_imports(tmp_path):
    run(str(csv_file(tmp_path, *good_lines(), bom=True)))
    assert Referral.objects.filter(reference__in=["OLD-1", "OLD-2"]).count() == 2


def test_reference_of_an_online_referral_is_an_error(tmp_path):
    ReferralFactory(reference="OLD-2")
    with pytest.raises(CommandError):
        run(str(csv_file(tmp_path, *good_lines())))
    assert Referral.objects.count() == 1


def test_missing_file_and_missing_columns_fail_with_a_one_line_error(tmp_path):
    with pytest.raises(CommandError, match="file not found"):
        run(str(tmp_path / "nope.csv"))
    path = tmp_path / "cols.csv"
    path.write_text("reference,received_date\nA,2020-01-01\n")
    with pytest.raises(CommandError, match="missing required column"):
        run(str(path))


def test_a_failure_part_way_through_stores_nothing(tmp_path, monkeypatch):
    dataset = synth_generate(seed=11, families=6)
    path = tmp_path / "synth.csv"
    dataset.write_legacy_csv(path)
    calls = []

    def failing_tagger(*, referral_ids):
        calls.append(len(referral_ids))
        if len(calls) == 2:
            raise RuntimeError("tagger crashed")
        return len(referral_ids)

    monkeypatch.setattr(services, "theme_tagger", lambda: failing_tagger)
    reader = LegacyCsv(path)
    assert reader.check(on_error=lambda error: None).error_count == 0
    with pytest.raises(RuntimeError):
        services.legacy_referrals_import(referrals=reader.referrals(), batch_size=3)
    assert calls == [3, 3]
    assert not Referral.objects.exists()
    assert not PersonKey.objects.exists()


def test_import_in_small_batches_matches_the_generated_file(tmp_path):
    dataset = synth_generate(seed=12, families=8)
    path = tmp_path / "synth.csv"
    rows = dataset.write_legacy_csv(path)
    reader = LegacyCsv(path)
    assert reader.check(on_error=lambda error: None).error_count == 0
    result = services.legacy_referrals_import(referrals=reader.referrals(), batch_size=5)
    assert result.referrals_created == len(dataset.referrals) == Referral.objects.count()
    assert result.people_created == rows == Person.objects.count() == PersonKey.objects.count()
    first = dataset.referrals[0]
    stored = Referral.objects.get(reference=first.reference)
    assert stored.people.count() == len(first.rows)
