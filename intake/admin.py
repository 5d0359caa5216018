from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from intake.models import Agency, EmailOutbox, OutboxStatus


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin[Agency]):
    list_display = ("name", "kind", "active")
    list_filter = ("kind", "active")
    search_fields = ("name",)


@admin.register(EmailOutbox)
class EmailOutboxAdmin(admin.ModelAdmin[EmailOutbox]):
    """Read-only view of the outbox so failed sends stay visible."""

    list_display = ("id", "kind", "status", "attempts", "last_error", "next_attempt_at", "created_at", "sent_at")
    list_filter = ("kind", "status")
    actions = ("retry_now",)
    readonly_fields = [f.name for f in EmailOutbox._meta.fields if f.name != "to_email"]
    exclude = ("to_email",)

    def has_add_permission(self, request: object) -> bool:
        return False

    @admin.action(description="Retry selected failed messages now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[EmailOutbox]) -> None:
        due = queryset.filter(status__in=[OutboxStatus.FAILED, OutboxStatus.GAVE_UP])
        count = due.update(status=OutboxStatus.FAILED, next_attempt_at=timezone.now(), attempts=0)
        self.message_user(request, f"{count} message(s) will be retried by the next outbox sweep.")
