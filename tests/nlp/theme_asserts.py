"""Assertions shared by the theme tagger's context tests."""

from __future__ import annotations

from nlp.pipeline import TagResult


def assert_only_mentioned(result: TagResult, code: str, group: str) -> None:
    """``code`` is not asserted, and is listed as mentioned in ``group`` (negated,
    hypothetical or other_person): the context step read the mention as the text meant it."""
    assert code not in result.codes, f"{code} asserted: {sorted(result.codes)}"
    mentioned = getattr(result, group)
    assert code in mentioned, f"{code} not {group}: {sorted(mentioned)}"
