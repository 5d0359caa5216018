"""Theme tagger benchmark: throughput next to spaCy's bare tokenizer, peak memory, load time.

    .venv/bin/python bench/bench_tagger.py [--passages 5000] [--runs 5] [--seed 13]

Corpus: PASSAGES texts made by sampling and recombining 1-3 passages of the tuning split
(tests/data/themes/dev.jsonl) with a fixed seed. Each run times the tagger (TagResults for
every text, as tag_themes produces) and spacy.blank("en")'s tokenizer on the same texts, in
one process, one after the other and in alternating order; the medians, their ratio and the
median of the per-run ratios are reported, as wall-clock and as process CPU time (CPU time is
steadier on a shared machine). Both are warmed on the whole corpus first (each keeps a cache
per word type: spaCy's lexemes and tokenizer cache, the tagger's word table), and garbage is
collected before each timed pass, so neither pays for the other's. Words are
whitespace-separated words, the same count for both. Load time is measured in fresh
processes; peak memory is the process's maximum resident set size, and the tracemalloc peak
of one extra tagging pass (not timed: tracing slows Python down).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEV = ROOT / "tests" / "data" / "themes" / "dev.jsonl"
LOAD_SNIPPET = (
    "import time; t0 = time.perf_counter(); import spacy, numpy; t1 = time.perf_counter(); "
    "from nlp.pipeline import get_pipeline; get_pipeline(); t2 = time.perf_counter(); "
    "print(t2 - t0, t2 - t1)"
)


def corpus(n: int, seed: int) -> list[str]:
    texts = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(seed)
    return [" ".join(rng.sample(texts, rng.randint(1, 3))) for _ in range(n)]


def load_seconds(runs: int) -> tuple[list[float], list[float]]:
    """(import spaCy + build, build only) per fresh process."""
    total, build = [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", LOAD_SNIPPET], cwd=ROOT, capture_output=True, text=True, check=True
        )
        with_import, only_build = (float(x) for x in done.stdout.split())
        total.append(with_import)
        build.append(only_build)
    return total, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    import spacy

    from nlp.pipeline import get_tagger

    texts = corpus(args.passages, args.seed)
    words = sum(len(t.split()) for t in texts)
    tagger = get_tagger()
    tokenizer: Any = spacy.blank("en").tokenizer
    # Warm both on every text (first-call allocations, per-word-type caches) before timing.
    sum(1 for _ in tagger.tag_many(texts))
    sum(1 for _ in tokenizer.pipe(texts, batch_size=256))

    def run_tokenizer() -> int:
        return sum(1 for _ in tokenizer.pipe(texts, batch_size=256))

    def run_tagger() -> int:
        # The tagger's own batching, as tag_themes, retag_referrals and import_referrals use it.
        return sum(1 for _ in tagger.tag_many(texts))

    rates: dict[str, list[float]] = {"tagger": [], "tokenizer": [], "tagger cpu": [], "tokenizer cpu": []}
    for run in range(args.runs):
        order = [("tokenizer", run_tokenizer), ("tagger", run_tagger)]
        for name, step in order if run % 2 == 0 else reversed(order):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            done = step()
            rates[name].append(words / (time.perf_counter() - wall))
            rates[name + " cpu"].append(words / (time.process_time() - cpu))
            assert done == len(texts)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    sum(1 for _ in tagger.tag_many(texts))
    traced_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    loads, builds = load_seconds(max(3, args.runs // 2))

    print(f"corpus: {len(texts)} passages, {words} words (seed {args.seed}, from {DEV.name})")
    for clock in ("", " cpu"):
        tagger_median = statistics.median(rates["tagger" + clock])
        tokenizer_median = statistics.median(rates["tokenizer" + clock])
        pairs = zip(rates["tagger" + clock], rates["tokenizer" + clock], strict=True)
        per_run = statistics.median(t / k for t, k in pairs)
        label = "process CPU time" if clock else "wall clock"
        print(f"[{label}]")
        for name, median in (("tagger   ", tagger_median), ("tokenizer", tokenizer_median)):
            runs = [round(r) for r in rates[name.strip() + clock]]
            print(f"  {name} words/s median {median:>12,.0f}  runs {runs}")
        print(
            f"  tagger / tokenizer throughput: {tagger_median / tokenizer_median:.1%} "
            f"(median of per-run ratios {per_run:.1%}; target >= 35%)"
        )
    print(f"peak memory: max RSS {rss_mb:.0f} MB, tracemalloc peak of one pass {traced_mb:.1f} MB (target < 400 MB)")
    print(
        f"pipeline load, fresh process, median of {len(loads)}: {statistics.median(loads):.2f} s including "
        f"'import spacy', {statistics.median(builds):.2f} s building after import (target < 2 s)"
    )


if __name__ == "__main__":
    main()
