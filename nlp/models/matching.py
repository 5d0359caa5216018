"""Person match keys, referral links and decisions (issue: matching)."""

__all__: list[str] = []
