"""The site's URLs and error handlers, plus views that fail on purpose, for the error page tests."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler500
from config.urls import urlpatterns as site_urlpatterns


def fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


urlpatterns = [
    path("test-errors/fails/", fails),
    path("test-errors/forbidden/", forbidden),
    *site_urlpatterns,
]

__all__ = ["handler400", "handler500", "urlpatterns"]
