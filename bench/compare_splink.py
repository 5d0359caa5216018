"""Compare our referral matcher with Splink (MoJ, DuckDB backend) on the same synthetic data.

Issue #4 asks the matcher to be more accurate than a well-configured Splink model on data the
team did not tune on. This benchmark:

1. generates a history with nlp/linkage_synth.py from a seed that bench/train_match_model.py
   does not use (it trains on 101 and checks on 202); both systems see only what the legacy CSV
   carries (the generator's form-only extras, an age or an expected date, are dropped);
2. runs our matcher as the service does (nlp.linkage_eval.linkage_run: each referral against
   the people of all earlier referrals, in received order) with MatchModel.load_default();
3. trains Splink 5 without labels as its documentation recommends for person data (prior from
   deterministic rules, u by random sampling, m by EM in two sessions with different blocking
   rules, term-frequency adjustments on names), predicts every blocked pair, and keeps pairs
   whose two rows are in different referrals, oriented (later referral, earlier referral);
4. aggregates Splink's person pairs to referral links as the scorer defines the truth (a prior
   referral is linked when it names one of the same people): a link's score is its best pair;
5. scores both with nlp.linkage_eval.linkage_metrics against the same truth sets.

Best-F1 thresholds are picked with the labels of the evaluation data itself, for both systems:
they are an upper bound ("oracle"), not an operating point. Splink is installed for this
benchmark only (requirements/bench.txt), never at run time.

    .venv/bin/pip install -r requirements/bench.txt
    .venv/bin/python bench/compare_splink.py [--seed 4817] [--families 1600] [--model PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz.distance import JaroWinkler

from nlp.linkage_eval import LinkageRun, linkage_metrics, linkage_run
from nlp.linkage_synth import SynthDataset, SynthRow, synth_generate
from nlp.matching import MatchModel

OUT_DIR = Path(__file__).resolve().parent / "out"
TRAINING_SEEDS = frozenset({101, 202})  # bench/train_match_model.py: --train-seed, --check-seed

Key = tuple[str, str]

# --------------------------------------------------------------------------------------------
# Data as the legacy CSV carries it
# --------------------------------------------------------------------------------------------


def dataset_legacy_only(dataset: SynthDataset) -> SynthDataset:
    """The same rows without the fields the legacy CSV has no column for (age, expected date)."""
    referrals = tuple(
        dataclasses.replace(
            referral,
            rows=tuple(dataclasses.replace(row, age_years=None, expected_date=None) for row in referral.rows),
        )
        for referral in dataset.referrals
    )
    return SynthDataset(seed=dataset.seed, referrals=referrals)


# Splink expects standardised input ("lower-cased, punctuation cleaned up"); this is a plain
# standardisation a Splink user would write, independent of nlp.matching's normaliser.
_TITLES = frozenset({"mr", "mrs", "miss", "ms", "mx", "dr", "master"})
_PLACEHOLDERS = frozenset({"unknown", "unborn", "baby", "nk", "tbc", "unnamed", "child", "infant"})
_NON_NAME = re.compile(r"[^a-z\s\-]")
_NON_POSTCODE = re.compile(r"[^A-Z0-9]")


def _fold(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_NAME.sub(" ", ascii_text.lower().replace("'", ""))


def _name_tokens(text: str) -> list[str]:
    tokens = [t for t in re.split(r"[\s\-]+", _fold(text)) if t]
    while tokens and tokens[0] in _TITLES:
        tokens.pop(0)
    return [t for t in tokens if t not in _PLACEHOLDERS]


def _postcode(text: str) -> str | None:
    compact = _NON_POSTCODE.sub("", text.upper())
    if len(compact) < 5 or not compact[-3].isdigit():
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def _nhs(text: str) -> str | None:
    digits = re.sub(r"[\s\-]", "", text)
    if len(digits) != 10 or not digits.isdigit():
        return None
    check = 11 - sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    return digits if check != 10 and check == int(digits[9]) else None


def _dmetaphone(name: str | None) -> list[str] | None:
    """Double Metaphone codes (1 or 2) as Splink's NameComparison(dmeta_col_name=...) expects."""
    if not name:
        return None
    import phonetics  # benchmark-only dependency (requirements/bench.txt)

    codes = [code for code in phonetics.dmetaphone(name) if code]
    return codes or None


