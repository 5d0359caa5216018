"""The two journeys as django-formtools wizards, with answers stored per Draft on the server.

Formtools' own storages keep one wizard per session prefix, so two tabs of the same journey
share answers (django-formtools #126). Here every draft has its own row and URL, and a draft
only opens in a browser whose session it was bound to (on start, or by a resume link).
"""

from __future__ import annotations

import copy
import json
import logging
from collections import OrderedDict
from datetime import timedelta
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from formtools.wizard.forms import ManagementForm
from formtools.wizard.storage.base import BaseStorage
from formtools.wizard.views import NamedUrlWizardView, StepsHelper, WizardView

from intake import forms as step_forms
from intake import steps
from intake.emails import resume_link_request
from intake.models import Draft, FormType
from intake.recording_prompts import recording_prompts
from intake.selectors import draft_get
from intake.services import (
    DRAFT_META,
    DRAFT_PARTIAL,
    DRAFT_WIZARD,
    draft_switch_to_case_review,
    referral_submit,
    wizard_document,
)
from intake.validators import email_domain_is_partner, partner_email_policy_warns

logger = logging.getLogger(__name__)

SESSION_DRAFTS = "intake_drafts"
MAX_DRAFTS_PER_SESSION = 20
# When this session started drafts (epoch seconds), for the cap below.
SESSION_STARTS = "intake_draft_starts"
# A person fills in a form or two an hour; a script that keeps its cookie gets a clear page after this
# many instead of writing a draft row per request (one without cookies is bounded by draft_create's
# short life for untouched drafts, and belongs to a rate limit in front of the app).
MAX_DRAFT_STARTS_PER_HOUR = 20
MANAGEMENT_PREFIX = "intake"
SHOW_ERRORS = "show_errors"
# Draft meta key: which item an add-another page just removed, said once on the next render.
REMOVED = "removed"


# --- Binding drafts to a browser -------------------------------------------------


def draft_bind(session: SessionBase, key: Any) -> None:
    """Let this browser session open the draft (sessions are server-side, so the list cannot be forged)."""
    keys = [k for k in session.get(SESSION_DRAFTS, []) if k != str(key)]
    keys.append(str(key))
    session[SESSION_DRAFTS] = keys[-MAX_DRAFTS_PER_SESSION:]


def draft_is_bound(session: SessionBase, key: Any) -> bool:
    return str(key) in session.get(SESSION_DRAFTS, [])


def draft_start_allowed(session: SessionBase, *, now: float) -> bool:
    """Record a draft start in this session, or refuse it if the session started too many in the last hour."""
    recent = [t for t in session.get(SESSION_STARTS, []) if isinstance(t, int | float) and now - t < 3600]
    if len(recent) >= MAX_DRAFT_STARTS_PER_HOUR:
        session[SESSION_STARTS] = recent
        return False
    session[SESSION_STARTS] = [*recent, now]
    return True


# --- Clear pages for bad requests ---------------------------------------------------

