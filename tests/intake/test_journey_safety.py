"""Drafts, tabs, replays and tampering: the journeys fail safe with a clear page, never a 500."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from intake import steps
from intake.models import Draft, EmailKind, EmailOutbox, FormType, Person, Referral
from tests.intake.journey_walk import (
    Journey,
    about_you,
    child,
    formset,
    practice_alert_answers,
    step_post,
)
from triage.services import reference_data_load


@pytest.fixture(autouse=True)
def _agencies(db):
    reference_data_load()


# --- Two tabs and other browsers -------------------------------------------------------


def test_two_tabs_of_the_same_journey_keep_separate_answers(client):
    first = Journey(client)
    second = Journey(client)

    first.post(steps.ABOUT_YOU, about_you(full_name="First Tab"))
    second.post(steps.ABOUT_YOU, about_you(full_name="Second Tab"))

    assert 'value="First Tab"' in first.get(steps.ABOUT_YOU).content.decode()
    assert 'value="Second Tab"' in second.get(steps.ABOUT_YOU).content.decode()
    assert "Second Tab" not in str(first.draft.data)
    assert "First Tab" not in str(second.draft.data)


def test_two_tabs_each_send_their_own_referral(client):
    first = Journey(client)
    second = Journey(client)
    first.walk(practice_alert_answers(), until=steps.DECLARATION)
    second.walk(practice_alert_answers(**{steps.CHILDREN: formset([child(given_name="Other")])}))
    first.walk(practice_alert_answers())

    names = sorted(Person.objects.filter(role="child").values_list("given_name", flat=True))
    assert names == ["Ada", "Other"]


def test_another_browser_cannot_open_a_draft_by_its_url(client):
    journey = Journey(client)
    journey.post(steps.ABOUT_YOU, about_you(full_name="Private Name"))

    stranger = Client()
    for response in (
        stranger.get(journey.base),
        stranger.get(journey.url(steps.ABOUT_YOU)),
        stranger.post(journey.url(steps.SAFEGUARDING_LEAD), step_post(steps.SAFEGUARDING_LEAD, {"consulted": "no"})),
    ):
        assert response.status_code == 404
        assert "Private Name" not in response.content.decode()
        assert "Page not found" in response.content.decode()
    assert "safeguarding-lead" not in journey.draft.data["wizard"]["step_data"]


def test_a_draft_cannot_be_opened_under_the_other_form_type(client):
    journey = Journey(client, FormType.PRACTICE_ALERT)

    assert client.get(f"/case_review/{journey.key}/{steps.ABOUT_YOU}/").status_code == 404


# --- Idempotent submission ------------------------------------------------------------


def test_a_double_click_on_send_creates_one_referral_and_both_land_on_the_confirmation(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.DECLARATION)
    declaration = practice_alert_answers()[steps.DECLARATION]

    first = journey.post(steps.DECLARATION, declaration)
    second = journey.post(steps.DECLARATION, declaration)

    assert Referral.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert "/confirmation/" in second["Location"]


def test_back_then_send_again_lands_on_the_same_confirmation(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers())
    confirmation = journey.url("confirmation")

    assert journey.get(steps.DECLARATION)["Location"] == confirmation
    assert journey.get(steps.CHECK_ANSWERS)["Location"] == confirmation
    assert journey.post(steps.CHECK_ANSWERS, {})["Location"] == confirmation
    assert Referral.objects.count() == 1


def test_a_sent_draft_refuses_changes_with_a_clear_page(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers())

    response = journey.post(steps.ABOUT_YOU, about_you(full_name="Changed"))

    assert response.status_code == 410
    assert "You have already sent this form" in response.content.decode()
    assert Referral.objects.get().referrer.full_name == "Sam Referrer"


def test_a_sent_draft_keeps_no_answers(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers())

    draft = journey.draft
    assert draft.submitted_at is not None
    assert "Sam Referrer" not in str(draft.data)
    assert "wizard" not in draft.data


def test_a_database_error_while_sending_keeps_every_answer(client, monkeypatch):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.DECLARATION)

    def broken(**kwargs):
        raise DatabaseError("database went away")

    monkeypatch.setattr("intake.wizard.referral_submit", broken)
    response = journey.post(steps.DECLARATION, practice_alert_answers()[steps.DECLARATION])

    assert response.status_code == 503
    assert "Your answers have been saved" in response.content.decode()
    stored = journey.draft.data["wizard"]["step_data"]
    assert stored[steps.ABOUT_YOU]["about-you-full_name"] == ["Sam Referrer"]
    assert steps.DECLARATION in stored
    monkeypatch.undo()
    assert "/confirmation/" in journey.post(steps.DECLARATION, practice_alert_answers()[steps.DECLARATION])["Location"]
    assert Referral.objects.count() == 1


def test_sending_acknowledges_once_with_no_personal_data(client, django_capture_on_commit_callbacks):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.DECLARATION)

    with django_capture_on_commit_callbacks(execute=True):
        journey.post(steps.DECLARATION, practice_alert_answers()[steps.DECLARATION])
    with django_capture_on_commit_callbacks(execute=True):
        journey.post(steps.DECLARATION, practice_alert_answers()[steps.DECLARATION])

    referral = Referral.objects.get()
    assert EmailOutbox.objects.filter(kind=EmailKind.ACKNOWLEDGEMENT).count() == 1
    acknowledgements = [m for m in mail.outbox if referral.reference in m.subject]
    assert len(acknowledgements) == 1
    message = acknowledgements[0]
    text = f"{message.subject}{message.body}"
    for personal in ("Ada", "Lovelace", "Example Street", "ME4 4TR", "9434765919", "left alone"):
        assert personal not in text


def test_sending_announces_the_referral_by_id_once(client, django_capture_on_commit_callbacks):
    from intake.signals import referral_submitted

    received: list[dict] = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    referral_submitted.connect(receiver, weak=False)
    try:
        journey = Journey(client)
        journey.walk(practice_alert_answers(), until=steps.DECLARATION)
        with django_capture_on_commit_callbacks(execute=True):
            journey.post(steps.DECLARATION, practice_alert_answers()[steps.DECLARATION])
            journey.post(steps.DECLARATION, practice_alert_answers()[steps.DECLARATION])
    finally:
        referral_submitted.disconnect(receiver)

    assert [kwargs["referral_id"] for kwargs in received] == [Referral.objects.get().pk]
    assert set(received[0]) == {"signal", "referral_id"}


# --- Tampered and replayed posts ------------------------------------------------------------


def test_a_post_without_the_management_form_gets_a_clear_400_page(client):
    journey = Journey(client)
    body = step_post(steps.ABOUT_YOU, about_you())
    del body["intake-current_step"]

    response = client.post(journey.url(steps.ABOUT_YOU), body)

    assert response.status_code == 400
    assert "Sorry, there is a problem with this page" in response.content.decode()
    assert journey.draft.data["wizard"]["step_data"] == {}


def test_a_post_whose_management_form_names_another_step_is_refused(client):
    journey = Journey(client)
    body = step_post(steps.ABOUT_YOU, about_you())
    body["intake-current_step"] = steps.DECLARATION

    assert client.post(journey.url(steps.ABOUT_YOU), body).status_code == 400


@pytest.mark.parametrize("step", ["no-such-step", "confirmation-x"])
def test_an_unknown_step_gets_a_clear_404_page(client, step):
    journey = Journey(client)

    for response in (journey.get(step), journey.post(step, {})):
        assert response.status_code == 404
        assert "Page not found" in response.content.decode()


def test_a_step_skipped_by_an_earlier_answer_cannot_be_posted(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(**{steps.SAFEGUARDING_LEAD: {"consulted": "no"}}), until=steps.EVENT)

    response = journey.post(steps.LEAD_DETAILS, practice_alert_answers()[steps.LEAD_DETAILS])

    assert response.status_code == 404
    assert "This question does not apply" in response.content.decode()
    assert steps.LEAD_DETAILS not in journey.draft.data["wizard"]["step_data"]


def test_a_case_review_step_cannot_be_posted_to_a_practice_alert(client):
    journey = Journey(client)

    assert journey.post(steps.PARALLEL_PROCESSES, {"police_investigation": "yes"}).status_code == 404


@pytest.mark.parametrize("action", ["remove-7", "remove-x", "delete-everything"])
def test_a_tampered_button_value_is_refused(client, action):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.CHILDREN)

    response = journey.post(steps.CHILDREN, formset([child()]), action=action)

    assert response.status_code == 400


def test_a_formset_post_without_its_management_form_is_refused(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.CHILDREN)
    body = {k: v for k, v in step_post(steps.CHILDREN, formset([child()])).items() if "FORMS" not in k}

    assert client.post(journey.url(steps.CHILDREN), body).status_code == 400


def test_a_formset_post_claiming_a_thousand_children_is_capped(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.CHILDREN)
    body = step_post(steps.CHILDREN, formset([child()]))
    body["children-TOTAL_FORMS"] = "1000"

    response = client.post(journey.url(steps.CHILDREN), body)

    assert response.status_code == 200
    assert "You can add up to 10 children" in response.content.decode()


def test_an_expired_draft_gets_a_clear_410_page(client):
    journey = Journey(client)
    Draft.objects.filter(key=journey.key).update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    for response in (journey.get(steps.ABOUT_YOU), journey.post(steps.ABOUT_YOU, about_you())):
        assert response.status_code == 410
        assert "This form has expired" in response.content.decode()


def test_a_corrupt_draft_document_starts_the_wizard_afresh_rather_than_failing(client):
    journey = Journey(client)
    Draft.objects.filter(key=journey.key).update(data={"wizard": "nonsense", "partial": [1], "meta": None})

    assert journey.get(steps.ABOUT_YOU).status_code == 200
    assert journey.post(steps.ABOUT_YOU, about_you()).status_code == 302


# --- Escaping ----------------------------------------------------------------------------------

SCRIPT = '<script>alert("x")</script><b onmouseover=alert(1)>'


def test_html_typed_in_any_field_is_stored_as_typed_and_shown_escaped(client):
    journey = Journey(client)
    answers = practice_alert_answers(
        **{
            steps.ABOUT_YOU: about_you(full_name=SCRIPT, team=SCRIPT),
            steps.CHILDREN: formset([child(given_name=SCRIPT, aliases=SCRIPT)]),
            steps.WHAT_HAPPENED: {"what_happened": SCRIPT, "impact_on_child": SCRIPT},
        }
    )
    journey.walk(answers, until=steps.CHECK_ANSWERS)

    for page in (journey.get(steps.CHECK_ANSWERS), journey.get(steps.ABOUT_YOU), journey.get(steps.CHILDREN)):
        html = page.content.decode()
        assert "<script>alert" not in html
        assert "<b onmouseover" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    journey.walk(answers)
    referral = Referral.objects.get()
    assert referral.referrer.full_name == SCRIPT
    assert referral.what_happened == SCRIPT
    assert referral.people.get(role="child").given_name == SCRIPT


# --- Save and come back later -------------------------------------------------------------------


def test_save_and_come_back_later_emails_a_single_use_link_that_reopens_the_answers(
    client, django_capture_on_commit_callbacks
):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.WHAT_HAPPENED)
    # Half-typed and not yet valid: kept all the same.
    response = journey.post(steps.WHAT_HAPPENED, {"what_happened": "Half typed", "impact_on_child": ""}, action="save")
    assert response["Location"] == f"{journey.base}save/?from={steps.WHAT_HAPPENED}"
    save_page = client.get(response["Location"]).content.decode()
    assert 'value="sam.referrer@nhs.net"' in save_page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response["Location"], {"email": "sam.referrer@nhs.net"})
    assert response["Location"] == f"{journey.base}saved/"
    assert "sam.referrer@nhs.net" in client.get(response["Location"]).content.decode()

    outbox = EmailOutbox.objects.get(kind=EmailKind.RESUME_LINK)
    assert outbox.draft_id == journey.draft.pk
    assert outbox.to_email == "sam.referrer@nhs.net"
    (message,) = [m for m in mail.outbox if m.to == ["sam.referrer@nhs.net"]]
    found = re.search(r"https?://[^/\s]+(/resume/[A-Za-z0-9_-]+/)", str(message.body))
    assert found is not None
    link = found.group(1)
    assert "Half typed" not in message.body

    other_browser = Client()
    assert other_browser.get(journey.url(steps.WHAT_HAPPENED)).status_code == 404
    assert other_browser.get(link).status_code == 200  # a page with a button: scanners do not use the link up
    opened = other_browser.post(link)
    assert opened["Location"] == journey.base
    resumed = other_browser.get(other_browser.get(journey.base)["Location"])
    page = resumed.content.decode()
    assert "Half typed" in page
    assert "There is a problem" not in page

    again = Client().post(link)
    assert again.status_code == 410
    assert "This link has expired or has already been used" in again.content.decode()


def test_save_for_later_refuses_a_non_partner_email_with_what_to_do_instead(client, settings):
    settings.PARTNER_EMAIL_POLICY = "refuse"
    journey = Journey(client)

    response = client.post(f"{journey.base}save/", {"email": "someone@gmail.com"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter a secure work email address from a partner agency" in page
    assert settings.BUSINESS_UNIT_PHONE in page
    assert not EmailOutbox.objects.exists()


def test_an_unknown_resume_token_gets_a_clear_410_page(client):
    response = client.post("/resume/not-a-real-token/")

    assert response.status_code == 410


# --- Session timeout ---------------------------------------------------------------------------


def test_question_pages_carry_the_timeout_warning_without_inline_script(client, settings):
    settings.SESSION_COOKIE_AGE = 1800
    settings.SESSION_WARNING_SECONDS = 120
    journey = Journey(client)

    page = journey.get(steps.ABOUT_YOU).content.decode()

    assert 'data-timeout-seconds="1800"' in page
    assert 'data-warning-seconds="120"' in page
    assert 'src="/static/js/session-timeout.mjs"' in page
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert " style=" not in page


def test_continue_in_the_timeout_warning_extends_the_session(client, settings):
    journey = Journey(client)

    response = client.post("/session/extend/")

    assert response.status_code == 200
    assert response.json() == {"expires_in": settings.SESSION_COOKIE_AGE}
    assert client.get("/session/extend/").status_code == 405
    assert journey.get(steps.ABOUT_YOU).status_code == 200


def test_timing_out_keeps_the_page_emails_a_way_back_and_signs_out(client, django_capture_on_commit_callbacks):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.WHAT_HAPPENED)

    with django_capture_on_commit_callbacks(execute=True):
        response = journey.post(steps.WHAT_HAPPENED, {"what_happened": "Typed before timeout"}, action="timeout")

    assert response["Location"] == "/session/timed-out/?emailed=1"
    page = client.get(response["Location"]).content.decode()
    assert "Your answers have been saved" in page
    assert "We have sent a link to the work email address" in page
    assert journey.get(steps.WHAT_HAPPENED).status_code == 404  # signed out
    assert journey.draft.data["partial"][steps.WHAT_HAPPENED]["what-happened-what_happened"] == ["Typed before timeout"]
    assert EmailOutbox.objects.filter(kind=EmailKind.RESUME_LINK, to_email="sam.referrer@nhs.net").count() == 1
