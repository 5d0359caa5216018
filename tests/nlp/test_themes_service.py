"""Theme tagging services, taxonomy in the database, and the selectors that read tags."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from nlp.models import Theme, ThemePhrase, ThemeTag, ThemeTagReview
from nlp.pipeline import load_pattern_set
from nlp.selectors.themes import referral_theme_tags, referral_themes, referrals_theme_codes
from nlp.services.themes import (
    referral_tag_themes,
    referrals_tag_themes,
    tagger_current,
    theme_retire,
    theme_tag_review,
)
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

NEGLECT_TEXT = "Home conditions were very poor, no food in the fridge and the baby had severe nappy rash."
DA_NEGATED_TEXT = "There were no concerns about domestic abuse."


def make_referral(**fields):
    defaults = {"what_happened": NEGLECT_TEXT, "learning_identified": DA_NEGATED_TEXT}
    return ReferralFactory(**{**defaults, **fields})


def test_data_migration_loads_every_shipped_theme_code():
    assert set(Theme.objects.values_list("code", flat=True)) == set(load_pattern_set().themes)
    assert Theme.objects.count() == 19


def test_tagging_stores_tags_per_field_with_version_and_evidence():
    referral = make_referral()
    referral_tag_themes(referral_id=referral.pk)
    tag = ThemeTag.objects.get(referral=referral, theme__code="neglect", negated=False)
    assert tag.field == "what_happened"
    assert tag.tagger_version == tagger_current().version
    assert 0.6 <= tag.score <= 1.0
    for evidence in tag.evidence:
        assert NEGLECT_TEXT[evidence["start"] : evidence["end"]] == evidence["text"]
    negated = ThemeTag.objects.get(referral=referral, theme__code="domestic_abuse")
    assert negated.negated is True
    assert negated.field == "learning_identified"


def test_retagging_replaces_tags_without_duplicates():
    referral = make_referral()
    referral_tag_themes(referral_id=referral.pk)
    first = sorted(ThemeTag.objects.filter(referral=referral).values_list("theme__code", "field", "negated"))
    referral_tag_themes(referral_id=referral.pk)
    referral_tag_themes(referral_id=referral.pk)
    again = sorted(ThemeTag.objects.filter(referral=referral).values_list("theme__code", "field", "negated"))
    assert first == again
    assert len(again) == len(set(again))


def test_retagging_follows_edited_text():
    referral = make_referral()
    referral_tag_themes(referral_id=referral.pk)
    referral.what_happened = "Child was found with county lines phones and cash."
    referral.save()
    referral_tag_themes(referral_id=referral.pk)
    codes = set(ThemeTag.objects.filter(referral=referral, negated=False).values_list("theme__code", flat=True))
    assert "exploitation" in codes
    assert "neglect" not in codes


def test_unique_constraint_refuses_a_second_row_for_the_same_version():
    referral = make_referral()
    theme = Theme.objects.get(code="neglect")
    ThemeTag.objects.create(referral=referral, theme=theme, field="what_happened", score=0.9, tagger_version="v1")
    with pytest.raises(IntegrityError):
        ThemeTag.objects.create(referral=referral, theme=theme, field="what_happened", score=0.8, tagger_version="v1")


def test_human_review_survives_retagging():
    referral = make_referral()
    referral_tag_themes(referral_id=referral.pk)
    theme_tag_review(referral_id=referral.pk, code="neglect", decision="rejected", note="Housing issue only")
    referral_tag_themes(referral_id=referral.pk)
    review = ThemeTagReview.objects.get(referral=referral, theme__code="neglect")
    assert review.decision == "rejected"
    assert review.machine_score is not None
    effective = {t.code: t.effective for t in referral_themes(referral_id=referral.pk)}
    assert effective["neglect"] is False


def test_confirmed_theme_counts_even_without_a_machine_tag():
    referral = make_referral()
    referral_tag_themes(referral_id=referral.pk)
    theme_tag_review(referral_id=referral.pk, code="invisible_men", decision="confirmed")
    codes = referrals_theme_codes(referral_ids=[referral.pk])[referral.pk]
    assert {"neglect", "invisible_men"} <= codes
    assert "domestic_abuse" not in codes


def test_review_decision_must_be_known():
    referral = make_referral()
    with pytest.raises(ValueError, match="decision"):
        theme_tag_review(referral_id=referral.pk, code="neglect", decision="maybe")


def test_phrase_added_in_the_database_is_used_without_a_restart():
    referral = make_referral(what_happened="The family keeps a tiger in the garden shed.", learning_identified="")
    referral_tag_themes(referral_id=referral.pk)
    assert not ThemeTag.objects.filter(referral=referral, theme__code="neglect").exists()
    old_version = tagger_current().version
    ThemePhrase.objects.create(theme=Theme.objects.get(code="neglect"), phrase="tiger in the garden shed")
    referral_tag_themes(referral_id=referral.pk)
    tag = ThemeTag.objects.get(referral=referral, theme__code="neglect")
    assert tag.tagger_version != old_version
    assert tag.evidence[0]["text"] == "tiger in the garden shed"


def test_new_theme_added_in_the_database_is_tagged():
    theme = Theme.objects.create(code="radicalisation", label="Radicalisation")
    ThemePhrase.objects.create(theme=theme, phrase="extremist material", weight=0.9)
    referral = make_referral(what_happened="Extremist material was found on his phone.", learning_identified="")
    referral_tag_themes(referral_id=referral.pk)
    assert ThemeTag.objects.filter(referral=referral, theme=theme).exists()


def test_retired_theme_keeps_past_tags_and_is_no_longer_tagged():
    referral = make_referral()
    referral_tag_themes(referral_id=referral.pk)
    assert ThemeTag.objects.filter(referral=referral, theme__code="neglect").exists()
    theme_retire(code="neglect")
    assert Theme.objects.get(code="neglect").retired_at is not None
    referral_tag_themes(referral_id=referral.pk)
    assert ThemeTag.objects.filter(referral=referral, theme__code="neglect").exists()
    fresh = make_referral()
    referral_tag_themes(referral_id=fresh.pk)
    assert not ThemeTag.objects.filter(referral=fresh, theme__code="neglect").exists()


def test_invalid_token_pattern_in_the_admin_is_a_validation_error():
    phrase = ThemePhrase(theme=Theme.objects.get(code="neglect"), pattern=[{"BOGUS": 1}])
    with pytest.raises(ValidationError):
        phrase.full_clean()
    both = ThemePhrase(theme=Theme.objects.get(code="neglect"), phrase="x", pattern=[{"LOWER": "x"}])
    with pytest.raises(ValidationError):
        both.full_clean()


def test_batch_tagging_counts_referrals_and_matches_single_tagging():
    referrals = [make_referral() for _ in range(5)]
    assert referrals_tag_themes(referral_ids=[r.pk for r in referrals], batch_size=2) == 5
    batch = sorted(ThemeTag.objects.values_list("referral_id", "theme__code", "field", "score"))
    ThemeTag.objects.all().delete()
    for referral in referrals:
        referral_tag_themes(referral_id=referral.pk)
    single = sorted(ThemeTag.objects.values_list("referral_id", "theme__code", "field", "score"))
    assert batch == single


def test_missing_referral_is_logged_not_raised(caplog):
    referral_tag_themes(referral_id=987654)
    assert "987654" in caplog.text


def test_referral_without_free_text_gets_no_tags():
    referral = make_referral(what_happened="", learning_identified="")
    referral_tag_themes(referral_id=referral.pk)
    assert not referral_theme_tags(referral_id=referral.pk).exists()


def test_str_of_tag_and_review_carry_no_text():
    referral = make_referral()
    referral_tag_themes(referral_id=referral.pk)
    tag = ThemeTag.objects.filter(referral=referral).first()
    review = theme_tag_review(referral_id=referral.pk, code="neglect", decision="confirmed")
    for obj in (tag, review):
        assert "fridge" not in str(obj)
        assert "nappy" not in str(obj)