PROBLEMS: dict[str, dict[str, Any]] = {
    "not_found": {
        "status": 404,
        "title": "Page not found",
        "paragraphs": [
            "If you typed the web address, check it is correct.",
            "A form can only be opened in the browser where it was started. If you were signed out "
            "because you did nothing for a while, or you are using another browser, use the link in "
            "your 'save and come back later' email to carry on.",
        ],
    },
    "step_unknown": {
        "status": 404,
        "title": "Page not found",
        "paragraphs": ["This form does not have a page at that address. Your answers have not changed."],
    },
    "step_skipped": {
        "status": 404,
        "title": "This question does not apply",
        "paragraphs": ["Because of an earlier answer, you do not need to answer this question."],
    },
    "tampered": {
        "status": 400,
        "title": "Sorry, there is a problem with this page",
        "paragraphs": [
            "We could not use what was sent from this page. This can happen if you use an old "
            "browser tab, or the page was changed before it was sent.",
            "Your saved answers have not changed.",
        ],
    },
    "submitted": {
        "status": 410,
        "title": "You have already sent this form",
        "paragraphs": ["You cannot change a form after you have sent it."],
    },
    "expired": {
        "status": 410,
        "title": "This form has expired",
        "paragraphs": ["We delete answers that have not been sent after 28 days. You need to start again."],
    },
    "moved": {
        "status": 410,
        "title": "This practice alert is now a case review referral",
        "paragraphs": ["You changed this practice alert into a case review referral. Your answers were copied to it."],
    },
    "resume_invalid": {
        "status": 410,
        "title": "This link has expired or has already been used",
        "paragraphs": [
            "A 'save and come back later' link works once, for 28 days. If you have already used it, "
            "carry on in the browser where you opened it, or ask for a new link from the form.",
            "If the form was sent, you will have an email with its reference number.",
        ],
    },
    "too_many_drafts": {
        "status": 429,
        "title": "You have started too many forms",
        "paragraphs": [
            f"You have started {MAX_DRAFT_STARTS_PER_HOUR} forms in the last hour. Carry on with a form you "
            "have already started, or wait an hour and start a new one.",
        ],
    },
    "server_error": {
        "status": 503,
        "title": "Sorry, there is a problem with the service",
        "paragraphs": ["Your answers have been saved. Try sending your form again in a few minutes."],
    },
}


def render_problem(
    request: HttpRequest, kind: str, *, link_url: str = "", link_text: str = "", **extra: Any
) -> HttpResponse:
    problem = PROBLEMS[kind]
    context = {
        **problem,
        "kind": kind,
        "link_url": link_url or reverse("intake:start"),
        "link_text": link_text or "Go to the start page",
        **extra,
    }
    return render(request, "intake/problem.html", context, status=problem["status"])


def confirmation_url(draft: Draft) -> str:
    return reverse("intake:confirmation", kwargs={"form_type": draft.form_type, "draft_key": draft.key})


def journey_url(draft: Draft) -> str:
    return reverse("intake:journey", kwargs={"form_type": draft.form_type, "draft_key": draft.key})


def draft_resolve(request: HttpRequest, form_type: str, draft_key: Any) -> Draft | HttpResponse:
    """The draft in the URL if this browser may open it and it is still open; otherwise a clear page."""
    draft = draft_get(key=draft_key)
    if draft is None or draft.form_type != form_type or not draft_is_bound(request.session, draft.key):
        return render_problem(request, "not_found")
    meta = draft_meta(draft)
    if meta.get("switched_to"):
        new = draft_get(key=meta["switched_to"])
        if new is not None and draft_is_bound(request.session, new.key):
            return render_problem(
                request, "moved", link_url=journey_url(new), link_text="Continue your case review referral"
            )
        return render_problem(request, "moved")
    if draft.submitted_at is None and draft.expires_at <= timezone.now():
        return render_problem(request, "expired")
    return draft


def draft_meta(draft: Draft) -> dict[str, Any]:
    data = draft.data if isinstance(draft.data, dict) else {}
    meta = data.get(DRAFT_META)
    return meta if isinstance(meta, dict) else {}


# --- Storage -----------------------------------------------------------------------


def _is_wizard_document(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("step_data"), dict)
        and isinstance(value.get("extra_data"), dict)
        and isinstance(value.get("step_files"), dict)
    )


