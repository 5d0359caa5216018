"""Reads for the intake app: plain, typed, keyword-only functions."""

from __future__ import annotations

import uuid

from intake.models import Draft, Referral


def draft_get(*, key: uuid.UUID | str) -> Draft | None:
    try:
        return Draft.objects.filter(key=uuid.UUID(str(key))).first()
    except ValueError:
        return None


def referral_for_draft(*, draft: Draft) -> Referral | None:
    return Referral.objects.filter(draft=draft).first()
