"""One small form per wizard step, with GOV.UK Design System error messages.

Every message names the question and says what to do, as the GOV.UK error message pattern asks:
"Enter your full name", "Date of the event must be in the past".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, ClassVar, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from intake import steps
from intake.models import Agency, FormType
from intake.validators import (
    email_domain_is_partner,
    normalise_nhs_number,
    normalise_postcode,
    partner_email_policy_warns,
    validate_nhs_number,
    validate_postcode,
    validate_uk_phone,
)

YES_NO = [("yes", "Yes"), ("no", "No")]
YES_NO_NOT_SURE = [("yes", "Yes"), ("no", "No"), ("not_sure", "Not sure")]
YES_NO_NOT_KNOWN = [("yes", "Yes"), ("no", "No"), ("not_known", "Not known")]
AGENCY_OTHER = "other"
LONG_TEXT_LIMIT = 5000
SHORT_TEXT_LIMIT = 2000
MAX_PEOPLE = 10
MAX_AGENCIES = 15
MAX_KEY_DATES = 30


# --- Fields and widgets ------------------------------------------------------


class DateInputWidget(forms.MultiWidget):
    """The GOV.UK date input: day, month and year boxes."""

    template_name = "django/forms/widgets/multiwidget.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        parts = [forms.TextInput(attrs={"inputmode": "numeric"}) for _ in range(3)]
        super().__init__(parts, attrs)

    def decompress(self, value: Any) -> list[str]:
        if isinstance(value, dt.date):
            return [str(value.day), str(value.month), str(value.year)]
        return ["", "", ""]


class DateField(forms.Field):
    """A date typed as day, month and year, with the GOV.UK date input messages."""

    widget = DateInputWidget

    def __init__(self, *, name: str, required_message: str, **kwargs: Any) -> None:
        self.name_in_messages = name
        kwargs.setdefault("error_messages", {})["required"] = required_message
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, dt.date):
            return value
        parts = list(value) if isinstance(value, list | tuple) else ["", "", ""]
        day, month, year = ((str(p) if p is not None else "").strip() for p in [*parts, "", "", ""][:3])
        if not (day or month or year):
            return None
        missing = [label for label, part in (("day", day), ("month", month), ("year", year)) if not part]
        if missing:
            raise ValidationError(
                f"{self.name_in_messages} must include a {' and a '.join(missing)}", code="incomplete_date"
            )
        if not (day.isdigit() and month.isdigit() and year.isdigit()):
            raise ValidationError(f"{self.name_in_messages} must be a real date", code="invalid_date")
        if len(year) != 4:
            raise ValidationError("Year must include 4 numbers", code="invalid_year")
        try:
            return dt.date(int(year), int(month), int(day))
        except ValueError:
            raise ValidationError(f"{self.name_in_messages} must be a real date", code="invalid_date") from None


class LongTextField(forms.CharField):
    """Free text with a GOV.UK character count; the limit counts a line break as one character, as the count does."""

    def __init__(self, *, name: str, required_message: str | None = None, max_length: int = LONG_TEXT_LIMIT, **kw: Any):
        kw.setdefault("widget", forms.Textarea(attrs={"rows": 8}))
        kw["required"] = required_message is not None
        super().__init__(max_length=max_length, **kw)
        self.error_messages["max_length"] = f"{name} must be {max_length:,} characters or less"
        if required_message:
            self.error_messages["required"] = required_message
        self.widget.attrs["data-maxlength"] = str(max_length)
        self.widget.attrs.pop("maxlength", None)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value) or ""
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        # No maxlength attribute: the character count lets people type past the limit and then says so.
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs


def text_field(
    label: str,
    *,
    required_message: str | None = None,
    max_length: int = 200,
    hint: str = "",
    autocomplete: str = "",
    input_type: str = "text",
    width: str = "",
    spellcheck: bool | None = None,
    name: str = "",
) -> forms.CharField:
    """A one-line text input; ``name`` is what its messages call it (default: the label, without "(optional)")."""
    name = name or label.replace(" (optional)", "")
    attrs: dict[str, str] = {}
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    if width:
        attrs["class"] = width
    if spellcheck is not None:
        attrs["spellcheck"] = "true" if spellcheck else "false"
    widget: forms.Widget
    if input_type == "email":
        widget = forms.EmailInput(attrs=attrs)
    elif input_type == "tel":
        widget = forms.TextInput(attrs={**attrs, "type": "tel"})
    else:
        widget = forms.TextInput(attrs=attrs)
    field = forms.CharField(
        label=label, required=required_message is not None, max_length=max_length, help_text=hint, widget=widget
    )
    field.error_messages["max_length"] = f"{name} must be {max_length:,} characters or less"
    if required_message:
        field.error_messages["required"] = required_message
    field.widget.attrs.pop("maxlength", None)
    return field


def radios(
    label: str,
    choices: Sequence[tuple[str, str]],
    *,
    required_message: str | None = None,
    hint: str = "",
    invalid_message: str = "",
) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=list(choices),
        required=required_message is not None,
        help_text=hint,
        widget=forms.RadioSelect,
        error_messages={
            "required": required_message or "",
            "invalid_choice": invalid_message or required_message or f"Select an answer for {label.lower()}",
        },
    )


def aliases_field(who: str) -> LongTextField:
    return LongTextField(
        name="Other names",
        max_length=SHORT_TEXT_LIMIT,
        label="Other names they are known by (optional)",
        help_text=f"For example, a previous family name or a nickname. Put each of {who} names on a new line.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def aliases_list(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def partner_email_clean(value: str) -> str:
    """A work email address, refused unless it is a partner domain or the policy only warns."""
    email = value.strip()
    if not partner_email_policy_warns() and not email_domain_is_partner(email):
        raise ValidationError(
            "Enter a secure work email address from a partner agency, like name@nhs.net or name@yourcouncil.gov.uk. "
            f"If you do not have one, call the partnership business unit on {settings.BUSINESS_UNIT_PHONE} instead",
            code="not_partner_domain",
        )
    return email


def email_field(label: str, *, required_message: str | None, hint: str = "") -> forms.EmailField:
    field = forms.EmailField(
        label=label,
        required=required_message is not None,
        max_length=254,
        help_text=hint,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    field.error_messages["invalid"] = "Enter an email address in the correct format, like name@example.com"
    field.error_messages["max_length"] = f"{label} must be 254 characters or less"
    if required_message:
        field.error_messages["required"] = required_message
    field.widget.attrs.pop("maxlength", None)
    return field


_WS_RE = re.compile(r"\s+")


def field_summary_label(field: forms.Field) -> str:
    """A check-answers key: the label without '(optional)' or a trailing question mark's clutter."""
    label = str(field.label or "").replace(" (optional)", "")
    return _WS_RE.sub(" ", label).strip()