class DraftStorage(BaseStorage):
    """formtools storage that reads and writes Draft.data for one draft (never the shared session)."""

    def __init__(self, prefix: str, request: HttpRequest | None = None, file_storage: Any = None, *, draft: Draft):
        super().__init__(prefix, request, file_storage)
        self.draft = draft
        document = copy.deepcopy(draft.data) if isinstance(draft.data, dict) else {}
        if not _is_wizard_document(document.get(DRAFT_WIZARD)):
            document[DRAFT_WIZARD] = wizard_document()
        if not isinstance(document.get(DRAFT_PARTIAL), dict):
            document[DRAFT_PARTIAL] = {}
        if not isinstance(document.get(DRAFT_META), dict):
            document[DRAFT_META] = {}
        self.document: dict[str, Any] = document
        self._saved = json.dumps(document, sort_keys=True)
        self._discarded = False

    @property
    def data(self) -> dict[str, Any]:
        wizard: dict[str, Any] = self.document[DRAFT_WIZARD]
        return wizard

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self.document[DRAFT_WIZARD] = value

    @property
    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.document[DRAFT_META]
        return meta

    def all_step_data(self) -> dict[str, dict[str, list[str]]]:
        step_data: dict[str, dict[str, list[str]]] = self.data["step_data"]
        return step_data

    def get_partial(self, step: str) -> dict[str, list[str]] | None:
        value = self.document[DRAFT_PARTIAL].get(step)
        return value if isinstance(value, dict) else None

    def set_partial(self, step: str, data: dict[str, list[str]]) -> None:
        self.document[DRAFT_PARTIAL][step] = data

    def clear_partial(self, step: str) -> None:
        self.document[DRAFT_PARTIAL].pop(step, None)

    def flag_errors(self, step: str) -> None:
        self.document[SHOW_ERRORS] = step

    def pop_errors_flag(self, step: str) -> bool:
        if self.document.get(SHOW_ERRORS) == step:
            del self.document[SHOW_ERRORS]
            return True
        return False

    def discard(self) -> None:
        """Write nothing more for this draft (it was submitted or switched in this request)."""
        self._discarded = True

    def save(self) -> None:
        if self._discarded:
            return
        dumped = json.dumps(self.document, sort_keys=True)
        if dumped == self._saved:
            return
        now = timezone.now()
        # Never write answers back into a draft another request has just submitted.
        Draft.objects.filter(pk=self.draft.pk, submitted_at__isnull=True).update(
            data=self.document,
            updated_at=now,
            expires_at=now + timedelta(days=settings.DRAFT_RETENTION_DAYS),
        )
        self._saved = dumped

    def update_response(self, response: HttpResponseBase) -> None:
        self.save()
        super().update_response(response)


# --- Helpers for forms and formsets ------------------------------------------------------


def is_formset(form: Any) -> bool:
    return isinstance(form, forms.BaseFormSet)


def _anchor(bound: forms.BoundField) -> str:
    widget = bound.field.widget
    if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple | step_forms.DateInputWidget):
        return f"{bound.auto_id}_0"
    return str(bound.auto_id)


def _form_errors(form: forms.Form, label: str = "") -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    first = next(iter(form.fields), None)
    for message in form.non_field_errors():
        items.append((f"{label}{message}", _anchor(form[first]) if first else ""))
    for name in form.fields:
        for message in form.errors.get(name, []):
            items.append((f"{label}{message}", _anchor(form[name])))
    return items


def error_summary(form: Any) -> list[tuple[str, str]]:
    """(message, anchor id) for the GOV.UK error summary, in page order."""
    if not is_formset(form):
        return _form_errors(form)
    items: list[tuple[str, str]] = []
    for index, sub in enumerate(form.forms, start=1):
        items.extend(_form_errors(sub, label=f"{form.noun.capitalize()} {index}: "))
    first_form = form.forms[0] if form.forms else None
    anchor = _anchor(first_form[next(iter(first_form.fields))]) if first_form is not None else ""
    items.extend((str(message), anchor) for message in form.non_form_errors())
    return items


def form_data_keys(form: Any) -> set[str]:
    """The POST keys a step's form (or formset, with its management form) reads."""
    keys: set[str] = set()
    if is_formset(form):
        keys.update(form.management_form.add_prefix(name) for name in form.management_form.fields)
        for sub in form.forms:
            keys |= form_data_keys(sub)
        return keys
    for bound in form:
        widget = bound.field.widget
        if isinstance(widget, forms.MultiWidget):
            # widgets_names is real Django API the stubs do not declare.
            suffixes = getattr(widget, "widgets_names", [f"_{i}" for i in range(len(widget.widgets))])
            keys.update(f"{bound.html_name}{suffix}" for suffix in suffixes)
        else:
            keys.add(bound.html_name)
    return keys


