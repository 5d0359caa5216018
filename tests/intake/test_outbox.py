"""The email outbox: atomic claims, back-off on failure, giving up, and recovery from dead workers."""

from __future__ import annotations

import datetime as dt
import smtplib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.message import AnymailRecipientStatus
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from intake.emails import acknowledgement_enqueue
from intake.models import EmailKind, EmailOutbox, OutboxStatus
from intake.outbox import (
    outbox_backoff_seconds,
    outbox_due_ids,
    outbox_message_claim,
    outbox_retry_due,
)
from intake.tasks import outbox_retry, outbox_send
from tests.intake.test_emails import PERSONAL_DATA, referral_with_people


class RefusingBackend(AnymailTestBackend):
    """The ESP says every recipient is on its suppression list (anymail raises AnymailRecipientsRefused)."""

    def parse_recipient_status(self, response, payload, message):
        return {email: AnymailRecipientStatus(message_id=None, status="rejected") for email in payload.recipient_emails}


class DisconnectingBackend(AnymailTestBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


REFUSING = "tests.intake.test_outbox.RefusingBackend"
DISCONNECTING = "tests.intake.test_outbox.DisconnectingBackend"
WORKING = "anymail.backends.test.EmailBackend"


@pytest.fixture(autouse=True)
def outbox_settings(settings):
    settings.EMAIL_BACKEND = WORKING
    settings.EMAIL_OUTBOX_MAX_ATTEMPTS = 4
    settings.EMAIL_OUTBOX_RETRY_BASE_SECONDS = 60
    settings.EMAIL_OUTBOX_RETRY_MAX_SECONDS = 3600
    settings.EMAIL_OUTBOX_LEASE_SECONDS = 300
    return settings


@pytest.fixture
def row(django_capture_on_commit_callbacks):
    """A committed acknowledgement row whose task has not run yet."""
    referral = referral_with_people()
    with django_capture_on_commit_callbacks(execute=False):
        acknowledgement_enqueue(referral_id=referral.pk)
    return EmailOutbox.objects.get(referral=referral)


def sent_count() -> int:
    return len(getattr(mail, "outbox", []))


@pytest.mark.django_db
def test_a_row_can_be_claimed_only_once(row):
    first = outbox_message_claim(outbox_id=row.pk)
    second = outbox_message_claim(outbox_id=row.pk)

    assert first is not None
    assert first.status == OutboxStatus.SENDING
    assert first.attempts == 1
    assert first.locked_until is not None
    assert second is None


@pytest.mark.django_db
def test_recipients_refused_marks_the_row_failed_with_the_error_class_and_a_retry_time(row, settings):
    settings.EMAIL_BACKEND = REFUSING
    before = timezone.now()

    assert outbox_send(row.pk) == "failed"

    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 1
    assert row.last_error == "AnymailRecipientsRefused"
    assert row.locked_until is None
    assert before + dt.timedelta(seconds=59) <= row.next_attempt_at <= timezone.now() + dt.timedelta(seconds=61)
    assert row.sent_at is None


@pytest.mark.django_db
def test_an_smtp_error_is_recorded_by_class_only(row, settings):
    settings.EMAIL_BACKEND = DISCONNECTING

    assert outbox_send(row.pk) == "failed"

    row.refresh_from_db()
    assert row.last_error == "SMTPServerDisconnected"
    for value in [*PERSONAL_DATA, row.to_email, "Connection unexpectedly closed"]:
        assert value not in row.last_error


@pytest.mark.django_db
def test_a_failed_row_is_not_retried_before_its_back_off_and_is_retried_after(row, settings):
    settings.EMAIL_BACKEND = REFUSING
    outbox_send(row.pk)
    settings.EMAIL_BACKEND = WORKING

    assert outbox_send(row.pk) == "skipped"
    assert outbox_retry() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert outbox_due_ids() == [row.pk]
        assert outbox_send(row.pk) == "sent"

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 2, "")
    assert sent_count() == 2  # the refused try reached the (test) ESP too


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(0, 60), (1, 60), (2, 120), (3, 240), (4, 480), (6, 1920), (7, 3600), (30, 3600)]
)
def test_back_off_doubles_per_attempt_up_to_the_cap(outbox_settings, attempts, seconds):
    assert outbox_backoff_seconds(attempts=attempts) == seconds


