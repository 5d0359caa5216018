"""Writes for the intake app: plain, typed, keyword-only functions."""

from __future__ import annotations
