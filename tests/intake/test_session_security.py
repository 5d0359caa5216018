"""Who can open a draft, how many a browser can start, and what a failure writes to the log."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.conf import settings
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from intake import steps
from intake.models import Draft, FormType
from intake.resume import drafts_purge_expired, resume_token_issue
from intake.wizard import MAX_DRAFT_STARTS_PER_HOUR
from tests.intake.journey_walk import Journey, about_you, practice_alert_answers, step_post
from triage.services import reference_data_load


@pytest.fixture(autouse=True)
def _agencies(db):
    reference_data_load()


def _start(client: Client, form_type: str = FormType.PRACTICE_ALERT):
    return client.get(reverse("intake:start_journey", kwargs={"form_type": form_type}))


# --- Session fixation ---------------------------------------------------------------


def test_a_session_id_planted_before_resuming_cannot_open_the_resumed_draft():
    owner = Client()
    saved = Journey(owner)
    saved.post(steps.ABOUT_YOU, about_you(full_name="Victim Name"))
    token = resume_token_issue(draft_id=saved.draft.pk)
    # The attacker gets a session of their own and plants its id in the victim's browser.
    attacker = Client()
    _start(attacker)
    planted = attacker.cookies[settings.SESSION_COOKIE_NAME].value
    victim = Client()
    victim.cookies[settings.SESSION_COOKIE_NAME] = planted

    resumed = victim.post(reverse("intake:resume", kwargs={"token": token}))

    assert resumed.status_code == 302
    assert victim.cookies[settings.SESSION_COOKIE_NAME].value != planted
    assert victim.get(saved.url(steps.ABOUT_YOU)).status_code == 200
    stolen = attacker.get(saved.url(steps.ABOUT_YOU))
    assert stolen.status_code == 404
    assert "Victim Name" not in stolen.content.decode()


def test_resuming_keeps_the_drafts_this_browser_already_had():
    client = Client()
    own = Journey(client)
    other = Journey(Client())
    token = resume_token_issue(draft_id=other.draft.pk)

    client.post(reverse("intake:resume", kwargs={"token": token}))

    assert client.get(own.url(steps.ABOUT_YOU)).status_code == 200
    assert client.get(other.url(steps.ABOUT_YOU)).status_code == 200


# --- A cap on starting drafts ---------------------------------------------------------


def test_a_browser_that_starts_too_many_drafts_in_an_hour_gets_a_clear_page_and_no_new_draft(client):
    for _ in range(MAX_DRAFT_STARTS_PER_HOUR):
        assert _start(client).status_code == 302

    refused = _start(client, FormType.CASE_REVIEW)

    assert refused.status_code == 429
    assert "You have started too many forms" in refused.content.decode()
    assert Draft.objects.count() == MAX_DRAFT_STARTS_PER_HOUR
    assert _start(Client()).status_code == 302  # another browser is not affected


def test_drafts_started_more_than_an_hour_ago_do_not_count_towards_the_cap(client):
    with time_machine.travel(timezone.now() - dt.timedelta(minutes=61), tick=False):
        for _ in range(MAX_DRAFT_STARTS_PER_HOUR):
            _start(client)

    assert _start(client).status_code == 302


def test_a_draft_nobody_typed_into_is_purged_after_a_day_but_one_with_answers_is_kept(client):
    untouched = Journey(client)
    answered = Journey(client)
    answered.post(steps.ABOUT_YOU, about_you())

    purged = drafts_purge_expired(now=timezone.now() + dt.timedelta(days=1, minutes=1))

    assert purged == 1
    assert not Draft.objects.filter(key=untouched.key).exists()
    kept = Draft.objects.get(key=answered.key)
    assert kept.expires_at > timezone.now() + dt.timedelta(days=settings.DRAFT_RETENTION_DAYS - 1)


# --- What a post may write --------------------------------------------------------------


def test_keys_a_page_does_not_ask_for_are_not_stored_in_the_draft(client):
    journey = Journey(client)
    body = step_post(steps.ABOUT_YOU, about_you())
    body["about-you-injected"] = "x" * 10_000
    body["about-you-\x00"] = "y"

    assert client.post(journey.url(steps.ABOUT_YOU), body).status_code == 302

    stored = journey.draft.data["wizard"]["step_data"][steps.ABOUT_YOU]
    assert "about-you-injected" not in stored
    assert all("\x00" not in key for key in stored)
    assert stored["about-you-full_name"] == ["Sam Referrer"]


@pytest.mark.parametrize("action", ["continue", "save"])
def test_a_nul_character_in_an_answer_is_dropped_not_a_server_error(client, action):
    journey = Journey(client)

    response = journey.post(steps.ABOUT_YOU, about_you(full_name="Sam\x00 Referrer", team="\x00"), action=action)

    assert response.status_code in (200, 302)
    document = journey.draft.data
    kept = document["partial"].get(steps.ABOUT_YOU) or document["wizard"]["step_data"][steps.ABOUT_YOU]
    assert kept["about-you-full_name"] == ["Sam Referrer"]


def test_a_validation_error_keeps_what_was_typed_for_a_back_link(client):
    journey = Journey(client)
    journey.post(steps.ABOUT_YOU, about_you(email="not an email", team="Typed team"))

    journey.client.get(reverse("intake:start"))  # the back link, and away
    page = journey.get(steps.ABOUT_YOU).content.decode()

    assert 'value="Typed team"' in page
    assert 'value="not an email"' in page


# --- Logs ------------------------------------------------------------------------------------


def test_a_database_error_when_sending_logs_no_personal_data(client, monkeypatch, caplog):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.DECLARATION)

    def broken(**kwargs):
        raise DatabaseError('duplicate key: Key (given_name, family_name)=(Ada, Lovelace) DETAIL: "Sam Referrer"')

    monkeypatch.setattr("intake.wizard.referral_submit", broken)
    caplog.set_level(logging.DEBUG)

    response = journey.post(steps.DECLARATION, practice_alert_answers()[steps.DECLARATION])

    assert response.status_code == 503
    assert caplog.records
    logged = caplog.text + "".join(
        logging.Formatter().formatException(record.exc_info) for record in caplog.records if record.exc_info
    )
    for personal in ("Ada", "Lovelace", "Sam Referrer"):
        assert personal not in logged


# --- CSRF ------------------------------------------------------------------------------------


def test_every_intake_page_that_takes_a_post_refuses_one_without_a_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    journey = Journey(browser)
    token = resume_token_issue(draft_id=journey.draft.pk)
    posts = {
        "step": (journey.url(steps.ABOUT_YOU), step_post(steps.ABOUT_YOU, about_you())),
        "save": (reverse("intake:save", kwargs={"form_type": journey.form_type, "draft_key": journey.key}), {}),
        "resume": (reverse("intake:resume", kwargs={"token": token}), {}),
        "extend": (reverse("intake:session_extend"), {}),
        "sign out": (reverse("intake:timed_out"), {}),
    }

    for name, (url, body) in posts.items():
        response = browser.post(url, body)
        assert response.status_code == 403, name
        assert "Sorry, we could not accept that page" in response.content.decode(), name
    assert steps.ABOUT_YOU not in journey.draft.data["wizard"]["step_data"]
    assert Draft.objects.get(key=journey.key).resume_token_used_at is None
    assert browser.get(journey.url(steps.ABOUT_YOU)).status_code == 200  # still signed in


def test_only_a_post_to_the_signed_out_page_ends_the_session(client):
    # A GET (a link or an image on another site) must not cut someone off from their draft.
    journey = Journey(client)

    assert "You have been signed out" in client.get(reverse("intake:timed_out")).content.decode()
    assert journey.get(steps.ABOUT_YOU).status_code == 200

    response = client.post(reverse("intake:timed_out"))

    assert response.status_code == 302
    assert response["Location"] == reverse("intake:timed_out")
    assert journey.get(steps.ABOUT_YOU).status_code == 404


# --- Redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("came_from", ["//evil.example/", "https://evil.example/", "/\\evil.example", "about-you/../x"])
def test_the_save_pages_back_link_never_leaves_the_journey(client, came_from):
    journey = Journey(client)
    url = reverse("intake:save", kwargs={"form_type": journey.form_type, "draft_key": journey.key})

    page = client.get(url, {"from": came_from}).content.decode()

    assert "evil.example" not in page
    assert f'href="{journey.base}"' in page