def formset_status_id(step: str) -> str:
    """Id of an add-another page's "You are adding ..." sentence, where focus goes after a removal."""
    return f"{step}-count"


def formset_data_add(data: dict[str, list[str]], prefix: str, max_forms: int) -> dict[str, list[str]]:
    total_key = f"{prefix}-TOTAL_FORMS"
    total = _int(data.get(total_key, ["1"])[0], 1)
    return {**data, total_key: [str(min(max(total, 1) + 1, max_forms))]}


def formset_data_remove(data: dict[str, list[str]], prefix: str, index: int) -> dict[str, list[str]]:
    total_key = f"{prefix}-TOTAL_FORMS"
    total = _int(data.get(total_key, ["1"])[0], 1)
    kept: dict[str, list[str]] = {}
    for key, values in data.items():
        head, _, rest = key[len(prefix) + 1 :].partition("-")
        if not key.startswith(f"{prefix}-") or not head.isdigit():
            kept[key] = values
            continue
        position = int(head)
        if position == index:
            continue
        new_position = position - 1 if position > index else position
        kept[f"{prefix}-{new_position}-{rest}"] = values
    kept[total_key] = [str(max(total - 1, 1))]
    return kept


def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- The wizard ----------------------------------------------------------------------


class JourneyWizard(NamedUrlWizardView):
    """Shared behaviour of both journeys; subclasses give the steps."""

    journey: ClassVar[str]
    journey_name: ClassVar[str]
    condition_dict = {
        steps.LEAD_DETAILS: steps.is_safeguarding_lead_consulted,
        steps.SWITCH_ADVICE: steps.is_case_review_advised,
        steps.WHEREABOUTS: steps.is_about_an_incident,
    }

    draft: Draft
    storage: DraftStorage

    @classmethod
    def as_journey_view(cls) -> Any:
        return cls.as_view(url_name="intake:journey_step")

    @classmethod
    def form_list_classes(cls) -> dict[str, Any]:
        """Step name -> form class, without an instance (formtools builds its own list per view)."""
        return dict(cls.form_list)

    # -- request handling --

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        resolved = draft_resolve(request, kwargs["form_type"], kwargs["draft_key"])
        if isinstance(resolved, HttpResponse):
            return resolved
        self.draft = resolved
        if resolved.submitted_at is not None:
            return self.submitted_response(request, kwargs.get("step"))
        self.prefix = MANAGEMENT_PREFIX
        self.storage = DraftStorage(self.prefix, request, None, draft=resolved)
        self.steps = StepsHelper(self)
        # Skip WizardView.dispatch: it would build a session storage shared by every tab.
        response = super(WizardView, self).dispatch(request, *args, **kwargs)
        self.storage.update_response(response)
        return response

    def submitted_response(self, request: HttpRequest, step: str | None) -> HttpResponse:
        """A sent draft: refresh, back-then-submit or a double click all land on its confirmation."""
        if request.method == "GET" or step in (steps.DECLARATION, steps.CHECK_ANSWERS):
            return redirect(confirmation_url(self.draft))
        return render_problem(
            request, "submitted", link_url=confirmation_url(self.draft), link_text="See your reference number"
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        step = kwargs.get("step")
        if step is None:
            return redirect(self.get_step_url(self.resume_step()))
        problem = self.unavailable(step)
        if problem is not None:
            return problem
        # People cannot jump ahead of a question they have not answered.
        missing = self.first_unanswered(before=step)
        if missing is not None:
            return redirect(self.step_url_keeping_mode(missing))
        if step == steps.CHECK_ANSWERS:
            invalid = self.first_invalid_step()
            if invalid is not None:
                self.storage.flag_errors(invalid)
                return redirect(self.step_url_keeping_mode(invalid))
        self.storage.current_step = step
        data = self.storage.get_partial(step) or self.storage.get_step_data(step)
        form = self.get_form(step, data=data)
        return self.render(form, show_errors=self.storage.pop_errors_flag(step))

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        request = self.request
        step = kwargs.get("step")
        if step is None:
            return self.problem("tampered")
        problem = self.unavailable(step)
        if problem is not None:
            return problem
        management = ManagementForm(request.POST, prefix=self.prefix)
        if not management.is_valid() or management.cleaned_data["current_step"] != step:
            return self.problem("tampered")
        self.storage.current_step = step
        action = request.POST.get("action", "continue")
        posted = self.step_data_from_post(step)
        form = self.get_form(step, data=posted)
        if is_formset(form) and not form.management_form.is_valid():
            return self.problem("tampered")
        # Only what this page's form reads is kept, so a post cannot stuff the draft with other keys.
        keys = form_data_keys(form)
        raw = {key: values for key, values in posted.items() if key in keys}

        if is_formset(form) and (action == "add" or action.startswith("remove-")):
            return self.formset_change(step, form, raw, action)
        if action in ("save", "timeout"):
            self.keep_answers(step, form, raw)
            if action == "timeout":
                return self.time_out()
            return redirect(
                reverse("intake:save", kwargs={"form_type": self.journey, "draft_key": self.draft.key})
                + f"?from={step}"
            )
        if action != "continue":
            return self.problem("tampered")
        if not form.is_valid():
            # Kept, so a back link or a later visit to this page still shows what was typed.
            self.storage.set_partial(step, raw)
            return self.render(form, show_errors=True)

        self.store(step, raw)
        if step == steps.SWITCH_ADVICE and form.cleaned_data.get("choice") == "switch":
            return self.switch_to_case_review()
        if step == self.steps.last:
            return self.render_done(form, **kwargs)
        return redirect(self.next_url(step))

    def time_out(self) -> HttpResponse:
        """The idle timeout ran out on this page: keep what it shows, send a way back, sign out."""
        self.storage.save()
        email = self.stored_email()
        emailed = False
        # Only to the work address already given, so a copied URL cannot send the link elsewhere.
        if email:
            try:
                resume_link_request(draft_id=self.draft.pk, email=email)
                emailed = True
            except ValidationError:
                emailed = False
        self.request.session.flush()
        return redirect(reverse("intake:timed_out") + ("?emailed=1" if emailed else ""))

    def stored_email(self) -> str:
        data = self.storage.get_step_data(steps.ABOUT_YOU)
        if data is None:
            return ""
        form = self.get_form(steps.ABOUT_YOU, data=data)
        return str(form.cleaned_data.get("email", "")) if form.is_valid() else ""

    # -- steps and navigation --

    def unavailable(self, step: str) -> HttpResponse | None:
        if step not in self.form_list:
            return self.problem("step_unknown")
        if step not in self.get_form_list():
            return self.problem("step_skipped")
        return None

    def problem(self, kind: str) -> HttpResponse:
        return render_problem(
            self.request, kind, link_url=self.get_step_url(self.resume_step()), link_text="Continue your form"
        )

    def get_step_url(self, step: str) -> str:
        return reverse(self.url_name, kwargs={"form_type": self.journey, "draft_key": self.draft.key, "step": step})

    @property
    def changing(self) -> bool:
        """Came from a change link on check answers: go back there after the edit."""
        return self.request.GET.get("change") == "1"

    def step_url_keeping_mode(self, step: str) -> str:
        url = self.get_step_url(step)
        return f"{url}?change=1" if self.changing and step != steps.CHECK_ANSWERS else url

    def first_unanswered(self, before: str | None = None) -> str | None:
        for step in self.get_form_list():
            if step == before:
                return None
            if self.storage.get_step_data(step) is None:
                return step
        return None

    def resume_step(self) -> str:
        return self.first_unanswered() or steps.CHECK_ANSWERS

    def next_url(self, step: str) -> str:
        if self.changing:
            missing = self.first_unanswered(before=steps.CHECK_ANSWERS)
            return self.step_url_keeping_mode(missing) if missing else self.get_step_url(steps.CHECK_ANSWERS)
        next_step = self.get_next_step(step)
        return self.get_step_url(next_step or steps.CHECK_ANSWERS)

    def back_url(self, step: str) -> str:
        if self.changing:
            return self.get_step_url(steps.CHECK_ANSWERS)
        prev = self.get_prev_step(step)
        return self.get_step_url(prev) if prev else reverse("intake:start")

    # -- forms --

    def get_form_list(self) -> OrderedDict[str, Any]:
        form_list: OrderedDict[str, Any] = super().get_form_list()
        return form_list

    def get_form(self, step: str | None = None, data: Any = None, files: Any = None) -> Any:
        step = step or self.steps.current
        form_class = self.form_list[step]
        if isinstance(data, dict) and not isinstance(data, MultiValueDict):
            # Stored answers are plain dicts of lists (JSON); forms read them like a POST.
            data = MultiValueDict(data)
        kwargs: dict[str, Any] = {"data": data, "prefix": step, "journey": self.journey}
        if step in (steps.CHILDREN, steps.ADULTS):
            kwargs["event_date"] = self.event_date()
        return form_class(**kwargs)

    def event_date(self) -> Any:
        step = steps.EVENT if self.journey == FormType.PRACTICE_ALERT else steps.REVIEW
        data = self.storage.get_step_data(step)
        if data is None:
            return None
        form = self.form_list[step](data=data, prefix=step, journey=self.journey)
        return form.cleaned_data.get("event_date") if form.is_valid() else None

    def step_data_from_post(self, step: str) -> dict[str, list[str]]:
        """This step's own fields only: no CSRF token, management form or button values are stored.

        NUL characters are dropped: nobody types one, and PostgreSQL cannot store one in JSON or text.
        """
        return {
            key: [value.replace("\x00", "") for value in values]
            for key, values in self.request.POST.lists()
            if key.startswith(f"{step}-")
        }

    def store(self, step: str, raw: dict[str, list[str]]) -> None:
        self.storage.set_step_data(step, raw)
        self.storage.clear_partial(step)
        # Stored answers can change which steps apply (formtools caches the resolved list).
        for attr in ("_resolved_form_list", "_cache_signature"):
            self.__dict__.pop(attr, None)

    def keep_answers(self, step: str, form: Any, raw: dict[str, list[str]]) -> None:
        """Save and come back later: keep what was typed, valid or not, so nothing is lost."""
        if form.is_valid():
            self.store(step, raw)
        else:
            self.storage.set_partial(step, raw)

    def formset_change(self, step: str, formset: Any, raw: dict[str, list[str]], action: str) -> HttpResponse:
        """Add or remove an item, keep the page's answers, and redirect to where focus should go.

        Post/redirect/get, so a refresh does not add or remove again; the URL fragment moves focus
        without script: to the new item's first field, or after a removal to the sentence that says
        what was removed and how many are left (it has tabindex="-1" so it can take focus).
        """
        if action == "add":
            data = formset_data_add(raw, step, formset.max_num)
            changed = self.get_form(step, data=data)
            new_item = changed.forms[-1]
            fragment = _anchor(new_item[next(iter(new_item.fields))])
        else:
            index = _int(action.removeprefix("remove-"), -1)
            if not 0 <= index < formset.total_form_count():
                return self.problem("tampered")
            data = formset_data_remove(raw, step, index)
            self.storage.meta[REMOVED] = {"step": step, "item": f"{formset.noun.capitalize()} {index + 1}"}
            fragment = formset_status_id(step)
        self.storage.set_partial(step, data)
        return redirect(f"{self.step_url_keeping_mode(step)}#{fragment}")

    def first_invalid_step(self) -> str | None:
        for step in self.get_form_list():
            if step in steps.NON_QUESTION_STEPS:
                continue
            data = self.storage.get_step_data(step)
            if data is None or not self.get_form(step, data=data).is_valid():
                return step
        return None

    # -- rendering --

    def get_template_names(self) -> list[str]:
        step = self.steps.current
        if step == steps.CHECK_ANSWERS:
            return ["intake/check_answers.html"]
        if step == steps.DECLARATION:
            return ["intake/declaration.html"]
        if step == steps.SWITCH_ADVICE:
            return ["intake/switch_advice.html"]
        if isinstance(self.form_list[step], type) and issubclass(self.form_list[step], forms.BaseFormSet):
            return ["intake/step_formset.html"]
        return ["intake/step.html"]

    def get_context_data(self, form: Any, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(form=form, **kwargs)
        step = self.steps.current
        show_errors = bool(kwargs.get("show_errors"))
        context.update(
            {
                "journey": self.journey,
                "journey_name": self.journey_name,
                "draft": self.draft,
                "step": step,
                "page_title": form.title,
                "show_errors": show_errors,
                "error_list": error_summary(form) if show_errors else [],
                "back_url": self.back_url(step),
                "form_action": self.request.get_full_path(),
                "is_question": step not in steps.NON_QUESTION_STEPS,
                "notice": self.storage.meta.pop("notice", None),
            }
        )
        if step == steps.CHECK_ANSWERS:
            answered = self.answered_forms()
            context["sections"] = self.summary_sections(answered)
            context["recording_prompts"] = [
                {"prompt": prompt, "change_url": f"{self.get_step_url(prompt.step)}?change=1"}
                for prompt in recording_prompts(cleaned_answers(answered))
                if prompt.step in answered
            ]
            context["email_warning"] = self.email_warning()
        if is_formset(form):
            removed = self.storage.meta.get(REMOVED)
            if isinstance(removed, dict) and removed.get("step") == step:
                self.storage.meta.pop(REMOVED)
                context["removed_item"] = str(removed.get("item", ""))
            context["status_id"] = formset_status_id(step)
        return context

    def render(self, form: Any = None, **kwargs: Any) -> HttpResponse:
        form = form or self.get_form()
        context = self.get_context_data(form=form, **kwargs)
        response: HttpResponse = self.render_to_response(context)
        return response

    def answered_forms(self) -> dict[str, Any]:
        """Question step -> its bound form, for the steps whose stored answers are valid, in journey order."""
        answered: dict[str, Any] = {}
        for step in self.get_form_list():
            if step in steps.NON_QUESTION_STEPS:
                continue
            form = self.get_form(step, data=self.storage.get_step_data(step))
            if form.is_valid():
                answered[step] = form
        return answered

    def summary_sections(self, answered: dict[str, Any]) -> list[dict[str, Any]]:
        sections: list[dict[str, Any]] = []
        for step, form in answered.items():
            change_url = f"{self.get_step_url(step)}?change=1"
            if is_formset(form) and form.summary_style == "rows":
                rows = [item_summary_row(sub, noun=form.noun) for sub in form.forms if sub.cleaned_data]
                sections.append({"title": form.title, "cards": [], "change_url": change_url, "rows": rows})
            elif is_formset(form):
                filled = [(position, sub) for position, sub in enumerate(form.forms) if sub.cleaned_data]
                cards = [
                    {
                        "title": f"{form.noun.capitalize()} {number}",
                        "rows": summary_rows(sub),
                        # Straight to that item's part of the page.
                        "change_url": f"{change_url}#{step}-{position}",
                    }
                    for number, (position, sub) in enumerate(filled, start=1)
                ]
                sections.append({"title": form.title, "cards": cards, "change_url": change_url, "rows": []})
            else:
                title = form.summary_title or form.title
                sections.append({"title": title, "rows": summary_rows(form), "change_url": change_url})
        return sections

    def email_warning(self) -> bool:
        email = self.stored_email()
        return bool(email) and partner_email_policy_warns() and not email_domain_is_partner(email)

    # -- finishing --

    def render_done(self, form: Any, **kwargs: Any) -> HttpResponse:
        """Re-validate every step (answers can go stale, django-formtools #106), then submit once."""
        final: dict[str, Any] = {}
        for step in self.get_form_list():
            data = self.storage.get_step_data(step)
            step_form = self.get_form(step, data=data)
            if data is None or not step_form.is_valid():
                if data is not None:
                    self.storage.flag_errors(step)
                return redirect(self.get_step_url(step))
            final[step] = step_form
        # Saved first, so a failure in the submit service loses nothing typed.
        self.storage.save()
        try:
            referral = referral_submit(draft=self.draft, answers=cleaned_answers(final))
        except DatabaseError as exc:
            # Class only: database error messages quote the values that failed (names, narrative).
            logger.error("Submitting draft id=%s failed (%s)", self.draft.pk, type(exc).__name__)
            return render_problem(
                self.request,
                "server_error",
                link_url=self.get_step_url(steps.DECLARATION),
                link_text="Try sending it again",
            )
        self.storage.discard()
        logger.info("Draft id=%s became referral id=%s", self.draft.pk, referral.pk)
        return redirect(confirmation_url(self.draft))

    def done(self, form_list: Any, **kwargs: Any) -> HttpResponse:  # pragma: no cover - render_done submits
        raise NotImplementedError

    def switch_to_case_review(self) -> HttpResponse:
        carried = steps.switch_step_data(self.storage.all_step_data())
        step_data: dict[str, Any] = {}
        partial: dict[str, Any] = {}
        for step, raw in carried.items():
            form_class = CaseReviewWizard.form_list_classes().get(step)
            if form_class is None:
                continue
            form = form_class(data=MultiValueDict(raw), prefix=step, journey=FormType.CASE_REVIEW)
            (step_data if form.is_valid() else partial)[step] = raw
        for step, raw in self.storage.document[DRAFT_PARTIAL].items():
            if step in steps.SWITCH_COPY_WHOLE_STEPS and step not in step_data:
                partial[step] = raw
        new = draft_switch_to_case_review(draft=self.draft, step_data=step_data, partial=partial)
        draft_bind(self.request.session, new.key)
        self.storage.discard()
        return redirect(journey_url(new))


def cleaned_answers(final: dict[str, Any]) -> dict[str, Any]:
    """Step name -> cleaned data; repeatable steps give a list with blank rows left out."""
    answers: dict[str, Any] = {}
    for step, form in final.items():
        if is_formset(form):
            answers[step] = [row for row in form.cleaned_data if row]
        else:
            answers[step] = dict(form.cleaned_data)
    return answers


def summary_rows(form: forms.Form) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    skippable: set[str] = set()
    if isinstance(form, step_forms.StepForm):
        skippable = form.revealed_fields() | form.hide_if_empty
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if name in skippable and value in (None, "", []):
            continue
        rows.append({"key": step_forms.field_summary_label(field), "value": step_forms.display_value(field, value)})
    return rows


def item_summary_row(form: forms.Form, *, noun: str) -> dict[str, str]:
    """A two-field item (a key date) as one summary row: its first answer as the key, the second as the value."""
    first, second = list(form.fields)[:2]
    key = step_forms.display_value(form.fields[first], form.cleaned_data.get(first))
    return {
        "key": key,
        "value": step_forms.display_value(form.fields[second], form.cleaned_data.get(second)),
        "change_label": f"{noun} {key}",
    }


class PracticeAlertWizard(JourneyWizard):
    journey = FormType.PRACTICE_ALERT
    journey_name = "Partnership Practice Alert"
    form_list = step_forms.PRACTICE_ALERT_STEPS


class CaseReviewWizard(JourneyWizard):
    journey = FormType.CASE_REVIEW
    journey_name = "Case review referral"
    form_list = step_forms.CASE_REVIEW_STEPS


WIZARDS: dict[str, Any] = {
    FormType.PRACTICE_ALERT: PracticeAlertWizard.as_journey_view(),
    FormType.CASE_REVIEW: CaseReviewWizard.as_journey_view(),
}
