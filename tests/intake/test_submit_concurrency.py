"""Two requests sending the same draft at the same moment, in real threads with real transactions.

The other submit tests run one request after another inside a test transaction, so they cannot see
a race. Here both requests have passed every check and reached the submit service before either
commits (a barrier holds them there), as with a double click on a slow connection.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from intake import steps, wizard
from intake.models import EmailKind, EmailOutbox, Referral
from tests.intake.journey_walk import Journey, case_review_answers, practice_alert_answers
from triage.services import reference_data_load

pytestmark = pytest.mark.django_db(transaction=True)


def _same_browser(client: Client) -> Client:
    other = Client()
    other.cookies = client.cookies
    return other


@pytest.mark.parametrize("answers", [practice_alert_answers, case_review_answers], ids=["alert", "review"])
def test_two_simultaneous_sends_of_one_draft_create_one_referral_and_one_acknowledgement(client, monkeypatch, answers):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time, so there is no race to lose; run with DATABASE_URL")
    reference_data_load()
    journey = Journey(client, "practice_alert" if answers is practice_alert_answers else "case_review")
    journey.walk(answers(), until=steps.DECLARATION)
    declaration = answers()[steps.DECLARATION]

    both_validated = threading.Barrier(2, timeout=10)
    real_submit = wizard.referral_submit

    def submit_together(**kwargs: Any) -> Referral:
        both_validated.wait()
        return real_submit(**kwargs)

    monkeypatch.setattr(wizard, "referral_submit", submit_together)
    responses: list[Any] = [None, None]
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            tab = Journey.resume(_same_browser(client), journey.form_type, journey.base)
            responses[index] = tab.post(steps.DECLARATION, declaration)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert [r.status_code for r in responses] == [302, 302]
    assert all("/confirmation/" in r["Location"] for r in responses), [r["Location"] for r in responses]
    referral = Referral.objects.get()
    assert EmailOutbox.objects.filter(kind=EmailKind.ACKNOWLEDGEMENT, referral=referral).count() == 1
    assert referral.people.filter(role="child").count() == 1
