"""Retry due and abandoned outbox messages now, instead of waiting for the schedule."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from intake.emails import email_build
from intake.outbox import outbox_due_ids, outbox_give_up_abandoned, outbox_message_deliver, outbox_retry_due


class Command(BaseCommand):
    help = "Queue (or with --inline, send in this process) every outbox message that is due a retry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--inline", action="store_true", help="Send here rather than queueing tasks (no worker needed)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["inline"]:
            count = outbox_retry_due()
            self.stdout.write(f"Queued {count} message(s) for sending.")
            return
        outbox_give_up_abandoned()
        outcomes: dict[str, int] = {}
        for outbox_id in outbox_due_ids(limit=10_000):
            outcome = outbox_message_deliver(outbox_id=outbox_id, build=email_build).outcome
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{name}: {count}" for name, count in sorted(outcomes.items())) or "nothing due"
        self.stdout.write(f"Outbox retry: {summary}.")
