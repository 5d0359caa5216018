"""Save and come back later: single-use resume tokens, and the purge of expired drafts.

Only the sha256 of a token is stored (Draft.resume_token_hash); the raw token exists in the
email and nowhere else. A token works once, and only while its draft has not expired or been
submitted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from intake.models import Draft, EmailOutbox

logger = logging.getLogger(__name__)

# secrets.token_urlsafe(32) gives 43 URL-safe characters; anything else is rejected before hashing.
TOKEN_BYTES = 32
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
PURGE_BATCH_SIZE = 500


def resume_token_hash(*, token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def resume_token_issue(*, draft_id: int) -> str:
    """Make a new token for the draft, store its hash (so any earlier link stops working), return it."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    Draft.objects.filter(pk=draft_id).update(
        resume_token_hash=resume_token_hash(token=token), resume_token_used_at=None
    )
    return token


def draft_from_resume_token(*, token: str) -> Draft | None:
    """The draft this token opens, marking the token used; None if unknown, used, expired or submitted."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return None
    digest = resume_token_hash(token=token)
    now = timezone.now()
    draft = Draft.objects.filter(resume_token_hash=digest).first()
    # The lookup is by an index on the hash; compare_digest keeps the final check constant-time.
    if draft is None or not hmac.compare_digest(draft.resume_token_hash, digest):
        return None
    # One conditional UPDATE, so two clicks racing on the same link cannot both succeed.
    used = Draft.objects.filter(
        pk=draft.pk,
        resume_token_hash=digest,
        resume_token_used_at__isnull=True,
        expires_at__gt=now,
        submitted_at__isnull=True,
    ).update(resume_token_used_at=now)
    if not used:
        return None
    draft.refresh_from_db()
    logger.info("Draft id=%s resumed from an emailed link", draft.pk)
    return draft


def drafts_purge_expired(*, now: datetime | None = None) -> int:
    """Delete drafts past expires_at, unlinking outbox rows from them first. Returns drafts deleted."""
    now = now or timezone.now()
    deleted = 0
    while True:
        batch = list(
            Draft.objects.filter(expires_at__lt=now).order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH_SIZE]
        )
        if not batch:
            break
        with transaction.atomic():
            # Re-checked inside the transaction: the wizard may have extended a draft meanwhile.
            expired = Draft.objects.filter(pk__in=batch, expires_at__lt=now)
            # Explicit, not left to on_delete, so an outbox row never points at a purged draft.
            EmailOutbox.objects.filter(draft__in=expired).update(draft=None)
            _, per_model = expired.delete()
        deleted += per_model.get(Draft._meta.label, 0)
        if len(batch) < PURGE_BATCH_SIZE:
            break
    if deleted:
        logger.info("Purged %s expired draft(s)", deleted)
    return deleted
