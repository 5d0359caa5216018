from typing import Any

from django.conf import settings
from django.http import HttpRequest


def service_settings() -> dict[str, Any]:
    """Service-wide names and numbers every page and email shows (configurable in settings).

    Reads settings only, so error pages and email builders can use it without a request.
    """
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


def service(request: HttpRequest) -> dict[str, Any]:
    """settings.TEMPLATES context processor."""
    return service_settings()
