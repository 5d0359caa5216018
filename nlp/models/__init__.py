"""NLP results: theme tags (themes.py) and prior-referral matching (matching.py)."""

from nlp.models.matching import *  # noqa: F403
from nlp.models.themes import *  # noqa: F403
