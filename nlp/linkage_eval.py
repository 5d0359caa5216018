"""Scorer for the matcher on synthetic data with ground truth (pure Python).

Replays a dataset in received order: each referral is matched against the people of all
earlier referrals (in-memory blocking, term-frequency counts of the earlier people), then
added to the index, as the service does. Truth: a prior referral is linked when it names at
least one of the same people (same person_id); a person pair is true when the person_id agrees.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nlp.linkage_synth import SynthDataset, SynthReferral
from nlp.matching import (
    CandidateIndex,
    MatchModel,
    NameCounts,
    NormalisedPerson,
    ReferralMatch,
    person_normalise,
    referral_matches,
)


@dataclass
class LinkageRun:
    """Raw predictions with scores, so metrics can be taken at any pair of thresholds."""

    # (new referral, prior referral) -> link score, for every link the matcher returned
    referral_scores: dict[tuple[str, str], float] = field(default_factory=dict)
    true_referral_links: set[tuple[str, str]] = field(default_factory=set)
    # (new person key, prior person key) -> person score
    pair_scores: dict[tuple[str, str], float] = field(default_factory=dict)
    true_pairs: set[tuple[str, str]] = field(default_factory=set)
    true_pairs_in_candidates: int = 0
    candidates_per_person: list[int] = field(default_factory=list)
    referrals_evaluated: int = 0
    people_evaluated: int = 0
    seconds_matching: float = 0.0


@dataclass
class ReplayStep:
    """One referral of a replayed history, before it joins the index (see history_replay)."""

    referral: SynthReferral
    people: list[NormalisedPerson]
    person_ids: dict[str, str]  # person key -> true person id
    candidates_by_person: dict[str, list[NormalisedPerson]]  # person key -> its blocked candidates
    name_counts: NameCounts  # names of all earlier people
    earlier_records: dict[str, list[NormalisedPerson]]  # true person id -> its earlier records

    @property
    def candidates(self) -> list[NormalisedPerson]:
        unique: dict[str, NormalisedPerson] = {}
        for found in self.candidates_by_person.values():
            for candidate in found:
                unique.setdefault(candidate.key, candidate)
        return list(unique.values())


def history_replay(dataset: SynthDataset, *, evaluate_from: float = 0.0) -> Iterator[ReplayStep]:
    """Each referral in received order with its candidates among earlier ones (in-memory blocking)."""
    index = CandidateIndex()
    counts = NameCounts()
    earlier: dict[str, list[NormalisedPerson]] = defaultdict(list)
    start_at = int(len(dataset.referrals) * evaluate_from)
    for position, referral in enumerate(dataset.referrals):
        people = [person_normalise(row.person_record()) for row in referral.rows]
        person_ids = {row.key: row.person_id for row in referral.rows}
        if position >= start_at:
            yield ReplayStep(
                referral=referral,
                people=people,
                person_ids=person_ids,
                candidates_by_person={person.key: index.candidates(person) for person in people},
                name_counts=counts,
                earlier_records=earlier,
            )
        for person in people:
            index.add(person)
            counts.add(person)
            earlier[person_ids[person.key]].append(person)


def linkage_run(
    dataset: SynthDataset,
    model: MatchModel,
    *,
    evaluate_from: float = 0.0,
    floor: float = 1e-4,
    term_frequency: bool = True,
) -> LinkageRun:
    """Match each referral (from the `evaluate_from` fraction of the history on) against earlier ones.

    `floor` replaces the model's 'possible' band for this run so that links below the bands are
    kept too and thresholds can be swept afterwards.
    """
    sweep_model = MatchModel({**model.params, "bands": {"likely": model.bands["likely"], "possible": floor}})
    run = LinkageRun()
    for step in history_replay(dataset, evaluate_from=evaluate_from):
        run.referrals_evaluated += 1
        for person in step.people:
            run.people_evaluated += 1
            found = step.candidates_by_person[person.key]
            run.candidates_per_person.append(len(found))
            found_keys = {c.key for c in found}
            for prior in step.earlier_records[step.person_ids[person.key]]:
                run.true_pairs.add((person.key, prior.key))
                run.true_referral_links.add((step.referral.reference, prior.referral_key))
                if prior.key in found_keys:
                    run.true_pairs_in_candidates += 1
        started = time.perf_counter()
        matches: list[ReferralMatch] = referral_matches(
            step.people,
            step.candidates,
            sweep_model,
            name_frequency=step.name_counts if term_frequency else None,
            population=max(step.name_counts.total, 1000),
        )
        run.seconds_matching += time.perf_counter() - started
        for match in matches:
            run.referral_scores[(step.referral.reference, match.referral_key)] = match.score
            for pm in match.persons:
                run.pair_scores[(pm.new_key, pm.prior_key)] = pm.score
    return run


def _precision_recall(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float | int]:
    hits = len(predicted & truth)
    return {
        "predicted": len(predicted),
        "true": len(truth),
        "correct": hits,
        "precision": hits / len(predicted) if predicted else 1.0,
        "recall": hits / len(truth) if truth else 1.0,
    }


def linkage_metrics(run: LinkageRun, *, likely: float, possible: float) -> dict[str, Any]:
    """Referral- and pair-level precision/recall at 'likely' and at 'likely + possible'."""
    out: dict[str, Any] = {}
    for level, scores, truth in (
        ("referral", run.referral_scores, run.true_referral_links),
        ("pair", run.pair_scores, run.true_pairs),
    ):
        out[level] = {
            "likely": _precision_recall({k for k, s in scores.items() if s >= likely}, truth),
            "likely+possible": _precision_recall({k for k, s in scores.items() if s >= possible}, truth),
        }
    out["blocking_pair_recall"] = run.true_pairs_in_candidates / len(run.true_pairs) if run.true_pairs else 1.0
    sizes = sorted(run.candidates_per_person) or [0]
    out["candidates_per_person"] = {"mean": sum(sizes) / len(sizes), "p50": sizes[len(sizes) // 2], "max": sizes[-1]}
    out["referrals_evaluated"] = run.referrals_evaluated
    out["people_evaluated"] = run.people_evaluated
    out["ms_per_referral"] = (
        1000 * run.seconds_matching / run.referrals_evaluated if run.referrals_evaluated else math.nan
    )
    return out


class BandsUnreachable(ValueError):
    """The recall target for 'possible' is not reached even at the sweep floor."""


def bands_choose(run: LinkageRun, *, precision_target: float, recall_target: float) -> dict[str, float]:
    """likely: lowest score keeping referral precision >= target; possible: highest score reaching the recall target.

    Raises BandsUnreachable when no threshold (down to the run's floor) reaches the recall
    target: a band at the floor would let every weak candidate through and say nothing.
    """
    truth = run.true_referral_links
    ranked = sorted(run.referral_scores.items(), key=lambda kv: -kv[1])
    likely, possible, correct = 1.0, None, 0
    for i, (key, score) in enumerate(ranked, start=1):
        correct += key in truth
        # Links with equal scores are admitted together: only a tie's last member may set a band.
        if i < len(ranked) and ranked[i][1] == score:
            continue
        if correct / i >= precision_target:
            likely = score
        if possible is None and truth and correct / len(truth) >= recall_target:
            possible = score
    if possible is None:
        reached = correct / len(truth) if truth else 1.0
        raise BandsUnreachable(
            f"referral recall {reached:.4f} at the floor is below the 'possible' target {recall_target}"
        )
    return {"likely": round(likely, 6), "possible": round(min(possible, likely), 6)}


def linkage_evaluate(dataset: SynthDataset, model: MatchModel, *, evaluate_from: float = 0.0) -> dict[str, Any]:
    """Metrics at the model's own bands."""
    run = linkage_run(dataset, model, evaluate_from=evaluate_from)
    return linkage_metrics(run, likely=model.bands["likely"], possible=model.bands["possible"])


def main(argv: list[str] | None = None) -> None:
    """python -m nlp.linkage_eval --seed 303 --families 1200 [--model PATH]: print metrics as JSON."""
    import argparse
    import json

    from nlp.linkage_synth import synth_generate

    parser = argparse.ArgumentParser(description="Score the matcher on a synthetic data set.")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--families", type=int, default=1200)
    parser.add_argument("--model", default=None, help="model JSON (default: the shipped model)")
    args = parser.parse_args(argv)
    model = MatchModel.load(args.model) if args.model else MatchModel.load_default()
    dataset = synth_generate(seed=args.seed, families=args.families)
    started = time.perf_counter()
    metrics = linkage_evaluate(dataset, model)
    metrics.update(
        seed=args.seed,
        families=args.families,
        referrals=len(dataset.referrals),
        people=len(dataset.rows),
        model_version=model.version,
        bands=model.bands,
        seconds_total=round(time.perf_counter() - started, 1),
    )
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
