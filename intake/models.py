"""Referrals as professionals submit them: the referral, its referrer and the people in it.

Structured people (for matching) and free text (for theme tagging) are kept apart so the
NLP steps can read each without parsing the other. No model's ``__str__`` shows personal
data: only references and ids.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class FormType(models.TextChoices):
    PRACTICE_ALERT = "practice_alert", "Partnership Practice Alert"
    CASE_REVIEW = "case_review", "Case review referral"


class ReferralSource(models.TextChoices):
    ONLINE = "online", "Online form"
    IMPORTED = "imported", "Imported from a legacy system"


class ReferralStatus(models.TextChoices):
    """Workflow states; transitions are owned by triage services (later issue)."""

    SUBMITTED = "submitted", "Submitted"
    SCREENING = "screening", "Screening"
    AWAITING_DECISION = "awaiting_decision", "Awaiting partner decision"
    RAPID_REVIEW = "rapid_review", "Rapid review"
    ROUTED = "routed", "Routed to subgroup"
    CLOSED = "closed", "Closed"
    IMPORTED = "imported", "Imported history"


class AgencyKind(models.TextChoices):
    POLICE = "police", "Police"
    HEALTH = "health", "Health"
    EDUCATION = "education", "Education"
    SOCIAL_CARE = "social_care", "Children's social care"
    HOUSING = "housing", "Housing"
    VOLUNTARY = "voluntary", "Voluntary or community sector"
    PROBATION = "probation", "Probation or youth justice"
    OTHER = "other", "Other"


class Agency(models.Model):
    """Reference data: the partner agencies a referrer can pick from."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=AgencyKind.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class Referral(models.Model):
    """One submitted Partnership Practice Alert or Case review referral."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(max_length=20, unique=True)
    form_type = models.CharField(max_length=20, choices=FormType.choices, db_index=True)
    source = models.CharField(max_length=10, choices=ReferralSource.choices, default=ReferralSource.ONLINE)
    status = models.CharField(
        max_length=30, choices=ReferralStatus.choices, default=ReferralStatus.SUBMITTED, db_index=True
    )
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    received_date = models.DateField(help_text="Date the partnership received it (legacy date for imports).")
    # The draft it came from: unique, so a double submit of one draft creates one referral.
    draft = models.OneToOneField(
        "intake.Draft", null=True, blank=True, on_delete=models.SET_NULL, related_name="referral"
    )
    # Practice alert: which alert this switched from, when a referrer switched journeys.
    switched_from_practice_alert = models.BooleanField(default=False)

    # Event / incident
    alert_type = models.CharField(max_length=30, blank=True)
    review_type = models.CharField(max_length=30, blank=True)
    event_date = models.DateField(null=True, blank=True)
    # Optional identifier the matching step can use to link referrals about the same incident.
    police_reference = models.CharField(max_length=50, blank=True, help_text="Police reference or event number.")
    # Case review about a death or serious harm: where the child was and who was caring for them then.
    incident_whereabouts = models.CharField(max_length=500, blank=True)
    incident_carer = models.CharField(max_length=300, blank=True)
    # Serious-incident criteria answers: "yes", "no", "not_sure" or blank.
    criteria_died_or_seriously_harmed = models.CharField(max_length=10, blank=True)
    criteria_abuse_or_neglect_suspected = models.CharField(max_length=10, blank=True)
    criteria_directly_linked = models.CharField(max_length=10, blank=True)
    criteria_resident_or_incident_in_area = models.CharField(max_length=10, blank=True)
    criteria_multi_agency_learning = models.CharField(max_length=10, blank=True)
    media_interest = models.CharField(max_length=10, blank=True)
    family_aware = models.CharField(max_length=10, blank=True)
    # {"police_investigation": "yes", "criminal_proceedings": "no", ...}
    parallel_processes = models.JSONField(default=dict, blank=True)
    parallel_processes_details = models.TextField(blank=True)

    # Free text, one column per question: the theme tagger reads these (see NARRATIVE_FIELDS).
    what_happened = models.TextField(blank=True)
    impact_on_child = models.TextField(blank=True)
    what_worked_well = models.TextField(blank=True)
    what_did_not_work = models.TextField(blank=True)
    learning_identified = models.TextField(blank=True)
    immediate_actions = models.TextField(blank=True)
    case_outline = models.TextField(blank=True)
    circumstances = models.TextField(blank=True)
    reasons_for_review = models.TextField(blank=True)
    linked_cases = models.TextField(blank=True)
    narrative = models.TextField(blank=True, help_text="Legacy free text from imports.")

    # Every answer as cleaned by the wizard, for the case page and audit (JSON-safe).
    answers = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["form_type", "status", "submitted_at"])]

    NARRATIVE_FIELDS: tuple[str, ...] = (
        "what_happened",
        "impact_on_child",
        "what_worked_well",
        "what_did_not_work",
        "learning_identified",
        "immediate_actions",
        "case_outline",
        "circumstances",
        "reasons_for_review",
        "linked_cases",
        "parallel_processes_details",
        "incident_whereabouts",
        "narrative",
    )

    def __str__(self) -> str:
        return self.reference

    def narrative_texts(self) -> dict[str, str]:
        """Non-empty free-text answers keyed by field name, for theme tagging."""
        return {name: text for name in self.NARRATIVE_FIELDS if (text := getattr(self, name) or "").strip()}

    @property
    def meets_serious_incident_criteria(self) -> bool:
        return self.criteria_died_or_seriously_harmed == "yes" and self.criteria_abuse_or_neglect_suspected == "yes"


class Referrer(models.Model):
    """The professional who submitted a referral (one per referral)."""

    referral = models.OneToOneField(Referral, on_delete=models.CASCADE, related_name="referrer")
    full_name = models.CharField(max_length=200)
    job_title = models.CharField(max_length=200)
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT)
    agency_other = models.CharField(max_length=200, blank=True)
    team = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=30)
    email = models.EmailField()
    email_domain_is_partner = models.BooleanField(default=True)
    safeguarding_lead_consulted = models.CharField(max_length=10, blank=True)
    lead_name = models.CharField(max_length=200, blank=True)
    lead_job_title = models.CharField(max_length=200, blank=True)
    lead_agency = models.CharField(max_length=200, blank=True)
    lead_email = models.EmailField(blank=True)
    senior_lead_agreed = models.CharField(max_length=10, blank=True)

    def __str__(self) -> str:
        return f"Referrer #{self.pk}"


class PersonRole(models.TextChoices):
    CHILD = "child", "Child"
    MOTHER = "mother", "Mother"
    FATHER = "father", "Father"
    PARTNER = "partner", "Partner of a parent"
    CARER = "carer", "Carer"
    OTHER = "other", "Other significant adult"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "", "Not known"


class Person(models.Model):
    """A child or adult named in a referral, as the referrer wrote them."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="people")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the referral (1-based row).")
    role = models.CharField(max_length=10, choices=PersonRole.choices, db_index=True)
    given_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    # Other names used, as typed: ["Lizzie Smith", "Beth Jones"].
    aliases = models.JSONField(default=list, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    is_unborn = models.BooleanField(default=False)
    expected_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, blank=True)
    address_line = models.CharField(max_length=300, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    nhs_number = models.CharField(max_length=10, blank=True)
    # Children's social care case number (child only), an identifier for matching.
    la_case_number = models.CharField(max_length=30, blank=True)
    gp_practice = models.CharField(max_length=200, blank=True)
    relationship = models.CharField(max_length=200, blank=True, help_text="Relationship to the child(ren).")
    # Child only: legal status and settings.
    legal_status = models.CharField(max_length=30, blank=True)
    school_or_setting = models.CharField(max_length=200, blank=True)
    ethnicity = models.CharField(max_length=100, blank=True)
    first_language = models.CharField(max_length=100, blank=True)
    interpreter_needed = models.CharField(max_length=10, blank=True)
    disability = models.CharField(max_length=300, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["referral_id", "position", "id"]

    def __str__(self) -> str:
        return f"Person #{self.pk} ({self.role})"


class AgencyInvolvement(models.Model):
    """Another agency involved with the child or family, per referral."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="agencies_involved")
    agency_name = models.CharField(max_length=200)
    contact = models.CharField(max_length=300, blank=True)
    still_involved = models.CharField(max_length=10, blank=True)

    def __str__(self) -> str:
        return f"Agency involvement #{self.pk}"


def _draft_expiry() -> datetime:
    return timezone.now() + timedelta(days=settings.DRAFT_RETENTION_DAYS)


class Draft(models.Model):
    """Server-side wizard answers, one row per draft, so two tabs never share answers."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    form_type = models.CharField(max_length=20, choices=FormType.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(default=_draft_expiry, db_index=True)
    # Save and come back later: only a hash of the single-use token is stored.
    resume_email = models.EmailField(blank=True)
    resume_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    resume_token_used_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Draft {self.key}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed, will retry"
    GAVE_UP = "gave_up", "Failed permanently"


class EmailKind(models.TextChoices):
    ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement to referrer"
    RESUME_LINK = "resume_link", "Save and come back later link"
    ROUTING = "routing", "Routed to subgroup"
    OUTCOME = "outcome", "Outcome to referrer"


class EmailOutbox(models.Model):
    """One row per message, so a retried task never sends twice and failures stay visible."""

    kind = models.CharField(max_length=20, choices=EmailKind.choices)
    # Makes each logical message unique, e.g. "acknowledgement:<referral id>".
    dedupe_key = models.CharField(max_length=100, unique=True)
    referral = models.ForeignKey(Referral, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails")
    draft = models.ForeignKey(Draft, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails")
    to_email = models.EmailField()
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(max_length=300, blank=True, help_text="Error class only; never personal data.")
    esp_message_id = models.CharField(max_length=200, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Lease on a "sending" row: after it passes, the worker is presumed dead and the row is retried.
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "email outbox message"

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"
