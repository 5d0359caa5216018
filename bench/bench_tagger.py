"""Theme tagger benchmark: throughput next to spaCy's bare tokenizer, peak memory, load time.

    .venv/bin/python bench/bench_tagger.py [--passages 5000] [--runs 5] [--seed 13]

Corpus: PASSAGES texts made by sampling and recombining 1-3 passages of the tuning split
(tests/data/themes/dev.jsonl) with a fixed seed. Each run times the tagger (TagResults for
every text, as tag_themes produces) and spacy.blank("en")'s tokenizer on the same texts,
alternating, in one process; the medians and their ratio are reported. Words are
whitespace-separated words, the same count for both. Load time is measured in fresh
processes; peak memory is the benchmark process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
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
    # Warm both (first-call allocations, tokenizer caches) before timing.
    list(tagger.tag_many(texts[:200]))
    list(tokenizer.pipe(texts[:200]))

    tagger_rates, tokenizer_rates = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        for _doc in tokenizer.pipe(texts, batch_size=256):
            pass
        tokenizer_rates.append(words / (time.perf_counter() - start))
        start = time.perf_counter()
        tagged = sum(1 for _ in tagger.tag_many(texts, batch_size=256))
        tagger_rates.append(words / (time.perf_counter() - start))
        assert tagged == len(texts)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    loads, builds = load_seconds(max(3, args.runs // 2))

    tagger_median = statistics.median(tagger_rates)
    tokenizer_median = statistics.median(tokenizer_rates)
    print(f"corpus: {len(texts)} passages, {words} words (seed {args.seed}, from {DEV.name})")
    print(f"tagger    words/s median {tagger_median:>12,.0f}  runs {[round(r) for r in tagger_rates]}")
    print(f"tokenizer words/s median {tokenizer_median:>12,.0f}  runs {[round(r) for r in tokenizer_rates]}")
    print(f"tagger / tokenizer throughput: {tagger_median / tokenizer_median:.1%} (target >= 35%)")
    print(f"peak memory (max RSS of this process): {peak_mb:.0f} MB (target < 400 MB)")
    print(
        f"pipeline load, fresh process, median of {len(loads)}: {statistics.median(loads):.2f} s including "
        f"'import spacy', {statistics.median(builds):.2f} s building after import (target < 2 s)"
    )


if __name__ == "__main__":
    main()