def splink_records(dataset: SynthDataset) -> list[dict[str, Any]]:
    """One standardised record per person row, built from the legacy CSV values only."""
    out: list[dict[str, Any]] = []
    for referral in dataset.referrals:
        for index, row in enumerate(referral.rows):
            csv_row = row.csv_row(first_of_referral=index == 0)
            given = _name_tokens(csv_row["given_name"])
            family = _name_tokens(csv_row["family_name"])
            first_name = given[0] if given else None
            surname = " ".join(family) or None
            postcode = _postcode(csv_row["postcode"])
            out.append(
                {
                    "unique_id": row.key,
                    "referral": row.reference,
                    "first_name": first_name,
                    "surname": surname,
                    "first_name_surname_concat": f"{first_name} {surname}" if first_name and surname else None,
                    "first_name_dm": _dmetaphone(first_name),
                    "surname_dm": _dmetaphone(surname),
                    "dob": csv_row["date_of_birth"] or None,
                    "sex": csv_row["sex"].strip().lower() or None,
                    "postcode": postcode,
                    "postcode_sector": postcode[:-2] if postcode else None,
                    "nhs_number": _nhs(csv_row["nhs_number"]),
                    "role": csv_row["role"].strip().lower() or None,
                }
            )
    return out


# --------------------------------------------------------------------------------------------
# Splink
# --------------------------------------------------------------------------------------------


SPLINK_VARIANTS = ("names_separate", "names_dmetaphone", "forename_surname")


def splink_settings(variant: str) -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on
    from splink.blocking_rule_library import CustomRule

    names: list[Any]
    if variant == "forename_surname":
        names = [
            cl.ForenameSurnameComparison(
                "first_name", "surname", forename_surname_concat_col_name="first_name_surname_concat"
            ),
        ]
    elif variant == "names_separate":
        names = [cl.NameComparison("first_name"), cl.NameComparison("surname")]
    elif variant == "names_dmetaphone":
        # Splink's documented way to add a phonetic level: derived Double Metaphone arrays.
        names = [
            cl.NameComparison("first_name", dmeta_col_name="first_name_dm"),
            cl.NameComparison("surname", dmeta_col_name="surname_dm"),
        ]
    else:  # pragma: no cover - argparse restricts the choices
        raise ValueError(f"unknown Splink variant {variant!r}")
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            *names,
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("role"),
        ],
        # Generous blocking, so that Splink's recall is not limited by candidate generation:
        # each rule tolerates a different kind of error in the other fields.
        blocking_rules_to_generate_predictions=[
            block_on("nhs_number"),
            block_on("dob"),
            block_on("first_name", "surname"),
            block_on("surname", "substr(dob, 1, 4)"),  # nickname/typo in the given name
            block_on("first_name", "substr(dob, 1, 4)"),  # changed surname
            block_on("first_name", "postcode_sector"),  # changed surname, no date of birth
            block_on("surname", "postcode_sector"),  # nickname, no date of birth
            block_on("first_name", "substr(surname, 1, 2)"),  # surname typo, no date of birth
            block_on("substr(first_name, 1, 2)", "surname"),  # given-name typo, no date of birth
            CustomRule("l.first_name = r.surname and l.surname = r.first_name"),  # name order swapped
        ],
        retain_intermediate_calculation_columns=False,
    )


