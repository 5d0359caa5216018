"""Emails the intake journeys send: what is queued, and how each outbox row becomes a message.

Emails carry a reference, the form type, dates and links only: never a child's or family member's
name, date of birth, address or any free text (NHS guidance, domain.md 5.3). ESP tags and
metadata hold the outbox id and kind only, because ESPs keep them long-term.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from intake.context_processors import service_settings
from intake.models import Draft, EmailKind, EmailOutbox, OutboxStatus, Referral
from intake.outbox import EmailNotBuildable, outbox_message_enqueue, outbox_message_get_or_create
from intake.resume import resume_token_issue

logger = logging.getLogger(__name__)

# Agreed with the wizard views, which serve the link at this path.
RESUME_PATH = "/resume/{token}/"


def _service_url(path: str = "/") -> str:
    return str(settings.PUBLIC_BASE_URL or "").rstrip("/") + path


def acknowledgement_dedupe_key(*, referral_id: int) -> str:
    return f"acknowledgement:{referral_id}"


def acknowledgement_enqueue(*, referral_id: int) -> None:
    """Record the referrer's acknowledgement in the outbox (once per referral) and queue its send."""
    referral = Referral.objects.select_related("referrer").filter(pk=referral_id).first()
    referrer = getattr(referral, "referrer", None) if referral is not None else None
    if referral is None or referrer is None or not referrer.email:
        logger.warning("No acknowledgement for referral id=%s: no referrer email", referral_id)
        return
    message, _ = outbox_message_get_or_create(
        kind=EmailKind.ACKNOWLEDGEMENT,
        dedupe_key=acknowledgement_dedupe_key(referral_id=referral_id),
        to_email=referrer.email,
        referral_id=referral_id,
    )
    if message.status in (OutboxStatus.PENDING, OutboxStatus.FAILED):
        outbox_message_enqueue(outbox_id=message.pk)


def resume_link_request(*, draft_id: int, email: str) -> None:
    """Queue the "come back later" email; its single-use link is made when it is sent.

    Raises ValidationError for a malformed address and Draft.DoesNotExist for an unknown draft;
    a submitted or expired draft is refused with ValidationError.
    """
    email = (email or "").strip()
    validate_email(email)
    now = timezone.now()
    with transaction.atomic():
        # Row lock (PostgreSQL; SQLite serialises writers) so a double click queues one message.
        draft = Draft.objects.select_for_update().get(pk=draft_id)
        if draft.submitted_at is not None or draft.expires_at <= now:
            raise ValidationError("This form has already been sent or has expired", code="draft_closed")
        # The link is promised for the full retention period from now.
        draft.expires_at = max(draft.expires_at, now + timedelta(days=settings.DRAFT_RETENTION_DAYS))
        draft.resume_email = email
        draft.save(update_fields=["expires_at", "resume_email", "updated_at"])
        message = (
            EmailOutbox.objects.filter(
                kind=EmailKind.RESUME_LINK, draft=draft, status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED]
            )
            .order_by("-pk")
            .first()
        )
        if message is not None:
            # Not sent yet: send that one to the latest address rather than a second email.
            message.to_email = email
            message.save(update_fields=["to_email"])
        else:
            message, _ = outbox_message_get_or_create(
                kind=EmailKind.RESUME_LINK,
                dedupe_key=f"resume_link:{draft.pk}:{uuid.uuid4().hex}",
                to_email=email,
                draft_id=draft.pk,
            )
        outbox_message_enqueue(outbox_id=message.pk)


def _message(*, outbox: EmailOutbox, subject: str, template: str, context: dict[str, object]) -> AnymailMessage:
    context = {**service_settings(), "service_url": _service_url(), **context}
    email = AnymailMessage(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outbox.to_email],
        reply_to=[settings.BUSINESS_UNIT_EMAIL],
        # ESPs keep tags and metadata long-term: ids and kinds only.
        tags=[outbox.kind],
        metadata={"outbox_id": str(outbox.pk), "kind": outbox.kind},
        # Click tracking would route links (and resume tokens) through the ESP's servers.
        track_clicks=False,
        track_opens=False,
    )
    email.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return email


def _acknowledgement(outbox: EmailOutbox) -> AnymailMessage:
    referral = Referral.objects.filter(pk=outbox.referral_id).first() if outbox.referral_id else None
    if referral is None:
        raise EmailNotBuildable("ReferralGone")
    form_type = referral.get_form_type_display()
    return _message(
        outbox=outbox,
        subject=f"{form_type} received: {referral.reference}",
        template="acknowledgement",
        context={
            "reference": referral.reference,
            "form_type": form_type,
            "submitted_at": timezone.localtime(referral.submitted_at),
            "review_working_days": settings.BUSINESS_UNIT_REVIEW_WORKING_DAYS,
        },
    )


def _resume_link(outbox: EmailOutbox) -> AnymailMessage:
    draft = Draft.objects.filter(pk=outbox.draft_id).first() if outbox.draft_id else None
    if draft is None:
        raise EmailNotBuildable("DraftGone")
    if draft.submitted_at is not None:
        raise EmailNotBuildable("DraftSubmitted")
    if draft.expires_at <= timezone.now():
        raise EmailNotBuildable("DraftExpired")
    # Made now, not when queued: the raw token is never in task arguments or the database, and a
    # retry replaces the hash so only the link in the email that went out can work.
    token = resume_token_issue(draft_id=draft.pk)
    form_type = draft.get_form_type_display()
    return _message(
        outbox=outbox,
        subject=f"Continue your {form_type}",
        template="resume_link",
        context={
            "form_type": form_type,
            "resume_url": _service_url(RESUME_PATH.format(token=token)),
            "expires_at": timezone.localtime(draft.expires_at),
        },
    )


_BUILDERS: dict[str, Callable[[EmailOutbox], AnymailMessage]] = {
    EmailKind.ACKNOWLEDGEMENT: _acknowledgement,
    EmailKind.RESUME_LINK: _resume_link,
}


def email_build(outbox: EmailOutbox) -> AnymailMessage:
    """Build the message for an outbox row (called by the send task after it claims the row)."""
    builder = _BUILDERS.get(outbox.kind)
    if builder is None:
        raise EmailNotBuildable("UnknownKind")
    return builder(outbox)
