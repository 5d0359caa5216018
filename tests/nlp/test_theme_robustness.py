"""The perturbations of bench/theme_robustness.py: deterministic, and each changes what it claims."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

from nlp.evaluation import GoldRecord

ROOT = Path(__file__).resolve().parents[2]
TEXT = (
    "Mum's partner (Mr X) was not assessed. Police attended a domestic violence incident - NFA. "
    "The health visitor noted sexualised behaviour... Attendance 78% at the paediatric clinic; "
    'children\'s social care said "no concerns". WNB to A&E follow-up 12/03/21.'
)


def _load() -> ModuleType:
    name = "bench_theme_robustness"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "theme_robustness.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


tr = _load()
PERTURBATIONS = {p.name: p.apply for p in tr.TEXT_PERTURBATIONS}


def _rng(name: str) -> random.Random:
    return tr.record_rng(7, name, "test.jsonl", "t-1")


@pytest.mark.parametrize("name", sorted(PERTURBATIONS))
def test_each_perturbation_is_deterministic_and_changes_the_text(name: str) -> None:
    apply = PERTURBATIONS[name]
    first = apply(TEXT, _rng(name))
    assert first == apply(TEXT, _rng(name))
    assert first != TEXT


def test_rng_depends_on_seed_and_passage() -> None:
    draws = {tr.record_rng(seed, "typos", "f", rid).random() for seed in (7, 8) for rid in ("a", "b")}
    assert len(draws) == 4


def test_case_changes() -> None:
    assert PERTURBATIONS["all_caps"](TEXT, _rng("x")) == TEXT.upper()
    assert PERTURBATIONS["all_lower"](TEXT, _rng("x")) == TEXT.lower()


def test_no_punctuation_is_one_line_without_marks() -> None:
    out = tr.no_punctuation("Mum's self-harm.\nNo (DV) seen; 78% at A&E 12/03!", _rng("x"))
    assert out == "Mums self harm No DV seen 78% at A&E 12/03"


def test_bullet_list_puts_each_sentence_on_a_marked_line() -> None:
    out = tr.bullet_list(TEXT, _rng("bullet_list"))
    lines = out.replace("\r\n", "\n").split("\n")
    assert len(lines) == len(tr.sentences(TEXT)) == 5  # "..." ends a sentence too
    markers = {line[:2] for line in lines}
    assert markers <= {"- ", "\u2022 ", "* ", "1)", "2)", "3)", "4)", "5)"}
    assert all(line[2:].strip() for line in lines)


def test_hard_wrap_breaks_lines_and_keeps_the_words() -> None:
    out = tr.hard_wrap(TEXT, _rng("hard_wrap_crlf"))
    assert "\r\n" in out
    assert out.split() == TEXT.split()
    assert max(len(line.strip("\t")) for line in out.split("\r\n")) <= 80


def test_messy_whitespace_changes_only_white_space() -> None:
    out = tr.messy_whitespace(TEXT, _rng("messy_whitespace"))
    assert out.split() == TEXT.replace("\u00a0", " ").split()
    assert "  " in out
    assert out.startswith("\t")


def test_typos_change_one_or_two_content_words_by_one_edit() -> None:
    for seed in range(30):
        rng = tr.record_rng(seed, "typos", "f", "a")
        out = tr.typos(TEXT, rng)
        before, after = TEXT.split(" "), out.split(" ")
        assert len(before) == len(after)
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert 1 <= len(changed) <= 2
        for old, new in changed:
            assert abs(len(old) - len(new)) <= 1
            assert sorted(old) == sorted(new) or len(old) != len(new)
            assert old[0] == new[0]


def test_spelling_swaps_both_ways_and_keeps_case() -> None:
    out = tr.swap_spelling("Sexualised Behaviour at the paediatric centre; an organization.", _rng("x"))
    assert out == "Sexualized Behavior at the pediatric center; an organisation."
    assert tr.swap_spelling("Practice was good.", _rng("x")) == "Practice was good."


def test_abbreviations_both_ways() -> None:
    text = "Mum reported domestic violence to the health visitor; NFA'd. Children's social care and A&E."
    assert (
        tr.contract_abbreviations(text, _rng("x")) == "Mum reported DV to the HV; NFA'd. CSC and ED."
    )  # "Mum" is already short
    assert tr.expand_abbreviations("mum said DV, WNB to ED. HV visited.", _rng("x")) == (
        "mother said domestic violence, was not brought to A&E. Health visitor visited."
    )
    assert tr.expand_abbreviations("the fed edge", _rng("x")) == "the fed edge"  # acronyms as capitals only


def test_typography_uses_curly_quotes_dashes_and_ellipsis() -> None:
    out = tr.typography("Mum's 'friend' said \"no\" - 2017-2022...", random.Random(0))
    for expected in ("\u2019s", "\u2018friend\u2019", "\u201cno\u201d", "\u2026", "2017\u20132022"):
        assert expected in out
    for gone in (" - ", "'", '"'):
        assert gone not in out


def test_boilerplate_and_repeat_keep_the_passage() -> None:
    wrapped = tr.boilerplate(TEXT, _rng("boilerplate"))
    assert TEXT in wrapped
    assert wrapped.split("\n", 1)[0] in {h.split("\r\n")[0].split("\n")[0] for h in tr.HEADERS}
    repeated = tr.repeat_twice(TEXT, _rng("repeat_twice"))
    assert repeated.count(TEXT) == 2


def test_join_records_unions_labels() -> None:
    a = GoldRecord(1, "a", "A.", frozenset({"neglect"}), frozenset({"domestic_abuse"}), frozenset({"self_harm"}))
    b = GoldRecord(2, "b", "B.", frozenset({"domestic_abuse"}), frozenset({"exploitation"}), frozenset())
    joined = tr.join_records(a, b, " ")
    assert joined.text == "A. B."
    assert joined.themes == {"neglect", "domestic_abuse"}
    assert joined.negated == {"exploitation"}
    assert joined.hypothetical == {"self_harm"}


def test_perturb_records_is_deterministic_and_joins_another_passage() -> None:
    records = [GoldRecord(i, f"r{i}", f"Passage {i}.", frozenset()) for i in range(5)]
    first, partners = tr.perturb_records(records, tr.JOIN, seed=7, file_name="f")
    again, _ = tr.perturb_records(records, tr.JOIN, seed=7, file_name="f")
    assert first == again
    assert all(p != i and 0 <= p < 5 for i, p in enumerate(partners))
    copies, none = tr.perturb_records(records, "all_caps", seed=7, file_name="f")
    assert [c.text for c in copies] == [r.text.upper() for r in records]
    assert none == [-1] * 5


def test_holdout_files_are_refused() -> None:
    with pytest.raises(SystemExit):
        tr.main([str(ROOT / "tests" / "data" / "themes" / "holdout.jsonl")])
