"""Resume tokens (single use, hash only, expire with the draft) and the purge of expired drafts."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from intake.models import Draft, EmailKind, EmailOutbox, OutboxStatus
from intake.resume import draft_from_resume_token, drafts_purge_expired, resume_token_hash, resume_token_issue
from intake.tasks import drafts_purge, outbox_send
from tests.factories import ReferralFactory
from tests.intake.test_emails import draft_with_answers


@pytest.mark.django_db
def test_an_issued_token_opens_its_draft_once():
    draft = draft_with_answers()
    token = resume_token_issue(draft_id=draft.pk)

    assert draft_from_resume_token(token=token) == draft
    assert draft_from_resume_token(token=token) is None
    draft.refresh_from_db()
    assert draft.resume_token_used_at is not None


@pytest.mark.django_db
def test_only_the_sha256_of_the_token_is_stored():
    draft = draft_with_answers()
    token = resume_token_issue(draft_id=draft.pk)

    stored = Draft.objects.filter(pk=draft.pk).values().get()
    assert stored["resume_token_hash"] == resume_token_hash(token=token)
    assert len(stored["resume_token_hash"]) == 64
    assert token not in repr(stored)


@pytest.mark.django_db
def test_tokens_are_long_random_and_distinct():
    draft = draft_with_answers()
    tokens = {resume_token_issue(draft_id=draft.pk) for _ in range(20)}

    assert len(tokens) == 20
    assert all(len(token) == 43 for token in tokens)


@pytest.mark.django_db
def test_issuing_a_new_token_revokes_the_old_one():
    draft = draft_with_answers()
    old = resume_token_issue(draft_id=draft.pk)
    new = resume_token_issue(draft_id=draft.pk)

    assert draft_from_resume_token(token=old) is None
    assert draft_from_resume_token(token=new) == draft


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token",
    [
        "",
        "short",
        "A" * 44,  # one character too long
        "a" * 10_000,
        "é" * 43,
        "../../etc/passwd" + "a" * 27,
        "B" * 43,  # well-formed but never issued
    ],
)
def test_unknown_or_malformed_tokens_open_nothing(token):
    draft = draft_with_answers()
    resume_token_issue(draft_id=draft.pk)

    assert draft_from_resume_token(token=token) is None


@pytest.mark.django_db
def test_a_token_stops_working_when_its_draft_expires():
    draft = draft_with_answers(expires_at=timezone.now() + dt.timedelta(days=28))
    token = resume_token_issue(draft_id=draft.pk)

    with time_machine.travel(timezone.now() + dt.timedelta(days=28, minutes=1)):
        assert draft_from_resume_token(token=token) is None
    assert draft_from_resume_token(token=token) == draft


@pytest.mark.django_db
def test_a_token_for_a_submitted_draft_opens_nothing():
    draft = draft_with_answers(submitted_at=timezone.now())
    token = resume_token_issue(draft_id=draft.pk)

    assert draft_from_resume_token(token=token) is None


@pytest.mark.django_db
def test_purge_deletes_expired_drafts_and_keeps_live_ones():
    now = timezone.now()
    expired = [draft_with_answers(expires_at=now - dt.timedelta(seconds=1)) for _ in range(3)]
    live = draft_with_answers(expires_at=now + dt.timedelta(days=1))

    assert drafts_purge_expired(now=now) == 3

    assert list(Draft.objects.values_list("pk", flat=True)) == [live.pk]
    assert not Draft.objects.filter(pk__in=[d.pk for d in expired]).exists()


@pytest.mark.django_db
def test_purge_unlinks_outbox_rows_so_an_unsent_resume_link_gives_up_instead_of_sending(mailoutbox):
    draft = draft_with_answers(expires_at=timezone.now() - dt.timedelta(minutes=5))
    row = EmailOutbox.objects.create(
        kind=EmailKind.RESUME_LINK, dedupe_key="resume_link:x", draft=draft, to_email="worker@council.gov.uk"
    )

    assert drafts_purge() == 1

    row.refresh_from_db()
    assert row.draft_id is None
    assert outbox_send(row.pk) == "gave_up"
    row.refresh_from_db()
    assert (row.status, row.last_error) == (OutboxStatus.GAVE_UP, "DraftGone")
    assert mailoutbox == []


@pytest.mark.django_db
def test_purge_of_a_submitted_draft_keeps_its_referral():
    draft = draft_with_answers(expires_at=timezone.now() - dt.timedelta(minutes=5), submitted_at=timezone.now())
    referral = ReferralFactory.create(draft=draft)

    assert drafts_purge_expired() == 1

    referral.refresh_from_db()
    assert referral.draft_id is None


@pytest.mark.django_db
def test_purge_works_through_more_drafts_than_one_batch(monkeypatch):
    monkeypatch.setattr("intake.resume.PURGE_BATCH_SIZE", 2)
    now = timezone.now()
    Draft.objects.bulk_create(
        [Draft(form_type="case_review", expires_at=now - dt.timedelta(hours=1)) for _ in range(5)]
    )
    draft_with_answers(expires_at=now + dt.timedelta(hours=1))

    assert drafts_purge_expired(now=now) == 5
    assert Draft.objects.count() == 1
