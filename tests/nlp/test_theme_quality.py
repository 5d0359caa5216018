"""Issue #3 quality thresholds, asserted on the UNTUNED split (tests/data/themes/holdout.jsonl).

The patterns are never tuned on holdout.jsonl (HOLDOUT.md). holdout_b.jsonl, by another writer, was
untuned in session 4 and is a tuning file since session 5 (HOLDOUT_B.md): it keeps a regression floor.
The thresholds come from the issue; the last test shows the same check rejects a weaker tagger
(the keyword baseline), so it can fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.evaluation import evaluate, keyword_baseline, read_gold
from nlp.pipeline import clean_text, get_tagger

THEME_DATA = Path(__file__).resolve().parents[1] / "data" / "themes"
UNTUNED = "holdout.jsonl"
SPLITS = ("holdout.jsonl", "holdout_b.jsonl")
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


def _load(name: str):
    path = THEME_DATA / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the labelled splits are required for the quality checks")
    tagger = get_tagger()
    return read_gold(path, known_codes=tagger.theme_codes), tagger


@pytest.fixture(scope="module", params=SPLITS)
def holdout(request):
    return _load(request.param)


@pytest.fixture(scope="module")
def untuned():
    return _load(UNTUNED)


# Measured 2026-11-26 (session 4 end): holdout micro-F1 0.830, macro 0.835, negated FP 14.9%. Issue #3 stays
# open until this passes. strict=True: the day it passes, the marker must be removed.
@pytest.mark.xfail(strict=True, reason="issue #3 open: the tagger does not yet meet the issue's thresholds")
def test_tagger_meets_issue_thresholds_on_untuned_split(untuned):
    records, tagger = untuned
    predictions = [r.codes for r in tagger.tag_many([clean_text(rec.text) for rec in records])]
    report = evaluate(records, predictions, codes=tagger.theme_codes)
    assert quality_failures(report) == []


# Regression floors just under what the tagger measures today on each split, so a change that
# makes it worse fails CI while the issue's own thresholds (above) are still out of reach.
# (micro-F1, macro-F1, max negated FP rate), measured at the end of session 5:
FLOORS = {
    "holdout.jsonl": (0.82, 0.82, 0.17),  # 0.835 / 0.840 / 14.9% (14 of 94); session 4 end 0.830 / 0.835 / 14.9%
    # Tuned on since session 5: 0.846 / 0.847 / 7.1% (6 of 85); untuned at session 4 end 0.780 / 0.784 / 14.1%
    "holdout_b.jsonl": (0.82, 0.82, 0.12),
}
FLOOR_GAIN_OVER_KEYWORDS = 0.30


def test_tagger_does_not_regress_below_its_measured_floor(holdout, request):
    records, tagger = holdout
    floor_micro, floor_macro, max_negated_rate = FLOORS[request.node.callspec.params["holdout"]]
    predictions = [r.codes for r in tagger.tag_many([clean_text(rec.text) for rec in records])]
    report = evaluate(records, predictions, codes=tagger.theme_codes)
    baseline = evaluate(records, [keyword_baseline(rec.text) for rec in records], codes=tagger.theme_codes)
    assert report["micro"]["f1"] >= floor_micro
    assert report["macro"]["f1"] >= floor_macro
    assert report["negated"]["rate"] <= max_negated_rate
    assert report["micro"]["f1"] - baseline["micro"]["f1"] >= FLOOR_GAIN_OVER_KEYWORDS


def test_threshold_check_rejects_the_keyword_baseline(holdout):
    records, tagger = holdout
    report = evaluate(records, [keyword_baseline(rec.text) for rec in records], codes=tagger.theme_codes)
    assert quality_failures(report) != []
