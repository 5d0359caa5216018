"""Short, human-friendly, unambiguous referral references such as PA-7K3M-Q9XD."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B or U/V: easy to read aloud and copy by hand.
ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
PREFIXES = {"practice_alert": "PA", "case_review": "CR"}


def reference_generate(*, form_type: str) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{PREFIXES[form_type]}-{body[:4]}-{body[4:]}"


def reference_normalise(value: str) -> str:
    return value.strip().upper().replace(" ", "")
