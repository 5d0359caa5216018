"""The spaCy theme pipeline on its own: context, evidence, abbreviations and bad input."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nlp.pipeline import (
    MAX_TEXT_CHARS,
    PATTERNS_DIR,
    PatternEntry,
    PatternError,
    TaggerInputError,
    ThemeTagger,
    build_pipeline,
    get_pipeline,
    get_tagger,
    load_pattern_set,
    validate_token_pattern,
)
from tests.nlp.theme_asserts import assert_only_mentioned

THEME_CODES = {
    "neglect",
    "non_engagement",
    "domestic_abuse",
    "parental_mental_health",
    "parental_substance_misuse",
    "physical_abuse",
    "sexual_abuse",
    "emotional_abuse",
    "invisible_men",
    "parental_adversity",
    "housing_instability",
    "repeat_referrals",
    "child_not_seen",
    "professional_curiosity",
    "information_sharing",
    "missing_education",
    "exploitation",
    "self_harm",
    "unsafe_sleep",
}


@pytest.fixture(scope="module")
def tagger() -> ThemeTagger:
    return get_tagger()


def codes(tagger: ThemeTagger, text: str) -> set[str]:
    return tagger.tag(text).codes


def test_pattern_files_cover_exactly_the_nineteen_theme_codes():
    assert set(load_pattern_set().themes) == THEME_CODES


def test_every_shipped_token_pattern_is_valid_for_spacy():
    for entry in load_pattern_set().entries:
        if entry.pattern is not None:
            validate_token_pattern(json.loads(json.dumps(_thaw(entry.pattern))))


def _thaw(value):
    from nlp.pipeline import _thaw as thaw

    return thaw(value)


def test_negated_mention_is_reported_as_negated_not_as_a_theme(tagger):
    result = tagger.tag("No concerns about domestic abuse were raised by any agency.")
    assert_only_mentioned(result, "domestic_abuse", "negated")


def test_negation_scope_ends_at_however(tagger):
    text = "No DV reported by M, however police have attended twice after arguments between M and her partner."
    result = tagger.tag(text)
    assert "domestic_abuse" in result.codes
    assert "domestic_abuse" not in result.negated


def test_conditional_risk_is_hypothetical_not_asserted(tagger):
    result = tagger.tag("If home conditions deteriorate further there would be a risk of neglect.")
    assert_only_mentioned(result, "neglect", "hypothetical")


def test_negation_words_inside_the_theme_wording_do_not_negate_it(tagger):
    assert "non_engagement" in codes(tagger, "Child B was not brought to the paediatric appointment again.")
    assert "child_not_seen" in codes(tagger, "The children were not seen alone on any visit.")


def test_cue_after_the_mention_negates_it(tagger):
    result = tagger.tag("Sexual abuse was ruled out following the medical.")
    assert_only_mentioned(result, "sexual_abuse", "negated")


def test_a_new_line_ends_negation_scope_in_bullet_notes(tagger):
    result = tagger.tag("- no concerns re DV\n- mum drinking heavily most days, smelt of alcohol at visit")
    assert "domestic_abuse" in result.negated
    assert "parental_substance_misuse" in result.codes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WNB x3 to paediatric clinic.", {"non_engagement"}),
        ("Strategy held re CSE concerns.", {"sexual_abuse", "exploitation"}),
        ("Admitted with suspected NAI, skeletal survey requested.", {"physical_abuse"}),
        ("Removed from roll for EHE in September.", {"missing_education"}),
        ("Rapid review following SUDI, baby co-slept with parents.", {"unsafe_sleep"}),
        ("Referred to MARAC after a DA incident.", {"domestic_abuse"}),
        ("Found in another county with cash, NRM referral made, CCE.", {"exploitation"}),
    ],
)
def test_professional_abbreviations_are_tagged(tagger, text, expected):
    assert expected <= codes(tagger, text)


def test_all_caps_and_no_punctuation_are_tagged(tagger):
    assert "parental_substance_misuse" in codes(tagger, "MUM WAS DRUNK AND SMELT OF ALCOHOL AT THE VISIT")
    found = codes(tagger, "home conditions were poor no food in the fridge baby had severe nappy rash")
    assert "neglect" in found


def test_evidence_offsets_point_at_the_evidence_text(tagger):
    text = "Home visit: the flat was filthy.\n\nF not known to services and never spoken to. Attendance 54%."
    result = tagger.tag(text)
    assert result.themes
    for theme in result.themes:
        assert 0.0 <= theme.score <= 1.0
        for evidence in theme.evidence:
            assert text[evidence.start : evidence.end] == evidence.text
            assert evidence.pattern.startswith(theme.code + ":")


def test_output_has_exactly_the_interface_keys(tagger):
    payload = tagger.tag("Mother has post-natal depression. No concerns about drug use.").as_dict("r1")
    assert set(payload) == {"id", "themes", "negated"}
    assert payload["id"] == "r1"
    theme = payload["themes"][0]
    assert set(theme) == {"code", "score", "evidence"}
    assert {"start", "end", "text"} <= set(theme["evidence"][0])
    assert payload["negated"] == ["parental_substance_misuse"]
    json.dumps(payload)


def test_two_independent_weak_cues_score_higher_than_one(tagger):
    one = tagger.tag("Neighbours reported shouting.")
    two = tagger.tag("Neighbours reported shouting. Police attended after an altercation.")
    score_two = {t.code: t.score for t in two.themes}.get("domestic_abuse")
    assert "domestic_abuse" not in one.codes
    assert score_two is not None
    assert score_two > 0.6


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t  ",
        "\x00\x01\x02\x1b[31m neglect \x7f",
        "La madre sufre depresión y el niño no va a la escuela. Die Mutter trinkt.",
        "😀😀 baby co-sleeping 👶🏽 on the sofa 🛋️",
        "\ud800 lone surrogate then domestic abuse",
        "a" * 50_000,
    ],
)
def test_odd_input_gives_a_result_not_a_crash(tagger, text):
    result = tagger.tag(text)
    payload = json.dumps(result.as_dict("x"))
    assert payload.startswith("{")
    for theme in result.themes:
        for evidence in theme.evidence:
            assert evidence.end <= len(text)


def test_binary_junk_gives_a_result(tagger):
    junk = random.Random(7).randbytes(20_000).decode("latin-1")
    assert isinstance(tagger.tag(junk).codes, set)


def test_one_megabyte_of_text_is_tagged(tagger):
    paragraph = "Mum missed the health visitor appointment and the home was filthy. "
    text = paragraph * (1_000_000 // len(paragraph))
    result = tagger.tag(text)
    assert {"neglect", "non_engagement"} <= result.codes


def test_text_over_the_limit_is_refused_with_a_clear_error(tagger):
    with pytest.raises(TaggerInputError, match="too long"):
        tagger.tag("x" * (MAX_TEXT_CHARS + 1))


def test_non_string_text_is_refused(tagger):
    with pytest.raises(TaggerInputError, match="must be a string"):
        tagger.tag(b"bytes are not text")


def test_pipeline_is_built_once_per_process():
    assert get_pipeline() is get_pipeline()


def test_pipeline_module_does_not_import_django():
    code = "import sys, nlp.pipeline; sys.exit(1 if any(m.startswith('django') for m in sys.modules) else 0)"
    root = Path(__file__).resolve().parents[2]
    completed = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, check=False)
    assert completed.returncode == 0, completed.stderr.decode()


def test_extra_entries_are_used_by_a_new_pipeline():
    extra = PatternEntry(id="neglect:blue door", theme="neglect", weight=0.9, phrase="blue door syndrome")
    tagger = ThemeTagger(build_pipeline(extra_entries=[extra]))
    assert "neglect" in tagger.tag("Concerns about blue door syndrome in the home.").codes
    assert "neglect" not in get_tagger().tag("Concerns about blue door syndrome in the home.").codes


def test_active_codes_limit_the_output():
    tagger = ThemeTagger(get_pipeline(), active_codes={"neglect"})
    result = tagger.tag("The home was filthy and mum was drunk.")
    assert result.codes == {"neglect"}


def test_version_changes_when_a_pattern_file_changes(tmp_path):
    copy = tmp_path / "patterns"
    shutil.copytree(PATTERNS_DIR, copy)
    before = load_pattern_set(copy).version
    with (copy / "neglect.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"phrase": "porridge on the ceiling", "weight": 0.9}) + "\n")
    assert load_pattern_set(copy).version != before
    assert load_pattern_set(PATTERNS_DIR).version == load_pattern_set(PATTERNS_DIR).version


def test_malformed_pattern_file_names_file_and_line(tmp_path):
    (tmp_path / "broken.jsonl").write_text(
        '{"meta": {"theme": "broken", "version": 1}}\n{"phrase": \n', encoding="utf-8"
    )
    with pytest.raises(PatternError, match=r"broken.jsonl line 2"):
        load_pattern_set(tmp_path)


def test_invalid_token_pattern_is_rejected():
    with pytest.raises(PatternError):
        validate_token_pattern([{"NOT_AN_ATTR": "x"}])
    with pytest.raises(PatternError):
        validate_token_pattern("neglect")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("GP reviewed her repeat prescriptions for asthma.", "parental_substance_misuse"),
        ("She was passed between adult men at parties.", "unsafe_sleep"),
    ],
)
def test_ordinary_wording_that_once_matched_a_rule_asserts_nothing_of_it(tagger, text, code):
    assert code not in tagger.tag(text).codes
