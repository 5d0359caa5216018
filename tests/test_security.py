"""Security checks across the app: headers, staff sign-in, and no personal data in __str__ or admin."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from intake.models import AgencyInvolvement, EmailKind, EmailOutbox
from intake.resume import draft_from_resume_token, resume_token_issue
from tests.intake.test_emails import (
    CHILD_FAMILY,
    assert_no_personal_data,
    draft_with_answers,
    referral_with_people,
)


@pytest.mark.django_db
def test_pages_send_security_headers(client):
    response = client.get(reverse("intake:start"))

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.django_db
def test_no_model_str_shows_personal_data():
    referral = referral_with_people()
    AgencyInvolvement.objects.create(referral=referral, agency_name="School", contact=f"Mrs {CHILD_FAMILY}")
    draft = draft_with_answers(resume_email="worker@council.gov.uk")
    outbox = EmailOutbox.objects.create(kind=EmailKind.RESUME_LINK, dedupe_key="x", draft=draft, to_email="a@nhs.net")

    objects = [referral, referral.referrer, *referral.people.all(), *referral.agencies_involved.all(), draft, outbox]
    for obj in objects:
        assert_no_personal_data(str(obj), f"{type(obj).__name__}.__str__")
        assert "@" not in str(obj), f"{type(obj).__name__}.__str__ shows an email address"


@pytest.mark.django_db
def test_staff_sign_in_refuses_a_user_without_a_staff_role(client, django_user_model):
    django_user_model.objects.create_user(username="partner", password="correct horse battery")

    response = client.post(reverse("staff_login"), {"username": "partner", "password": "correct horse battery"})

    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session
    assert "staff account" in response.content.decode()


@pytest.mark.django_db
def test_staff_sign_in_admits_a_staff_user(client, django_user_model):
    django_user_model.objects.create_user(username="officer", password="correct horse battery", is_staff=True)

    response = client.post(reverse("staff_login"), {"username": "officer", "password": "correct horse battery"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"]


@pytest.mark.django_db
def test_the_outbox_admin_does_not_show_recipient_addresses(client, django_user_model):
    referral = referral_with_people()
    row = EmailOutbox.objects.create(
        kind=EmailKind.ACKNOWLEDGEMENT, dedupe_key="ack", referral=referral, to_email=referral.referrer.email
    )
    client.force_login(django_user_model.objects.create_superuser(username="lead", password="correct horse battery"))

    for url in (
        reverse("admin:intake_emailoutbox_changelist"),
        reverse("admin:intake_emailoutbox_change", args=[row.pk]),
    ):
        body = client.get(url).content.decode()
        assert referral.referrer.email not in body
        assert_no_personal_data(body, url)


@pytest.mark.django_db
def test_resuming_a_draft_logs_no_token(caplog):
    caplog.set_level(logging.DEBUG)
    draft = draft_with_answers()
    token = resume_token_issue(draft_id=draft.pk)

    assert draft_from_resume_token(token=token) == draft

    assert caplog.records
    assert all(token not in record.getMessage() for record in caplog.records)


def test_no_public_template_or_intake_code_turns_off_html_escaping():
    """Answers are shown as typed but always escaped: nothing may mark text safe or switch escaping off.

    Plain-text emails switch it off (they are not HTML) and only ever hold settings and a reference.
    """
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    templates = [
        path
        for folder in ("templates/intake", "templates/includes", "templates/emails")
        for path in (root / folder).rglob("*")
        if path.is_file()
    ]
    code = list((root / "intake").rglob("*.py"))
    assert templates
    assert code
    for path in templates:
        text = path.read_text()
        assert "|safe" not in text, path
        assert "safeseq" not in text, path
        if "autoescape off" in text:
            assert path.suffix == ".txt", path
            assert path.parent.name == "emails", path
    for path in code:
        text = path.read_text()
        assert "mark_safe(" not in text, path
        assert "SafeString(" not in text, path
