"""Microseconds per MatchModel.person_compare: the shipped matcher vs an earlier version, side by side.

The earlier version is nlp/matching.py and its model.json at a git revision (default HEAD), read
with `git show` and loaded as a separate module. Both compare the same blocked candidate pairs of
a synthetic history (seed 4242, as the speed benchmark uses), with term-frequency counts, in
alternating rounds; the median of the rounds is reported, and the ratio.

    .venv/bin/python bench/bench_person_compare.py [--revision HEAD] [--families 1500] [--rounds 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp import matching  # noqa: E402
from nlp.linkage_synth import synth_generate  # noqa: E402


def module_at(revision: str) -> tuple[ModuleType, Any]:
    """nlp/matching.py at `revision` as a module, and its model."""
    source = subprocess.run(
        ["git", "show", f"{revision}:nlp/matching.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    params = json.loads(
        subprocess.run(
            ["git", "show", f"{revision}:nlp/matching_data/model.json"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    path = Path(tempfile.mkdtemp()) / "matching_at_revision.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("matching_at_revision", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    setattr(module, "DATA_DIR", matching.DATA_DIR)  # noqa: B010  # nickname tables
    return module, module.MatchModel(params)


def candidate_pairs(module: ModuleType, families: int) -> tuple[list[tuple[Any, Any]], Any]:
    """Blocked (new, prior) pairs of a replayed history, normalised by `module`, and name counts."""
    dataset = synth_generate(seed=4242, families=families)
    index = module.CandidateIndex()
    counts = module.NameCounts()
    pairs: list[tuple[Any, Any]] = []
    for referral in dataset.referrals:
        people = [module.person_normalise(row.person_record()) for row in referral.rows]
        for person in people:
            pairs.extend((person, prior) for prior in index.candidates(person))
        for person in people:
            index.add(person)
            counts.add(person)
    return pairs, counts


def round_seconds(model: Any, pairs: list[tuple[Any, Any]], counts: Any) -> float:
    started = time.perf_counter()
    for a, b in pairs:
        model.person_compare(a, b, name_frequency=counts, population=counts.total)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revision", default="HEAD")
    parser.add_argument("--families", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    old_module, old_model = module_at(args.revision)
    systems = {
        f"{args.revision} ({old_model.version})": (old_model, *candidate_pairs(old_module, args.families)),
        f"working tree ({matching.MatchModel.load_default().version})": (
            matching.MatchModel.load_default(),
            *candidate_pairs(matching, args.families),
        ),
    }
    # The same pairs for both (the blocking differs between versions): the working tree's pairs,
    # normalised by each version.
    shared = systems[next(reversed(systems))][1]
    records = {p.key: p for pair in shared for p in pair}
    for name, (model, _pairs, counts) in list(systems.items())[:1]:
        by_key = {}
        dataset = synth_generate(seed=4242, families=args.families)
        for row in dataset.rows:
            if row.key in records:
                by_key[row.key] = old_module.person_normalise(row.person_record())
        systems[name] = (model, [(by_key[a.key], by_key[b.key]) for a, b in shared], counts)
    timings: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.rounds):
        for name, (model, pairs, counts) in systems.items():
            timings[name].append(round_seconds(model, pairs, counts) / len(pairs) * 1e6)
    print(f"{len(shared)} candidate pairs (seed 4242, {args.families} families), {args.rounds} alternating rounds")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, value in medians.items():
        print(f"  {name:60s} {value:6.2f} us per person_compare (median)")
    old, new = medians.values()
    print(f"  ratio working tree / {args.revision}: {new / old:.2f}")


if __name__ == "__main__":
    main()
