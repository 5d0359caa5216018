"""The streaming legacy CSV reader: per-row errors, BOM, encodings, grouping, long lines."""

from __future__ import annotations

import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from nlp.legacy_csv import COLUMNS, LegacyCsv, LegacyCsvFileError, ReferenceStore, RowError

HEADER = ",".join(COLUMNS)


def row(**values: str) -> str:
    base = {"reference": "R1", "received_date": "2020-01-02", "form_type": "practice_alert", "role": "child"}
    base.update(values)
    return ",".join(_quote(base.get(column, "")) for column in COLUMNS)


def _quote(value: str) -> str:
    if any(ch in value for ch in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def write(tmp_path: Path, *lines: str, header: str = HEADER, prefix: bytes = b"", encoding: str = "utf-8") -> Path:
    path = tmp_path / "legacy.csv"
    path.write_bytes(prefix + ("\n".join([header, *lines]) + "\n").encode(encoding))
    return path


def check(path: Path) -> tuple[list[RowError], LegacyCsv]:
    errors: list[RowError] = []
    reader = LegacyCsv(path, today=date(2025, 6, 1))
    reader.check(on_error=errors.append)
    return errors, reader


def test_valid_file_yields_people_cleaned_and_grouped_by_reference(tmp_path):
    path = write(
        tmp_path,
        row(given_name=" Liz ", other_names="Beth; Lizzie ;", postcode="me46bx", nhs_number="943 476 5919"),
        row(role="Mother", sex="Female", narrative="worried about neglect"),
        row(reference="R2", form_type="case_review", received_date="2019-05-06"),
    )
    errors, reader = check(path)
    assert errors == []
    referrals = list(reader.referrals())
    assert [r.reference for r in referrals] == ["R1", "R2"]
    first = referrals[0]
    assert first.narrative == "worried about neglect"
    assert [p.row for p in first.people] == [1, 2]
    child = first.people[0]
    assert (child.given_name, child.other_names, child.postcode, child.nhs_number) == (
        "Liz",
        ("Beth", "Lizzie"),
        "ME4 6BX",
        "9434765919",
    )
    assert (first.people[1].role, first.people[1].sex) == ("mother", "female")
    assert referrals[1].received_date == date(2019, 5, 6)


def test_bom_is_accepted(tmp_path):
    errors, reader = check(write(tmp_path, row(), prefix=b"\xef\xbb\xbf"))
    assert errors == []
    assert [r.reference for r in reader.referrals()] == ["R1"]


@pytest.mark.parametrize(
    ("values", "column"),
    [
        ({"received_date": "02/01/2020"}, "received_date"),
        ({"received_date": "2020-02-30"}, "received_date"),
        ({"date_of_birth": "2015-13-01"}, "date_of_birth"),
        ({"date_of_birth": "20150101"}, "date_of_birth"),
        ({"received_date": "2099-01-01"}, "received_date"),
        ({"form_type": "alert"}, "form_type"),
        ({"role": "uncle"}, "role"),
        ({"role": ""}, "role"),
        ({"reference": ""}, "reference"),
        ({"reference": "X" * 21}, "reference"),
        ({"sex": "f"}, "sex"),
        ({"postcode": "NOT A CODE"}, "postcode"),
        ({"nhs_number": "943 476 5918"}, "nhs_number"),
        ({"nhs_number": "12345"}, "nhs_number"),
        ({"given_name": "A" * 101}, "given_name"),
    ],
)
def test_each_bad_value_is_reported_with_row_line_and_column(tmp_path, values, column):
    errors, _reader = check(write(tmp_path, row(), row(**values)))
    assert [(e.row, e.line, e.column) for e in errors] == [(2, 3, column)]


def test_error_messages_never_contain_the_value(tmp_path):
    secret = "Zebedee-Quartermain"
    errors, _ = check(write(tmp_path, row(given_name=secret * 10, date_of_birth=secret, postcode=secret)))
    assert len(errors) == 3
    assert all(secret not in e.format("f.csv") for e in errors)


def test_every_bad_row_is_reported_not_just_the_first(tmp_path):
    errors, _ = check(
        write(tmp_path, row(role="x"), row(reference="R2", received_date="nope"), row(reference="R3", sex="?"))
    )
    assert [(e.row, e.column) for e in errors] == [(1, "role"), (2, "received_date"), (3, "sex")]


def test_referral_columns_that_disagree_across_rows_are_errors(tmp_path):
    errors, _ = check(
        write(
            tmp_path,
            row(narrative="first"),
            row(received_date="", form_type="", narrative=""),
            row(received_date="2020-01-03", narrative="first"),
            row(form_type="case_review", narrative="second"),
        )
    )
    assert [(e.row, e.column) for e in errors] == [(3, "received_date"), (4, "form_type"), (4, "narrative")]


def test_referral_columns_blank_on_every_row_are_reported_once_per_reference(tmp_path):
    errors, _ = check(write(tmp_path, row(received_date=""), row(received_date="", role="mother")))
    assert [(e.row, e.column) for e in errors] == [(1, "received_date")]


def test_referral_level_values_may_come_from_any_one_row(tmp_path):
    errors, reader = check(
        write(
            tmp_path,
            row(received_date="", form_type="", narrative=""),
            row(role="father", narrative="text here"),
        )
    )
    assert errors == []
    (referral,) = reader.referrals()
    assert (referral.received_date, referral.form_type, referral.narrative) == (
        date(2020, 1, 2),
        "practice_alert",
        "text here",
    )


def test_rows_of_one_reference_need_not_be_adjacent_and_order_is_first_appearance(tmp_path):
    errors, reader = check(
        write(tmp_path, row(reference="A"), row(reference="B"), row(reference="A", role="mother"), row(reference="C"))
    )
    assert errors == []
    referrals = list(reader.referrals())
    assert [(r.reference, [p.row for p in r.people]) for r in referrals] == [("A", [1, 3]), ("B", [2]), ("C", [4])]


def test_missing_required_column_is_a_file_error(tmp_path):
    header = HEADER.replace("role,", "")
    with pytest.raises(LegacyCsvFileError, match="missing required column"):
        check(write(tmp_path, header=header))


def test_unknown_column_is_a_file_error_naming_it(tmp_path):
    with pytest.raises(LegacyCsvFileError, match="date_of_brith"):
        check(write(tmp_path, header=HEADER.replace("date_of_birth", "date_of_brith")))


def test_file_without_header_row_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(row() + "\n")
    with pytest.raises(LegacyCsvFileError, match="header"):
        check(path)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"")
    with pytest.raises(LegacyCsvFileError, match="empty"):
        check(path)


