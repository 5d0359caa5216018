"""Scheduled tasks and the django-q2 settings that keep queued work from running twice."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from intake.models import Draft
from intake.tasks import drafts_purge
from tests.intake.test_emails import draft_with_answers

BASE_DIR = Path(__file__).resolve().parents[2]
SCHEDULE_FUNCS = {
    "intake.tasks.outbox_retry",
    "intake.tasks.drafts_purge",
    "intake.tasks.sessions_clear",
    "nlp.tasks.name_frequencies_recount",
}


@pytest.mark.django_db
def test_setup_schedules_creates_the_outbox_retry_draft_purge_and_session_schedules(settings):
    settings.EMAIL_OUTBOX_SWEEP_MINUTES = 5

    call_command("setup_schedules", stdout=io.StringIO())

    schedules = {s.func: s for s in Schedule.objects.all()}
    assert set(schedules) == SCHEDULE_FUNCS
    retry = schedules["intake.tasks.outbox_retry"]
    assert (retry.schedule_type, retry.minutes, retry.repeats) == (Schedule.MINUTES, 5, -1)
    assert schedules["intake.tasks.drafts_purge"].schedule_type == Schedule.HOURLY
    assert schedules["intake.tasks.sessions_clear"].schedule_type == Schedule.HOURLY
    assert schedules["nlp.tasks.name_frequencies_recount"].schedule_type == Schedule.DAILY
    for schedule in schedules.values():
        assert callable(import_string(schedule.func))
        assert not schedule.args  # no arguments at all, so none can carry personal data


@pytest.mark.django_db
def test_setup_schedules_is_idempotent_and_removes_duplicates(settings):
    call_command("setup_schedules", stdout=io.StringIO())
    first_run = dict(Schedule.objects.values_list("func", "next_run"))
    original = Schedule.objects.get(func="intake.tasks.outbox_retry")
    Schedule.objects.create(name=original.name, func=original.func, schedule_type=Schedule.MINUTES, minutes=1)
    settings.EMAIL_OUTBOX_SWEEP_MINUTES = 10

    call_command("setup_schedules", stdout=io.StringIO())
    call_command("setup_schedules", stdout=io.StringIO())

    assert Schedule.objects.count() == len(SCHEDULE_FUNCS)
    retry = Schedule.objects.get(func="intake.tasks.outbox_retry")
    assert retry.pk == original.pk
    assert retry.minutes == 10
    # Re-running must not push the next run back (or forward) in time.
    assert dict(Schedule.objects.values_list("func", "next_run")) == first_run


def test_queue_settings_avoid_duplicate_runs_and_burst_catch_up():
    q: dict[str, Any] = django_settings.Q_CLUSTER
    assert q["retry"] > q["timeout"]
    assert q["catch_up"] is False
    assert 0 < q["max_attempts"] <= 10
    assert q["ack_failures"] is True
    assert q["timeout"] < django_settings.EMAIL_OUTBOX_LEASE_SECONDS
    assert 0 < django_settings.EMAIL_TIMEOUT < q["timeout"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"Q_TIMEOUT": "200", "Q_RETRY": "150"}, "Q_RETRY must be larger than Q_TIMEOUT"),
        ({"Q_TIMEOUT": "100", "Q_RETRY": "400", "EMAIL_OUTBOX_LEASE_SECONDS": "60"}, "EMAIL_OUTBOX_LEASE_SECONDS"),
    ],
)
def test_settings_refuse_queue_timeouts_that_would_run_a_task_twice(env, message):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.django_db
def test_the_purge_task_deletes_only_expired_drafts():
    draft_with_answers(expires_at=timezone.now() - dt.timedelta(seconds=1))
    keep = draft_with_answers()

    assert drafts_purge() == 1
    assert list(Draft.objects.all()) == [keep]


@pytest.mark.django_db
def test_clearing_sessions_deletes_expired_ones_and_keeps_live_ones():
    from django.contrib.sessions.models import Session

    from intake.tasks import sessions_clear

    now = timezone.now()
    Session.objects.create(session_key="e" * 32, session_data="", expire_date=now - dt.timedelta(seconds=1))
    Session.objects.create(session_key="l" * 32, session_data="", expire_date=now + dt.timedelta(minutes=5))

    sessions_clear()

    assert list(Session.objects.values_list("session_key", flat=True)) == ["l" * 32]
