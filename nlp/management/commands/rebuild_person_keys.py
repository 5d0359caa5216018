import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from intake.models import Referral
from nlp.services.matching import name_frequencies_rebuild, referral_index_people


class Command(BaseCommand):
    help = (
        "Rebuild every person's match keys (run after the matcher's blocking keys or normalisation "
        "change, so stored people are found by the new keys), then recount name frequencies."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000, help="Referral ids read per query.")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = Referral.objects.order_by("pk").values_list("pk", flat=True)
        total = ids.count()
        people = 0
        # One transaction per referral (as at submission), so a long rebuild never holds a big lock.
        with tqdm(total=total, unit="referral", disable=not sys.stderr.isatty()) as progress:
            for referral_id in ids.iterator(chunk_size=options["batch_size"]):
                people += referral_index_people(referral_id=referral_id)
                progress.update(1)
        names = name_frequencies_rebuild()
        self.stdout.write(f"Rebuilt match keys for {people} people in {total} referrals; {names} name counts.")
