"""NHS number arithmetic (NHS Data Dictionary, modulus 11), with no Django imports so the
pure matcher and the synthetic generator can share it with the form validators."""

from __future__ import annotations

import re

_SEPARATORS_RE = re.compile(r"[\s-]+")
_TEN_DIGITS_RE = re.compile(r"[0-9]{10}")


def normalise_nhs_number(value: str) -> str:
    return _SEPARATORS_RE.sub("", value or "")


def nhs_check_digit(first_nine: str) -> int | None:
    """The check digit for nine ASCII digits, or None when no valid number can end them (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def nhs_number_is_valid(value: str) -> bool:
    """True for a 10-digit NHS number (spaces or hyphens allowed) whose check digit is right."""
    digits = normalise_nhs_number(value)
    return bool(_TEN_DIGITS_RE.fullmatch(digits)) and nhs_check_digit(digits[:9]) == int(digits[9])
