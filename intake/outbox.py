"""The email outbox: one row per logical message, claimed atomically, so no message is sent twice.

A message moves pending -> sending -> sent, or sending -> failed (retried with exponential
back-off) -> ... -> gave_up after ``EMAIL_OUTBOX_MAX_ATTEMPTS``. A row left in "sending" by a
worker that died is retried once its lease (``locked_until``) has passed. Errors are recorded by
exception class only, because exception messages can carry addresses or content.
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from anymail.exceptions import AnymailError
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.tasks import async_task

from intake.models import EmailKind, EmailOutbox, OutboxStatus

logger = logging.getLogger(__name__)

SEND_TASK = "intake.tasks.outbox_send"

# Failures the ESP or mail server reports; anything else is recorded the same way (see outbox_message_deliver).
SEND_ERRORS: tuple[type[BaseException], ...] = (AnymailError, smtplib.SMTPException, OSError)


class EmailNotBuildable(Exception):
    """The message can no longer be built (its referral or draft is gone): give up, do not retry."""

    def __init__(self, reason: str) -> None:
        # ``reason`` is a short code such as "DraftExpired", stored in last_error; never personal data.
        super().__init__(reason)
        self.reason = reason


MessageBuilder = Callable[[EmailOutbox], EmailMessage]


@dataclass(frozen=True)
class DeliveryResult:
    outbox_id: int
    outcome: str  # "sent", "failed", "gave_up" or "skipped" (not due, already sent, or claimed elsewhere)


def outbox_backoff_seconds(*, attempts: int) -> int:
    """Delay before the next try after ``attempts`` failed tries: base * 2**(attempts-1), capped."""
    base = settings.EMAIL_OUTBOX_RETRY_BASE_SECONDS
    return int(min(base * 2 ** max(attempts - 1, 0), settings.EMAIL_OUTBOX_RETRY_MAX_SECONDS))


def outbox_message_get_or_create(
    *,
    kind: EmailKind,
    dedupe_key: str,
    to_email: str,
    referral_id: int | None = None,
    draft_id: int | None = None,
) -> tuple[EmailOutbox, bool]:
    """One row per logical message: a second call with the same dedupe key returns the first row."""
    return EmailOutbox.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={"kind": kind, "to_email": to_email, "referral_id": referral_id, "draft_id": draft_id},
    )


_brokers: dict[int, Broker] = {}


def _broker() -> Broker:
    # django-q2 builds a new broker (a new Redis connection) per async_task; reuse one per process.
    # Keyed by pid so a forked worker never shares its parent's socket.
    pid = os.getpid()
    if pid not in _brokers:
        _brokers.clear()
        _brokers[pid] = get_broker()
    return _brokers[pid]


def outbox_message_enqueue(*, outbox_id: int) -> None:
    """Queue the send task after the current transaction commits, passing the row id only."""

    def _enqueue() -> None:
        try:
            async_task(SEND_TASK, outbox_id, task_name=f"outbox-{outbox_id}", group="email", broker=_broker())
        except Exception as exc:
            # The row is committed and due, so the scheduled outbox_retry sweep sends it later.
            logger.warning(
                "Could not enqueue outbox id=%s (%s); the retry sweep will send it", outbox_id, type(exc).__name__
            )

    transaction.on_commit(_enqueue)


def _claimable(now: datetime) -> Q:
    due = Q(status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED], next_attempt_at__lte=now)
    abandoned = Q(status=OutboxStatus.SENDING, locked_until__lt=now)
    return (due | abandoned) & Q(attempts__lt=settings.EMAIL_OUTBOX_MAX_ATTEMPTS)


def outbox_message_claim(*, outbox_id: int, now: datetime | None = None) -> EmailOutbox | None:
    """Atomically move a due row to "sending"; None when it is not due or another worker holds it.

    A single conditional UPDATE: on PostgreSQL the second of two racing workers re-reads the row
    after the first commits and matches nothing; SQLite serialises writers.
    """
    now = now or timezone.now()
    claimed = EmailOutbox.objects.filter(_claimable(now), pk=outbox_id).update(
        status=OutboxStatus.SENDING,
        attempts=F("attempts") + 1,
        locked_until=now + timedelta(seconds=settings.EMAIL_OUTBOX_LEASE_SECONDS),
    )
    if not claimed:
        return None
    return EmailOutbox.objects.get(pk=outbox_id)


def outbox_message_mark_sent(*, message: EmailOutbox, esp_message_id: str) -> None:
    updated = EmailOutbox.objects.filter(pk=message.pk, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.SENT,
        esp_message_id=esp_message_id[:200],
        sent_at=timezone.now(),
        locked_until=None,
        last_error="",
    )
    if not updated:
        # Only possible if the lease expired mid-send and the sweep re-claimed the row.
        logger.warning("Outbox id=%s was sent after its lease expired", message.pk)


def outbox_message_mark_failed(*, message: EmailOutbox, error: str, retry: bool = True) -> str:
    """Record a failed try; schedule the next with back-off, or give up. Returns the new status."""
    now = timezone.now()
    give_up = not retry or message.attempts >= settings.EMAIL_OUTBOX_MAX_ATTEMPTS
    status = OutboxStatus.GAVE_UP if give_up else OutboxStatus.FAILED
    EmailOutbox.objects.filter(pk=message.pk, status=OutboxStatus.SENDING).update(
        status=status,
        last_error=error[:300],
        locked_until=None,
        next_attempt_at=now + timedelta(seconds=outbox_backoff_seconds(attempts=message.attempts)),
    )
    return str(status)


def _esp_message_id(email: EmailMessage) -> str:
    status = getattr(email, "anymail_status", None)  # set only by anymail backends
    message_id = getattr(status, "message_id", None)
    if message_id is None:
        return ""
    if isinstance(message_id, set):  # one id per recipient when they differ
        return ",".join(sorted(str(item) for item in message_id))
    return str(message_id)


def outbox_message_deliver(*, outbox_id: int, build: MessageBuilder) -> DeliveryResult:
    """Claim the row, build and send its message once, and record the outcome."""
    message = outbox_message_claim(outbox_id=outbox_id)
    if message is None:
        return DeliveryResult(outbox_id, "skipped")
    try:
        email = build(message)
        email.send(fail_silently=False)
    except EmailNotBuildable as exc:
        logger.info("Outbox id=%s gave up: %s", outbox_id, exc.reason)
        return DeliveryResult(outbox_id, outbox_message_mark_failed(message=message, error=exc.reason, retry=False))
    except Exception as exc:
        # SEND_ERRORS are expected; anything else is still recorded (never left "sending") and retried,
        # and logged by class only: messages of mail errors can hold recipient addresses.
        level = logging.WARNING if isinstance(exc, SEND_ERRORS) else logging.ERROR
        status = outbox_message_mark_failed(message=message, error=type(exc).__name__)
        logger.log(level, "Outbox id=%s attempt %s failed (%s)", outbox_id, message.attempts, type(exc).__name__)
        return DeliveryResult(outbox_id, status)
    outbox_message_mark_sent(message=message, esp_message_id=_esp_message_id(email))
    logger.info("Outbox id=%s sent (%s)", outbox_id, message.kind)
    return DeliveryResult(outbox_id, "sent")


def outbox_due_ids(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Ids of rows a sweep should try now (due retries, and sends abandoned by a dead worker)."""
    now = now or timezone.now()
    return list(
        EmailOutbox.objects.filter(_claimable(now))
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def outbox_give_up_abandoned(*, now: datetime | None = None) -> int:
    """Rows whose last allowed try died mid-send can never be claimed again: mark them gave_up."""
    now = now or timezone.now()
    return EmailOutbox.objects.filter(
        status=OutboxStatus.SENDING,
        locked_until__lt=now,
        attempts__gte=settings.EMAIL_OUTBOX_MAX_ATTEMPTS,
    ).update(status=OutboxStatus.GAVE_UP, last_error="LeaseExpired", locked_until=None)


def outbox_retry_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """The scheduled sweep: give up exhausted rows, then queue one send task per due row."""
    gave_up = outbox_give_up_abandoned(now=now)
    if gave_up:
        logger.warning("Outbox sweep gave up on %s abandoned message(s)", gave_up)
    due = outbox_due_ids(now=now, limit=limit)
    for outbox_id in due:
        outbox_message_enqueue(outbox_id=outbox_id)
    return len(due)
