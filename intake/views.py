import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseServerError,
    JsonResponse,
)
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import Resolver404, resolve, reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from intake import steps
from intake.context_processors import service_settings
from intake.emails import resume_link_request
from intake.forms import CASE_REVIEW_STEPS, PRACTICE_ALERT_STEPS, SaveForLaterForm
from intake.models import Draft, FormType
from intake.resume import draft_from_resume_token
from intake.selectors import referral_for_draft
from intake.services import draft_create
from intake.wizard import (
    WIZARDS,
    DraftStorage,
    draft_bind,
    draft_is_bound,
    draft_resolve,
    draft_start_allowed,
    journey_url,
    render_problem,
)

logger = logging.getLogger(__name__)

WIZARD_STEPS: dict[str, list[tuple[str, Any]]] = {
    FormType.PRACTICE_ALERT: PRACTICE_ALERT_STEPS,
    FormType.CASE_REVIEW: CASE_REVIEW_STEPS,
}


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
    if not draft_start_allowed(request.session, now=time.time()):
        return render_problem(request, "too_many_drafts")
    draft = draft_create(form_type=form_type)
    draft_bind(request.session, draft.key)
    return redirect("intake:journey", form_type=form_type, draft_key=draft.key)


def journey(request: HttpRequest, form_type: str, draft_key: str, step: str | None = None) -> HttpResponseBase:
    view = WIZARDS.get(form_type)
    if view is None:
        return render_problem(request, "not_found")
    kwargs: dict[str, Any] = {"form_type": form_type, "draft_key": draft_key}
    if step is not None:
        kwargs["step"] = step
    response: HttpResponseBase = view(request, **kwargs)
    return response


DraftView = Callable[[HttpRequest, Draft], HttpResponse]


