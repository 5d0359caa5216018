"""Issue #3 quality thresholds, asserted on the UNTUNED split (tests/data/themes/holdout.jsonl).

The patterns are never tuned on this file. The thresholds come from the issue; the second
test shows the same check rejects a weaker tagger (the keyword baseline), so it can fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.evaluation import evaluate, keyword_baseline, read_gold
from nlp.pipeline import clean_text, get_tagger

HOLDOUT = Path(__file__).resolve().parents[1] / "data" / "themes" / "holdout.jsonl"
MIN_MICRO_F1 = 0.90
MIN_MACRO_F1 = 0.85
MIN_THEME_F1 = 0.70
MAX_NEGATED_FP_RATE = 0.05


def quality_failures(report: dict) -> list[str]:
    failures = []
    if report["micro"]["f1"] < MIN_MICRO_F1:
        failures.append(f"micro-F1 {report['micro']['f1']:.3f} < {MIN_MICRO_F1}")
    if report["macro"]["f1"] < MIN_MACRO_F1:
        failures.append(f"macro-F1 {report['macro']['f1']:.3f} < {MIN_MACRO_F1}")
    for code, scores in sorted(report["themes"].items()):
        if scores["support"] and scores["f1"] < MIN_THEME_F1:
            failures.append(f"{code} F1 {scores['f1']:.3f} < {MIN_THEME_F1}")
    if report["negated"]["rate"] > MAX_NEGATED_FP_RATE:
        failures.append(f"negated-mention FP rate {report['negated']['rate']:.3f} > {MAX_NEGATED_FP_RATE}")
    return failures


@pytest.fixture(scope="module")
def holdout():
    if not HOLDOUT.exists():
        pytest.fail(f"{HOLDOUT} is missing: the untuned split is required for the quality thresholds")
    tagger = get_tagger()
    return read_gold(HOLDOUT, known_codes=tagger.theme_codes), tagger


# Measured 2026-11-26 (patterns v4): holdout micro-F1 0.818, macro 0.823, negated FP 17.0%; issue #3 stays open
# until this passes. strict=True: the day it passes, the marker must be removed.
@pytest.mark.xfail(strict=True, reason="issue #3 open: the tagger does not yet meet the issue's thresholds")
def test_tagger_meets_issue_thresholds_on_untuned_split(holdout):
    records, tagger = holdout
    predictions = [r.codes for r in tagger.tag_many([clean_text(rec.text) for rec in records])]
    report = evaluate(records, predictions, codes=tagger.theme_codes)
    assert quality_failures(report) == []


# Regression floor just under what the tagger measures today on the untuned split, so a change that
# makes it worse fails CI while the issue's own thresholds (above) are still out of reach.
FLOOR_MICRO_F1 = 0.80
FLOOR_MACRO_F1 = 0.80
FLOOR_MAX_NEGATED_FP_RATE = 0.18  # measured 16.0% (15 of 94) at rules-75.19-a93f4d10
FLOOR_GAIN_OVER_KEYWORDS = 0.30


def test_tagger_does_not_regress_below_its_measured_floor(holdout):
    records, tagger = holdout
    predictions = [r.codes for r in tagger.tag_many([clean_text(rec.text) for rec in records])]
    report = evaluate(records, predictions, codes=tagger.theme_codes)
    baseline = evaluate(records, [keyword_baseline(rec.text) for rec in records], codes=tagger.theme_codes)
    assert report["micro"]["f1"] >= FLOOR_MICRO_F1
    assert report["macro"]["f1"] >= FLOOR_MACRO_F1
    assert report["negated"]["rate"] <= FLOOR_MAX_NEGATED_FP_RATE
    assert report["micro"]["f1"] - baseline["micro"]["f1"] >= FLOOR_GAIN_OVER_KEYWORDS


def test_threshold_check_rejects_the_keyword_baseline(holdout):
    records, tagger = holdout
    report = evaluate(records, [keyword_baseline(rec.text) for rec in records], codes=tagger.theme_codes)
    assert quality_failures(report) != []
