"""Theme tagging writes: tag referrals, retire themes, record a person's review of a tag."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from intake.models import Referral
from nlp.models import Theme, ThemePhrase, ThemeTag, ThemeTagReview, ThemeTaxonomyVersion
from nlp.models.themes import ReviewDecision
from nlp.pipeline import (
    TAG_BATCH_TEXTS,
    PatternEntry,
    PatternError,
    TaggerInputError,
    TagResult,
    ThemeTagger,
    build_pipeline,
    clean_text,
    entries_from_record,
    get_pipeline,
)

logger = logging.getLogger(__name__)

# Referrals per transaction when tagging stored referrals (the tagger batches texts itself).
DEFAULT_BATCH_SIZE = 200


@dataclass
class _Cached:
    taxonomy_token: str
    tagger: ThemeTagger


_cache: dict[str, _Cached] = {}
_lock = threading.Lock()


def _taxonomy_token() -> str:
    token = ThemeTaxonomyVersion.objects.filter(pk=1).values_list("token", flat=True).first()
    return str(token or "")


def _db_entries() -> list[PatternEntry]:
    entries: list[PatternEntry] = []
    rows = ThemePhrase.objects.filter(active=True, theme__active=True).select_related("theme").order_by("id")
    for row in rows:
        record: dict[str, Any] = {"weight": row.weight}
        if row.pattern is not None:
            record.update(id=f"db{row.pk}", pattern=row.pattern)
        else:
            record["phrase"] = row.phrase
        try:
            entries.extend(entries_from_record(record, theme=row.theme.code, where=f"theme phrase #{row.pk}"))
        except PatternError:
            # One bad admin row must not stop tagging; the admin form validates new rows.
            logger.warning("Skipping invalid theme phrase id=%s", row.pk)
    return entries


def tagger_current() -> ThemeTagger:
    """The tagger for the taxonomy in the database, rebuilt only when the taxonomy changed."""
    token = _taxonomy_token()
    cached = _cache.get("tagger")
    if cached is not None and cached.taxonomy_token == token:
        return cached.tagger
    with _lock:
        cached = _cache.get("tagger")
        if cached is not None and cached.taxonomy_token == token:
            return cached.tagger
        extra = _db_entries()
        nlp = build_pipeline(extra_entries=extra) if extra else get_pipeline()
        active = set(Theme.objects.filter(active=True).values_list("code", flat=True))
        tagger = ThemeTagger(nlp, active_codes=active)
        if extra:
            # Database phrases change what is tagged, so they are part of the tagger version.
            digest = hashlib.sha256(
                json.dumps([(e.id, e.weight, e.phrase, e.pattern) for e in extra], default=str).encode()
            ).hexdigest()[:6]
            tagger.version = f"{tagger.version}+db{digest}"
        _cache["tagger"] = _Cached(token, tagger)
        return tagger


def themes_tag_texts(*, texts: Iterable[str], batch_size: int = TAG_BATCH_TEXTS) -> Iterator[TagResult]:
    """Tag clean texts (see nlp.pipeline.clean_text) with the current taxonomy, in input order."""
    return tagger_current().tag_many(texts, batch_size=batch_size)


def _tag_rows(
    *, referral_id: int, field_name: str, result: TagResult, version: str, theme_ids: dict[str, int]
) -> list[ThemeTag]:
    rows = [
        ThemeTag(
            referral_id=referral_id,
            theme_id=theme_ids[theme.code],
            field=field_name,
            score=theme.score,
            negated=False,
            evidence=[e.as_dict() for e in theme.evidence],
            component=theme.evidence[0].component if theme.evidence else "theme_matcher",
            tagger_version=version,
        )
        for theme in result.themes
        if theme.code in theme_ids
    ]
    rows.extend(
        ThemeTag(
            referral_id=referral_id,
            theme_id=theme_ids[code],
            field=field_name,
            score=0.0,
            negated=True,
            evidence=[e.as_dict() for e in evidence],
            component=evidence[0].component if evidence else "theme_matcher",
            tagger_version=version,
        )
        for code, evidence in sorted(result.negated.items())
        if code in theme_ids
    )
    return rows


def _theme_ids(tagger: ThemeTagger) -> dict[str, int]:
    ids = dict(Theme.objects.filter(active=True).values_list("code", "id"))
    missing = sorted(set(tagger.theme_codes) - set(Theme.objects.values_list("code", flat=True)))
    for code in missing:
        # A theme shipped in a new pattern file before its row was added: create it active.
        theme, _ = Theme.objects.get_or_create(code=code, defaults={"label": code.replace("_", " ").capitalize()})
        ids[code] = theme.pk
    return ids


def _write(*, tagger: ThemeTagger, items: list[tuple[int, str, TagResult]], referral_ids: Sequence[int]) -> None:
    theme_ids = _theme_ids(tagger)
    rows: list[ThemeTag] = []
    for referral_id, field_name, result in items:
        rows.extend(
            _tag_rows(
                referral_id=referral_id,
                field_name=field_name,
                result=result,
                version=tagger.version,
                theme_ids=theme_ids,
            )
        )
    with transaction.atomic():
        # Replace the machine tags of active themes (whatever version wrote them) so a referral
        # never shows stale tags; retired themes keep their past tags; reviews are untouched.
        ThemeTag.objects.filter(referral_id__in=list(referral_ids), theme__active=True).delete()
        ThemeTag.objects.bulk_create(rows)


def _field_texts(referral: Referral) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for field_name, text in referral.narrative_texts().items():
        try:
            texts.append((field_name, clean_text(text)))
        except TaggerInputError as exc:
            logger.warning("Not tagging referral id=%s field=%s: %s", referral.pk, field_name, exc)
    return texts


def referral_tag_themes(*, referral_id: int) -> None:
    """Tag one referral's free-text fields; re-running replaces its tags, never duplicates them."""
    try:
        referral = Referral.objects.get(pk=referral_id)
    except Referral.DoesNotExist:
        logger.warning("Not tagging referral id=%s: it no longer exists", referral_id)
        return
    referrals_tag_themes(referral_ids=[referral.pk], _referrals=[referral])


