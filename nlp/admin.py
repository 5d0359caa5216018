"""Admin for the theme taxonomy (theme parts); the business unit adds themes and phrases here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from nlp.models import Theme, ThemePhrase, ThemeTag, ThemeTagReview
from nlp.models.matching import Family, FamilyPerson, FamilyReferral, MatchDecision, ReferralLink
from nlp.services.matching import MatchDecisionError, referral_link_confirm, referral_link_reject


class ThemePhraseInline(admin.TabularInline):
    model = ThemePhrase
    extra = 1
    fields = ("phrase", "pattern", "weight", "active", "added_by", "created_at")
    readonly_fields = ("added_by", "created_at")


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "active", "retired_at")
    list_filter = ("active",)
    search_fields = ("code", "label")
    readonly_fields = ("retired_at", "created_at", "updated_at")
    inlines = [ThemePhraseInline]
    actions = ["retire", "reinstate"]

    def get_readonly_fields(self, request: HttpRequest, obj: Theme | None = None) -> tuple[str, ...]:
        # Codes are a contract (exports, evaluation files): fixed once created.
        base = tuple(self.readonly_fields)
        return (*base, "code") if obj is not None else base

    def has_delete_permission(self, request: HttpRequest, obj: Theme | None = None) -> bool:
        return False  # retire instead, so past tags keep their theme

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for phrase in formset.save(commit=False):
            if phrase.added_by_id is None:
                phrase.added_by = request.user
            phrase.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()

    @admin.action(description="Retire selected themes (past tags are kept)")
    def retire(self, request: HttpRequest, queryset: QuerySet[Theme]) -> None:
        for theme in queryset.filter(active=True):
            theme.active = False
            theme.save()  # save(), not update(): signals move the taxonomy version
        self.message_user(request, "Retired themes are no longer tagged.", messages.SUCCESS)

    @admin.action(description="Reinstate selected themes")
    def reinstate(self, request: HttpRequest, queryset: QuerySet[Theme]) -> None:
        for theme in queryset.filter(active=False):
            theme.active = True
            theme.save()


@admin.register(ThemePhrase)
class ThemePhraseAdmin(admin.ModelAdmin):
    list_display = ("theme", "phrase", "weight", "active", "added_by", "created_at")
    list_filter = ("active", "theme")
    search_fields = ("phrase",)
    readonly_fields = ("added_by", "created_at")

    def save_model(self, request: HttpRequest, obj: ThemePhrase, form: Any, change: bool) -> None:
        if obj.added_by_id is None:
            obj.added_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(ThemeTag)
class ThemeTagAdmin(admin.ModelAdmin):
    """Machine output: read-only; people record decisions as reviews."""

    list_display = ("referral", "theme", "field", "score", "negated", "tagger_version", "created_at")
    list_filter = ("negated", "theme", "tagger_version")
    list_select_related = ("referral", "theme")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ThemeTag | None = None) -> bool:
        return False


@admin.register(ThemeTagReview)
class ThemeTagReviewAdmin(admin.ModelAdmin):
    list_display = ("referral", "theme", "decision", "reviewed_by", "reviewed_at")
    list_filter = ("decision", "theme")
    list_select_related = ("referral", "theme", "reviewed_by")
    readonly_fields = ("machine_score", "machine_tagger_version")


# --- Prior-referral matching (issue #4): staff pages come later; these are for checking. ---


@admin.register(ReferralLink)
class ReferralLinkAdmin(admin.ModelAdmin[ReferralLink]):
    """Machine suggestions: read-only; confirm or reject them with the actions."""

    list_display = ("referral", "prior_referral", "band", "score", "link_type", "model_version", "created_at")
    list_filter = ("band", "link_type", "model_version")
    list_select_related = ("referral", "prior_referral")
    search_fields = ("referral__reference", "prior_referral__reference")
    actions = ["confirm_links", "reject_links"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReferralLink | None = None) -> bool:
        return False

    def _decide(self, request: HttpRequest, queryset: QuerySet[ReferralLink], decide: Any, done: str) -> None:
        count = 0
        for link_id in queryset.values_list("pk", flat=True):
            try:
                decide(link_id=link_id, user=request.user)
                count += 1
            except MatchDecisionError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"{count} link(s) {done}.", messages.SUCCESS)

    @admin.action(description="Confirm: same child or family (joins the family record)", permissions=["view"])
    def confirm_links(self, request: HttpRequest, queryset: QuerySet[ReferralLink]) -> None:
        self._decide(request, queryset, referral_link_confirm, "confirmed")

    @admin.action(description="Not a match (never suggested again)", permissions=["view"])
    def reject_links(self, request: HttpRequest, queryset: QuerySet[ReferralLink]) -> None:
        self._decide(request, queryset, referral_link_reject, "rejected")


@admin.register(MatchDecision)
class MatchDecisionAdmin(admin.ModelAdmin[MatchDecision]):
    """People's decisions; deleting one lets the pair be suggested again."""

    list_display = ("referral", "prior_referral", "decision", "decided_by", "decided_at")
    list_filter = ("decision",)
    list_select_related = ("referral", "prior_referral", "decided_by")
    search_fields = ("referral__reference", "prior_referral__reference")
    readonly_fields = ("referral", "prior_referral", "decision", "decided_by", "decided_at", "link_snapshot")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class FamilyReferralInline(admin.TabularInline[FamilyReferral, Family]):
    model = FamilyReferral
    extra = 0
    fields = ("referral", "added_at")
    readonly_fields = ("referral", "added_at")
    can_delete = False


class FamilyPersonInline(admin.TabularInline[FamilyPerson, Family]):
    model = FamilyPerson
    extra = 0
    fields = ("person", "individual")
    readonly_fields = ("person", "individual")
    can_delete = False


@admin.register(Family)
class FamilyAdmin(admin.ModelAdmin[Family]):
    list_display = ("__str__", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    inlines = [FamilyReferralInline, FamilyPersonInline]
    search_fields = ("memberships__referral__reference",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
