from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from intake.models import Draft, FormType


def start(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/start.html")


def accessibility_statement(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/accessibility.html")


def privacy_notice(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/privacy.html")


def journey_start(request: HttpRequest, form_type: str) -> HttpResponse:
    """Open a new server-side draft for this journey; each tab gets its own."""
    if form_type not in FormType.values:
        raise Http404("No such form")
    draft = Draft.objects.create(form_type=form_type)
    return redirect("intake:journey", form_type=form_type, draft_key=draft.key)


def journey(request: HttpRequest, form_type: str, draft_key: str, step: str | None = None) -> HttpResponse:
    # Replaced by the django-formtools wizard views.
    raise Http404("Not available yet")
