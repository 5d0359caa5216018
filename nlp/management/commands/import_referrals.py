"""import_referrals PATH.csv [--dry-run]: load historic referrals (shared/spec/interfaces.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from itertools import islice
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
        # The reader's temporary reference store is removed however the command ends.
        with LegacyCsv(path) as reader:
            self._import(reader, path, dry_run=dry_run)

    def _import(self, reader: LegacyCsv, path: str, *, dry_run: bool) -> None:
        def report(error: RowError) -> None:
            self.stderr.write(error.format(path))

        try:
            summary = reader.check(on_error=report)
        except LegacyCsvFileError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        skipped = self._check_references(summary, report)
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
    def _check_references(summary: CsvSummary, report: Callable[[RowError], None]) -> int:
        """Count references already imported; a reference used by an online referral is an error.

        Read from the summary's store a batch at a time, so no list of every reference is built.
        """
        skipped = 0
        items = summary.references.items()
        while batch := dict(islice(items, BATCH_SIZE)):
            existing = references_existing(references=list(batch))
            for reference, source in existing.items():
                if source == ReferralSource.IMPORTED:
                    skipped += 1
                    continue
                state = batch[reference]
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
