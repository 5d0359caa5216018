"""Quality of the shipped matching model on synthetic data it was not trained or tuned on.

The model was estimated on generator seed 101 (bands chosen there) and checked on seed 202
(bench/train_match_model.py); this test uses seed 303.
"""

from __future__ import annotations

import json

import pytest

from nlp.linkage_eval import linkage_evaluate
from nlp.linkage_synth import synth_generate
from nlp.matching import MatchModel

TEST_SEED = 303


@pytest.fixture(scope="module")
def metrics() -> dict:
    model = MatchModel.load_default()
    assert TEST_SEED not in (model.params["trained"]["generator_seed"],)
    return linkage_evaluate(synth_generate(seed=TEST_SEED, families=1200), model)


def test_likely_links_meet_the_precision_and_recall_targets(metrics: dict) -> None:
    likely = metrics["referral"]["likely"]
    assert likely["true"] > 3000, json.dumps(likely)
    assert likely["precision"] >= 0.98, json.dumps(likely)
    assert likely["recall"] >= 0.95, json.dumps(likely)


def test_possible_links_recover_nearly_all_prior_referrals(metrics: dict) -> None:
    assert metrics["referral"]["likely+possible"]["recall"] >= 0.99, json.dumps(metrics["referral"])


def test_possible_links_are_mostly_right_not_every_weak_candidate(metrics: dict) -> None:
    # 'possible' is the highest threshold reaching recall 0.992 on the training seed; a band at
    # the sweep floor would pass every weak candidate (precision about 0.35). It was 0.60 before
    # the date-of-birth conflict cap and selective blocking, 0.82 after.
    assert metrics["referral"]["likely+possible"]["precision"] >= 0.75, json.dumps(metrics["referral"])


def test_candidate_sets_stay_small(metrics: dict) -> None:
    assert metrics["candidates_per_person"]["mean"] < 20
