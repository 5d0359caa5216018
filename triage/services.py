"""Writes for the staff side: plain, typed, keyword-only functions."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from intake.models import Agency
from triage.models import Subgroup
from triage.reference_data import AGENCIES, BUSINESS_UNIT_PERMISSIONS, STAFF_GROUPS, SUBGROUPS


@transaction.atomic
def reference_data_load() -> dict[str, int]:
    """Create or update agencies, subgroups and staff groups; never deletes."""
    for name, kind in AGENCIES:
        Agency.objects.update_or_create(name=name, defaults={"kind": kind})
    for code, name, remit in SUBGROUPS:
        Subgroup.objects.update_or_create(code=code, defaults={"name": name, "remit": remit})
    for group in STAFF_GROUPS:
        Group.objects.get_or_create(name=group)
    business_unit = Group.objects.get(name="Business unit")
    for label, actions in BUSINESS_UNIT_PERMISSIONS.items():
        app_label, model = label.split(".")
        codenames = [f"{action}_{model}" for action in actions]
        permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        if permissions.count() != len(codenames):
            raise LookupError(f"Missing permissions for {label}: run migrate first")
        business_unit.permissions.add(*permissions)
    return {"agencies": len(AGENCIES), "subgroups": len(SUBGROUPS), "staff groups": len(STAFF_GROUPS)}
