from io import StringIO

import pytest
from django.core.management import call_command

from nlp.models import PersonKey
from nlp.services.matching import referral_index_people
from tests.factories import PersonFactory, ReferralFactory


@pytest.mark.django_db
def test_rebuild_restores_keys_that_are_missing_or_stale():
    referral = ReferralFactory.create()
    PersonFactory.create(referral=referral, role="child", given_name="Amelia", family_name="Khan")
    PersonFactory.create(referral=referral, role="mother", given_name="Sara", family_name="Khan")
    referral_index_people(referral_id=referral.pk)
    expected = sorted(PersonKey.objects.values_list("person_id", "family", "given_first"))
    # Simulate keys written by an older matcher: one row lost, one with a stale value.
    PersonKey.objects.filter(person__given_name="Sara").delete()
    PersonKey.objects.update(family="stale")

    out = StringIO()
    call_command("rebuild_person_keys", stdout=out)

    assert sorted(PersonKey.objects.values_list("person_id", "family", "given_first")) == expected
    assert "2 people in 1 referrals" in out.getvalue()