def referrals_tag_themes(
    *,
    referral_ids: Sequence[int],
    batch_size: int = DEFAULT_BATCH_SIZE,
    _referrals: Sequence[Referral] | None = None,
) -> int:
    """Tag many referrals in batches (one nlp.pipe and one transaction per batch); returns how many."""
    tagger = tagger_current()
    ids = list(dict.fromkeys(referral_ids))
    done = 0
    for offset in range(0, len(ids), batch_size):
        chunk_ids = ids[offset : offset + batch_size]
        referrals = (
            list(_referrals)
            if _referrals is not None
            else list(Referral.objects.filter(pk__in=chunk_ids).only("pk", *Referral.NARRATIVE_FIELDS))
        )
        keys: list[tuple[int, str]] = []
        texts: list[str] = []
        for referral in referrals:
            for field_name, text in _field_texts(referral):
                keys.append((referral.pk, field_name))
                texts.append(text)
        results = tagger.tag_many(texts)  # the tagger's own batching: by text count and size
        items = [(rid, field_name, result) for (rid, field_name), result in zip(keys, results, strict=True)]
        _write(tagger=tagger, items=items, referral_ids=[r.pk for r in referrals])
        done += len(referrals)
    return done


def theme_retire(*, code: str) -> Theme:
    """Stop tagging a theme; its past tags and reviews stay."""
    theme = Theme.objects.get(code=code)
    if theme.active:
        theme.active = False
        theme.save()
    return theme


def theme_tag_review(*, referral_id: int, code: str, decision: str, user: Any = None, note: str = "") -> ThemeTagReview:
    """Record (or change) a person's confirm/reject of a theme for a referral, apart from the machine tags."""
    if decision not in ReviewDecision.values:
        raise ValueError(f"decision must be one of {', '.join(ReviewDecision.values)}")
    theme = Theme.objects.get(code=code)
    machine = (
        ThemeTag.objects.filter(referral_id=referral_id, theme=theme, negated=False)
        .order_by("-created_at", "-score")
        .first()
    )
    review, _ = ThemeTagReview.objects.update_or_create(
        referral_id=referral_id,
        theme=theme,
        defaults={
            "decision": decision,
            "reviewed_by": user,
            "reviewed_at": timezone.now(),
            "machine_score": machine.score if machine else None,
            "machine_tagger_version": machine.tagger_version if machine else "",
            "note": note,
        },
    )
    return review
