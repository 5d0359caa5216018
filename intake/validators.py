"""Validators for the values professionals type, with GOV.UK-style messages."""

from __future__ import annotations

import re
from fnmatch import fnmatch

from django.conf import settings
from django.core.exceptions import ValidationError

from intake.nhs_numbers import nhs_number_is_valid, normalise_nhs_number

__all__ = ["nhs_number_is_valid", "normalise_nhs_number"]  # re-exported for the forms and importer

# Full UK postcode, any spacing or case (BS 7666 shape, plus GIR 0AA).
_POSTCODE_RE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ]"
    r"([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)
_PHONE_ALLOWED_RE = re.compile(r"^\+?[0-9 ()-]+$")


def normalise_postcode(value: str) -> str:
    """Upper case with one space before the inward code ('me46bx' -> 'ME4 6BX')."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if len(compact) < 5:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def is_valid_postcode(value: str) -> bool:
    return bool(_POSTCODE_RE.match(normalise_postcode(value)))


def validate_postcode(value: str) -> None:
    if not is_valid_postcode(value):
        raise ValidationError("Enter a real postcode, like ME4 4TR", code="invalid_postcode")


def validate_nhs_number(value: str) -> None:
    digits = normalise_nhs_number(value)
    if not re.fullmatch(r"[0-9]+", digits or "x"):
        raise ValidationError("NHS number must only include numbers and spaces", code="nhs_characters")
    if len(digits) != 10:
        raise ValidationError("NHS number must be 10 digits", code="nhs_length")
    if not nhs_number_is_valid(digits):
        raise ValidationError(
            "Enter a valid NHS number. Check it against the child's health record, or leave it blank",
            code="nhs_checksum",
        )


def validate_uk_phone(value: str) -> None:
    digits = re.sub(r"\D", "", value or "")
    if not _PHONE_ALLOWED_RE.match(value or "") or not (10 <= len(digits) <= 13):
        raise ValidationError(
            "Enter a telephone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192",
            code="invalid_phone",
        )


def partner_email_policy_warns() -> bool:
    """True when a non-partner email address is only warned about; any other setting refuses it (the safe default)."""
    return str(settings.PARTNER_EMAIL_POLICY).strip().lower() == "warn"


def email_domain_is_partner(email: str, patterns: list[str] | None = None) -> bool:
    """True when the email's domain is on the partner list ('*.gov.uk' matches subdomains)."""
    domain = email.rsplit("@", 1)[-1].strip().lower()
    for pattern in patterns if patterns is not None else settings.PARTNER_EMAIL_DOMAINS:
        pattern = pattern.strip().lower()
        if pattern.startswith("*."):
            if domain.endswith(pattern[1:]):
                return True
        elif fnmatch(domain, pattern):
            return True
    return False