def with_draft(view: DraftView) -> Callable[..., HttpResponse]:
    """Pages of one draft: the view gets the draft if this browser may open it; others get a clear page."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, form_type: str, draft_key: str) -> HttpResponse:
        resolved = draft_resolve(request, form_type, draft_key)
        if isinstance(resolved, HttpResponse):
            return resolved
        return view(request, resolved)

    return wrapped


@require_GET
@with_draft
def confirmation(request: HttpRequest, draft: Draft) -> HttpResponse:
    referral = referral_for_draft(draft=draft)
    if referral is None:
        return redirect(journey_url(draft))
    return render(
        request,
        "intake/confirmation.html",
        {
            "referral": referral,
            "journey_name": draft.get_form_type_display(),
            "review_working_days": getattr(settings, "BUSINESS_UNIT_REVIEW_WORKING_DAYS", 5),
        },
    )


@require_http_methods(["GET", "POST"])
@with_draft
def save_for_later(request: HttpRequest, draft: Draft) -> HttpResponse:
    """Save and come back later: ask where to send a single-use link to this draft."""
    form_type = draft.form_type
    if draft.submitted_at is not None:
        return redirect("intake:confirmation", form_type=form_type, draft_key=draft.key)
    came_from = request.GET.get("from", "")
    back_step = came_from if came_from in dict(WIZARD_STEPS[form_type]) else None
    back_url = (
        reverse("intake:journey_step", kwargs={"form_type": form_type, "draft_key": draft.key, "step": back_step})
        if back_step
        else journey_url(draft)
    )
    if request.method == "POST":
        form = SaveForLaterForm(request.POST)
        if form.is_valid():
            try:
                resume_link_request(draft_id=draft.pk, email=form.cleaned_data["email"])
            except ValidationError:
                return render_problem(request, "expired")
            request.session["intake_saved_email"] = form.cleaned_data["email"]
            return redirect("intake:saved", form_type=form_type, draft_key=draft.key)
    else:
        storage = DraftStorage("intake", request, draft=draft)
        about = storage.get_step_data(steps.ABOUT_YOU)
        email = about.get(f"{steps.ABOUT_YOU}-email", "") if about is not None else ""
        form = SaveForLaterForm(initial={"email": email or draft.resume_email})
    return render(
        request,
        "intake/save_for_later.html",
        {
            "form": form,
            "show_errors": request.method == "POST",
            "error_list": [(str(e), "id_email") for e in form.errors.get("email", [])]
            if request.method == "POST"
            else [],
            "back_url": back_url,
            "journey_name": draft.get_form_type_display(),
            "page_title": "Save your answers and come back later",
        },
    )


@require_GET
@with_draft
def saved(request: HttpRequest, draft: Draft) -> HttpResponse:
    return render(
        request,
        "intake/saved.html",
        {
            "email": request.session.get("intake_saved_email", ""),
            "continue_url": journey_url(draft),
            "journey_name": draft.get_form_type_display(),
            "retention_days": settings.DRAFT_RETENTION_DAYS,
            "page_title": "Your answers have been saved",
        },
    )


@require_http_methods(["GET", "POST"])
def resume(request: HttpRequest, token: str) -> HttpResponse:
    """Open a saved draft from its emailed link.

    The GET only shows a button: mail scanners that follow links would otherwise use up the
    single-use token before the person clicks it.
    """
    if request.method == "GET":
        return render(request, "intake/resume.html", {"page_title": "Continue your form"})
    draft = draft_from_resume_token(token=token)
    if draft is None:
        return render_problem(request, "resume_invalid")
    # A new session key, as at sign-in: a session id planted in this browser beforehand (session
    # fixation) must not be able to open the draft this link unlocks.
    request.session.cycle_key()
    draft_bind(request.session, draft.key)
    return redirect(journey_url(draft))


@require_POST
def session_extend(request: HttpRequest) -> JsonResponse:
    """'Continue' in the timeout warning: any request renews the sliding session; say for how long."""
    request.session["intake_extended"] = True
    request.session.modified = True
    return JsonResponse({"expires_in": settings.SESSION_COOKIE_AGE})


@require_http_methods(["GET", "POST"])
def timed_out(request: HttpRequest) -> HttpResponse:
    """The signed-out page; the warning's own countdown POSTs here to end the session.

    Only a POST (CSRF-checked) signs out: a link or image on another site could otherwise end
    someone's session mid-form and cut them off from their unsaved draft.
    """
    if request.method == "POST":
        request.session.flush()
        return redirect(reverse("intake:timed_out"))
    return render(
        request,
        "intake/timed_out.html",
        {
            "minutes": settings.SESSION_COOKIE_AGE // 60,
            "emailed": request.GET.get("emailed") == "1",
            "retention_days": settings.DRAFT_RETENTION_DAYS,
            "page_title": "You have been signed out",
        },
    )


# --- Error pages ---------------------------------------------------------------------

# Journey pages whose GET shows the answers saved so far, so a refused POST can send people back to them.
_RETURNABLE_VIEWS = frozenset({"intake:journey", "intake:journey_step", "intake:save", "intake:resume"})


def _csrf_return_url(request: HttpRequest) -> str:
    """The page whose POST was refused, if this browser can still open it; otherwise ""."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return ""
    if match.view_name not in _RETURNABLE_VIEWS:
        return ""
    draft_key = match.kwargs.get("draft_key")
    if draft_key is not None and not draft_is_bound(request.session, draft_key):
        return ""
    return request.path


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: a GOV.UK page, not Django's, when a form's CSRF check fails.

    Usually the page was open so long that the session ended, or cookies are off. Answers are saved
    on each Continue, so everything up to the last saved page is still in the draft.
    """
    context = {
        "return_url": _csrf_return_url(request),
        "no_cookies": reason == REASON_NO_CSRF_COOKIE or not request.COOKIES,
    }
    return render(request, "intake/csrf_failure.html", context, status=403)


def _settings_context() -> dict[str, Any]:
    # Without the request: error pages stay free of the session, the user and the database, any of
    # which may be what failed.
    return {**service_settings(), "retention_days": settings.DRAFT_RETENTION_DAYS}


_LAST_RESORT = (
    '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title></head>'
    "<body><main><h1>{title}</h1><p>Try again later. If you need help, contact the partnership business unit on "
    "{phone}.</p></main></body></html>"
)


def _error_page(template_name: str, title: str) -> str:
    try:
        return loader.render_to_string(template_name, _settings_context())
    except Exception:
        # Even a broken template or static manifest must not show Django's own error page.
        logger.exception("Rendering %s failed", template_name)
        return _LAST_RESORT.format(title=escape(title), phone=escape(settings.BUSINESS_UNIT_PHONE))


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the GOV.UK 'problem with the service' page."""
    return HttpResponseServerError(_error_page("500.html", "Sorry, there is a problem with the service"))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400 (a bad Host header, a suspicious request): the GOV.UK page, not Django's."""
    return HttpResponseBadRequest(_error_page("400.html", "Sorry, there is a problem with this page"))
