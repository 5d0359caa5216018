import secrets
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

DEMO_USERNAME = "demo.business.unit"
DEMO_SEED = 20261126


class Command(BaseCommand):
    help = (
        "Local demo only: import a small synthetic referral history (fictional families, fixed seed, "
        "idempotent) and create a demo business-unit login with a new password each run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--families", type=int, default=30, help="Synthetic families to import (default 30).")

    def handle(self, *args: Any, **options: Any) -> None:
        # Imported through the same command the business unit uses, so demo data is tagged and indexed.
        from nlp.linkage_synth import synth_generate

        dataset = synth_generate(seed=DEMO_SEED, families=options["families"])
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "demo.csv"
            dataset.write_legacy_csv(path)
            call_command("import_referrals", str(path), stdout=self.stdout)

        user_model = get_user_model()
        password = secrets.token_urlsafe(12)
        user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME, defaults={"is_staff": True})
        user.is_staff = True
        user.set_password(password)
        user.save()
        group, _ = Group.objects.get_or_create(name="Business unit")
        user.groups.add(group)
        self.stdout.write(
            self.style.SUCCESS(f"Demo staff login: {DEMO_USERNAME} / {password}  (http://127.0.0.1:8000/staff/admin/)")
        )
