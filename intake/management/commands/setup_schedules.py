"""Create or update the django-q2 schedules intake relies on; safe to run on every start."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule


def schedule_specs() -> list[dict[str, Any]]:
    return [
        {
            "name": "intake: email outbox retry",
            "func": "intake.tasks.outbox_retry",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.EMAIL_OUTBOX_SWEEP_MINUTES,
        },
        {
            "name": "intake: purge expired drafts",
            "func": "intake.tasks.drafts_purge",
            "schedule_type": Schedule.HOURLY,
            "minutes": None,
        },
        {
            "name": "intake: clear expired sessions",
            "func": "intake.tasks.sessions_clear",
            "schedule_type": Schedule.HOURLY,
            "minutes": None,
        },
        {
            "name": "nlp: recount name frequencies",
            "func": "nlp.tasks.name_frequencies_recount",
            "schedule_type": Schedule.DAILY,
            "minutes": None,
        },
    ]


class Command(BaseCommand):
    help = (
        "Create or update the scheduled tasks (email outbox retry, draft purge, session clean-up, "
        "name-frequency recount). Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for spec in schedule_specs():
            with transaction.atomic():
                existing = list(Schedule.objects.select_for_update().filter(name=spec["name"]).order_by("id"))
                # django-q2 has no unique constraint on name: drop duplicates so a job never fires twice.
                for extra in existing[1:]:
                    extra.delete()
                fields = {**spec, "args": None, "kwargs": None, "repeats": -1, "cron": None, "cluster": None}
                if existing:
                    schedule = existing[0]
                    for key, value in fields.items():
                        setattr(schedule, key, value)
                    action = "Updated"
                else:
                    schedule = Schedule(**fields, next_run=timezone.now())
                    action = "Created"
                schedule.full_clean()
                schedule.save()
            self.stdout.write(f"{action} schedule: {spec['name']}")
