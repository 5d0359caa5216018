from django.contrib import admin
from django.http import HttpRequest

from intake.models import Person, Referral
from triage.models import Subgroup


@admin.register(Subgroup)
class SubgroupAdmin(admin.ModelAdmin[Subgroup]):
    list_display = ("name", "code", "active")
    list_filter = ("active",)


class PersonInline(admin.TabularInline[Person, Referral]):
    model = Person
    extra = 0
    can_delete = False
    fields = ("position", "role", "given_name", "family_name", "date_of_birth", "postcode", "nhs_number")
    readonly_fields = fields


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin[Referral]):
    """Read-only list of submissions until the triage workspace arrives; nothing is edited here."""

    list_display = ("reference", "form_type", "source", "status", "submitted_at")
    list_filter = ("form_type", "source", "status")
    search_fields = ("reference",)
    date_hierarchy = "submitted_at"
    inlines = (PersonInline,)
    exclude = ("answers",)

    def get_readonly_fields(self, request: HttpRequest, obj: Referral | None = None) -> list[str]:
        return [f.name for f in Referral._meta.fields if f.name != "answers"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Referral | None = None) -> bool:
        return False