def splink_run(records: list[dict[str, Any]], *, variant: str, seed: int, recall: float) -> dict[str, Any]:
    """Train Splink without labels and predict all blocked pairs: {(id_l, id_r): probability}."""
    import duckdb
    import pyarrow as pa
    from splink import DuckDBAPI, Linker, block_on

    started, cpu_started = time.perf_counter(), time.process_time()
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    db_api = DuckDBAPI(connection)
    table = db_api.register(pa.Table.from_pylist(records), dataset_display_name="people")
    # ERROR: the only warnings on this data are about PostcodeComparison's last level, never
    # observed because every postcode is in one area (ME); they change no prediction.
    linker = Linker(table, splink_settings(variant), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob"), block_on("nhs_number")], recall=recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "surname"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("dob"), estimate_without_term_frequencies=True
    )
    trained, cpu_trained = time.perf_counter(), time.process_time()
    predictions = linker.inference.predict(warning_mode="never")
    columns = predictions.as_pyarrow_table().select(["unique_id_l", "unique_id_r", "match_probability"]).to_pydict()
    predicted, cpu_predicted = time.perf_counter(), time.process_time()
    scores = {
        (left, right): float(probability)
        for left, right, probability in zip(
            columns["unique_id_l"], columns["unique_id_r"], columns["match_probability"], strict=True
        )
    }
    return {
        "scores": scores,
        "seconds_train": trained - started,
        "seconds_predict": predicted - trained,
        "cpu_seconds_train": cpu_trained - cpu_started,
        "cpu_seconds_predict": cpu_predicted - cpu_trained,
        "prior": linker._settings_obj._probability_two_random_records_match,
    }


AGGREGATIONS = ("max", "noisy_or")


def splink_linkage_run(
    dataset: SynthDataset, pair_probabilities: dict[Key, float], truth: LinkageRun, *, aggregation: str
) -> LinkageRun:
    """Splink's pairs as a LinkageRun: pairs oriented (later, earlier) by received order.

    A referral link's score comes from its person pairs, matched one-to-one (best first, as our
    matcher does): "max" is the best pair (the scorer's truth: one shared person suffices);
    "noisy_or" is 1 - prod(1 - p), so that several agreeing people raise the link.
    """
    position = {referral.reference: i for i, referral in enumerate(dataset.referrals)}
    referral_of = {row.key: row.reference for row in dataset.rows}
    run = LinkageRun(
        true_referral_links=truth.true_referral_links,
        true_pairs=truth.true_pairs,
        referrals_evaluated=truth.referrals_evaluated,
        people_evaluated=truth.people_evaluated,
    )
    by_link: dict[Key, list[tuple[float, str, str]]] = defaultdict(list)
    for (a, b), probability in pair_probabilities.items():
        ref_a, ref_b = referral_of[a], referral_of[b]
        if ref_a == ref_b:
            continue  # two people of one referral are never the same person
        new, prior = (a, b) if position[ref_a] > position[ref_b] else (b, a)
        run.pair_scores[(new, prior)] = probability
        by_link[(referral_of[new], referral_of[prior])].append((probability, new, prior))
    for link, pairs in by_link.items():
        pairs.sort(key=lambda item: (-item[0], item[1], item[2]))
        used_new: set[str] = set()
        used_prior: set[str] = set()
        remaining = 1.0
        for probability, new, prior in pairs:
            if new in used_new or prior in used_prior:
                continue
            used_new.add(new)
            used_prior.add(prior)
            remaining *= 1.0 - probability
        run.referral_scores[link] = pairs[0][0] if aggregation == "max" else 1.0 - remaining
    run.true_pairs_in_candidates = len(run.true_pairs & run.pair_scores.keys())
    return run


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def _f1(counts: dict[str, Any]) -> float:
    p, r = counts["precision"], counts["recall"]
    return 2 * p * r / (p + r) if p + r else 0.0


