"""GOV.UK error pages: a refused CSRF check, 400, 403, 404 and 500, never Django's own pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from intake import steps
from tests.intake.journey_walk import Journey, practice_alert_answers, step_post
from triage.services import reference_data_load

ERROR_URLS = "tests.intake.error_urls"


@pytest.fixture(autouse=True)
def _agencies(db):
    reference_data_load()


@pytest.fixture
def csrf_client() -> Client:
    # The test client skips CSRF checks unless asked: a browser does not.
    return Client(enforce_csrf_checks=True)


def assert_govuk_page(page: str, heading: str) -> None:
    assert 'class="govuk-template"' in page
    assert f'<h1 class="govuk-heading-l">{heading}</h1>' in page
    assert re.search(rf"<title>{re.escape(heading)} \N{{EN DASH}} \S", page), "the title names the page and service"
    assert "Accessibility statement" in page
    assert "Privacy notice" in page
    assert "contact the partnership business unit on 01234 567 892" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "no inline script (the CSP forbids it)"


def test_a_refused_csrf_check_gets_a_govuk_403_page_leading_back_to_the_step(client):
    journey = Journey(client)
    journey.walk(practice_alert_answers(), until=steps.EVENT)
    journey.get(steps.EVENT)  # sets the CSRF cookie, as the page would in a browser
    client.handler.enforce_csrf_checks = True

    # The page's token does not match the cookie any more (e.g. it was open across a new session).
    response = journey.post(steps.EVENT, practice_alert_answers()[steps.EVENT])

    assert response.status_code == 403
    page = response.content.decode()
    assert_govuk_page(page, "Sorry, we could not accept that page")
    assert "open for a long time" in page
    assert "does not accept cookies" in page
    assert "We have kept your answers up to the last page you saved" in page
    assert f'<a class="govuk-link" href="{journey.url(steps.EVENT)}">Go back to the page and try again</a>' in page
    assert "Check that your browser accepts cookies" not in page  # cookies are on here
    # The answers already saved are still there, and the event page was not saved.
    assert 'value="Sam Referrer"' in client.get(journey.url(steps.ABOUT_YOU)).content.decode()
    assert steps.EVENT not in journey.draft.data["wizard"]["step_data"]


def test_a_csrf_failure_with_cookies_off_says_so_and_links_to_the_start_page(csrf_client):
    journey = Journey(csrf_client)
    url = journey.url(steps.ABOUT_YOU)
    cookieless = Client(enforce_csrf_checks=True)

    response = cookieless.post(url, step_post(steps.ABOUT_YOU, practice_alert_answers()[steps.ABOUT_YOU]))

    assert response.status_code == 403
    page = response.content.decode()
    assert_govuk_page(page, "Sorry, we could not accept that page")
    assert "Check that your browser accepts cookies from this website" in page
    # This browser cannot open that draft: no link into it, only the way back in.
    assert url not in page
    assert '<a class="govuk-link" href="/">Go to the start page</a>' in page
    assert "save and come back later" in page


def test_a_csrf_failure_on_a_page_that_is_not_a_journey_links_to_the_start_page(csrf_client):
    csrf_client.get("/")
    csrf_client.cookies["csrftoken"] = "y" * 32

    response = csrf_client.post("/session/extend/")

    assert response.status_code == 403
    assert '<a class="govuk-link" href="/">Go to the start page</a>' in response.content.decode()


def test_the_csrf_page_never_shows_what_was_typed(csrf_client):
    journey = Journey(csrf_client)
    csrf_client.cookies["csrftoken"] = "z" * 32

    response = journey.post(steps.ABOUT_YOU, practice_alert_answers()[steps.ABOUT_YOU] | {"full_name": "Secret Name"})

    assert response.status_code == 403
    assert "Secret Name" not in response.content.decode()


@pytest.mark.parametrize("path", ["/no-such-page/", "/unknown/start/", "/practice_alert/not-a-draft/"])
def test_an_unknown_address_gets_the_govuk_404_page(client, path):
    response = client.get(path)

    assert response.status_code == 404
    page = response.content.decode()
    assert_govuk_page(page, "Page not found")
    assert "If you typed the web address, check it is correct." in page
    assert "The requested resource was not found on this server" not in page


@pytest.mark.urls(ERROR_URLS)
def test_a_bug_gets_the_govuk_500_page_with_the_service_contacts():
    client = Client(raise_request_exception=False)

    response = client.get("/test-errors/fails/")

    assert response.status_code == 500
    page = response.content.decode()
    assert_govuk_page(page, "Sorry, there is a problem with the service")
    assert "the answers you gave on earlier pages have been kept" in page
    assert "01234 567 892" in page  # settings.BUSINESS_UNIT_PHONE, from settings not the request
    assert "Server Error (500)" not in page


@pytest.mark.urls(ERROR_URLS)
def test_the_500_page_falls_back_to_plain_html_if_its_template_fails(monkeypatch):
    from intake import views

    def broken(*args, **kwargs):
        raise ValueError("Missing staticfiles manifest entry")

    monkeypatch.setattr(views.loader, "render_to_string", broken)
    client = Client(raise_request_exception=False)

    response = client.get("/test-errors/fails/")

    assert response.status_code == 500
    page = response.content.decode()
    assert "<h1>Sorry, there is a problem with the service</h1>" in page
    assert "01234 567 892" in page


@pytest.mark.urls(ERROR_URLS)
def test_a_refused_permission_gets_the_govuk_403_page(client):
    response = client.get("/test-errors/forbidden/")

    assert response.status_code == 403
    assert_govuk_page(response.content.decode(), "You cannot see this page")


def test_a_bad_host_header_gets_the_govuk_400_page(client):
    response = client.get("/", HTTP_HOST="attacker.example")

    assert response.status_code == 400
    page = response.content.decode()
    assert_govuk_page(page, "Sorry, there is a problem with this page")
    assert "Bad Request (400)" not in page
