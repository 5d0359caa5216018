"""django-q2 tasks for intake. Arguments are ids only; every task is safe to run twice."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings

from intake.emails import email_build
from intake.outbox import outbox_message_deliver, outbox_retry_due
from intake.resume import drafts_purge_expired


def outbox_send(outbox_id: int) -> str:
    """Send one outbox message unless it is already sent or another worker holds it."""
    return outbox_message_deliver(outbox_id=outbox_id, build=email_build).outcome


def outbox_retry() -> int:
    """Scheduled: queue due retries and sends abandoned by a worker that died."""
    return outbox_retry_due()


def drafts_purge() -> int:
    """Scheduled: delete drafts past their expiry (and with them any resume link)."""
    return drafts_purge_expired()


def sessions_clear() -> None:
    """Scheduled: delete expired sessions (they hold draft keys and the address a link was sent to).

    What `manage.py clearsessions` does; the database session store never deletes rows by itself.
    """
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