def best_f1_threshold(scores: dict[Key, float], truth: set[Key]) -> float:
    """The threshold that maximises F1 on these labels (an oracle, for both systems alike)."""
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best, best_threshold, hits = -1.0, 1.0, 0
    for i, (key, score) in enumerate(ranked, start=1):
        hits += key in truth
        if i < len(ranked) and ranked[i][1] == score:
            continue  # ties are taken together
        f1 = 2 * hits / (i + len(truth)) if truth else 0.0
        if f1 > best:
            best, best_threshold = f1, score
    return best_threshold


def metrics_at(run: LinkageRun, threshold: float) -> dict[str, Any]:
    metrics = linkage_metrics(run, likely=threshold, possible=threshold)
    out: dict[str, Any] = {"threshold": threshold}
    for level in ("referral", "pair"):
        counts = dict(metrics[level]["likely"])
        counts["f1"] = _f1(counts)
        out[level] = counts
    return out


# --------------------------------------------------------------------------------------------
# Slices: where does each system miss true pairs, and what are its false links?
# --------------------------------------------------------------------------------------------


def _dob_slice(a: SynthRow, b: SynthRow) -> str:
    if a.date_of_birth is None or b.date_of_birth is None:
        return "dob_missing"
    if a.date_of_birth == b.date_of_birth:
        return "dob_same"
    da, db = a.date_of_birth, b.date_of_birth
    if da.year == db.year and da.month == db.day and da.day == db.month:
        return "dob_day_month_swap"
    return "dob_other_error"


def _surname_slice(a: SynthRow, b: SynthRow) -> str:
    fa, fb = _name_tokens(a.family_name), _name_tokens(b.family_name)
    if not fa or not fb:
        return "surname_missing"
    if fa == fb:
        return "surname_same"
    if set(fa) & set(fb):
        return "surname_hyphen_half"
    if JaroWinkler.normalized_similarity(" ".join(fa), " ".join(fb)) >= 0.8:
        return "surname_typo"
    return "surname_changed"


def _given_slice(a: SynthRow, b: SynthRow) -> str:
    ga, gb = _name_tokens(a.given_name), _name_tokens(b.given_name)
    if not ga or not gb:
        return "given_missing"
    if ga[0] == gb[0]:
        return "given_same"
    if len(ga[0]) == 1 or len(gb[0]) == 1:
        return "given_initial"
    if JaroWinkler.normalized_similarity(ga[0], gb[0]) >= 0.88:
        return "given_typo"
    return "given_nickname_or_other"


def pair_slices(a: SynthRow, b: SynthRow) -> list[str]:
    """The kinds of noise that separate two rows of the same person."""
    slices = [
        "all",
        "child" if a.role == "child" else "adult",
        _dob_slice(a, b),
        _surname_slice(a, b),
        _given_slice(a, b),
    ]
    ga, fa = _name_tokens(a.given_name), _name_tokens(a.family_name)
    gb, fb = _name_tokens(b.given_name), _name_tokens(b.family_name)
    if ga and fa and gb and fb and ga[0] == fb[0] and fa[0] == gb[0]:
        slices.append("name_order_swapped")
    pa, pb = _postcode(a.postcode), _postcode(b.postcode)
    if pa and pb and pa != pb:
        slices.append("postcode_differs")
    if _nhs(a.nhs_number) and _nhs(b.nhs_number):
        slices.append("nhs_both")
    return slices


