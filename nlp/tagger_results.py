"""Scoring for a whole batch at once: which matches become evidence, and each theme's score.

The rules (see pipeline.TagResult) per Doc and theme: overlapping asserted matches of one
theme count once (per cluster of overlapping matches, the strongest, then the longest, then
the earliest, that do not overlap each other); the score is a noisy-OR over the distinct
rules of the kept matches, ``round(1 - prod(1 - weight), 3)``, multiplied in the order the
rules first appear; a theme is asserted at ASSERT_THRESHOLD. Themes mentioned only as
negated, hypothetical or about someone else are listed with all their matches.

Everything up to the rounding is numpy over the batch; the arithmetic is the same sequence
of float operations as the per-Doc Python loop, so the scores are identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlp.tagger_match import buckets, lexsort, stable_order
from nlp.tagger_rules import BatchMatches

ASSERT_THRESHOLD = 0.6


@dataclass
class BatchScores:
    """Asserted themes, in result order (by Doc, then highest score, then code): Doc, code
    and score of each; then the other mentions, in result order (by Doc, then status 1-3,
    then position): Doc, status and code of each. ``evidence`` holds the match index of every
    piece of evidence the results cite, in the order they cite them: each asserted theme's
    kept matches (theme t's are evidence[theme_first[t] : theme_first[t + 1]]), then one
    per mention."""

    theme_doc: list[int]
    theme_code: list[str]
    theme_score: list[float]
    theme_first: list[int]
    mention_doc: list[int]
    mention_status: list[int]
    mention_code: list[str]
    evidence: np.ndarray


def score_batch(found: BatchMatches, status: np.ndarray, active: np.ndarray) -> BatchScores:
    """``status`` per match (0 asserted, 1 negated, 2 hypothetical, 3 other person);
    ``active`` per theme index (False: the theme is left out entirely)."""
    rules, batch = found.rules, found.batch
    cited: list[np.ndarray] = []
    scores = BatchScores([], [], [], [0], [], [], [], np.zeros(0, dtype=np.int64))
    if not len(status):
        return scores
    start, end, entry = found.start_array, found.end_array, found.entry_array
    theme = rules.entry_theme[entry]
    rank = rules.theme_rank[theme]  # themes by code, as results list them
    n_themes = len(rules.theme_names)
    names = rules.theme_names
    doc = batch.doc_index[start]
    live = active[theme]
    asserted_theme = np.zeros(batch.n_docs * n_themes, dtype=bool)
    asserted = np.flatnonzero((status == 0) & live)
    if len(asserted):
        group = doc[asserted] * n_themes + rank[asserted]
        order = stable_order(group)  # keeps the (start, end) order within a theme
        kept, group = asserted[order], group[order]
        keep = _independent(kept, group, start, end, rules.entry_weight_array[entry], len(batch.rows) + 1)
        kept_at = np.flatnonzero(keep)
        kept, group = kept[kept_at], group[kept_at]
        codes, raw, first = _scores(group, rules.entry_weight_array[entry[kept]], entry[kept])
        score = round3(raw)
        strong = np.flatnonzero(score >= ASSERT_THRESHOLD)
        score_list = score.tolist()
        asserted_theme[codes[strong]] = True
        group_doc, group_rank = codes[strong] // n_themes, codes[strong] % n_themes
        # Per Doc, themes by score (highest first: a score is k / 1000 for a whole k), then code.
        thousandths = np.rint(score[strong] * 1000.0).astype(np.int64)
        strong = strong[lexsort((group_rank, 1000 - thousandths, group_doc))]
        scores.theme_doc = (codes[strong] // n_themes).tolist()
        scores.theme_code = [names[t] for t in (codes[strong] % n_themes).tolist()]
        scores.theme_score = [score_list[g] for g in strong.tolist()]
        # The kept matches of the strong themes, theme after theme.
        count = first[strong + 1] - first[strong]
        bounds = np.zeros(len(strong) + 1, dtype=np.int64)
        np.cumsum(count, out=bounds[1:])
        scores.theme_first = bounds.tolist()
        cited.append(kept[np.arange(int(bounds[-1])) + np.repeat(first[strong] - bounds[:-1], count)])
    other = np.flatnonzero((status > 0) & live)
    if len(other):
        other = other[~asserted_theme[doc[other] * n_themes + rank[other]]]
        other = other[stable_order(doc[other] * 4 + status[other])]
        scores.mention_doc = doc[other].tolist()
        scores.mention_status = status[other].tolist()
        scores.mention_code = [names[t] for t in rank[other].tolist()]
        cited.append(other)
    if cited:
        scores.evidence = np.concatenate(cited)
    return scores


def round3(values: np.ndarray) -> np.ndarray:
    """Python's ``round(x, 3)`` of each value, exactly.

    Python rounds the exact binary value to the nearest thousandth (half to even) and returns
    the float nearest that decimal, which is ``k / 1000``. ``x * 1000`` is off by far less
    than 1e-9, so k follows from it unless x is within that of a half: those few go through
    Python's round itself.
    """
    scaled = values * 1000.0
    whole = np.floor(scaled)
    fraction = scaled - whole
    out = (whole + (fraction > 0.5)) / 1000.0
    near_half = np.flatnonzero(np.abs(fraction - 0.5) < 1e-9)
    if len(near_half):
        # As Python floats in one go (``tolist``), not one numpy scalar at a time.
        out[near_half] = [round(value, 3) for value in values[near_half].tolist()]
    return out


def _independent(
    kept: np.ndarray, group: np.ndarray, start: np.ndarray, end: np.ndarray, weight: np.ndarray, span: int
) -> np.ndarray:
    """Which of the asserted matches ``kept`` (grouped by Doc and theme, each group in
    (start, end) order) count: per cluster of overlapping matches, repeatedly the best
    remaining one (strongest, longest, earliest), dropping those that overlap it."""
    s, e = start[kept], end[kept]
    reach = np.maximum.accumulate(group * span + e) - group * span
    fresh = np.ones(len(kept), dtype=bool)
    fresh[1:] = (group[1:] != group[:-1]) | (s[1:] >= reach[:-1])
    cluster = np.cumsum(fresh) - 1
    keep = np.bincount(cluster)[cluster] == 1
    crowded = np.flatnonzero(~keep)
    if not len(crowded):
        return keep
    # Best first within each cluster: strongest, then longest, then earliest (the order the
    # matches are in already, which a stable sort keeps).
    strength = np.unique(-weight[kept[crowded]], return_inverse=True)[1]
    length = e[crowded] - s[crowded]
    if strength.max(initial=0) < 1 << 12 and length.max(initial=0) < 1 << 20:
        priority = (cluster[crowded] << 32) | (strength << 20) | ((1 << 20) - 1 - length)
        order = crowded[np.argsort(priority, kind="stable")]
    else:  # (not with any real rule set)
        order = crowded[np.lexsort((crowded, -length, strength, cluster[crowded]))]
    alive = np.ones(len(order), dtype=bool)
    n_clusters = int(cluster[-1]) + 1
    while alive.any():
        at = np.flatnonzero(alive)
        members = order[at]
        lead = np.ones(len(at), dtype=bool)
        lead[1:] = cluster[members][1:] != cluster[members][:-1]
        picked = members[lead]
        keep[picked] = True
        alive[at[lead]] = False
        picked_start = np.zeros(n_clusters, dtype=np.int64)
        picked_end = np.zeros(n_clusters, dtype=np.int64)
        picked_start[cluster[picked]] = s[picked]
        picked_end[cluster[picked]] = e[picked]
        rest = at[~lead]
        others = order[rest]
        c = cluster[others]
        overlap = (s[others] < picked_end[c]) & (picked_start[c] < e[others])
        alive[rest[overlap]] = False
    return keep


def _scores(group: np.ndarray, weight: np.ndarray, entry: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group code, unrounded score, first row) per group of kept matches (in start order):
    noisy-OR over the group's distinct rules in the order they first appear."""
    fresh = np.ones(len(group), dtype=bool)
    fresh[1:] = group[1:] != group[:-1]
    group_id = np.cumsum(fresh) - 1
    first = np.append(np.flatnonzero(fresh), len(group))
    # The first match of each rule in its group: its weight enters the product, in order.
    seen = np.zeros(len(group), dtype=bool)
    pair = group_id * (int(entry.max()) + 1) + entry
    _values, first_of_pair = np.unique(pair, return_index=True)
    seen[first_of_pair] = True
    rows = np.flatnonzero(seen)
    row_group = group_id[rows]
    nth = np.arange(len(rows)) - buckets(row_group, len(first) - 1)[row_group]
    miss = np.ones(len(first) - 1, dtype=np.float64)
    for k in range(int(nth.max()) + 1 if len(nth) else 0):
        at = nth == k
        miss[row_group[at]] *= 1.0 - weight[rows[at]]
    return group[first[:-1]], 1.0 - miss, first
