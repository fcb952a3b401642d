"""Forms of the agenda pages: a new appointment, the organisation's settings, one's feed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from comptoir.agenda.models import AgendaSettings
from comptoir.agenda.selectors import calendar_technicians
from comptoir.core.forms import StyledForm
from comptoir.core.models import Membership
from comptoir.dossiers import listing
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Dossier

DOSSIERS_OFFERED = 200
# The browser's date and time inputs take ISO values whatever the page's language.
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class AppointmentForm(StyledForm):
    dossier = forms.ChoiceField(label=_("Dossier"), required=False)
    technician = forms.ChoiceField(label=_("Technician"))
    day = forms.DateField(label=_("Date"), widget=DATE)
    start = forms.TimeField(label=_("From"), widget=TIME)
    end = forms.TimeField(label=_("To"), widget=TIME)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    address = forms.CharField(
        label=_("Address"),
        max_length=300,
        required=False,
        help_text=_("Only for an appointment without a dossier."),
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    confirm_overlap = forms.BooleanField(label=_("Book anyway"), required=False)

    def __init__(
        self,
        member: Membership,
        data: Any = None,
        *,
        initial: dict[str, Any] | None = None,
        initial_dossier: Dossier | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        self.member = member
        technicians = calendar_technicians(member)
        self.technicians = {str(tech.public_id): tech for tech in technicians}
        self.fields["technician"].choices = [  # type: ignore[attr-defined]
            (str(tech.public_id), tech.display_name) for tech in technicians
        ]
        dossiers = list(
            listing.base_queryset(member)
            .filter(status=Status.TO_SCHEDULE)
            .order_by("-created_at")[:DOSSIERS_OFFERED]
        )
        if initial_dossier is not None and initial_dossier not in dossiers:
            dossiers.insert(0, initial_dossier)
        self.dossiers = {str(dossier.public_id): dossier for dossier in dossiers}
        self.fields["dossier"].choices = [("", _("No dossier"))] + [  # type: ignore[attr-defined]
            (key, f"{dossier.number} · {dossier.address}" if dossier.address else dossier.number)
            for key, dossier in self.dossiers.items()
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end <= start:
            self.add_error("end", _("The end must come after the start."))
        return cleaned

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        zone = timezone.get_current_timezone()
        return {
            "starts_at": datetime.combine(data["day"], data["start"], tzinfo=zone),
            "ends_at": datetime.combine(data["day"], data["end"], tzinfo=zone),
            "technician": self.technicians[data["technician"]],
            "dossier": self.dossiers.get(data.get("dossier") or ""),
            "title": data.get("title", ""),
            "address": data.get("address", ""),
            "notes": data.get("notes", ""),
        }


def initial_from(params: Any, member: Membership, default_minutes: int) -> dict[str, Any]:
    """Prefill from the agenda's selection (?start=…&end=…&technician=…&dossier=…)."""
    initial: dict[str, Any] = {}
    start = _parse(params.get("start"))
    end = _parse(params.get("end"))
    if start is not None:
        initial["day"] = start.date()
        initial["start"] = start.time().replace(second=0)
        end = end if end is not None and end > start else start + timedelta(minutes=default_minutes)
        initial["end"] = end.time().replace(second=0) if end.date() == start.date() else None
    technician = params.get("technician")
    initial["technician"] = technician or str(member.public_id)
    if params.get("dossier"):
        initial["dossier"] = params["dossier"]
    return initial


def _parse(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = parse_datetime(raw[:40])
    except ValueError:
        return None
    if parsed is None:
        return None
    if timezone.is_aware(parsed):
        try:
            return timezone.localtime(parsed).replace(tzinfo=None)
        except (OverflowError, ValueError):
            return None
    return parsed


class AgendaSettingsForm(StyledForm):
    digest_enabled = forms.BooleanField(
        label=AgendaSettings._meta.get_field("digest_enabled").verbose_name, required=False
    )
    digest_time = forms.TimeField(
        label=AgendaSettings._meta.get_field("digest_time").verbose_name,
        widget=TIME,
    )
    default_duration = forms.IntegerField(
        label=AgendaSettings._meta.get_field("default_duration").verbose_name,
        min_value=5,
        max_value=24 * 60,
    )


class FeedOptionsForm(StyledForm):
    private = forms.BooleanField(
        label=_("Leave out personal data (only the address and the mission types)"),
        required=False,
    )
