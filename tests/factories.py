"""Shared factory_boy factories for referrals, referrers, people, agencies and drafts.

Kept general: every value is synthetic, and tests override what they care about.
"""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from intake.models import (
    Agency,
    AgencyInvolvement,
    AgencyKind,
    Draft,
    FormType,
    Person,
    PersonRole,
    Referral,
    Referrer,
)
from intake.references import reference_generate


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Synthetic agency {n}")
    kind = AgencyKind.HEALTH


class DraftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Draft

    form_type = FormType.PRACTICE_ALERT
    data = factory.LazyFunction(dict)


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    form_type = FormType.PRACTICE_ALERT
    reference = factory.LazyAttribute(lambda o: reference_generate(form_type=o.form_type))
    received_date = factory.LazyFunction(timezone.localdate)
    event_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=10))
    alert_type = "incident"
    what_happened = "A health visitor found the home cold and the baby underweight."
    learning_identified = "Agencies did not share the missed appointments."

    class Params:
        case_review = factory.Trait(
            form_type=FormType.CASE_REVIEW,
            alert_type="",
            review_type="cspr",
            criteria_died_or_seriously_harmed="yes",
            criteria_abuse_or_neglect_suspected="yes",
        )


class ReferrerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referrer

    referral = factory.SubFactory(ReferralFactory)
    full_name = factory.Sequence(lambda n: f"Referrer Person{n}")
    job_title = "Health visitor"
    phone = "01632 960 001"
    email = factory.Sequence(lambda n: f"referrer{n}@nhs.net")
    safeguarding_lead_consulted = "yes"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    referral = factory.SubFactory(ReferralFactory)
    position = factory.Sequence(lambda n: n + 1)
    role = PersonRole.CHILD
    given_name = factory.Sequence(lambda n: f"Child{n}")
    family_name = "Example"
    date_of_birth = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=365 * 4))
    postcode = "ME4 4TR"


class AgencyInvolvementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgencyInvolvement

    referral = factory.SubFactory(ReferralFactory)
    agency_name = "Health visiting"
    still_involved = "yes"


def referral_with_family(**kwargs: object) -> Referral:
    """A referral with a referrer, one child and their mother."""
    referral: Referral = ReferralFactory.create(**kwargs)
    ReferrerFactory(referral=referral)
    PersonFactory(referral=referral, position=1, role=PersonRole.CHILD)
    PersonFactory(referral=referral, position=2, role=PersonRole.MOTHER, given_name="Parent", date_of_birth=None)
    return referral
