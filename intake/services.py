"""Writes for the intake app: plain, typed, keyword-only functions."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from intake import steps
from intake.emails import acknowledgement_enqueue
from intake.models import (
    Agency,
    AgencyInvolvement,
    Draft,
    FormType,
    Person,
    PersonRole,
    Referral,
    Referrer,
)
from intake.references import reference_generate
from intake.signals import referral_submitted
from intake.validators import email_domain_is_partner

logger = logging.getLogger(__name__)

# The layout of Draft.data: formtools' own storage dict, unvalidated page answers kept by
# "save and come back later", and facts about the draft itself.
DRAFT_WIZARD = "wizard"
DRAFT_PARTIAL = "partial"
DRAFT_META = "meta"

# A step's cleaned answers: a dict for a form, a list of dicts for a repeatable (formset) step.
Answers = Mapping[str, Any]


def wizard_document(*, step_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """An empty formtools storage dict (the keys formtools' BaseStorage expects)."""
    return {"step": None, "step_data": step_data or {}, "step_files": {}, "extra_data": {}}


# A draft nobody has written an answer to lives this long; its first save extends it to the full
# retention period. Scripts that open forms and type nothing then leave no rows behind for 28 days.
UNTOUCHED_DRAFT_LIFE = dt.timedelta(days=1)


def draft_create(*, form_type: str) -> Draft:
    return Draft.objects.create(
        form_type=form_type,
        data={DRAFT_WIZARD: wizard_document(), DRAFT_META: {}},
        expires_at=timezone.now() + UNTOUCHED_DRAFT_LIFE,
    )


@transaction.atomic
def draft_switch_to_case_review(*, draft: Draft, step_data: dict[str, Any], partial: dict[str, Any]) -> Draft:
    """Close a practice alert draft and open a case review draft holding its answers. Idempotent."""
    locked = Draft.objects.select_for_update().get(pk=draft.pk)
    meta = dict(locked.data.get(DRAFT_META) or {})
    if meta.get("switched_to"):
        existing = Draft.objects.filter(key=meta["switched_to"]).first()
        if existing is not None:
            return existing
    new = Draft.objects.create(
        form_type=FormType.CASE_REVIEW,
        data={
            DRAFT_WIZARD: wizard_document(step_data=step_data),
            DRAFT_PARTIAL: partial,
            DRAFT_META: {"switched_from_practice_alert": True, "notice": "switched"},
        },
        resume_email=locked.resume_email,
    )
    # The answers now live in the new draft only: the old one keeps no personal data.
    locked.data = {DRAFT_META: {"switched_to": str(new.key)}}
    locked.save(update_fields=["data", "updated_at"])
    return new


def _json_safe(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _aliases(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _person(referral: Referral, position: int, role: str, answers: Mapping[str, Any]) -> Person:
    sex = answers.get("sex") or ""
    return Person(
        referral=referral,
        position=position,
        role=role,
        given_name=answers.get("given_name", ""),
        family_name=answers.get("family_name", ""),
        aliases=_aliases(answers.get("aliases", "")),
        date_of_birth=answers.get("date_of_birth"),
        age_years=answers.get("age_years"),
        is_unborn=answers.get("birth_info") == "unborn",
        expected_date=answers.get("expected_date"),
        sex="" if sex == "not_known" else sex,
        address_line=answers.get("address_line", ""),
        postcode=answers.get("postcode", ""),
        nhs_number=answers.get("nhs_number", ""),
        la_case_number=answers.get("la_case_number", ""),
        gp_practice=answers.get("gp_practice", ""),
        interpreter_needed=answers.get("interpreter_needed", ""),
        relationship=answers.get("relationship", ""),
        legal_status=answers.get("legal_status", ""),
        school_or_setting=answers.get("school_or_setting", ""),
        ethnicity=answers.get("ethnicity", ""),
        first_language=answers.get("first_language", ""),
        disability=answers.get("disability", ""),
    )


def _new_reference(form_type: str) -> str:
    for _ in range(10):
        reference = reference_generate(form_type=form_type)
        if not Referral.objects.filter(reference=reference).exists():
            return reference
    raise RuntimeError("Could not find a free reference")  # 23**8 codes: practically unreachable


def _referral_fields(form_type: str, answers: Answers) -> dict[str, Any]:
    event = answers.get(steps.EVENT) or answers.get(steps.REVIEW) or {}
    criteria = answers.get(steps.CRITERIA) or answers.get(steps.SERIOUS_INCIDENT) or {}
    happened = answers.get(steps.WHAT_HAPPENED) or {}
    learning = answers.get(steps.PRACTICE) or answers.get(steps.LEARNING) or {}
    case = answers.get(steps.CASE_DETAILS) or {}
    other = answers.get(steps.OTHER_INFORMATION) or {}
    whereabouts = answers.get(steps.WHEREABOUTS) or {}
    parallel = dict(answers.get(steps.PARALLEL_PROCESSES) or {})
    parallel_details = parallel.pop("details", "")
    return {
        "alert_type": event.get("alert_type", ""),
        "review_type": event.get("review_type", ""),
        "event_date": event.get("event_date"),
        "police_reference": event.get("police_reference", ""),
        "incident_whereabouts": whereabouts.get("whereabouts", ""),
        "incident_carer": whereabouts.get("carer", ""),
        "criteria_died_or_seriously_harmed": criteria.get("died_or_seriously_harmed", ""),
        "criteria_abuse_or_neglect_suspected": criteria.get("abuse_or_neglect_suspected", ""),
        "criteria_directly_linked": criteria.get("directly_linked", ""),
        "criteria_resident_or_incident_in_area": criteria.get("resident_or_incident_in_area", ""),
        "criteria_multi_agency_learning": criteria.get("multi_agency_learning", ""),
        "media_interest": other.get("media_interest", ""),
        "family_aware": other.get("family_aware", ""),
        "parallel_processes": parallel,
        "parallel_processes_details": parallel_details,
        "what_happened": happened.get("what_happened", ""),
        "impact_on_child": happened.get("impact_on_child", ""),
        "what_worked_well": learning.get("what_worked_well", ""),
        "what_did_not_work": learning.get("what_did_not_work", ""),
        "learning_identified": learning.get("learning_identified", ""),
        "immediate_actions": learning.get("immediate_actions", ""),
        "case_outline": case.get("case_outline", ""),
        "circumstances": case.get("circumstances", ""),
        "reasons_for_review": case.get("reasons_for_review", ""),
        "linked_cases": case.get("linked_cases", ""),
    }


def _referrer(referral: Referral, answers: Answers) -> Referrer:
    about = answers.get(steps.ABOUT_YOU) or {}
    lead = answers.get(steps.LEAD_DETAILS) or {}
    agency_key = about.get("agency") or ""
    agency = Agency.objects.filter(pk=int(agency_key)).first() if agency_key.isdigit() else None
    email = about.get("email", "")
    return Referrer(
        referral=referral,
        full_name=about.get("full_name", ""),
        job_title=about.get("job_title", ""),
        agency=agency,
        agency_other=about.get("agency_other", "") if agency is None else "",
        team=about.get("team", ""),
        phone=about.get("phone", ""),
        email=email,
        email_domain_is_partner=email_domain_is_partner(email, settings.PARTNER_EMAIL_DOMAINS),
        safeguarding_lead_consulted=(answers.get(steps.SAFEGUARDING_LEAD) or {}).get("consulted", ""),
        lead_name=lead.get("lead_name", ""),
        lead_job_title=lead.get("lead_job_title", ""),
        lead_agency=lead.get("lead_agency", ""),
        lead_email=lead.get("lead_email", ""),
        senior_lead_agreed=(answers.get(steps.SENIOR_LEAD) or {}).get("agreed", ""),
    )


def referral_submit(*, draft: Draft, answers: Answers) -> Referral:
    """Turn a draft's validated answers into one Referral with its people; a repeat returns the same one.

    ``answers`` maps step names to cleaned data (a list of dicts for repeatable steps). The draft
    row is locked so a double click or a replayed post cannot create a second referral; the
    acknowledgement and the referral_submitted signal go out after commit, with the id only.
    """
    try:
        with transaction.atomic():
            locked = Draft.objects.select_for_update().get(pk=draft.pk)
            existing = _existing_referral(draft_id=locked.pk)
            if existing is not None:
                return existing
            referral = _referral_create(draft=locked, answers=answers)
    except IntegrityError:
        # Another request won the race on the unique draft link: theirs is the one referral.
        existing = _existing_referral(draft_id=draft.pk)
        if existing is None:
            raise
        return existing
    return referral


def _existing_referral(*, draft_id: int) -> Referral | None:
    return Referral.objects.filter(draft_id=draft_id).first()


def _announce(referral_id: int) -> None:
    """Tell listeners (theme tagging, matching) about a new referral; one failing listener stops no other."""
    for receiver, result in referral_submitted.send_robust(sender=Referral, referral_id=referral_id):
        if isinstance(result, Exception):
            logger.error(
                "referral_submitted receiver %s failed for referral id=%s: %s",
                getattr(receiver, "__qualname__", receiver),
                referral_id,
                type(result).__name__,
            )


def _referral_create(*, draft: Draft, answers: Answers) -> Referral:
    meta = draft.data.get(DRAFT_META) or {}
    now = timezone.now()
    referral = Referral.objects.create(
        reference=_new_reference(draft.form_type),
        form_type=draft.form_type,
        submitted_at=now,
        received_date=timezone.localdate(now),
        draft=draft,
        switched_from_practice_alert=bool(meta.get("switched_from_practice_alert")),
        answers=_json_safe({k: v for k, v in answers.items() if k not in steps.NON_QUESTION_STEPS}),
        **_referral_fields(draft.form_type, answers),
    )
    _referrer(referral, answers).save()
    people: list[Person] = []
    for child in answers.get(steps.CHILDREN) or []:
        people.append(_person(referral, len(people) + 1, PersonRole.CHILD, child))
    for adult in answers.get(steps.ADULTS) or []:
        people.append(_person(referral, len(people) + 1, adult.get("role") or PersonRole.OTHER, adult))
    Person.objects.bulk_create(people)
    AgencyInvolvement.objects.bulk_create(
        AgencyInvolvement(
            referral=referral,
            agency_name=row.get("agency_name", ""),
            contact=row.get("contact", ""),
            still_involved=row.get("still_involved", ""),
        )
        for row in answers.get(steps.AGENCIES) or []
    )
    # The referral holds the answers now; the draft keeps none (data minimisation).
    draft.submitted_at = now
    draft.data = {DRAFT_META: meta}
    draft.save(update_fields=["submitted_at", "data", "updated_at"])
    referral_id = referral.pk
    transaction.on_commit(lambda: acknowledgement_enqueue(referral_id=referral_id), robust=True)
    transaction.on_commit(lambda: _announce(referral_id), robust=True)
    logger.info("Referral id=%s submitted from draft id=%s", referral_id, draft.pk)
    return referral
