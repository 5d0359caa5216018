"""Signals other apps listen to, so intake never imports nlp or triage."""

from django.dispatch import Signal

# Sent after the submitting transaction commits, with ``referral_id`` only (never personal data).
referral_submitted = Signal()
