"""Records as they are really typed and pasted: the tagger reads past extra spaces, tabs, no-break
spaces and the breaks of wrapped lines (and still ends a sentence at a real line break), and
splits ALL CAPS contractions like lower-case ones."""

from __future__ import annotations

import pytest

from nlp.pipeline import ThemeTagger, get_pipeline, get_tagger, result_from_doc
from nlp.tagger_match import WRAPPED_LINE_CHARS, wrapped_line_break

WRAPPED_DENIAL = (
    "Home visit completed by the social worker today and Mum denied\r\ndrinking alcohol at all since the baby was born."
)


@pytest.fixture(scope="module")
def tagger() -> ThemeTagger:
    return get_tagger()


def _same_on_both_paths(tagger: ThemeTagger, text: str) -> dict:
    result = tagger.tag(text).as_dict()
    assert result_from_doc(get_pipeline()(text), weights=tagger.weights).as_dict() == result
    return result


@pytest.mark.parametrize("gap", ["  ", "\t", "\u00a0", " \u00a0", "\u2009"])
def test_a_phrase_matches_across_extra_white_space_and_cites_the_original_text(tagger, gap):
    text = f"Police attended a DV{gap}incident at the family home."
    result = _same_on_both_paths(tagger, text)
    evidence = {e["text"] for theme in result["themes"] for e in theme["evidence"]}
    assert f"DV{gap}incident" in evidence
    for theme in result["themes"]:
        for e in theme["evidence"]:
            assert text[e["start"] : e["end"]] == e["text"]


def test_a_negation_reaches_over_the_break_of_a_wrapped_line(tagger):
    result = _same_on_both_paths(tagger, WRAPPED_DENIAL)
    assert "parental_substance_misuse" not in {t["code"] for t in result["themes"]}
    assert "parental_substance_misuse" in result["negated"]


def test_the_same_line_break_in_a_short_note_still_ends_the_sentence(tagger):
    # One-line notes: the denial on the first line says nothing about the second.
    result = _same_on_both_paths(tagger, "Mum denied DV\ndad drinking heavily every night")
    assert "parental_substance_misuse" in {t["code"] for t in result["themes"]}


def test_sentences_follow_the_same_rule_on_the_doc():
    doc = get_pipeline()(WRAPPED_DENIAL + "\n- next item\n\nlower case after a blank line that is long enough to wrap")
    assert [s.text.strip() for s in doc.sents if not s.text.isspace()] == [
        WRAPPED_DENIAL.split("\r\n")[0] + "\r\n" + WRAPPED_DENIAL.split("\r\n")[1],
        "- next item",
        "lower case after a blank line that is long enough to wrap",
    ]


@pytest.mark.parametrize(
    ("line_chars", "before", "line_break", "after", "wraps"),
    [
        (WRAPPED_LINE_CHARS, "denied", "\n", "drinking", True),
        (WRAPPED_LINE_CHARS, "denied", "\r\n", "drinking", True),
        (WRAPPED_LINE_CHARS - 1, "denied", "\n", "drinking", False),  # a short note
        (WRAPPED_LINE_CHARS, "denied.", "\n", "drinking", False),  # . ends the sentence
        (WRAPPED_LINE_CHARS, ".", "\n", "drinking", False),
        (WRAPPED_LINE_CHARS, "denied", "\n", "Drinking", False),  # a new line starts in capitals
        (WRAPPED_LINE_CHARS, "denied", "\n", "-", False),  # a bullet
        (WRAPPED_LINE_CHARS, "denied", "\n\n", "drinking", False),  # a blank line
        (WRAPPED_LINE_CHARS, "", "\n", "drinking", False),  # nothing before
    ],
)
def test_which_line_breaks_only_wrap_a_line(line_chars, before, line_break, after, wraps):
    assert wrapped_line_break(line_chars, before, line_break, after) is wraps


def test_all_caps_contractions_split_and_negate_like_lower_case_ones(tagger):
    doc = get_pipeline()("MUM DIDN'T ATTEND. SHE CAN'T COPE.")
    assert [t.text for t in doc] == ["MUM", "DID", "N'T", "ATTEND", ".", "SHE", "CA", "N'T", "COPE", "."]
    shouted = _same_on_both_paths(tagger, "MUM DIDN'T DRINK ANY ALCOHOL")
    assert shouted["negated"] == _same_on_both_paths(tagger, "Mum didn't drink any alcohol")["negated"]
    assert "parental_substance_misuse" in shouted["negated"]


def test_an_age_before_m_or_f_marks_the_child_in_capitals_too(tagger):
    """ "13YO M" is a 13-year-old male, not "M" (mother): the self-harm is the child's."""
    for text in ("13yo M with superficial cuts to her arms.", "13YO M WITH SUPERFICIAL CUTS TO HER ARMS."):
        assert "self_harm" in {theme["code"] for theme in _same_on_both_paths(tagger, text)["themes"]}
    assert "self_harm" not in tagger.tag("The child disclosed that M self-harms.").codes
