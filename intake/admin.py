from django.contrib import admin

from intake.models import Agency, EmailOutbox


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin[Agency]):
    list_display = ("name", "kind", "active")
    list_filter = ("kind", "active")
    search_fields = ("name",)


@admin.register(EmailOutbox)
class EmailOutboxAdmin(admin.ModelAdmin[EmailOutbox]):
    """Read-only view of the outbox so failed sends stay visible."""

    list_display = ("id", "kind", "status", "attempts", "created_at", "sent_at")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in EmailOutbox._meta.fields if f.name != "to_email"]
    exclude = ("to_email",)

    def has_add_permission(self, request: object) -> bool:
        return False
