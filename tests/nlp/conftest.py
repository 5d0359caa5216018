"""Fixtures shared by the theme tagger's wording tests."""

from __future__ import annotations

import pytest

from nlp.pipeline import ThemeTagger, get_tagger


@pytest.fixture(scope="session")
def shipped_tagger() -> ThemeTagger:
    """The tagger on the shipped pattern files, built once per test process (get_pipeline's
    cache). Tests that add rules or change the pipeline build their own."""
    return get_tagger()
