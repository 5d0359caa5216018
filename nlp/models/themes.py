"""Theme taxonomy and tags (issue #3: theme tagging).

The shipped rules live in nlp/patterns/*.jsonl; the business unit can add themes and phrases
here without a deploy. Machine tags (ThemeTag) and human decisions (ThemeTagReview) are
kept apart so re-tagging never overwrites a person's confirm or reject.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

__all__ = ["Theme", "ThemePhrase", "ThemeTag", "ThemeTagReview", "ThemeTaxonomyVersion"]

code_validator = RegexValidator(r"^[a-z][a-z0-9_]{1,49}$", "Use lower-case letters, digits and underscores.")


class Theme(models.Model):
    """One theme code (see shared/spec/themes.md). Codes never change: retire instead."""

    code = models.CharField(max_length=50, unique=True, validators=[code_validator])
    label = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True, help_text="Retired themes keep their past tags but are not tagged.")
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: object, **kwargs: object) -> None:
        # Keep retired_at in step with active whichever the admin edits.
        if not self.active and self.retired_at is None:
            self.retired_at = timezone.now()
        elif self.active:
            self.retired_at = None
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class ThemePhrase(models.Model):
    """An extra rule for a theme: a phrase (matched on lemmas) or a spaCy token pattern."""

    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, related_name="phrases")
    phrase = models.CharField(max_length=300, blank=True, help_text="Words to find, in any case or inflection.")
    pattern = models.JSONField(
        null=True,
        blank=True,
        help_text='Optional spaCy token pattern instead of a phrase, e.g. [{"LEMMA": "miss"}, {"LOWER": "clinic"}].',
    )
    weight = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.05), MaxValueValidator(1.0)],
        help_text="Strength of the evidence: 0.6 or more tags the theme alone; weaker phrases need support.",
    )
    active = models.BooleanField(default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["theme__code", "id"]

    def __str__(self) -> str:
        return f"Theme phrase #{self.pk} ({self.theme_id})"

    def clean(self) -> None:
        from nlp.pipeline import PatternError, validate_token_pattern

        has_phrase = bool(self.phrase.strip())
        if has_phrase == (self.pattern is not None):
            raise ValidationError("Enter either a phrase or a token pattern, not both.")
        if self.pattern is not None:
            try:
                validate_token_pattern(self.pattern)
            except PatternError as exc:
                raise ValidationError({"pattern": str(exc)}) from None


class ThemeTaxonomyVersion(models.Model):
    """A single row whose counter moves on every taxonomy change, so every process rebuilds."""

    version = models.PositiveIntegerField(default=0)
    # A fresh token on every change: unlike the counter it can never repeat (e.g. after a
    # rolled-back transaction), so a process never mistakes an old cached tagger for current.
    token = models.UUIDField(default=uuid.uuid4)

    def __str__(self) -> str:
        return f"Taxonomy version {self.version}"


def taxonomy_bump() -> None:
    updated = ThemeTaxonomyVersion.objects.filter(pk=1).update(version=F("version") + 1, token=uuid.uuid4())
    if not updated:
        ThemeTaxonomyVersion.objects.get_or_create(pk=1, defaults={"version": 1})


@receiver(post_save, sender=Theme, dispatch_uid="nlp.theme_saved")
@receiver(post_delete, sender=Theme, dispatch_uid="nlp.theme_deleted")
@receiver(post_save, sender=ThemePhrase, dispatch_uid="nlp.theme_phrase_saved")
@receiver(post_delete, sender=ThemePhrase, dispatch_uid="nlp.theme_phrase_deleted")
def _taxonomy_changed(sender: object, **kwargs: object) -> None:
    taxonomy_bump()


class ThemeTag(models.Model):
    """A machine tag: one theme found in one free-text field of one referral by one tagger version."""

    referral = models.ForeignKey("intake.Referral", on_delete=models.CASCADE, related_name="theme_tags")
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, related_name="tags")
    field = models.CharField(max_length=50, help_text="The Referral field the evidence is in.")
    score = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    negated = models.BooleanField(default=False, help_text="Mentioned only as absent or ruled out.")
    # [{"start", "end", "text", "pattern", "component"}]: offsets into the field's text.
    evidence = models.JSONField(default=list, blank=True)
    component = models.CharField(max_length=50, default="theme_matcher")
    tagger_version = models.CharField(max_length=60, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["referral_id", "theme__code", "field"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "theme", "field", "tagger_version"], name="nlp_themetag_unique_per_version"
            )
        ]
        indexes = [models.Index(fields=["theme", "negated"])]

    def __str__(self) -> str:
        return f"Theme tag #{self.pk} ({self.theme_id})"


class ReviewDecision(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


class ThemeTagReview(models.Model):
    """A person's decision that a referral is (or is not) about a theme; never touched by re-tagging."""

    referral = models.ForeignKey("intake.Referral", on_delete=models.CASCADE, related_name="theme_reviews")
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, related_name="reviews")
    decision = models.CharField(max_length=10, choices=ReviewDecision.choices)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(default=timezone.now)
    # What the machine said when the person decided, for audit (the tag row may be replaced).
    machine_score = models.FloatField(null=True, blank=True)
    machine_tagger_version = models.CharField(max_length=60, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["referral_id", "theme__code"]
        constraints = [models.UniqueConstraint(fields=["referral", "theme"], name="nlp_themetagreview_unique")]

    def __str__(self) -> str:
        return f"Theme review #{self.pk} ({self.decision})"
