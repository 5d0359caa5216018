"""Agreement between two annotators' theme labels on the same passages, scored like evaluate_themes.

    .venv/bin/python bench/theme_agreement.py tests/data/themes/holdout.jsonl \
        tests/data/themes/agreement/holdout_second_annotator.jsonl

The first file is the gold (with texts); the second holds {"id", "themes"} per passage from an
annotator who never saw the first file's labels. The tagger's F1 on the same gold only means
something next to this ceiling.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.evaluation import evaluate, format_table, read_gold  # noqa: E402
from nlp.pipeline import load_pattern_set  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gold", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args()
    gold = read_gold(args.gold)
    second: dict[str, set[str]] = {}
    for line in args.second.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            second[str(record["id"])] = set(record["themes"])
    missing = [g.id for g in gold if g.id not in second]
    if missing:
        raise SystemExit(f"{args.second}: no labels for {len(missing)} passage(s), e.g. {missing[0]}")
    report = evaluate(gold, [second[g.id] for g in gold], codes=sorted(load_pattern_set().themes))
    print(format_table(report, title=f"Second annotator vs {args.gold.name}"))


if __name__ == "__main__":
    main()
