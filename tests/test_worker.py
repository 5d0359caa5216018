"""A real django-q2 worker (`manage.py qcluster`) sends an acknowledgement exactly once.

Runs against its own database so the worker process can see it: a SQLite file with the ORM broker,
or, when DATABASE_URL points at PostgreSQL, a throwaway PostgreSQL database with the Redis broker
(REDIS_URL). Mail goes to files, so the test can count what the worker really sent.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.worker

BASE_DIR = Path(__file__).resolve().parents[1]
WAIT_SECONDS = 90

ENQUEUE_SCRIPT = textwrap.dedent(
    """
    import json
    from django.utils import timezone
    from django_q.signals import pre_enqueue
    from django_q.tasks import async_task
    from intake.emails import acknowledgement_enqueue
    from intake.models import EmailOutbox, Referral, Referrer
    queued = []
    pre_enqueue.connect(lambda sender, task, **kwargs: queued.append(task["id"]), weak=False)
    referral = Referral.objects.create(
        reference="PA-7K3M-Q9XD", form_type="practice_alert", received_date=timezone.localdate()
    )
    Referrer.objects.create(
        referral=referral, full_name="Test Referrer", job_title="Nurse", phone="01632 960 001",
        email="nurse@nhs.net",
    )
    # Twice, plus a duplicated task, as a double submit or a broker redelivery would.
    acknowledgement_enqueue(referral_id=referral.pk)
    acknowledgement_enqueue(referral_id=referral.pk)
    row = EmailOutbox.objects.get(referral=referral)
    async_task("intake.tasks.outbox_send", row.pk)
    print(json.dumps({"outbox_id": row.pk, "tasks": len(queued)}))
    """
)


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.fixture
def database_url(tmp_path) -> Iterator[str]:
    pg_url = _postgres_url()
    if pg_url is None:
        yield f"sqlite:///{tmp_path / 'worker.sqlite3'}"
        return
    import psycopg

    name = f"worker_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def worker_env(tmp_path, database_url) -> dict[str, str]:
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    (tmp_path / "worker_settings.py").write_text(
        textwrap.dedent(
            f"""
            from config.settings import *  # noqa: F403
            from config.settings import Q_CLUSTER

            EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
            EMAIL_FILE_PATH = {str(mail_dir)!r}
            # A cluster name of its own, so no other worker on this machine takes these tasks.
            Q_CLUSTER = {{**Q_CLUSTER, "name": {f"worker-test-{uuid.uuid4().hex[:8]}"!r}, "workers": 1, "sync": False}}
            """
        )
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(BASE_DIR)]),
            "DJANGO_SETTINGS_MODULE": "worker_settings",
            "DJANGO_TESTING": "1",
            "DATABASE_URL": database_url,
            "Q_SYNC": "0",
        }
    )
    if _postgres_url() is None:
        env.pop("REDIS_URL", None)  # SQLite run: the ORM broker in the same file
    return env


def _manage(env: dict[str, str], *args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _outbox_status(database_url: str, outbox_id: int) -> tuple[str, int]:
    query = "SELECT status, attempts FROM intake_emailoutbox WHERE id = %s"
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=10) as conn:
            row = conn.execute(query.replace("%s", "?"), (outbox_id,)).fetchone()
    else:
        import psycopg

        with psycopg.connect(database_url) as conn:
            row = conn.execute(query, (outbox_id,)).fetchone()
    assert row is not None
    return str(row[0]), int(row[1])


def _sent_subjects(mail_dir: Path) -> list[str]:
    return [
        line
        for path in sorted(mail_dir.iterdir())
        for line in path.read_text().splitlines()
        if line.startswith("Subject: ")
    ]


@pytest.fixture
def running_worker(tmp_path, worker_env) -> Iterator[subprocess.Popen[bytes]]:
    _manage(worker_env, "migrate", "--noinput")
    log = (tmp_path / "qcluster.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=BASE_DIR,
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so its workers are stopped with it
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()


def test_a_real_worker_sends_one_acknowledgement_for_repeated_enqueues(
    tmp_path, worker_env, database_url, running_worker
):
    enqueued = _manage(worker_env, "shell", "-c", ENQUEUE_SCRIPT)
    report = json.loads(enqueued.stdout.strip().splitlines()[-1])
    outbox_id, tasks = report["outbox_id"], report["tasks"]
    assert tasks >= 2  # at least the first enqueue and the duplicate

    deadline = time.monotonic() + WAIT_SECONDS
    status, attempts = _outbox_status(database_url, outbox_id)
    while status != "sent" and time.monotonic() < deadline:
        assert running_worker.poll() is None, (tmp_path / "qcluster.log").read_text()
        time.sleep(0.5)
        status, attempts = _outbox_status(database_url, outbox_id)
    assert status == "sent", f"still {status} after {WAIT_SECONDS}s\n" + (tmp_path / "qcluster.log").read_text()

    # Wait until the worker has run every queued task (the second enqueue queues one only if the first
    # has not been sent yet), then count the mail.
    log_path = tmp_path / "qcluster.log"
    while log_path.read_text().count("Processed 'intake.tasks.outbox_send'") < tasks and time.monotonic() < deadline:
        time.sleep(0.5)
    assert log_path.read_text().count("Processed 'intake.tasks.outbox_send'") == tasks, log_path.read_text()
    assert _sent_subjects(tmp_path / "mail") == ["Subject: Partnership Practice Alert received: PA-7K3M-Q9XD"]
    assert _outbox_status(database_url, outbox_id) == ("sent", 1)
    assert attempts == 1
