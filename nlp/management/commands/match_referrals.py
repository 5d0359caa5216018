"""match_referrals PATH.csv [--output PATH|-]: prior referrals for each CSV referral, as JSON Lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from nlp.legacy_csv import LegacyCsv, LegacyCsvFileError, RowError
from nlp.matching import MatchModel, ReferralMatch
from nlp.selectors.matching import legacy_referral_matches

SCORE_DIGITS = 4


def match_as_json(match: ReferralMatch, references: dict[int, str]) -> dict[str, Any]:
    """One match in the shape promised by interfaces.md."""
    return {
        "reference": references[int(match.referral_key)],
        "score": round(match.score, SCORE_DIGITS),
        "band": match.band,
        "persons": [
            {
                "row": int(person.new_key),
                "prior_person": int(person.prior_key),
                "score": round(person.score, SCORE_DIGITS),
                "agreements": person.agreements,
            }
            for person in match.persons
        ],
    }


class Command(BaseCommand):
    help = "Match the referrals in a legacy CSV against stored referrals (nothing is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Legacy referral CSV (same format as import_referrals)")
        parser.add_argument("--output", default="-", help="Where to write JSON Lines ('-' for standard output)")

    def handle(self, *args: Any, path: str, output: str, **options: Any) -> None:
        # The reader's temporary reference store is removed however the command ends.
        with LegacyCsv(path) as reader:
            self._match(reader, path, output)

    def _match(self, reader: LegacyCsv, path: str, output: str) -> None:
        try:
            summary = reader.check(on_error=lambda error: self._report(path, error))
        except LegacyCsvFileError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        if summary.error_count:
            raise CommandError(
                f"{path}: {summary.error_count} problem(s) in {summary.rows} row(s); nothing was matched"
            )

        model = MatchModel.load_default()
        # A file is written beside the target and moved into place, so a failure leaves no partial output.
        target = None if output == "-" else Path(output)
        partial = target.with_name(f".{target.name}.partial") if target else None
        try:
            handle: IO[str] | None = partial.open("w", encoding="utf-8") if partial else None
        except OSError as exc:
            raise CommandError(f"{output}: cannot be written ({exc.__class__.__name__})") from exc

        def write_line(text: str) -> None:
            if handle is None:
                self.stdout.write(text)
            else:
                handle.write(text + "\n")

        bar = tqdm(total=summary.referral_count, unit="referral", disable=not sys.stderr.isatty(), file=sys.stderr)
        finished = False
        try:
            for referral in reader.referrals():
                matches, references = legacy_referral_matches(referral=referral, model=model)
                line = {"reference": referral.reference, "matches": [match_as_json(m, references) for m in matches]}
                write_line(json.dumps(line, ensure_ascii=False))
                bar.update(1)
            finished = True
        except LegacyCsvFileError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        finally:
            bar.close()
            if handle is not None and partial is not None:
                handle.close()
                if finished and target is not None:
                    partial.replace(target)
                else:
                    partial.unlink(missing_ok=True)

    def _report(self, path: str, error: RowError) -> None:
        self.stderr.write(error.format(path))
