"""Queued NLP work for one referral: tag themes, then match prior referrals.

Tasks take ids only and re-fetch; both steps are idempotent, so a retried task writes no
second row.
"""

from __future__ import annotations

import logging

from nlp.models.matching import NameFrequency, PersonKey
from nlp.services.matching import name_frequencies_rebuild, planner_statistics_refresh, referral_match_prior
from nlp.services.themes import referral_tag_themes

logger = logging.getLogger(__name__)


def referral_analyse(referral_id: int) -> None:
    """Tag themes first so that matching (and later triage) can read them."""
    referral_tag_themes(referral_id=referral_id)
    links = referral_match_prior(referral_id=referral_id)
    logger.info("Analysed referral id=%s: %s prior referral links", referral_id, links)


def name_frequencies_recount() -> None:
    """Daily: recount name frequencies from the stored keys, and refresh planner statistics.

    Each submission adds its own increments as it is indexed; this corrects drift (a deleted
    referral, a crash between writes) so the term-frequency adjustment stays true. Submissions
    alone grow the key table with no import to ANALYZE it; where autovacuum is off or slow, stale
    statistics could make the candidate query scan the table.
    """
    rows = name_frequencies_rebuild()
    planner_statistics_refresh([PersonKey, NameFrequency])
    logger.info("Recounted name frequencies: %s rows", rows)
