"""import_referrals PATH.csv [--dry-run]: load historic referrals (shared/spec/interfaces.md)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from intake.models import ReferralSource
from nlp.legacy_csv import CsvSummary, LegacyCsv, LegacyCsvFileError, RowError
from nlp.selectors.matching import references_existing
from nlp.services.matching import BATCH_SIZE, legacy_referrals_import, theme_tagger


class Command(BaseCommand):
    help = "Import historic referrals from a legacy CSV; all or nothing, idempotent on reference."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Legacy referral CSV (UTF-8, header row required)")
        parser.add_argument("--dry-run", action="store_true", help="Validate every row and store nothing")

    def handle(self, *args: Any, path: str, dry_run: bool, **options: Any) -> None:
        reader = LegacyCsv(path)

        def report(error: RowError) -> None:
            self.stderr.write(error.format(path))

        try:
            summary = reader.check(on_error=report)
        except LegacyCsvFileError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        skipped = self._check_references(path, summary, report)
        if summary.error_count:
            raise CommandError(
                f"{path}: {summary.error_count} problem(s) in {summary.rows} row(s); nothing was imported"
            )
        fresh = summary.referral_count - skipped
        if dry_run:
            self.stdout.write(
                f"{path}: {summary.rows} rows are valid: would import {fresh} referral(s), "
                f"skip {skipped} already imported (dry run: nothing stored)"
            )
            return
        if theme_tagger() is None:
            self.stderr.write(
                "Warning: the theme tagger is not installed; imported referrals are not tagged with themes"
            )

        bar = tqdm(total=summary.referral_count, unit="referral", disable=not sys.stderr.isatty(), file=sys.stderr)
        try:
            result = legacy_referrals_import(referrals=reader.referrals(), progress=bar.update)
        except LegacyCsvFileError as exc:
            raise CommandError(f"{path}: {exc}; nothing was imported") from exc
        finally:
            bar.close()
        self.stdout.write(
            f"{path}: imported {result.referrals_created} referral(s) with {result.people_created} people; "
            f"skipped {result.referrals_skipped} already imported"
        )

    @staticmethod
    def _check_references(path: str, summary: CsvSummary, report: Any) -> int:
        """Count references already imported; a reference used by an online referral is an error."""
        skipped = 0
        references = list(summary.references)
        for start in range(0, len(references), BATCH_SIZE):
            existing = references_existing(references=references[start : start + BATCH_SIZE])
            for reference, source in existing.items():
                if source == ReferralSource.IMPORTED:
                    skipped += 1
                    continue
                state = summary.references[reference]
                summary.error_count += 1
                report(
                    RowError(
                        state.first_row,
                        state.first_line,
                        "reference",
                        "is already the reference of a referral submitted online",
                    )
                )
        return skipped
