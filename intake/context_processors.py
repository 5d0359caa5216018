from typing import Any

from django.conf import settings
from django.http import HttpRequest


def service(request: HttpRequest) -> dict[str, Any]:
    """Service-wide names and numbers every page shows (configurable in settings)."""
    return {
        "service_name": settings.SERVICE_NAME,
        "partnership_name": settings.PARTNERSHIP_NAME,
        "emergency_number": settings.EMERGENCY_NUMBER,
        "front_door_name": settings.FRONT_DOOR_NAME,
        "front_door_phone": settings.FRONT_DOOR_PHONE,
        "front_door_out_of_hours_phone": settings.FRONT_DOOR_OUT_OF_HOURS_PHONE,
        "business_unit_email": settings.BUSINESS_UNIT_EMAIL,
        "business_unit_phone": settings.BUSINESS_UNIT_PHONE,
        "session_cookie_age": settings.SESSION_COOKIE_AGE,
        "session_warning_seconds": settings.SESSION_WARNING_SECONDS,
    }