def test_utf16_file_is_refused_with_advice(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("\ufeff".encode("utf-16-le") + (HEADER + "\n" + row()).encode("utf-16-le"))
    with pytest.raises(LegacyCsvFileError, match="UTF-16"):
        check(path)


def test_rows_in_another_encoding_are_reported_per_column(tmp_path):
    path = write(tmp_path, row(), row(family_name="Bront\u00eb"), encoding="cp1252")
    errors, _ = check(path)
    assert [(e.row, e.column) for e in errors] == [(2, "family_name")]
    assert "UTF-8" in errors[0].message


def test_wrong_number_of_fields_is_a_row_error(tmp_path):
    errors, _ = check(write(tmp_path, row(), "R9,2020-01-01,practice_alert"))
    assert [(e.row, e.column) for e in errors] == [(2, None)]
    assert "fields" in errors[0].message


def test_unbalanced_quote_is_a_row_error(tmp_path):
    bad = row(given_name="x").replace(",x,", ',"x"y,')
    errors, _ = check(write(tmp_path, row(), bad, row(reference="R3")))
    assert [e.row for e in errors] == [2]
    assert "quotes" in errors[0].message


def test_overlong_line_is_skipped_in_chunks_and_reported(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER + "\n" + row() + "\n")
        handle.write(row(narrative="x" * 5_000_000) + "\n")
        handle.write(row(reference="R3") + "\n")
    errors: list[RowError] = []
    reader = LegacyCsv(path, max_line_chars=100_000, today=date(2025, 6, 1))
    summary = reader.check(on_error=errors.append)
    assert [(e.row, e.line) for e in errors] == [(2, 3)]
    assert "longer than 100,000 characters" in errors[0].message
    assert summary.rows == 3


def test_overlong_field_inside_quotes_is_reported(tmp_path):
    lines = "\n".join(["y" * 90_000] * 3)
    errors, _ = check(write(tmp_path, row(), row(narrative=lines)))
    # What follows a broken field may be reported too; the first error names the cause.
    assert errors[0].row == 2
    assert "field is longer than" in errors[0].message


def test_blank_rows_are_skipped_but_counted_in_row_numbers(tmp_path):
    errors, _reader = check(write(tmp_path, row(), ",,,,,,,,,,,,", row(reference="R2", role="nope")))
    assert [(e.row, e.column) for e in errors] == [(3, "role")]


def test_referrals_refuses_to_run_after_a_failed_check(tmp_path):
    _errors, reader = check(write(tmp_path, row(role="x")))
    with pytest.raises(RuntimeError):
        list(reader.referrals())


def test_date_of_birth_typo_in_the_future_is_kept_for_the_matcher(tmp_path):
    errors, reader = check(write(tmp_path, row(date_of_birth="2044-06-27")))
    assert errors == []
    (referral,) = reader.referrals()
    assert referral.people[0].date_of_birth == date(2044, 6, 27)


def test_a_huge_line_is_reported_without_being_loaded_whole(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER + "\n" + row() + "\n")
        handle.write(row(narrative="")[:-1])
        for _ in range(30):  # a 30 MB field on one line
            handle.write("z" * 1_000_000)
        handle.write("\n" + row(reference="R3") + "\n")
    errors: list[RowError] = []
    tracemalloc.start()
    try:
        summary = LegacyCsv(path, today=date(2025, 6, 1)).check(on_error=errors.append)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(e.row, e.line) for e in errors] == [(2, 3)]
    assert "longer than 1,000,000 characters" in errors[0].message
    assert set(summary.references) == {"R1", "R3"}  # reading goes on after the huge line
    assert peak < 12_000_000


