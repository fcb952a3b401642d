"""A dossier's lifecycle, as data: statuses, their colours, and the allowed moves."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    TO_SCHEDULE = "to_schedule", _("To schedule")
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")
    REPORT_SENT = "report_sent", _("Report sent")
    INVOICED = "invoiced", _("Invoiced")
    PAID = "paid", _("Paid")
    ARCHIVED = "archived", _("Archived")


@dataclass(frozen=True)
class Step:
    status: Status
    colour: str  # a Bootstrap contextual colour
    icon: str
    moves_to: tuple[Status, ...]


S = Status
LIFECYCLE: tuple[Step, ...] = (
    Step(S.TO_SCHEDULE, "secondary", "hourglass", (S.SCHEDULED, S.DONE, S.ARCHIVED)),
    Step(S.SCHEDULED, "primary", "calendar-event", (S.TO_SCHEDULE, S.DONE, S.ARCHIVED)),
    Step(S.DONE, "info", "clipboard-check", (S.SCHEDULED, S.REPORT_SENT, S.INVOICED, S.ARCHIVED)),
    Step(S.REPORT_SENT, "warning", "send-check", (S.DONE, S.INVOICED, S.ARCHIVED)),
    Step(S.INVOICED, "danger", "receipt", (S.REPORT_SENT, S.PAID, S.ARCHIVED)),
    Step(S.PAID, "success", "cash-coin", (S.INVOICED, S.ARCHIVED)),
    Step(S.ARCHIVED, "dark", "archive", (S.TO_SCHEDULE, S.DONE, S.PAID)),
)
STEPS = {step.status: step for step in LIFECYCLE}


def may_move(current: str, target: str) -> bool:
    return current != target and Status(target) in STEPS[Status(current)].moves_to


def position(status: str) -> int:
    return [step.status for step in LIFECYCLE].index(Status(status))
