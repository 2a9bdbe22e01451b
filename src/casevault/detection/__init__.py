"""Misuse detection: alerts for the security team and their handling (rules and baselines come in wave 2)."""

from casevault.detection.models import Alert, AlertKind, AlertStatus, Severity
from casevault.detection.services import raise_alert

__all__ = ["Alert", "AlertKind", "AlertStatus", "Severity", "raise_alert"]
