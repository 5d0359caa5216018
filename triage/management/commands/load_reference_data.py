from typing import Any

from django.core.management.base import BaseCommand

from triage.services import reference_data_load


class Command(BaseCommand):
    help = "Load or update reference data (agencies, subgroups, staff roles). Safe to run repeatedly."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = reference_data_load()
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in counts.items()))
