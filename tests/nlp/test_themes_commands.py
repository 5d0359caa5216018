"""tag_themes and retag_referrals commands: formats, order, bad lines, no partial output."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from intake.models import Referral
from nlp.models import ThemeTag
from nlp.services.themes import tagger_current
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db


def run_tag(tmp_path, lines: list[str] | bytes, *args: str) -> tuple[list[dict], str]:
    source = tmp_path / "in.jsonl"
    if isinstance(lines, bytes):
        source.write_bytes(lines)
    else:
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("tag_themes", "--input", str(source), *args, stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_output_is_one_object_per_input_line_in_input_order(tmp_path):
    records = [
        {"id": "a", "text": "The home was filthy and there was no food."},
        {"id": 2, "text": ""},
        {"id": "c", "text": "No concerns about domestic abuse. Mum is a care leaver."},
    ]
    rows, err = run_tag(tmp_path, [json.dumps(r) for r in records])
    assert [row["id"] for row in rows] == ["a", 2, "c"]
    assert rows[0]["themes"][0]["code"] == "neglect"
    assert rows[1] == {"id": 2, "themes": [], "negated": []}
    assert rows[2]["negated"] == ["domestic_abuse"]
    assert "parental_adversity" in {t["code"] for t in rows[2]["themes"]}
    assert "Tagged 3 text(s)" in err


def test_malformed_line_stops_with_its_line_number_and_writes_nothing(tmp_path):
    target = tmp_path / "out.jsonl"
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "neglect"}\n{"id": 2, "text": \n', encoding="utf-8")
    with pytest.raises(CommandError, match=r"in.jsonl line 2: invalid JSON"):
        call_command("tag_themes", "--input", str(source), "--output", str(target))
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [source]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "x"}', "field 'id' is missing"),
        ('{"id": 1}', "field 'text' is missing"),
        ('{"id": 1, "text": 7}', "field 'text': text must be a string"),
        ('{"id": null, "text": "x"}', "field 'id' must be a string or an integer"),
        ('["id", "text"]', "expected a JSON object"),
    ],
)
def test_each_kind_of_bad_line_gets_a_specific_error(tmp_path, line, message):
    with pytest.raises(CommandError, match=message):
        run_tag(tmp_path, ['{"id": 0, "text": "ok"}', line])


def test_skip_invalid_reports_every_skipped_line_and_keeps_the_rest(tmp_path):
    rows, err = run_tag(
        tmp_path,
        ['{"id": 1, "text": "WNB x3"}', "not json", '{"id": 3, "text": 5}', '{"id": 4, "text": "x"}'],
        "--skip-invalid",
    )
    assert [row["id"] for row in rows] == [1, 4]
    assert "line 2: invalid JSON" in err
    assert "line 3: field 'text'" in err
    assert "skipped 2 invalid line(s): 2, 3" in err


def test_invalid_utf8_is_reported_with_its_line(tmp_path):
    with pytest.raises(CommandError, match="line 2: not valid UTF-8"):
        run_tag(tmp_path, b'{"id": 1, "text": "a"}\n\xff\xfe\x00junk\n')


def test_blank_lines_are_not_records_and_bom_is_accepted(tmp_path):
    rows, _ = run_tag(tmp_path, b'\xef\xbb\xbf{"id": 1, "text": "a"}\n\n   \n{"id": 2, "text": "b"}\n')
    assert [row["id"] for row in rows] == [1, 2]


def test_output_file_is_written_complete(tmp_path):
    source = tmp_path / "in.jsonl"
    target = tmp_path / "out.jsonl"
    source.write_text(
        "\n".join(json.dumps({"id": i, "text": "co-slept on the sofa"}) for i in range(30)), encoding="utf-8"
    )
    call_command("tag_themes", "--input", str(source), "--output", str(target), stderr=io.StringIO())
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == list(range(30))
    assert all(r["themes"][0]["code"] == "unsafe_sleep" for r in rows)


def test_missing_input_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="file not found"):
        call_command("tag_themes", "--input", str(tmp_path / "nope.jsonl"))


def test_retag_referrals_tags_all_then_only_outdated():
    referrals: list[Referral] = [ReferralFactory.create(what_happened="Mum was drunk at the visit.") for _ in range(3)]
    out = io.StringIO()
    call_command("retag_referrals", "--batch-size", "2", stdout=out)
    assert "Re-tagged 3 referral(s)" in out.getvalue()
    version = tagger_current().version
    assert ThemeTag.objects.filter(tagger_version=version, theme__code="parental_substance_misuse").count() == 3
    ThemeTag.objects.filter(referral_id=referrals[0].pk).update(tagger_version="old")
    out = io.StringIO()
    call_command("retag_referrals", "--outdated", stdout=out)
    assert "Re-tagged 1 referral(s)" in out.getvalue()
    assert ThemeTag.objects.filter(referral_id=referrals[0].pk, tagger_version=version).exists()
    assert not ThemeTag.objects.filter(tagger_version="old").exists()


def test_retag_referrals_refuses_unknown_ids():
    with pytest.raises(CommandError, match="no referral with id 424242"):
        call_command("retag_referrals", "--ids", "424242")
