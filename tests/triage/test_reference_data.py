import pytest
from django.core.management import call_command

from intake.models import Agency
from triage.models import AuditEvent, Subgroup


@pytest.mark.django_db
def test_reference_data_loads_idempotently():
    call_command("load_reference_data")
    first = (Agency.objects.count(), Subgroup.objects.count())
    call_command("load_reference_data")
    assert (Agency.objects.count(), Subgroup.objects.count()) == first
    assert first[0] > 10
    assert Subgroup.objects.filter(code="learning-lessons").exists()


@pytest.mark.django_db
def test_audit_events_cannot_be_changed_or_deleted():
    event = AuditEvent.objects.create(action="viewed")
    event.action = "edited"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.update(action="x")


@pytest.mark.django_db
def test_business_unit_can_view_but_not_change_or_delete_referrals():
    from django.contrib.auth.models import Group

    call_command("load_reference_data")
    codenames = set(Group.objects.get(name="Business unit").permissions.values_list("codename", flat=True))
    assert {"view_referral", "change_theme", "add_themephrase"} <= codenames
    assert not {"change_referral", "delete_referral", "delete_person"} & codenames
