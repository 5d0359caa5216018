"""The acknowledgement and resume-link emails: content, once-only sending and no personal data."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.models import OrmQ
from django_q.signals import pre_enqueue

from intake.emails import acknowledgement_enqueue, resume_link_request
from intake.models import (
    Draft,
    EmailKind,
    EmailOutbox,
    FormType,
    OutboxStatus,
    Person,
    PersonRole,
    Referral,
)
from intake.resume import draft_from_resume_token, resume_token_hash
from intake.tasks import outbox_send
from tests.factories import DraftFactory, ReferralFactory, ReferrerFactory

# Distinctive values: if any of them shows up in an email, a log line or a task payload, it leaked.
CHILD_GIVEN = "Zebediah"
CHILD_FAMILY = "Quartermaine-Oyelaran"
CHILD_ALIAS = "Zeb Fairweather-Nkemelu"
MOTHER_GIVEN = "Philippa"
CHILD_DOB = dt.date(2016, 3, 29)
ADDRESS = "17 Wisteria Crescent, Lower Grimsditch"
POSTCODE = "ME4 4TR"
NHS_NUMBER = "9434765919"
NARRATIVE = "Xylophonic bathwater incident near the aviary"
REFERRER_NAME = "Ottoline Brackenbury"
PERSONAL_DATA = [
    CHILD_GIVEN,
    CHILD_FAMILY,
    CHILD_ALIAS,
    MOTHER_GIVEN,
    "2016-03-29",
    "29 March 2016",
    "29/03/2016",
    ADDRESS,
    "Wisteria",
    POSTCODE,
    "ME44TR",
    NHS_NUMBER,
    NARRATIVE,
    "Xylophonic",
    REFERRER_NAME,
    "Brackenbury",
]


def draft_with_answers(**kwargs: object) -> Draft:
    """A case review draft whose saved answers carry the distinctive values."""
    fields = {"form_type": FormType.CASE_REVIEW, "data": {"child_given_name": CHILD_GIVEN, "what_happened": NARRATIVE}}
    return DraftFactory.create(**{**fields, **kwargs})


def referral_with_people(**kwargs: object) -> Referral:
    """A referral whose child, mother, narrative and referrer all carry the distinctive values."""
    referral: Referral = ReferralFactory.create(
        **{"what_happened": NARRATIVE, "learning_identified": NARRATIVE, **kwargs}
    )
    ReferrerFactory.create(referral=referral, full_name=REFERRER_NAME)
    Person.objects.create(
        referral=referral,
        position=1,
        role=PersonRole.CHILD,
        given_name=CHILD_GIVEN,
        family_name=CHILD_FAMILY,
        aliases=[CHILD_ALIAS],
        date_of_birth=CHILD_DOB,
        address_line=ADDRESS,
        postcode=POSTCODE,
        nhs_number=NHS_NUMBER,
    )
    Person.objects.create(
        referral=referral, position=2, role=PersonRole.MOTHER, given_name=MOTHER_GIVEN, family_name=CHILD_FAMILY
    )
    return referral


def sent(index: int) -> Any:
    """A message the test ESP received (Any: anymail adds attributes Django's stubs do not know)."""
    return mail.outbox[index]


def assert_no_personal_data(text: str, where: str) -> None:
    lowered = text.lower()
    for value in PERSONAL_DATA:
        assert value.lower() not in lowered, f"{value!r} found in {where}"


def email_texts(message: Any) -> dict[str, str]:
    texts = {"subject": str(message.subject), "body": str(message.body), "headers": repr(message.extra_headers)}
    for index, (content, _mimetype) in enumerate(getattr(message, "alternatives", [])):
        texts[f"alternative {index}"] = str(content)
    params = getattr(message, "anymail_test_params", {})
    texts["esp tags"] = repr(params.get("tags"))
    texts["esp metadata"] = repr(params.get("metadata"))
    return texts


@pytest.fixture(autouse=True)
def anymail_test_backend(settings):
    # Django's test set-up swaps EMAIL_BACKEND for locmem; use anymail's test ESP to see tags and metadata.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"


@pytest.fixture
def enqueued_tasks():
    """Every django-q2 task as it is enqueued (function, args, kwargs), before it is signed."""
    captured: list[dict] = []

    @receiver(pre_enqueue, weak=False)
    def _capture(sender, task, **kwargs):
        captured.append(task)

    yield captured
    pre_enqueue.disconnect(_capture)


@pytest.mark.django_db
def test_acknowledgement_goes_to_the_referrer_with_reference_form_type_date_and_next_steps(
    settings, django_capture_on_commit_callbacks
):
    settings.BUSINESS_UNIT_PHONE = "01632 111 222"
    settings.FRONT_DOOR_PHONE = "01632 333 444"
    settings.BUSINESS_UNIT_REVIEW_WORKING_DAYS = 3
    settings.PUBLIC_BASE_URL = "https://referrals.example.gov.uk"
    referral = referral_with_people(submitted_at=timezone.make_aware(dt.datetime(2026, 1, 14, 9, 30)))

    with django_capture_on_commit_callbacks(execute=True):
        acknowledgement_enqueue(referral_id=referral.pk)

    assert len(mail.outbox) == 1
    message = sent(0)
    assert message.to == [referral.referrer.email]
    assert message.subject == f"Partnership Practice Alert received: {referral.reference}"
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert referral.reference in body
        assert "Partnership Practice Alert" in body
        assert "14 January 2026" in body
        assert "within 3 working days" in body
        assert "01632 111 222" in body
        assert "999" in body
        assert "01632 333 444" in body
        assert "https://referrals.example.gov.uk/" in body
    assert message.alternatives[0][1] == "text/html"


@pytest.mark.django_db
def test_case_review_acknowledgement_names_its_form_type_in_the_subject(django_capture_on_commit_callbacks):
    referral = referral_with_people(form_type=FormType.CASE_REVIEW)

    with django_capture_on_commit_callbacks(execute=True):
        acknowledgement_enqueue(referral_id=referral.pk)

    assert sent(0).subject == f"Case review referral received: {referral.reference}"
    assert referral.reference.startswith("CR-")


@pytest.mark.django_db
def test_acknowledgement_records_the_esp_message_id_and_marks_the_row_sent(django_capture_on_commit_callbacks):
    referral = referral_with_people()

    with django_capture_on_commit_callbacks(execute=True):
        acknowledgement_enqueue(referral_id=referral.pk)

    row = EmailOutbox.objects.get(referral=referral)
    assert row.kind == EmailKind.ACKNOWLEDGEMENT
    assert row.dedupe_key == f"acknowledgement:{referral.pk}"
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 1
    assert row.sent_at is not None
    assert row.esp_message_id == str(sent(0).anymail_status.message_id)


@pytest.mark.django_db
def test_enqueueing_and_running_the_task_repeatedly_sends_one_acknowledgement(django_capture_on_commit_callbacks):
    referral = referral_with_people()

    with django_capture_on_commit_callbacks(execute=True):
        acknowledgement_enqueue(referral_id=referral.pk)
        acknowledgement_enqueue(referral_id=referral.pk)
    row = EmailOutbox.objects.get(referral=referral)
    # A duplicated or retried task (django-q redelivery) finds the row already sent.
    assert outbox_send(row.pk) == "skipped"
    assert outbox_send(row.pk) == "skipped"
    with django_capture_on_commit_callbacks(execute=True):
        acknowledgement_enqueue(referral_id=referral.pk)

    assert len(mail.outbox) == 1
    assert EmailOutbox.objects.filter(referral=referral).count() == 1


@pytest.mark.django_db
def test_acknowledgement_for_a_referral_without_a_referrer_queues_nothing(django_capture_on_commit_callbacks):
    referral = ReferralFactory.create()

    with django_capture_on_commit_callbacks(execute=True):
        acknowledgement_enqueue(referral_id=referral.pk)
        acknowledgement_enqueue(referral_id=referral.pk + 1000)

    assert EmailOutbox.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_acknowledgement_holds_no_child_family_or_narrative_details_anywhere(
    caplog, enqueued_tasks, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    referral = referral_with_people()

    with django_capture_on_commit_callbacks(execute=True):
        acknowledgement_enqueue(referral_id=referral.pk)

    assert len(mail.outbox) == 1
    for where, text in email_texts(sent(0)).items():
        assert_no_personal_data(text, where)
    params = sent(0).anymail_test_params
    row = EmailOutbox.objects.get(referral=referral)
    assert params["tags"] == ["acknowledgement"]
    assert params["metadata"] == {"outbox_id": str(row.pk), "kind": "acknowledgement"}
    assert params["track_clicks"] is False
    assert enqueued_tasks, "the send went through the task queue"
    for task in enqueued_tasks:
        assert task["args"] == (row.pk,)
        assert task["kwargs"] == {}
        assert_no_personal_data(repr(task), "task payload")
    assert caplog.records, "the flow logs something, so this check has something to look at"
    for record in caplog.records:
        assert_no_personal_data(record.getMessage(), f"log record from {record.name}")
    assert_no_personal_data(str(row), "EmailOutbox.__str__")


@pytest.mark.django_db
def test_the_queued_orm_broker_payload_holds_only_the_outbox_id(monkeypatch, django_capture_on_commit_callbacks):
    # Queue for real (not inline) on the ORM broker and read back what a worker would receive.
    monkeypatch.setattr("django_q.tasks.Conf.SYNC", False)
    monkeypatch.setattr("intake.outbox._broker", lambda: ORM(list_key="pii-check"))
    referral = referral_with_people()

    with django_capture_on_commit_callbacks(execute=True):
        acknowledgement_enqueue(referral_id=referral.pk)

    assert mail.outbox == []
    queued = OrmQ.objects.get(key="pii-check")
    task = queued.task
    row = EmailOutbox.objects.get(referral=referral)
    assert task["func"] == "intake.tasks.outbox_send"
    assert task["args"] == (row.pk,)
    assert_no_personal_data(repr(task), "OrmQ task")
    assert_no_personal_data(queued.payload, "OrmQ raw payload")


@pytest.mark.django_db
def test_resume_link_email_carries_a_single_use_link_whose_token_is_stored_only_as_a_hash(
    settings, enqueued_tasks, django_capture_on_commit_callbacks
):
    settings.PUBLIC_BASE_URL = "https://referrals.example.gov.uk"
    draft = draft_with_answers()

    with django_capture_on_commit_callbacks(execute=True):
        resume_link_request(draft_id=draft.pk, email="worker@council.gov.uk")

    assert len(mail.outbox) == 1
    message = sent(0)
    assert message.to == ["worker@council.gov.uk"]
    assert message.subject == "Continue your Case review referral"
    match = re.search(r"https://referrals\.example\.gov\.uk/resume/([A-Za-z0-9_-]+)/", message.body)
    assert match, message.body
    token = match.group(1)
    assert match.group(0) in message.alternatives[0][0]
    draft.refresh_from_db()
    assert draft.resume_token_hash == resume_token_hash(token=token)
    assert draft.resume_email == "worker@council.gov.uk"
    # The raw token is in the email only: not in the database rows, nor in the task arguments.
    for row in (Draft.objects.filter(pk=draft.pk).values().get(), EmailOutbox.objects.values().get()):
        assert token not in repr(row)
    assert all(token not in repr(task) for task in enqueued_tasks)
    for where, text in email_texts(message).items():
        assert_no_personal_data(text, where)

    assert draft_from_resume_token(token=token) == draft
    assert draft_from_resume_token(token=token) is None


@pytest.mark.django_db
def test_resume_link_valid_for_the_retention_period_from_the_request(settings, django_capture_on_commit_callbacks):
    settings.DRAFT_RETENTION_DAYS = 28
    draft = draft_with_answers(expires_at=timezone.now() + dt.timedelta(days=2))

    with django_capture_on_commit_callbacks(execute=True):
        resume_link_request(draft_id=draft.pk, email="worker@council.gov.uk")

    draft.refresh_from_db()
    assert draft.expires_at > timezone.now() + dt.timedelta(days=27, hours=23)
    assert "Your answers will be deleted if you do not continue" in sent(0).body


@pytest.mark.django_db
def test_two_save_requests_before_sending_queue_one_email_to_the_latest_address(django_capture_on_commit_callbacks):
    draft = draft_with_answers()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resume_link_request(draft_id=draft.pk, email="first@council.gov.uk")
        resume_link_request(draft_id=draft.pk, email="second@council.gov.uk")
    for callback in callbacks:
        callback()

    assert EmailOutbox.objects.filter(kind=EmailKind.RESUME_LINK).count() == 1
    assert [message.to for message in mail.outbox] == [["second@council.gov.uk"]]


@pytest.mark.django_db
def test_a_new_resume_link_stops_the_previous_one_working(django_capture_on_commit_callbacks):
    draft = draft_with_answers()

    with django_capture_on_commit_callbacks(execute=True):
        resume_link_request(draft_id=draft.pk, email="worker@council.gov.uk")
    with django_capture_on_commit_callbacks(execute=True):
        resume_link_request(draft_id=draft.pk, email="worker@council.gov.uk")

    first, second = (re.findall(r"/resume/([A-Za-z0-9_-]+)/", str(m.body))[0] for m in mail.outbox)
    assert first != second
    assert draft_from_resume_token(token=first) is None
    assert draft_from_resume_token(token=second) == draft


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["", "not-an-email", "a@b@c.gov.uk", "worker@council.gov.uk\nBcc: x@y.com"])
def test_resume_link_request_refuses_a_malformed_address(email):
    draft = draft_with_answers()

    with pytest.raises(ValidationError):
        resume_link_request(draft_id=draft.pk, email=email)

    assert EmailOutbox.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["submitted", "expired"])
def test_resume_link_request_refuses_a_closed_draft(state):
    now = timezone.now()
    draft = draft_with_answers(
        submitted_at=now if state == "submitted" else None,
        expires_at=now - dt.timedelta(minutes=1) if state == "expired" else now + dt.timedelta(days=1),
    )

    with pytest.raises(ValidationError, match="already been sent or has expired"):
        resume_link_request(draft_id=draft.pk, email="worker@council.gov.uk")

    assert EmailOutbox.objects.count() == 0


@pytest.mark.django_db
def test_resume_link_for_a_draft_submitted_before_sending_gives_up_without_sending(django_capture_on_commit_callbacks):
    draft = draft_with_answers()
    with django_capture_on_commit_callbacks(execute=False):
        resume_link_request(draft_id=draft.pk, email="worker@council.gov.uk")
    Draft.objects.filter(pk=draft.pk).update(submitted_at=timezone.now())

    row = EmailOutbox.objects.get()
    assert outbox_send(row.pk) == "gave_up"

    row.refresh_from_db()
    assert row.last_error == "DraftSubmitted"
    assert mail.outbox == []