def recall_by_slice(
    rows: dict[str, SynthRow], truth: set[Key], predicted: dict[str, set[Key]]
) -> dict[str, dict[str, Any]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for pair in truth:
        for name in pair_slices(rows[pair[0]], rows[pair[1]]):
            counts[name]["true"] += 1
            for system, found in predicted.items():
                counts[name][system] += pair in found
    return {
        name: {
            "true": c["true"],
            **{system: {"found": c[system], "recall": c[system] / c["true"]} for system in predicted},
        }
        for name, c in sorted(counts.items(), key=lambda kv: -kv[1]["true"])
    }


def false_links_by_kind(
    referral_family: dict[str, str], truth: set[Key], predicted: dict[str, set[Key]]
) -> dict[str, dict[str, int]]:
    """False referral links: same family (siblings only, or a look-alike confusion) or another family."""
    out: dict[str, dict[str, int]] = {}
    for system, found in predicted.items():
        kinds = Counter(
            "same_family_no_shared_person" if referral_family[new] == referral_family[prior] else "other_family"
            for new, prior in found - truth
        )
        kinds["missed_true_links"] = len(truth - found)
        out[system] = dict(kinds)
    return out


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def _fmt_row(name: str, m: dict[str, Any], seconds: float, cpu: float) -> str:
    r, p = m["referral"], m["pair"]
    return (
        f"{name:46s} {m['threshold']:>9.4g}  "
        f"{r['precision']:.4f} {r['recall']:.4f} {r['f1']:.4f} {r['predicted']:>7d}  "
        f"{p['precision']:.4f} {p['recall']:.4f} {p['f1']:.4f} {p['predicted']:>7d}  {seconds:>7.1f} {cpu:>7.1f}"
    )


def _load_model(path: str | None) -> MatchModel:
    if path:
        return MatchModel.load(path)
    try:
        return MatchModel.load_default()
    except FileNotFoundError as exc:
        raise SystemExit(
            "nlp/matching_data/model.json is missing: run bench/train_match_model.py first, or pass --model PATH"
        ) from exc


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=4817, help="generator seed; must differ from the training seeds")
    parser.add_argument("--families", type=int, default=1600, help="families to generate (1600 -> ~4,900 referrals)")
    parser.add_argument("--model", default=None, help="our model JSON (default: the shipped model)")
    parser.add_argument(
        "--splink-variant",
        choices=(*SPLINK_VARIANTS, "all"),
        default="all",
        help="Splink's name comparisons: NameComparison per name (with Double Metaphone), ForenameSurnameComparison",
    )
    parser.add_argument(
        "--splink-recall",
        type=float,
        default=0.6,
        help="assumed recall of the deterministic rules used to estimate Splink's prior (a user's guess)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each system; median times are reported")
    parser.add_argument("--output", default=None, help="JSON output (default: bench/out/compare_splink_s<seed>.json)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.repeat < 1 or args.families < 1:
        parser.error("--repeat and --families must be at least 1")
    if args.seed in TRAINING_SEEDS:
        parser.error(f"--seed {args.seed} is a seed our model was trained or checked on; pick another")

    model = _load_model(args.model)
    trained_on = model.params.get("trained", {}).get("generator_seed")
    if args.seed == trained_on:
        parser.error(f"--seed {args.seed} is the seed the model {model.version} was trained on; pick another")
    dataset = dataset_legacy_only(synth_generate(seed=args.seed, families=args.families))
    rows = {row.key: row for row in dataset.rows}
    referral_family = {referral.reference: referral.family_id for referral in dataset.referrals}
    print(
        f"seed {args.seed}: {len(dataset.referrals)} referrals, {len(rows)} person rows; "
        f"our model {model.version} (trained on seed {model.params.get('trained', {}).get('generator_seed')}); "
        f"{os.cpu_count()} CPUs"
    )

    # Each system runs --repeat times in this one process and its median time is reported; the
    # runs are deterministic (checked), so accuracy comes from the last one.
    ours_walls: list[float] = []
    ours_cpus: list[float] = []
    ours: LinkageRun | None = None
    for _ in range(args.repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        again = linkage_run(dataset, model)
        ours_walls.append(time.perf_counter() - started)
        ours_cpus.append(time.process_time() - cpu_started)
        if ours is not None and again.referral_scores != ours.referral_scores:
            raise SystemExit("our matcher gave different scores on the same data: not deterministic")
        ours = again
    assert ours is not None
    ours_seconds, ours_cpu = statistics.median(ours_walls), statistics.median(ours_cpus)

    results: dict[str, dict[str, Any]] = {}
    times: dict[str, float] = {}  # wall-clock seconds of the whole run (Splink: training + predicting)
    cpu_times: dict[str, float] = {}  # CPU seconds of this process, all threads
    runs: dict[str, LinkageRun] = {"ours": ours}
    thresholds: dict[str, dict[str, float]] = {}
    bands = model.bands
    thresholds["ours"] = {
        "likely": bands["likely"],
        "likely+possible": bands["possible"],
        "best F1 (oracle)": best_f1_threshold(ours.referral_scores, ours.true_referral_links),
    }
    times["ours"], cpu_times["ours"] = ours_seconds, ours_cpu

    records = splink_records(dataset)
    variants = SPLINK_VARIANTS if args.splink_variant == "all" else (args.splink_variant,)
    splink_meta: dict[str, Any] = {}
    for variant in variants:
        repeats = [
            splink_run(records, variant=variant, seed=args.seed, recall=args.splink_recall) for _ in range(args.repeat)
        ]
        raw = repeats[-1]
        for key in ("seconds_train", "seconds_predict", "cpu_seconds_train", "cpu_seconds_predict"):
            raw[key] = statistics.median(r[key] for r in repeats)
        drift = max(
            (abs(p - repeats[0]["scores"].get(k, -1.0)) for r in repeats[1:] for k, p in r["scores"].items()),
            default=0.0,
        )
        if drift > 1e-6:
            print(f"note: Splink[{variant}] scores differ between repeats by up to {drift:.2g}")
        splink_meta[f"splink[{variant}]"] = {
            **{k: v for k, v in raw.items() if k.startswith(("seconds", "cpu_seconds"))},
            "blocked_pairs": len(raw["scores"]),
            "prior": raw["prior"],
        }
        for aggregation in AGGREGATIONS:
            name = f"splink[{variant},{aggregation}]"
            started, cpu_started = time.perf_counter(), time.process_time()
            runs[name] = splink_linkage_run(dataset, raw["scores"], ours, aggregation=aggregation)
            times[name] = raw["seconds_train"] + raw["seconds_predict"] + time.perf_counter() - started
            cpu_times[name] = raw["cpu_seconds_train"] + raw["cpu_seconds_predict"] + time.process_time() - cpu_started
            thresholds[name] = {
                "p>=0.9": 0.9,
                "p>=0.5": 0.5,
                "best F1 (oracle)": best_f1_threshold(runs[name].referral_scores, ours.true_referral_links),
            }

    header = (
        f"{'system @ threshold':46s} {'threshold':>9s}  {'ref P':6s} {'ref R':6s} {'ref F1':6s} {'ref n':>7s}  "
        f"{'pair P':6s} {'pair R':6s} {'pairF1':6s} {'pair n':>7s}  {'wall s':>7s} {'CPU s':>7s}"
    )
    print(header)
    print("-" * len(header))
    for system, by_name in thresholds.items():
        results[system] = {}
        for label, threshold in by_name.items():
            m = metrics_at(runs[system], threshold)
            results[system][label] = m
            print(_fmt_row(f"{system} @ {label}", m, times[system], cpu_times[system]))
    blocking = {system: run.true_pairs_in_candidates / len(run.true_pairs) for system, run in runs.items()}
    print("blocking pair recall:", ", ".join(f"{k} {v:.4f}" for k, v in blocking.items()))

    # Slices at comparable operating points: ours at 'likely' and at 'possible', Splink at 0.9 and
    # at its oracle best-F1 threshold.
    best_splink = max(
        (name for name in runs if name != "ours"), key=lambda name: results[name]["best F1 (oracle)"]["referral"]["f1"]
    )
    operating = {
        "ours@likely": (runs["ours"], thresholds["ours"]["likely"]),
        "ours@possible": (runs["ours"], thresholds["ours"]["likely+possible"]),
        f"{best_splink}@0.9": (runs[best_splink], 0.9),
        f"{best_splink}@bestF1": (runs[best_splink], thresholds[best_splink]["best F1 (oracle)"]),
    }
    predicted_pairs = {k: {p for p, s in run.pair_scores.items() if s >= t} for k, (run, t) in operating.items()}
    predicted_links = {k: {p for p, s in run.referral_scores.items() if s >= t} for k, (run, t) in operating.items()}
    slices = recall_by_slice(rows, ours.true_pairs, predicted_pairs)
    false_links = false_links_by_kind(referral_family, ours.true_referral_links, predicted_links)
    systems = list(operating)
    print(f"\npair recall by slice (true pairs): {', '.join(systems)}")
    for name, c in slices.items():
        print(f"  {name:26s} {c['true']:>6d}  " + "  ".join(f"{c[s]['recall']:.3f}" for s in systems))
    print("\nreferral-link errors:")
    for system, kinds in false_links.items():
        print(f"  {system:34s} " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    # Comparable operating points: our high-precision band against Splink's 0.9, and our
    # review band against Splink at its (oracle) best threshold.
    matchups = (("ours@likely", f"{best_splink}@0.9"), ("ours@possible", f"{best_splink}@bestF1"))
    worse: list[dict[str, Any]] = []
    for ours_name, splink_name in matchups:
        for name, c in slices.items():
            if c[ours_name]["found"] < c[splink_name]["found"]:
                worse.append(
                    {
                        "slice": name,
                        "true": c["true"],
                        ours_name: c[ours_name]["found"],
                        splink_name: c[splink_name]["found"],
                    }
                )
    print("\nslices where ours finds fewer true pairs than Splink at the comparable threshold:")
    for item in worse:
        print("  " + ", ".join(f"{k} {v}" for k, v in item.items()))
    if not worse:
        print("  none")

    # Referral links that one system gets right and the other wrong (synthetic references only),
    # for the matcher's author to look at.
    truth_links = ours.true_referral_links
    disagreements: dict[str, dict[str, Any]] = {}
    print("\nreferral links one system gets right and the other wrong:")
    for ours_name, splink_name in matchups:
        a, b = predicted_links[ours_name], predicted_links[splink_name]
        cases = {
            "true_found_only_by_splink": sorted((b - a) & truth_links),
            "true_found_only_by_ours": sorted((a - b) & truth_links),
            "false_only_ours": sorted((a - b) - truth_links),
            "false_only_splink": sorted((b - a) - truth_links),
        }
        disagreements[f"{ours_name} vs {splink_name}"] = {
            k: {"count": len(v), "examples": v[:5]} for k, v in cases.items()
        }
        print(f"  {ours_name} vs {splink_name}: " + ", ".join(f"{k}={len(v)}" for k, v in cases.items()))

    output = Path(args.output) if args.output else OUT_DIR / f"compare_splink_s{args.seed}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    import splink

    report = {
        "generated": date.today().isoformat(),
        "seed": args.seed,
        "families": args.families,
        "referrals": len(dataset.referrals),
        "person_rows": len(rows),
        "true_referral_links": len(ours.true_referral_links),
        "true_pairs": len(ours.true_pairs),
        "our_model": {"version": model.version, "bands": bands, "trained": model.params.get("trained")},
        "splink": {"version": splink.__version__, "assumed_deterministic_recall": args.splink_recall, **splink_meta},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "repeat": args.repeat},
        "seconds_each_run": {"ours": ours_walls},
        "seconds": times,
        "cpu_seconds": cpu_times,
        "blocking_pair_recall": blocking,
        "metrics": results,
        "pair_recall_by_slice": slices,
        "referral_link_errors": false_links,
        "slices_where_ours_finds_fewer": worse,
        "disagreements": disagreements,
    }
    output.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {output}")


if __name__ == "__main__":
    main()
