"""evaluate_themes GOLD.jsonl [--json] [--baseline]: per-theme P/R/F1/support, micro and macro.

Also the negated-mention false-positive rate (gold lines may carry "negated" and
"hypothetical" lists). --baseline adds the plain keyword baseline (any theme word present,
no context) and the tagger's own rules without the context step, on the same file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from nlp.evaluation import GoldFileError, evaluate, format_table, keyword_baseline, read_gold
from nlp.pipeline import TaggerInputError, ThemeTagger, clean_text
from nlp.services.themes import tagger_current


class Command(BaseCommand):
    help = "Score the theme tagger against a gold JSON Lines file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("gold", help='Gold JSON Lines: {"id", "text", "themes": [codes], "negated"?: [codes]}.')
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of tables.")
        parser.add_argument(
            "--baseline", action="store_true", help="Also score the keyword baseline and no-context rules."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["gold"])
        tagger = tagger_current()
        codes = sorted(tagger.active_codes if tagger.active_codes is not None else tagger.theme_codes)
        try:
            records = read_gold(path, known_codes=set(codes) | set(tagger.theme_codes))
            texts = [clean_text(r.text) for r in records]
        except GoldFileError as exc:
            raise CommandError(str(exc)) from None
        except TaggerInputError as exc:
            raise CommandError(f"{path.name}: {exc}") from None
        reports: dict[str, Any] = {
            "tagger": evaluate(records, [r.codes for r in tagger.tag_many(texts)], codes=codes),
        }
        if options["baseline"]:
            reports["keyword_baseline"] = evaluate(records, [keyword_baseline(t) for t in texts], codes=codes)
            ablation = ThemeTagger(tagger.nlp, active_codes=tagger.active_codes, ignore_context=True)
            reports["rules_without_context"] = evaluate(
                records, [r.codes for r in ablation.tag_many(texts)], codes=codes
            )
        if options["json"]:
            self.stdout.write(json.dumps({"gold": str(path), "tagger_version": tagger.version, **reports}, indent=2))
            return
        titles = {
            "tagger": f"Theme tagger {tagger.version} on {path.name}",
            "keyword_baseline": "Keyword baseline (any theme word present, no context)",
            "rules_without_context": "Tagger rules without the context step (ablation)",
        }
        self.stdout.write("\n\n".join(format_table(report, title=titles[name]) for name, report in reports.items()))
