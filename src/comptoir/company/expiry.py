"""Expiry dates of certifications and devices: when to warn."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from django.utils import timezone

# Days ahead a certification or a device's calibration is flagged (issue: "60 days ahead").
EXPIRY_WARNING_DAYS = 60


class ExpiryState(StrEnum):
    NONE = "none"  # no date recorded
    OK = "ok"
    SOON = "soon"  # within the warning window
    EXPIRED = "expired"


def warning_limit(today: date | None = None) -> date:
    """The last day that still counts as "expiring soon"."""
    return (today or timezone.localdate()) + timedelta(days=EXPIRY_WARNING_DAYS)


def expiry_state(expires_on: date | None, today: date | None = None) -> ExpiryState:
    if expires_on is None:
        return ExpiryState.NONE
    today = today or timezone.localdate()
    if expires_on < today:
        return ExpiryState.EXPIRED
    if expires_on <= warning_limit(today):
        return ExpiryState.SOON
    return ExpiryState.OK