_IDENTIFIER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]*")


def identifier_field(label: str, *, max_length: int, hint: str) -> forms.CharField:
    """An optional reference number (police, local authority): typed freely, checked for plausible characters."""
    field = text_field(
        label, max_length=max_length, hint=hint, autocomplete="off", width="govuk-input--width-20", spellcheck=False
    )
    name = field_summary_label(field)

    def validate(value: str) -> None:
        if value and not _IDENTIFIER_RE.fullmatch(value):
            raise ValidationError(
                f"{name} must only include letters, numbers, spaces, full stops, hyphens and slashes",
                code="invalid_identifier",
            )

    field.validators.append(validate)
    return field


def clean_identifier(value: str) -> str:
    # One space between parts, so "12/345  /25" and "12/345 /25" are the same reference for matching.
    return _WS_RE.sub(" ", value or "").strip()


# --- Step form bases ---------------------------------------------------------


class StepForm(forms.Form):
    """A wizard step: knows its page title and which journey it is in."""

    title: ClassVar[str] = ""
    # The one question whose label or legend is the page's h1 (GOV.UK "question page" pattern).
    heading_field: ClassVar[str | None] = None
    # Radios whose answers reveal other fields: {radio field: {choice: [revealed fields]}}.
    conditionals: ClassVar[dict[str, dict[str, list[str]]]] = {}
    intro: ClassVar[str] = ""
    # Check answers leaves these out when blank (they only apply after another answer).
    hide_if_empty: ClassVar[frozenset[str]] = frozenset()
    summary_title: ClassVar[str] = ""

    def __init__(
        self, *args: Any, journey: str = FormType.PRACTICE_ALERT, event_date: dt.date | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.journey = journey
        # The event's date from an earlier step: a person's date of birth must come before it.
        self.event_day = event_date

    @property
    def is_case_review(self) -> bool:
        return self.journey == FormType.CASE_REVIEW

    def revealed_fields(self) -> set[str]:
        return {name for reveal in self.conditionals.values() for names in reveal.values() for name in names}


# --- About you ---------------------------------------------------------------


def agency_choices() -> list[tuple[str, str]]:
    agencies = [(str(pk), name) for pk, name in Agency.objects.filter(active=True).values_list("pk", "name")]
    return [("", "Select your agency"), *agencies, (AGENCY_OTHER, "Other")]


class AboutYouForm(StepForm):
    title = "About you"
    hide_if_empty = frozenset({"agency_other"})
    intro = "We will use these details to contact you about this referral."

    full_name = text_field("Full name", required_message="Enter your full name", autocomplete="name", spellcheck=False)
    job_title = text_field("Job title", required_message="Enter your job title", autocomplete="organization-title")
    agency = forms.ChoiceField(
        label="Agency",
        choices=[],
        error_messages={"required": "Select your agency", "invalid_choice": "Select your agency"},
    )
    agency_other = text_field(
        "Agency name, if you selected Other", hint="For example, the name of your charity", autocomplete="organization"
    )
    team = text_field("Team", required_message="Enter your team")
    phone = text_field(
        "Work telephone number",
        required_message="Enter your work telephone number",
        max_length=30,
        hint="For international numbers include the country code",
        autocomplete="tel",
        input_type="tel",
        width="govuk-input--width-20",
    )
    email = email_field(
        "Work email address",
        required_message="Enter your work email address",
        hint="Use a secure work address, like name@nhs.net, name@yourcouncil.gov.uk or name@force.police.uk",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agency_field = self.fields["agency"]
        assert isinstance(agency_field, forms.ChoiceField)
        agency_field.choices = agency_choices()
        self.fields["phone"].validators.append(validate_uk_phone)

    def clean_email(self) -> str:
        return partner_email_clean(self.cleaned_data["email"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("agency") == AGENCY_OTHER and not cleaned.get("agency_other"):
            self.add_error("agency_other", "Enter the name of your agency")
        if cleaned.get("agency") not in (None, AGENCY_OTHER):
            cleaned["agency_other"] = ""
        return cleaned


class SafeguardingLeadForm(StepForm):
    title = "Have you discussed this with your agency's safeguarding lead?"
    summary_title = "Safeguarding lead"
    heading_field = "consulted"

    consulted = radios(
        "Have you discussed this with your agency's safeguarding lead?",
        YES_NO,
        required_message="Select yes if you have discussed this with your agency's safeguarding lead",
        hint="For example, your designated safeguarding lead or named nurse for safeguarding.",
    )


class LeadDetailsForm(StepForm):
    title = "Your safeguarding lead's details"

    lead_name = text_field("Full name", required_message="Enter your safeguarding lead's full name", spellcheck=False)
    lead_job_title = text_field("Job title (optional)")
    lead_agency = text_field("Agency (optional)", hint="Leave blank if it is your agency")
    lead_email = email_field("Email address", required_message="Enter your safeguarding lead's email address")


class SeniorLeadForm(StepForm):
    title = "Has your agency's senior safeguarding lead agreed this referral?"
    summary_title = "Senior safeguarding lead"
    heading_field = "agreed"

    agreed = radios(
        "Has your agency's senior safeguarding lead agreed this referral?",
        YES_NO,
        required_message="Select yes if your agency's senior safeguarding lead has agreed this referral",
        hint="Or your agency's representative on the partnership executive. "
        "Case review referrals should be agreed before you send them.",
    )


# --- Event / review ----------------------------------------------------------


EARLIEST_DATE = dt.date(1900, 1, 1)
# The longest a pregnancy runs: an unborn child's expected date is at most this long after the event.
LONGEST_PREGNANCY = dt.timedelta(weeks=42)


def past_date_check(value: dt.date | None, name: str) -> None:
    """A date that has happened: not in the future and not before 1900 (a mistyped year)."""
    if value is not None and value > timezone.localdate():
        raise ValidationError(f"{name} must be in the past", code="date_in_future")
    if value is not None and value < EARLIEST_DATE:
        raise ValidationError(f"{name} must be after 1 January 1900", code="date_too_early")


class EventStepForm(StepForm):
    """The alert's event or the review's incident: a date in the past and an optional police reference."""

    def clean_police_reference(self) -> str:
        return clean_identifier(self.cleaned_data.get("police_reference", ""))

    def clean_event_date(self) -> dt.date | None:
        value: dt.date | None = self.cleaned_data.get("event_date")
        past_date_check(value, "Date of the event")
        return value


def event_date_field(label: str) -> DateField:
    return DateField(
        name="Date of the event",
        required_message="Enter the date of the event",
        label=label,
        help_text="For example, 27 3 2024",
    )


# The two serious-incident questions a practice alert and a case review both ask (the switch carries them).
def died_or_seriously_harmed_field() -> forms.ChoiceField:
    return radios(
        "Has the child died or been seriously harmed?",
        YES_NO_NOT_SURE,
        required_message="Select whether the child has died or been seriously harmed",
    )


def abuse_or_neglect_field() -> forms.ChoiceField:
    return radios(
        "Is abuse or neglect known or suspected?",
        YES_NO_NOT_SURE,
        required_message="Select whether abuse or neglect is known or suspected",
    )


def police_reference_field() -> forms.CharField:
    return identifier_field(
        "Police reference or event number (optional)",
        max_length=50,
        hint="If the police were involved, for example 46/12345/24",
    )


class EventForm(EventStepForm):
    title = "About the alert"

    alert_type = radios(
        "What are you telling us about?",
        [
            ("incident", "An incident"),
            ("adverse_event", "An adverse event"),
            ("near_miss", "A prevented incident (near miss)"),
            ("good_practice", "Good practice"),
        ],
        required_message="Select what you are telling us about",
    )
    event_date = event_date_field("When did it happen?")
    police_reference = police_reference_field()


class ReviewForm(EventStepForm):
    title = "About the review"

    review_type = radios(
        "What type of review are you asking for?",
        [
            ("cspr", "Child Safeguarding Practice Review (rapid review)"),
            ("learning_lessons", "Learning Lessons Review"),
            ("multi_agency_audit", "Multi-agency audit"),
            ("single_agency", "Single-agency review, to note"),
            ("good_practice", "Good practice to share"),
        ],
        required_message="Select what type of review you are asking for",
    )
    event_date = event_date_field("Date of the incident, or of the child's death")
    police_reference = police_reference_field()


class CriteriaForm(StepForm):
    title = "Serious incident criteria"
    intro = "These questions tell us whether the case may meet the criteria for a rapid review."

    died_or_seriously_harmed = died_or_seriously_harmed_field()
    abuse_or_neglect_suspected = abuse_or_neglect_field()
    directly_linked = radios(
        "Is the abuse or neglect directly linked to the death or serious harm?",
        YES_NO_NOT_SURE,
        required_message="Select whether the abuse or neglect is directly linked to the death or serious harm",
    )
    resident_or_incident_in_area = radios(
        "Does the child normally live in our area, or did the incident happen here?",
        YES_NO_NOT_SURE,
        required_message="Select whether the child lives in our area or the incident happened here",
    )
    multi_agency_learning = radios(
        "Does the case show learning about how agencies work together?",
        YES_NO_NOT_SURE,
        required_message="Select whether the case shows learning about how agencies work together",
    )


class SeriousIncidentForm(StepForm):
    title = "Serious harm"
    intro = "We ask so that the most serious cases reach the right group quickly."

    died_or_seriously_harmed = died_or_seriously_harmed_field()
    abuse_or_neglect_suspected = abuse_or_neglect_field()


class SwitchAdviceForm(StepForm):
    title = "This should be a case review referral"
    heading_field = "choice"

    choice = radios(
        "What do you want to do?",
        [
            ("switch", "Change to a case review referral (we will copy your answers)"),
            ("continue", "Carry on with the practice alert"),
        ],
        required_message="Select whether you want to change to a case review referral",
    )


class WhereaboutsForm(StepForm):
    """Case review about a death or serious harm: the child's whereabouts and carer at the time."""

    title = "At the time of the incident"
    intro = "Tell us where the child was and who was looking after them when they died or were harmed."

    whereabouts = LongTextField(
        name="Where the child was",
        required_message="Enter where the child was at the time of the incident",
        max_length=500,
        label="Where was the child?",
        help_text="For example, at home, at a relative's house or at school. Give the address if it was not "
        "the child's home. If you do not know, say so.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    carer = text_field(
        "Who was looking after the child?",
        required_message="Enter who was looking after the child at the time of the incident",
        max_length=300,
        hint="Their name and how they are related to the child, for example Jo Smith, mother's partner. "
        "If nobody was, or you do not know, say so.",
        name="Details of who was looking after the child",
        autocomplete="off",
        spellcheck=False,
    )


# --- Children and adults -----------------------------------------------------

CHILD_LEGAL_STATUS = [
    ("none", "None"),
    ("child_in_need", "Child in need"),
    ("child_protection_plan", "Child protection plan"),
    ("looked_after", "Looked after child"),
    ("care_leaver", "Care leaver"),
    ("not_known", "Not known"),
]
SEX_CHOICES = [("female", "Female"), ("male", "Male"), ("other", "Other"), ("not_known", "Not known")]
ADULT_ROLES = [
    ("mother", "Mother"),
    ("father", "Father"),
    ("partner", "Partner of a parent"),
    ("carer", "Carer"),
    ("other", "Other significant adult"),
]


class PersonForm(StepForm):
    """Fields children and adults share; one form per person in a formset."""

    noun: ClassVar[str] = "person"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["postcode"].validators.append(validate_postcode)

    def clean_postcode(self) -> str:
        value = self.cleaned_data.get("postcode", "")
        return normalise_postcode(value) if value else ""

    def _clean_birth(self, cleaned: dict[str, Any], today: dt.date) -> None:
        choice = cleaned.get("birth_info")
        dob = cleaned.get("date_of_birth")
        if choice == "date_of_birth":
            if dob is None and "date_of_birth" not in self.errors:
                self.add_error("date_of_birth", f"Enter the {self.noun}'s date of birth")
            elif dob is not None and dob > today:
                self.add_error("date_of_birth", "Date of birth must be in the past")
            elif dob is not None and self.event_day is not None and dob > self.event_day:
                self.add_error("date_of_birth", "Date of birth must be before the date of the event")
            elif dob is not None and dob < EARLIEST_DATE:
                self.add_error("date_of_birth", "Date of birth must be after 1 January 1900")
        elif choice == "age" and cleaned.get("age_years") is None and "age_years" not in self.errors:
            self.add_error("age_years", f"Enter the {self.noun}'s age")
        # Answers under an unselected option are not theirs to keep.
        if choice != "date_of_birth":
            cleaned["date_of_birth"] = None
            self.errors.pop("date_of_birth", None)
        if choice != "age":
            cleaned["age_years"] = None
            self.errors.pop("age_years", None)


def _age_field(noun: str, low: int, high: int) -> forms.IntegerField:
    message = f"Age must be a whole number between {low} and {high}"
    return forms.IntegerField(
        label="Age in years",
        required=False,
        min_value=low,
        max_value=high,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "govuk-input--width-3"}),
        error_messages={"invalid": message, "min_value": message, "max_value": message},
    )


class ChildForm(PersonForm):
    noun = "child"
    conditionals = {
        "birth_info": {"date_of_birth": ["date_of_birth"], "age": ["age_years"], "unborn": ["expected_date"]},
    }

    given_name = text_field("First name", autocomplete="off", max_length=100, spellcheck=False)
    family_name = text_field("Last name", autocomplete="off", max_length=100, spellcheck=False)
    aliases = aliases_field("their")
    birth_info = radios(
        "Date of birth or age",
        [("date_of_birth", "I know their date of birth"), ("age", "I only know their age"), ("unborn", "Unborn")],
        required_message="Enter a date of birth, an age or select unborn",
    )
    date_of_birth = DateField(
        name="Date of birth",
        required_message="Enter the child's date of birth",
        required=False,
        label="Date of birth",
        help_text="For example, 31 3 2015",
    )
    age_years = _age_field("child", 0, 25)
    expected_date = DateField(
        name="Expected date of delivery",
        required_message="Enter the expected date of delivery",
        required=False,
        label="Expected date of delivery",
        help_text="For example, 14 8 2025",
    )
    sex = radios("Sex (optional)", SEX_CHOICES)
    address_line = LongTextField(
        name="Home address",
        max_length=300,
        label="Home address",
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
    )
    postcode = text_field("Postcode", max_length=10, autocomplete="off", width="govuk-input--width-10")
    nhs_number = text_field(
        "NHS number (optional)",
        max_length=12,
        hint="A 10 digit number, like 943 476 5919",
        autocomplete="off",
        width="govuk-input--width-10",
    )
    la_case_number = identifier_field(
        "Local authority case number (optional)",
        max_length=30,
        hint="The child's number in the children's social care record, if you know it",
    )
    school_or_setting = text_field("School, college or early years setting (optional)", max_length=200)
    gp_practice = text_field(
        "GP practice (optional)",
        max_length=200,
        hint="The practice name and town, for example Riverside Surgery, Chatham",
    )
    legal_status = radios("Legal status", CHILD_LEGAL_STATUS)
    ethnicity = text_field("Ethnicity (optional)", max_length=100)
    first_language = text_field("First language (optional)", max_length=100)
    interpreter_needed = radios(
        "Does the child need an interpreter? (optional)",
        YES_NO_NOT_KNOWN,
        hint="Including a British Sign Language interpreter",
        invalid_message="Select yes if the child needs an interpreter",
    )
    disability = text_field("Disability or special educational needs (optional)", max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["nhs_number"].validators.append(validate_nhs_number)
        if self.is_case_review:
            self._require("given_name", "Enter the child's first name")
            self._require("family_name", "Enter the child's last name")
            self._require("address_line", "Enter the child's home address")
            self._require("postcode", "Enter the child's postcode")
            self._require("legal_status", "Select the child's legal status")
        else:
            self.fields["given_name"].help_text = "You can use their initials"
            self.fields["given_name"].label = "First name or initial"
            self.fields["family_name"].label = "Last name or initial"
            for name in ("address_line", "postcode", "legal_status"):
                self.fields[name].label = f"{self.fields[name].label} (optional)"

    def _require(self, name: str, message: str) -> None:
        self.fields[name].required = True
        self.fields[name].error_messages["required"] = message

    def clean_nhs_number(self) -> str:
        return normalise_nhs_number(self.cleaned_data.get("nhs_number", ""))

    def clean_la_case_number(self) -> str:
        return clean_identifier(self.cleaned_data.get("la_case_number", ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        today = timezone.localdate()
        self._clean_birth(cleaned, today)
        if cleaned.get("birth_info") == "unborn":
            expected = cleaned.get("expected_date")
            if expected is None and "expected_date" not in self.errors:
                self.add_error("expected_date", "Enter the expected date of delivery")
            elif expected is not None and self.event_day is not None:
                # Unborn at the time of the event: due after it, and within one pregnancy of it.
                if expected < self.event_day:
                    self.add_error("expected_date", "Expected date of delivery must be after the date of the event")
                elif expected > self.event_day + LONGEST_PREGNANCY:
                    self.add_error(
                        "expected_date", "Expected date of delivery must be within 42 weeks of the date of the event"
                    )
        else:
            cleaned["expected_date"] = None
            self.errors.pop("expected_date", None)
        return cleaned


class AdultForm(PersonForm):
    noun = "adult"
    conditionals = {"birth_info": {"date_of_birth": ["date_of_birth"], "age": ["age_years"]}}

    role = radios("Who are they?", ADULT_ROLES, required_message="Select who the adult is")
    relationship = text_field(
        "Relationship to the child or children (optional)", hint="For example, stepfather, grandmother, lodger"
    )
    given_name = text_field("First name", autocomplete="off", max_length=100, spellcheck=False)
    family_name = text_field("Last name", autocomplete="off", max_length=100, spellcheck=False)
    aliases = aliases_field("their")
    birth_info = radios(
        "Date of birth or age (optional)",
        [("date_of_birth", "I know their date of birth"), ("age", "I only know their age"), ("not_known", "Not known")],
    )
    date_of_birth = DateField(
        name="Date of birth",
        required_message="Enter the adult's date of birth",
        required=False,
        label="Date of birth",
        help_text="For example, 31 3 1990",
    )
    age_years = _age_field("adult", 10, 120)
    address_line = LongTextField(
        name="Address", max_length=300, label="Address (optional)", widget=forms.Textarea(attrs={"rows": 3})
    )
    postcode = text_field("Postcode (optional)", max_length=10, autocomplete="off", width="govuk-input--width-10")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_case_review:
            for name, message in (
                ("given_name", "Enter the adult's first name"),
                ("family_name", "Enter the adult's last name"),
            ):
                self.fields[name].required = True
                self.fields[name].error_messages["required"] = message

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self._clean_birth(cleaned, timezone.localdate())
        return cleaned


class AgencyInvolvedForm(StepForm):
    agency_name = text_field("Agency or service", required_message="Enter the name of the agency")
    contact = text_field(
        "Contact (optional)", max_length=300, hint="Name, job title, and a phone number or email address"
    )
    still_involved = radios("Are they still involved? (optional)", YES_NO_NOT_KNOWN)


class KeyDateForm(StepForm):
    """One line of the chronology: a date and what happened. A blank line is left out."""

    date = DateField(
        name="Date",
        required_message="Enter the date",
        required=False,
        label="Date",
        help_text="For example, 27 3 2024",
    )
    event = LongTextField(
        name="What happened",
        max_length=500,
        label="What happened on this date?",
        help_text="For example, a missed appointment, a referral, an injury or someone moving in",
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_date(self) -> dt.date | None:
        value: dt.date | None = self.cleaned_data.get("date")
        past_date_check(value, "Date")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        has_date = cleaned.get("date") is not None or "date" in self.errors
        if cleaned.get("event") and not has_date:
            self.add_error("date", "Enter the date of this event")
        if has_date and not cleaned.get("event"):
            self.add_error("event", "Enter what happened on this date")
        return cleaned


class StepFormSet(forms.BaseFormSet):
    """A repeatable step (children, adults, agencies): several forms on one page."""

    title: ClassVar[str] = ""
    intro: ClassVar[str] = ""
    noun: ClassVar[str] = "item"
    noun_plural: ClassVar[str] = "items"
    min_for_case_review: ClassVar[int] = 1
    min_for_practice_alert: ClassVar[int] = 1
    # Check answers: a summary card per item, or ("rows") one summary list row per item.
    summary_style: ClassVar[str] = "cards"

    default_error_messages = {
        "missing_management_form": "The page was sent without its form details",
        "too_many_forms": "You can add up to %(num)d",
        "too_few_forms": "Add at least %(num)d",
    }

    def __init__(
        self, *args: Any, journey: str = FormType.PRACTICE_ALERT, event_date: dt.date | None = None, **kwargs: Any
    ) -> None:
        kwargs["form_kwargs"] = {"journey": journey, "event_date": event_date}
        super().__init__(*args, **kwargs)
        self.journey = journey
        # The first min_num forms are required (not empty_permitted), which already names each missing
        # answer; a formset-level "too few" error on top would only repeat it.
        self.min_num = self.min_for_case_review if journey == FormType.CASE_REVIEW else self.min_for_practice_alert

    def initial_form_count(self) -> int:
        return 0

    def total_form_count(self) -> int:
        # Always show at least one form, so the page never opens empty.
        return max(super().total_form_count(), 1)

    @property
    def is_case_review(self) -> bool:
        return self.journey == FormType.CASE_REVIEW


class ChildFormSetBase(StepFormSet):
    title = "Children"
    intro = "Tell us about each child this concerns. Add another child if there is more than one."
    noun = "child"
    noun_plural = "children"

    default_error_messages = {
        **StepFormSet.default_error_messages,
        "too_many_forms": f"You can add up to {MAX_PEOPLE} children",
        "too_few_forms": "Add at least one child",
    }


class AdultFormSetBase(StepFormSet):
    title = "Parents, carers and other adults"
    intro = "Tell us about the child's parents, carers, partners of parents and other significant adults."
    noun = "adult"
    noun_plural = "adults"
    min_for_practice_alert = 0

    default_error_messages = {
        **StepFormSet.default_error_messages,
        "too_many_forms": f"You can add up to {MAX_PEOPLE} adults",
        "too_few_forms": "Add at least one parent or carer",
    }


class AgencyFormSetBase(StepFormSet):
    title = "Agencies involved"
    intro = "Tell us which other agencies are or were involved with the child or family."
    noun = "agency"
    noun_plural = "agencies"

    default_error_messages = {
        **StepFormSet.default_error_messages,
        "too_many_forms": f"You can add up to {MAX_AGENCIES} agencies",
        "too_few_forms": "Add at least one agency",
    }


class KeyDateFormSetBase(StepFormSet):
    title = "Key dates"
    intro = (
        "This page is optional. List the dates that matter for understanding the case, such as referrals, "
        "missed appointments, injuries and changes in the household. Leave it blank if you have nothing to add."
    )
    noun = "key date"
    noun_plural = "key dates"
    min_for_case_review = 0
    min_for_practice_alert = 0
    summary_style = "rows"

    default_error_messages = {
        **StepFormSet.default_error_messages,
        "too_many_forms": f"You can add up to {MAX_KEY_DATES} key dates",
    }


ChildFormSet = cast(
    type[ChildFormSetBase],
    forms.formset_factory(
        ChildForm, formset=ChildFormSetBase, extra=0, max_num=MAX_PEOPLE, absolute_max=MAX_PEOPLE, validate_max=True
    ),
)
AdultFormSet = cast(
    type[AdultFormSetBase],
    forms.formset_factory(
        AdultForm, formset=AdultFormSetBase, extra=0, max_num=MAX_PEOPLE, absolute_max=MAX_PEOPLE, validate_max=True
    ),
)
AgencyFormSet = cast(
    type[AgencyFormSetBase],
    forms.formset_factory(
        AgencyInvolvedForm,
        formset=AgencyFormSetBase,
        extra=0,
        max_num=MAX_AGENCIES,
        absolute_max=MAX_AGENCIES,
        validate_max=True,
    ),
)

KeyDateFormSet = cast(
    type[KeyDateFormSetBase],
    forms.formset_factory(
        KeyDateForm,
        formset=KeyDateFormSetBase,
        extra=0,
        max_num=MAX_KEY_DATES,
        absolute_max=MAX_KEY_DATES,
        validate_max=True,
    ),
)


# --- What happened and learning ----------------------------------------------


class WhatHappenedForm(StepForm):
    title = "What happened"
    intro = "Write facts rather than opinions. Include what the child said, if they said anything."

    what_happened = LongTextField(name="What happened", required_message="Enter what happened", label="What happened?")
    impact_on_child = LongTextField(
        name="Impact on the child",
        required_message="Enter the impact or possible impact on the child",
        max_length=SHORT_TEXT_LIMIT,
        label="What was the impact, or possible impact, on the child?",
    )


# Learning questions a practice alert and a case review both ask (the switch carries them).
def learning_field(label: str) -> LongTextField:
    return LongTextField(
        name="Learning",
        required_message="Enter the learning for agencies working together",
        max_length=SHORT_TEXT_LIMIT,
        label=label,
    )


def what_worked_well_field() -> LongTextField:
    return LongTextField(name="What worked well", max_length=SHORT_TEXT_LIMIT, label="What worked well? (optional)")


def what_did_not_work_field(*, hint: str = "") -> LongTextField:
    return LongTextField(
        name="What did not work well",
        max_length=SHORT_TEXT_LIMIT,
        label="What did not work well? (optional)",
        help_text=hint,
    )


def immediate_actions_field() -> LongTextField:
    return LongTextField(
        name="Immediate actions",
        max_length=SHORT_TEXT_LIMIT,
        label="What has already been done? (optional)",
        help_text="Include safeguarding actions and any escalation you used",
    )


class PracticeForm(StepForm):
    title = "Practice and learning"

    what_worked_well = what_worked_well_field()
    what_did_not_work = what_did_not_work_field(
        hint="For example, practice that fell short of the partnership's procedures"
    )
    learning_identified = learning_field("What can agencies learn from this about working together?")
    immediate_actions = immediate_actions_field()


class CaseDetailsForm(StepForm):
    title = "About the case"

    case_outline = LongTextField(
        name="Case outline",
        required_message="Enter a case outline",
        label="Case outline",
        help_text="How the child and family came to your agency, their status and the work your agency did",
    )
    circumstances = LongTextField(
        name="The circumstances",
        required_message="Enter the circumstances that led to this referral",
        label="What led to this referral?",
    )
    reasons_for_review = LongTextField(
        name="Reasons for a review",
        required_message="Enter why the case may meet the criteria for a review",
        max_length=SHORT_TEXT_LIMIT,
        label="Why may this case meet the criteria for a review?",
        help_text="For example, concerns about how agencies worked together or themes you have seen before",
    )
    linked_cases = LongTextField(
        name="Linked cases",
        max_length=SHORT_TEXT_LIMIT,
        label="Linked cases or previous reviews (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class LearningForm(StepForm):
    title = "Learning"

    learning_identified = learning_field("What could agencies learn from this case?")
    what_worked_well = what_worked_well_field()
    what_did_not_work = what_did_not_work_field()
    immediate_actions = immediate_actions_field()


PARALLEL_PROCESSES: list[tuple[str, str, str]] = [
    ("police_investigation", "Is there a police investigation?", "a police investigation"),
    ("criminal_proceedings", "Are there criminal proceedings?", "criminal proceedings"),
    ("inquest", "Is there a coroner's inquest?", "a coroner's inquest"),
    ("dhr", "Is there a domestic homicide review?", "a domestic homicide review"),
    ("sar", "Is there a safeguarding adults review?", "a safeguarding adults review"),
    ("family_court", "Are there family court proceedings?", "family court proceedings"),
    ("complaint", "Is there a complaint?", "a complaint"),
    ("hr", "Is there an HR or disciplinary process?", "an HR or disciplinary process"),
]


class ParallelProcessesForm(StepForm):
    title = "Other processes"
    intro = "Tell us about other investigations or reviews, so the review can work alongside them."

    details = LongTextField(
        name="Details",
        max_length=SHORT_TEXT_LIMIT,
        label="Details (optional)",
        help_text="For example, police reference numbers and dates of hearings",
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        details = self.fields.pop("details")
        for name, label, phrase in PARALLEL_PROCESSES:
            self.fields[name] = radios(label, YES_NO_NOT_KNOWN, required_message=f"Select yes if there is {phrase}")
        self.fields["details"] = details


class OtherInformationForm(StepForm):
    title = "Other information"

    media_interest = radios(
        "Is there media interest in this case?",
        YES_NO_NOT_KNOWN,
        required_message="Select yes if there is media interest in this case",
    )
    family_aware = radios(
        "Does the family know you are sending this?",
        YES_NO_NOT_KNOWN,
        required_message="Select yes if the family knows you are sending this",
        hint="You do not need the family's consent to share information to keep a child safe",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "media_interest"
        ].help_text = f"If there is, also phone the partnership business unit on {settings.BUSINESS_UNIT_PHONE}"


class CheckAnswersForm(StepForm):
    title = "Check your answers before sending"


DECLARATIONS = [
    ("accurate", "The information is accurate, up to date, necessary and proportionate"),
    (
        "third_parties",
        "I have only included what is needed about other people, and flagged anyone whose identity needs protecting",
    ),
    ("records_secured", "My agency has secured its records about this child and family"),
]


class DeclarationForm(StepForm):
    title = "Declaration"

    confirmations = forms.MultipleChoiceField(
        label="Confirm each statement",
        choices=DECLARATIONS,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Confirm each statement to send your form",
            "invalid_choice": "Confirm each statement to send your form",
        },
    )

    def clean_confirmations(self) -> list[str]:
        chosen: list[str] = self.cleaned_data["confirmations"]
        if set(chosen) != {key for key, _ in DECLARATIONS}:
            raise ValidationError("Confirm each statement to send your form", code="declaration_incomplete")
        return chosen


# --- The two journeys ----------------------------------------------------------

StepClass = type[StepForm] | type[StepFormSet]

PRACTICE_ALERT_STEPS: list[tuple[str, Any]] = [
    (steps.ABOUT_YOU, AboutYouForm),
    (steps.SAFEGUARDING_LEAD, SafeguardingLeadForm),
    (steps.LEAD_DETAILS, LeadDetailsForm),
    (steps.EVENT, EventForm),
    (steps.CHILDREN, ChildFormSet),
    (steps.ADULTS, AdultFormSet),
    (steps.WHAT_HAPPENED, WhatHappenedForm),
    (steps.PRACTICE, PracticeForm),
    (steps.AGENCIES, AgencyFormSet),
    (steps.SERIOUS_INCIDENT, SeriousIncidentForm),
    (steps.SWITCH_ADVICE, SwitchAdviceForm),
    (steps.OTHER_INFORMATION, OtherInformationForm),
    (steps.CHECK_ANSWERS, CheckAnswersForm),
    (steps.DECLARATION, DeclarationForm),
]

CASE_REVIEW_STEPS: list[tuple[str, Any]] = [
    (steps.ABOUT_YOU, AboutYouForm),
    (steps.SAFEGUARDING_LEAD, SafeguardingLeadForm),
    (steps.LEAD_DETAILS, LeadDetailsForm),
    (steps.SENIOR_LEAD, SeniorLeadForm),
    (steps.REVIEW, ReviewForm),
    (steps.CRITERIA, CriteriaForm),
    (steps.WHEREABOUTS, WhereaboutsForm),
    (steps.CHILDREN, ChildFormSet),
    (steps.ADULTS, AdultFormSet),
    (steps.CASE_DETAILS, CaseDetailsForm),
    (steps.CHRONOLOGY, KeyDateFormSet),
    (steps.LEARNING, LearningForm),
    (steps.AGENCIES, AgencyFormSet),
    (steps.PARALLEL_PROCESSES, ParallelProcessesForm),
    (steps.OTHER_INFORMATION, OtherInformationForm),
    (steps.CHECK_ANSWERS, CheckAnswersForm),
    (steps.DECLARATION, DeclarationForm),
]


class SaveForLaterForm(forms.Form):
    """Save and come back later: where to send the single-use link."""

    email = email_field(
        "Email address",
        required_message="Enter your work email address",
        hint="We will send a link to this address. It works once and expires in 28 days.",
    )

    def clean_email(self) -> str:
        # The link opens answers about a child, so it goes to a partner address unless the policy only warns.
        return partner_email_clean(self.cleaned_data["email"])


def display_value(field: forms.Field, value: Any) -> str:
    """How check answers shows one cleaned value."""
    if value in (None, "", [], ()):
        return "Not given"
    if isinstance(value, dt.date):
        return f"{value.day} {value:%B %Y}"
    if isinstance(field, forms.MultipleChoiceField):
        labels = dict(_flat_choices(field.choices))
        return "\n".join(str(labels.get(v, v)) for v in value)
    if isinstance(field, forms.ChoiceField):
        return str(dict(_flat_choices(field.choices)).get(str(value), value))
    return str(value)


def _flat_choices(choices: Any) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in choices if not isinstance(v, list | tuple)]
