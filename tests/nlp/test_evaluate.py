"""Evaluation arithmetic and the evaluate_themes command."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from nlp.evaluation import GoldFileError, GoldRecord, evaluate, keyword_baseline, read_gold


def record(themes, negated=(), text="t", rid="x"):
    return GoldRecord(line=1, id=rid, text=text, themes=frozenset(themes), negated=frozenset(negated))


def test_precision_recall_f1_and_averages_are_computed_per_theme():
    gold = [record({"neglect"}), record({"neglect", "self_harm"}), record(set()), record({"self_harm"})]
    predicted = [{"neglect"}, {"neglect"}, {"neglect"}, {"self_harm"}]
    report = evaluate(gold, predicted, codes=["neglect", "self_harm", "exploitation"])
    neglect, self_harm = report["themes"]["neglect"], report["themes"]["self_harm"]
    assert (neglect["tp"], neglect["fp"], neglect["fn"]) == (2, 1, 0)
    assert neglect["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert neglect["recall"] == 1.0
    assert self_harm["recall"] == 0.5
    assert self_harm["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["micro"]["precision"] == pytest.approx(3 / 4, abs=1e-4)
    assert report["micro"]["recall"] == pytest.approx(3 / 4, abs=1e-4)
    # exploitation has no gold support, so it is not in the macro average
    assert report["macro"]["themes"] == 2
    assert report["macro"]["f1"] == pytest.approx((0.8 + 2 / 3) / 2, abs=1e-4)


def test_negated_false_positive_rate_counts_passages():
    gold = [
        record(set(), negated={"domestic_abuse"}, rid="a"),
        record(set(), negated={"domestic_abuse", "neglect"}, rid="b"),
        record({"domestic_abuse"}, negated={"domestic_abuse"}, rid="c"),  # asserted elsewhere: not counted
        record(set(), rid="d"),
    ]
    predicted = [{"domestic_abuse"}, set(), {"domestic_abuse"}, set()]
    report = evaluate(gold, predicted, codes=["domestic_abuse", "neglect"])
    assert report["negated"]["passages"] == 2
    assert report["negated"]["false_positive_passages"] == 1
    assert report["negated"]["rate"] == 0.5
    assert report["negated_false_positive_ids"] == ["a"]


def test_keyword_baseline_ignores_context():
    assert "domestic_abuse" in keyword_baseline("There was no domestic abuse.")


def test_gold_file_errors_name_the_line(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"id": 1, "text": "a", "themes": []}\n{"id": 2, "text": "b", "themes": "neglect"}\n')
    with pytest.raises(GoldFileError, match=r"gold.jsonl line 2: field 'themes'"):
        read_gold(path)
    path.write_text('{"id": 1, "text": "a", "themes": ["not_a_theme"]}\n')
    with pytest.raises(GoldFileError, match="unknown theme code"):
        read_gold(path, known_codes={"neglect"})


@pytest.fixture
def gold_file(tmp_path):
    path = tmp_path / "gold.jsonl"
    rows = [
        {"id": "1", "text": "Home conditions were squalid and there was no food.", "themes": ["neglect"]},
        {"id": "2", "text": "There was no evidence of domestic abuse.", "themes": [], "negated": ["domestic_abuse"]},
        {"id": "3", "text": "Meeting held on 12 March; minutes circulated.", "themes": []},
        {"id": "4", "text": "Child took an overdose and has cuts to her arms.", "themes": ["self_harm"]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.django_db
def test_evaluate_command_prints_a_table_with_baseline(gold_file):
    out = io.StringIO()
    call_command("evaluate_themes", str(gold_file), "--baseline", stdout=out)
    text = out.getvalue()
    assert "micro avg" in text
    assert "macro avg" in text
    assert "Keyword baseline" in text
    assert "negated mentions: tagged anyway in 0 of 1 passages" in text


@pytest.mark.django_db
def test_evaluate_command_json_has_the_same_figures(gold_file):
    out = io.StringIO()
    call_command("evaluate_themes", str(gold_file), "--json", "--baseline", stdout=out)
    report = json.loads(out.getvalue())
    assert report["tagger"]["themes"]["neglect"]["f1"] == 1.0
    assert report["tagger"]["micro"]["f1"] == 1.0
    assert report["keyword_baseline"]["negated"]["false_positive_passages"] == 1
    assert "rules_without_context" in report


@pytest.mark.django_db
def test_evaluate_command_rejects_a_bad_gold_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "text": "a"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match=r"bad\.jsonl line 1: field 'themes' is missing"):
        call_command("evaluate_themes", str(path))
