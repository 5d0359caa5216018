from django.contrib import admin

from triage.models import Subgroup


@admin.register(Subgroup)
class SubgroupAdmin(admin.ModelAdmin[Subgroup]):
    list_display = ("name", "code", "active")
    list_filter = ("active",)
