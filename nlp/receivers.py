"""Listens to intake's signals so intake never imports nlp."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django_q.tasks import async_task

from intake.signals import referral_submitted


@receiver(referral_submitted, dispatch_uid="nlp.referral_submitted")
def enqueue_referral_analysis(sender: Any, *, referral_id: int, **kwargs: Any) -> None:
    # The signal is sent from transaction.on_commit, so the worker always finds the row.
    async_task("nlp.tasks.referral_analyse", referral_id, task_name=f"analyse-referral-{referral_id}")