def test_windows_line_endings_and_multi_line_narratives_keep_row_numbers(tmp_path):
    path = tmp_path / "excel.csv"
    lines = [HEADER, row(narrative="first line\r\nsecond line"), row(reference="R2", role="alien")]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    errors, _reader = check(path)
    assert [(e.row, e.line, e.column) for e in errors] == [(2, 4, "role")]


def test_scattered_rows_come_back_grouped_through_the_disk_store(tmp_path, monkeypatch):
    # A tiny cache forces states out to disk and back; rows of each reference are scattered.
    monkeypatch.setattr(ReferenceStore, "CACHE_SIZE", 8)
    monkeypatch.setattr(ReferenceStore, "PAGE", 3)
    references = [f"R{n}" for n in range(40)]
    lines = [row(reference=ref, given_name=f"child{n}") for n, ref in enumerate(references)]
    lines += [row(reference=ref, role="mother", narrative=f"note {ref}") for ref in reversed(references)]
    errors, reader = check(write(tmp_path, *lines))
    assert errors == []
    assert reader.summary is not None
    assert not reader.summary.grouped
    referrals = list(reader.referrals())
    assert [r.reference for r in referrals] == references
    for n, referral in enumerate(referrals):
        assert [p.row for p in referral.people] == [n + 1, 80 - n]
        assert [p.given_name for p in referral.people] == [f"child{n}", ""]
        assert referral.narrative == f"note {referral.reference}"
        assert referral.received_date == date(2020, 1, 2)


def test_grouped_file_streams_and_blank_referral_values_are_found_after_eviction(tmp_path, monkeypatch):
    monkeypatch.setattr(ReferenceStore, "CACHE_SIZE", 4)
    lines = [row(reference=f"R{n}") for n in range(20)] + [row(reference="LAST", form_type="")]
    errors, reader = check(write(tmp_path, *lines))
    assert [(e.row, e.column) for e in errors] == [(21, "form_type")]
    assert reader.summary is not None
    assert reader.summary.grouped
    assert list(reader.summary.references) == [f"R{n}" for n in range(20)] + ["LAST"]


def test_pass_one_memory_does_not_grow_with_the_number_of_references(tmp_path, monkeypatch):
    # Both sizes fill the cache and a page of the final read, so only growth with size is left.
    monkeypatch.setattr(ReferenceStore, "CACHE_SIZE", 64)
    monkeypatch.setattr(ReferenceStore, "PAGE", 100)

    def peak_for(references: int) -> int:
        path = tmp_path / f"refs_{references}.csv"
        path.write_text("\n".join([HEADER, *(row(reference=f"R{n}") for n in range(references))]) + "\n")
        tracemalloc.start()
        try:
            with LegacyCsv(path, today=date(2025, 6, 1)) as reader:
                assert reader.check(on_error=lambda error: None).referral_count == references
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak_for(1_000), peak_for(10_000)
    # A dict of every reference's summary grew by ~450 bytes a reference (4 MB here).
    assert large - small < 200_000


def test_close_removes_the_temporary_store(tmp_path):
    errors, reader = check(write(tmp_path, row(), row(reference="R2")))
    assert errors == []
    assert reader.summary is not None
    store = reader.summary.references.connection.execute("PRAGMA database_list").fetchone()[2]
    assert Path(store).exists()
    reader.close()
    assert not Path(store).exists()
    assert not Path(store).parent.exists()
