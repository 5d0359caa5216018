"""Staff-side records: subgroups, routing and an append-only audit log.

The workflow screens arrive with their own issue; these tables are here so referrals,
decisions and audit can refer to them from the start.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Subgroup(models.Model):
    """Reference data: a partnership subgroup that cases are routed to."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    remit = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: object) -> int:
        raise PermissionError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit log is append-only.")


class AuditEvent(models.Model):
    """Who did what to which referral, and when. Rows are never changed or deleted."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    action = models.CharField(max_length=50)
    referral = models.ForeignKey("intake.Referral", null=True, blank=True, on_delete=models.PROTECT)
    # Ids and codes only; never free text or personal data.
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"Audit #{self.pk} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit log is append-only.")
