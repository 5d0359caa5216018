import pytest
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["intake:start", "intake:accessibility", "intake:privacy"])
def test_public_pages_link_the_accessibility_statement_and_privacy_notice(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("intake:accessibility") in body
    assert reverse("intake:privacy") in body


@pytest.mark.django_db
def test_start_page_tells_people_where_to_go_in_an_emergency(client, settings):
    settings.EMERGENCY_NUMBER = "999"
    settings.FRONT_DOOR_PHONE = "01634 000 111"
    body = client.get(reverse("intake:start")).content.decode()
    assert "999" in body
    assert "01634 000 111" in body
    assert "Exit this page" in body


@pytest.mark.django_db
def test_pages_send_a_self_only_content_security_policy(client):
    response = client.get(reverse("intake:start"))
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
