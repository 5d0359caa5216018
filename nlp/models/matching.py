"""Person match keys, referral links, human decisions and family records (issue #4).

PersonKey holds nlp.matching.NormalisedPerson field by field plus one indexed column per
blocking key, so one query finds a new referral's candidates. ReferralLink rows are machine
suggestions and are replaced on every run; MatchDecision rows are human and are kept.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from nlp.matching import BLOCKING_KEY_NAMES

__all__ = [
    "BLOCKING_COLUMNS",
    "NORMALISED_COLUMNS",
    "Decision",
    "Family",
    "FamilyPerson",
    "FamilyReferral",
    "LinkBand",
    "LinkType",
    "MatchDecision",
    "NameFrequency",
    "PersonKey",
    "ReferralLink",
]

# NormalisedPerson fields stored as columns (key/referral_key come from the foreign keys).
NORMALISED_COLUMNS: tuple[str, ...] = (
    "role",
    "given",
    "given_first",
    "given_phon",
    "given_groups",
    "family",
    "family_first",
    "family_phon",
    "alias_given",
    "alias_family",
    "alias_family_phon",
    "dob",
    "dob_year",
    "dob_month",
    "dob_day",
    "dob_kind",
    "sex",
    "postcode",
    "pc_sector",
    "pc_district",
    "address",
    "nhs",
)
# One indexed column per blocking key of the matcher, named bk_<key>. The columns follow
# nlp.matching.BLOCKING_KEY_NAMES, so a new key there needs only `makemigrations nlp`
# (CI's `makemigrations --check` catches a forgotten one).
BLOCKING_COLUMNS: dict[str, str] = {name: f"bk_{name}" for name in BLOCKING_KEY_NAMES}


def _blocking_index(column: str) -> models.Index:
    # Partial: most keys are blank for many people (no NHS number, no date of birth), and a
    # smaller index is faster to build during an import. `col IN (...)` implies NOT NULL, so
    # both SQLite and PostgreSQL use it for the candidate query.
    # Index names are capped at 30 characters: a readable prefix plus a short digest.
    name = f"nlp_pk_{column[3:17]}_{hashlib.sha1(column.encode()).hexdigest()[:6]}"  # noqa: S324 - a name, not security
    return models.Index(fields=[column], name=name, condition=Q(**{f"{column}__isnull": False}))


class PersonKey(models.Model):
    """One person's normalised fields and blocking keys (personal data: no __str__ values)."""

    person = models.OneToOneField("intake.Person", primary_key=True, on_delete=models.CASCADE, related_name="match_key")
    # Denormalised so candidates are found, and grouped by referral, without a join.
    referral = models.ForeignKey("intake.Referral", on_delete=models.CASCADE, related_name="+")

    role = models.CharField(max_length=10)
    given = models.TextField(blank=True)
    given_first = models.TextField(blank=True)
    given_phon = models.TextField(blank=True)
    given_groups = models.TextField(blank=True)
    family = models.TextField(blank=True)
    family_first = models.TextField(blank=True)
    family_phon = models.TextField(blank=True)
    alias_given = models.TextField(blank=True)
    alias_family = models.TextField(blank=True)
    alias_family_phon = models.TextField(blank=True)
    dob = models.CharField(max_length=10, null=True, blank=True)
    dob_year = models.SmallIntegerField(null=True, blank=True)
    dob_month = models.SmallIntegerField(null=True, blank=True)
    dob_day = models.SmallIntegerField(null=True, blank=True)
    dob_kind = models.CharField(max_length=10, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    pc_sector = models.CharField(max_length=10, blank=True)
    pc_district = models.CharField(max_length=10, blank=True)
    address = models.TextField(blank=True)
    nhs = models.CharField(max_length=10, blank=True)

    class Meta:
        indexes = [_blocking_index(column) for column in BLOCKING_COLUMNS.values()]

    def __str__(self) -> str:
        return f"Person key #{self.pk}"


for _column in BLOCKING_COLUMNS.values():
    PersonKey.add_to_class(_column, models.TextField(null=True, blank=True))


class NameFrequency(models.Model):
    """How many indexed people share a normalised name, for term-frequency adjustment.

    kind is "given_name" (NormalisedPerson.given_first), "family_name" (.family) or "total"
    (value "", count = all indexed people). Each submission moves the counts by atomic
    increments (services.matching.name_counts_apply); name_frequencies_rebuild recounts them
    from PersonKey in one set-based statement per kind, so any drift is corrected.
    """

    TOTAL = "total"

    kind = models.CharField(max_length=20)
    value = models.TextField(blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="nlp_namefrequency_kind_value")]

    def __str__(self) -> str:
        return f"Name frequency #{self.pk} ({self.kind})"


