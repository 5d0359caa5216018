"""Every URL is either explicitly public or a staff URL that refuses anyone without a staff role.

The walk covers ALL URL patterns, so a URL added later that is neither listed in PUBLIC_URL_NAMES
nor under /staff/ fails ``test_every_url_is_public_or_staff``: decide which it is.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern

STAFF_PREFIX = "staff/"

# Public pages of the intake service (and the staff sign-in pages themselves), by URL name.
PUBLIC_URL_NAMES = {
    "intake:start",
    "intake:accessibility",
    "intake:privacy",
    "intake:start_journey",
    "intake:journey",
    "intake:journey_step",
    "intake:confirmation",
    "intake:save",
    "intake:saved",
    "intake:resume",
    "intake:session_extend",
    "intake:timed_out",
    "staff_login",
    "admin:login",
}

_CONVERTER_SAMPLES = {
    "IntConverter": "1",
    "StringConverter": "sample",
    "SlugConverter": "sample-slug",
    "PathConverter": "1",
    "UUIDConverter": str(uuid.UUID(int=1)),
}


@dataclass(frozen=True)
class UrlCase:
    route: str
    name: str
    path: str

    def __str__(self) -> str:
        return self.route


def _route_sample(pattern: RoutePattern) -> str:
    text = str(pattern)
    for name, converter in pattern.converters.items():
        sample = _CONVERTER_SAMPLES.get(type(converter).__name__)
        assert sample is not None, f"Add a sample value for {type(converter).__name__} in {__file__}"
        text = re.sub(rf"<(?:\w+:)?{name}>", sample, text)
    return text


def _regex_sample(pattern: RegexPattern | LocalePrefixPattern) -> str:
    def group(match: re.Match[str]) -> str:
        body = match.group(2)
        if re.fullmatch(r"[\w|]+", body):
            return body.split("|")[0]  # first literal alternative
        return {r"\d+": "1", ".*": "sample", ".+": "sample", "[^/]+": "sample"}.get(body, "sample")

    text = re.sub(r"\(\?P<(\w+)>([^)]*)\)", group, str(pattern))
    return text.lstrip("^").rstrip("$")


def _join_route(first: str, second: str) -> str:
    # As django.urls.resolvers.URLResolver._join_route, so routes compare equal to ResolverMatch.route.
    return first + (second[1:] if second.startswith("^") else second)


def _walk(patterns: list[URLPattern | URLResolver], route: str = "", path: str = "", namespace: str = ""):
    for entry in patterns:
        pattern = entry.pattern
        sample = _route_sample(pattern) if isinstance(pattern, RoutePattern) else _regex_sample(pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace or namespace
            yield from _walk(entry.url_patterns, _join_route(route, str(entry.pattern)), path + sample, inner or "")
        else:
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            yield UrlCase(route=_join_route(route, str(entry.pattern)), name=name, path="/" + path + sample)


ALL_URLS = list(_walk(get_resolver().url_patterns))
STAFF_URLS = [case for case in ALL_URLS if case.route.startswith(STAFF_PREFIX) and case.name not in PUBLIC_URL_NAMES]
PUBLIC_URLS = [case for case in ALL_URLS if case.name in PUBLIC_URL_NAMES]


def _login_paths() -> set[str]:
    return {settings.LOGIN_URL, reverse("staff_login"), reverse("admin:login")}


def assert_refused(response, method: str, case: UrlCase) -> None:
    """Refused means: ends on a sign-in page, or a 403. Never the staff page itself."""
    if response.status_code == 403:
        return
    final_path = response.request["PATH_INFO"]
    assert response.redirect_chain, (
        f"{method} {case.path} ({case.route}) answered {response.status_code}, not a login redirect"
    )
    first_hop = urlsplit(response.redirect_chain[0][0]).path
    assert final_path in _login_paths(), f"{method} {case.path} redirected to {first_hop}, which is not a login page"
    assert response.status_code == 200


def test_the_walk_finds_the_admin_and_the_public_pages():
    names = {case.name for case in ALL_URLS}
    assert {"admin:index", "admin:intake_emailoutbox_changelist", "intake:start", "staff_login"} <= names
    assert len(STAFF_URLS) > 20


@pytest.mark.parametrize("case", ALL_URLS, ids=str)
def test_every_url_is_public_or_staff(case):
    assert case.route.startswith(STAFF_PREFIX) or case.name in PUBLIC_URL_NAMES, (
        f"New URL {case.route!r} (name {case.name!r}) is neither listed public in {__file__} nor under /staff/"
    )


@pytest.mark.parametrize("case", ALL_URLS, ids=str)
def test_sample_paths_resolve_to_the_pattern_under_test(case):
    match = resolve(case.path)
    assert match.route == case.route


def test_login_url_is_the_staff_login_page(client):
    assert settings.LOGIN_URL == "/staff/login/" == reverse("staff_login")
    response = client.get(settings.LOGIN_URL)
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("case", STAFF_URLS, ids=str)
def test_staff_urls_refuse_anonymous_users_and_users_without_a_staff_role(client, django_user_model, case):
    for method in ("get", "post"):
        assert_refused(getattr(client, method)(case.path, follow=True), f"anonymous {method.upper()}", case)

    user = django_user_model.objects.create_user(username="partner", password="correct horse battery")
    client.force_login(user)
    for method in ("get", "post"):
        assert_refused(getattr(client, method)(case.path, follow=True), f"non-staff {method.upper()}", case)


@pytest.mark.django_db
def test_a_staff_user_can_reach_the_admin(client, django_user_model):
    # Proves the refusals above are about the role, not a broken page.
    user = django_user_model.objects.create_superuser(username="lead", password="correct horse battery")
    client.force_login(user)

    assert client.get(reverse("admin:intake_emailoutbox_changelist")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("case", PUBLIC_URLS, ids=str)
@pytest.mark.parametrize("method", ["get", "post"])
def test_public_urls_answer_anonymous_users_without_a_server_error(client, case, method):
    response = getattr(client, method)(case.path)
    assert response.status_code < 500
