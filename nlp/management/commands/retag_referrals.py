"""retag_referrals [--ids ID ...] [--outdated] [--batch-size N]: re-tag stored referrals.

Run after the patterns or the taxonomy change. Batched (one spaCy pass and one transaction
per batch); a progress bar on a terminal only. Machine tags are replaced; reviews stay.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from intake.models import Referral
from nlp.models import ThemeTag
from nlp.services.themes import DEFAULT_BATCH_SIZE, referrals_tag_themes, tagger_current


class Command(BaseCommand):
    help = "Re-tag stored referrals with the current theme tagger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ids", nargs="+", type=int, metavar="ID", help="Only these referral ids.")
        parser.add_argument(
            "--outdated",
            action="store_true",
            help="Only referrals with no tag from the current tagger version (includes never tagged).",
        )
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        referrals = Referral.objects.order_by("pk")
        if options["ids"]:
            missing = set(options["ids"]) - set(referrals.filter(pk__in=options["ids"]).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"--ids: no referral with id {', '.join(map(str, sorted(missing)))}")
            referrals = referrals.filter(pk__in=options["ids"])
        tagger = tagger_current()
        if options["outdated"]:
            current = ThemeTag.objects.filter(tagger_version=tagger.version).values("referral_id")
            referrals = referrals.exclude(pk__in=current)
        ids = list(referrals.values_list("pk", flat=True))
        done = 0
        with tqdm(total=len(ids), unit="referral", disable=not sys.stderr.isatty(), file=sys.stderr) as progress:
            for offset in range(0, len(ids), batch_size):
                chunk = ids[offset : offset + batch_size]
                done += referrals_tag_themes(referral_ids=chunk, batch_size=batch_size)
                progress.update(len(chunk))
        self.stdout.write(f"Re-tagged {done} referral(s) with tagger {tagger.version}")