@pytest.mark.django_db
def test_after_the_last_attempt_the_row_gives_up_and_stays_visible(row, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = REFUSING
    now = timezone.now()
    outcomes = []
    for step in range(6):
        with (
            time_machine.travel(now + dt.timedelta(hours=step + 1)),
            django_capture_on_commit_callbacks(execute=True),
        ):
            outbox_retry()  # what the schedule does: queue (here: run inline) every due row
        outcomes.append(EmailOutbox.objects.get(pk=row.pk).status)

    row.refresh_from_db()
    assert outcomes == ["failed", "failed", "failed", "gave_up", "gave_up", "gave_up"]
    assert row.status == OutboxStatus.GAVE_UP
    assert row.attempts == 4
    assert row.last_error == "AnymailRecipientsRefused"
    with time_machine.travel(now + dt.timedelta(days=2)):
        assert outbox_due_ids() == []
    assert EmailOutbox.objects.filter(pk=row.pk, status=OutboxStatus.GAVE_UP).exists()


@pytest.mark.django_db
def test_a_row_left_sending_by_a_dead_worker_is_resent_after_its_lease(row, django_capture_on_commit_callbacks):
    assert outbox_message_claim(outbox_id=row.pk) is not None  # the worker claimed it, then died

    assert outbox_retry() == 0
    assert outbox_send(row.pk) == "skipped"
    with (
        time_machine.travel(timezone.now() + dt.timedelta(seconds=301)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert outbox_retry() == 1

    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 2
    assert sent_count() == 1


@pytest.mark.django_db
def test_a_dead_worker_on_the_last_attempt_leaves_the_row_gave_up_not_stuck(row, settings):
    EmailOutbox.objects.filter(pk=row.pk).update(attempts=settings.EMAIL_OUTBOX_MAX_ATTEMPTS - 1)
    assert outbox_message_claim(outbox_id=row.pk) is not None

    with time_machine.travel(timezone.now() + dt.timedelta(seconds=301)):
        assert outbox_retry_due() == 0

    row.refresh_from_db()
    assert (row.status, row.last_error) == (OutboxStatus.GAVE_UP, "LeaseExpired")
    assert sent_count() == 0


@pytest.mark.django_db
def test_a_sent_row_is_never_sent_again_by_the_sweep(row):
    assert outbox_send(row.pk) == "sent"

    with time_machine.travel(timezone.now() + dt.timedelta(days=3)):
        assert outbox_retry() == 0
        assert outbox_send(row.pk) == "skipped"

    assert sent_count() == 1


@pytest.mark.django_db
def test_a_message_whose_enqueue_failed_is_sent_by_the_sweep(monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unavailable")

    referral = referral_with_people()
    monkeypatch.setattr("intake.outbox.async_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        acknowledgement_enqueue(referral_id=referral.pk)  # must not raise into the web request
    row = EmailOutbox.objects.get(referral=referral)
    assert row.status == OutboxStatus.PENDING
    monkeypatch.undo()

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_retry() == 1

    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert sent_count() == 1


@pytest.mark.django_db
def test_a_build_error_is_recorded_and_retried_not_left_sending(row, monkeypatch):
    def broken_build(outbox):
        raise KeyError("template variable")

    monkeypatch.setattr("intake.tasks.email_build", broken_build)

    assert outbox_send(row.pk) == "failed"

    row.refresh_from_db()
    assert (row.status, row.last_error) == (OutboxStatus.FAILED, "KeyError")


@pytest.mark.django_db
def test_outbox_retry_command_sends_due_rows_inline(row, settings):
    settings.EMAIL_BACKEND = REFUSING
    outbox_send(row.pk)
    settings.EMAIL_BACKEND = WORKING
    EmailOutbox.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))

    call_command("outbox_retry", "--inline")

    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT


@pytest.mark.django_db
def test_outbox_row_str_shows_no_address(row):
    assert row.to_email not in str(row)
    assert str(row) == f"{EmailKind.ACKNOWLEDGEMENT} #{row.pk} (pending)"


@pytest.mark.django_db(transaction=True)
def test_racing_workers_claim_a_row_exactly_once():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's row locks")
    referral = referral_with_people()
    row = EmailOutbox.objects.create(
        kind=EmailKind.ACKNOWLEDGEMENT, dedupe_key="race", referral=referral, to_email="a@nhs.net"
    )
    barrier = threading.Barrier(8)

    def claim(_: int) -> bool:
        try:
            barrier.wait(timeout=10)
            return outbox_message_claim(outbox_id=row.pk) is not None
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(claim, range(8)))

    assert results.count(True) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENDING, 1)
