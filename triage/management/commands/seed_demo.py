import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo.business.unit"


class Command(BaseCommand):
    help = "Create a demo business-unit login (new password each run) for local use only."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        password = secrets.token_urlsafe(12)
        user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME, defaults={"is_staff": True})
        user.is_staff = True
        user.set_password(password)
        user.save()
        group, _ = Group.objects.get_or_create(name="Business unit")
        user.groups.add(group)
        self.stdout.write(
            self.style.SUCCESS(f"Demo staff login: {DEMO_USERNAME} / {password}  (http://127.0.0.1:8000/staff/admin/)")
        )