class LinkBand(models.TextChoices):
    LIKELY = "likely", "Likely"
    POSSIBLE = "possible", "Possible"


class LinkType(models.TextChoices):
    SAME_PERSON = "same_person", "Same child"
    SAME_FAMILY = "same_family", "Same family"


class ReferralLink(models.Model):
    """A machine-suggested link from a referral to an earlier one about the same child or family."""

    referral = models.ForeignKey("intake.Referral", on_delete=models.CASCADE, related_name="prior_links")
    prior_referral = models.ForeignKey("intake.Referral", on_delete=models.CASCADE, related_name="later_links")
    score = models.FloatField()
    band = models.CharField(max_length=10, choices=LinkBand.choices)
    link_type = models.CharField(max_length=20, choices=LinkType.choices)
    model_version = models.CharField(max_length=50)
    # [{"person": id, "prior_person": id, "score": 0.97, "relation": "same_child",
    #   "agreements": {"given_name": "fuzzy", ...}}] - explains the link field by field.
    persons = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["referral", "-score"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "prior_referral"], name="nlp_referrallink_pair"),
        ]
        indexes = [models.Index(fields=["prior_referral"], name="nlp_referrallink_prior")]

    def __str__(self) -> str:
        return f"Link #{self.pk} ({self.band})"


class Decision(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed: same child or family"
    REJECTED = "rejected", "Not a match"


class MatchDecision(models.Model):
    """A person's verdict on a pair of referrals; a rejected pair is never suggested again."""

    referral = models.ForeignKey("intake.Referral", on_delete=models.CASCADE, related_name="match_decisions")
    prior_referral = models.ForeignKey("intake.Referral", on_delete=models.CASCADE, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    decided_at = models.DateTimeField(auto_now_add=True)
    # The link as it was when decided (score, band, agreements), for audit.
    link_snapshot = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["referral", "prior_referral"], name="nlp_matchdecision_pair"),
        ]
        indexes = [models.Index(fields=["prior_referral"], name="nlp_matchdecision_prior")]

    def __str__(self) -> str:
        return f"Decision #{self.pk} ({self.decision})"


class Family(models.Model):
    """Referrals and people a person confirmed as one family, for the family chronology."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    referrals: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "intake.Referral", through="FamilyReferral", related_name="families"
    )
    people: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "intake.Person", through="FamilyPerson", related_name="families"
    )

    class Meta:
        verbose_name_plural = "families"

    def __str__(self) -> str:
        return f"Family #{self.pk}"


class FamilyReferral(models.Model):
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="memberships")
    # A referral belongs to one family at most; joining two families merges them.
    referral = models.OneToOneField("intake.Referral", on_delete=models.CASCADE, related_name="family_membership")
    added_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Family #{self.family_id} referral #{self.referral_id}"


class FamilyPerson(models.Model):
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="person_memberships")
    person = models.OneToOneField("intake.Person", on_delete=models.CASCADE, related_name="family_membership")
    # People confirmed to be the same individual across referrals share this number (the
    # smallest person id among them), so a child's chronology spans all their referrals.
    individual = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"Family #{self.family_id} person #{self.person_id}"
