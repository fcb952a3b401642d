"""The dossier list: columns (chosen per member), filters, search, sort, export."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time
from io import BytesIO
from typing import Any, cast

from django import forms
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from comptoir.core.access import by_public_id, scoped
from comptoir.core.forms import StyledForm
from comptoir.core.models import Membership
from comptoir.core.roles import TECHNICIAN_ROLES, Action, Resource
from comptoir.core.services import get_preference, set_preference
from comptoir.core.text import fold
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Dossier, Mission, MissionType

PREFERENCE_KEY = "dossiers.list.columns"
PAGE_SIZE = 50
COUNT_CAP = 1000


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows: a search through 100,000 dossiers stops
    counting once it knows there are "more than 1,000", instead of scanning them all."""

    @cached_property
    def count(self) -> int:
        queryset = cast(QuerySet[Dossier], self.object_list)
        return queryset[: COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    value: Callable[[Dossier], Any]
    sort: str | None = None
    default: bool = True


def _local(moment: datetime | None) -> str:
    return date_format(timezone.localtime(moment), "d/m/Y H:i") if moment else ""


def _missions(dossier: Dossier) -> str:
    return ", ".join(str(mission.mission_type) for mission in dossier.missions.all())


COLUMNS: dict[str, Column] = {
    column.key: column
    for column in [
        Column("number", _("Number"), lambda d: d.number, "sequence"),
        Column("status", _("Status"), lambda d: d.get_status_display(), "status"),
        Column(
            "appointment_at", _("Appointment"), lambda d: _local(d.appointment_at), "appointment_at"
        ),
        Column(
            "ordering_party",
            _("Ordering party"),
            lambda d: str(d.ordering_party or ""),
            "ordering_party__search_text",
        ),
        Column("owner", _("Owner"), lambda d: str(d.owner or ""), "owner__search_text", False),
        Column("address", _("Address"), lambda d: d.property_street, "property_street"),
        Column(
            "city",
            _("City"),
            lambda d: f"{d.property_postcode} {d.property_city}".strip(),
            "property_city",
        ),
        Column("missions", _("Missions"), _missions),
        Column(
            "technician",
            _("Technician"),
            lambda d: str(d.technician or ""),
            "technician__display_name",
        ),
        Column(
            "property_type",
            _("Property type"),
            lambda d: d.get_property_type_display(),
            "property_type",
            False,
        ),
        Column(
            "surface",
            _("Surface (m²)"),
            lambda d: d.surface if d.surface is not None else "",
            "surface",
            False,
        ),
        Column("year", _("Year"), lambda d: d.year, "year", False),
        Column("created_at", _("Created"), lambda d: _local(d.created_at), "created_at", False),
    ]
}
DEFAULT_COLUMNS = [key for key, column in COLUMNS.items() if column.default]


def add_column(column: Column) -> None:
    """Other apps add columns (billing: quote and invoice numbers, the seed's gear menu)."""
    COLUMNS[column.key] = column


def columns_for(member: Membership) -> list[Column]:
    keys = get_preference(member, PREFERENCE_KEY, DEFAULT_COLUMNS)
    chosen = [COLUMNS[key] for key in keys if key in COLUMNS]
    return chosen or [COLUMNS[key] for key in DEFAULT_COLUMNS]


def save_columns(member: Membership, keys: list[str]) -> None:
    valid = [key for key in keys if key in COLUMNS]
    set_preference(member, PREFERENCE_KEY, valid or DEFAULT_COLUMNS)


class DossierFilters(StyledForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.MultipleChoiceField(label=_("Status"), required=False, choices=Status.choices)
    technician = forms.UUIDField(label=_("Technician"), required=False)
    mission = forms.CharField(label=_("Mission"), required=False, max_length=30)
    ordering_party = forms.UUIDField(label=_("Ordering party"), required=False)
    year = forms.IntegerField(label=_("Year"), required=False, min_value=1900, max_value=2100)
    start = forms.DateField(
        label=_("Appointment from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Appointment to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.CharField(required=False, max_length=40)


def base_queryset(member: Membership, action: Action = Action.VIEW) -> QuerySet[Dossier]:
    """The member's visible dossiers: their organisation's, or only theirs for some roles."""
    return scoped(
        Dossier.objects.filter(deleted_at__isnull=True),
        member,
        Resource.DOSSIERS,
        action,
        owner_field="technician",
    )


def search(queryset: QuerySet[Dossier], text: str) -> QuerySet[Dossier]:
    for word in fold(text).split()[:8]:
        queryset = queryset.filter(search_text__contains=word)
    return queryset


def apply_filters(queryset: QuerySet[Dossier], data: dict[str, Any]) -> QuerySet[Dossier]:
    if data.get("q"):
        queryset = search(queryset, data["q"])
    if data.get("status"):
        queryset = queryset.filter(status__in=data["status"])
    if data.get("technician"):
        queryset = queryset.filter(technician__public_id=data["technician"])
    if data.get("mission"):
        queryset = queryset.filter(missions__mission_type__code=data["mission"])
    if data.get("ordering_party"):
        queryset = queryset.filter(ordering_party__public_id=data["ordering_party"])
    if data.get("year"):
        queryset = queryset.filter(year=data["year"])
    zone = timezone.get_current_timezone()
    if data.get("start"):
        queryset = queryset.filter(
            appointment_at__gte=datetime.combine(data["start"], time.min, tzinfo=zone)
        )
    if data.get("end"):
        queryset = queryset.filter(
            appointment_at__lte=datetime.combine(data["end"], time.max, tzinfo=zone)
        )
    return queryset


def order(queryset: QuerySet[Dossier], sort: str | None) -> QuerySet[Dossier]:
    descending = bool(sort) and sort.startswith("-")  # type: ignore[union-attr]
    column = COLUMNS.get((sort or "").lstrip("-"))
    if column is None or column.sort is None:
        return queryset.order_by("-year", "-sequence")
    field = column.sort
    fields = ["year", "sequence"] if field == "sequence" else [field, "year", "sequence"]
    return queryset.order_by(*[f"-{name}" if descending else name for name in fields])


def with_related(queryset: QuerySet[Dossier]) -> QuerySet[Dossier]:
    missions = Mission.objects.select_related("mission_type").order_by("pk")
    return queryset.select_related("ordering_party", "owner", "technician").prefetch_related(
        Prefetch("missions", queryset=missions)
    )


def dossier_for(member: Membership, public_id: Any, action: Action = Action.VIEW) -> Dossier:
    """One dossier the member may act on, with its related records; NotFound otherwise
    (another organisation's, another technician's for an own-dossiers role)."""
    return by_public_id(with_related(base_queryset(member, action)), public_id)


def filtered(member: Membership, params: Any) -> tuple[DossierFilters, QuerySet[Dossier]]:
    form = DossierFilters(params)
    queryset = base_queryset(member)
    if form.is_valid():
        queryset = apply_filters(queryset, form.cleaned_data)
        queryset = order(queryset, form.cleaned_data.get("sort"))
    else:
        queryset = queryset.none()
    if params.get("mission"):
        queryset = queryset.distinct()
    return form, with_related(queryset)


def filter_choices(member: Membership) -> dict[str, Any]:
    org = member.organization
    return {
        "technicians": Membership.objects.filter(organization=org)
        .filter(Q(performs_diagnostics=True) | Q(role__in=TECHNICIAN_ROLES))
        .order_by("is_blocked", "display_name"),
        "mission_types": MissionType.objects.filter(organization=org, is_active=True),
        "statuses": Status.choices,
    }


def export_rows(queryset: QuerySet[Dossier], columns: list[Column]) -> Iterator[list[Any]]:
    yield [str(column.label) for column in columns]
    for dossier in queryset.iterator(chunk_size=1000):
        yield [column.value(dossier) for column in columns]


def export_csv(rows: Iterator[list[Any]]) -> Iterator[str]:
    """Semicolon-separated with a BOM: what a French Excel opens without asking."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo(), delimiter=";")
    yield "\ufeff"
    for row in rows:
        yield writer.writerow(row)


def export_xlsx(rows: Iterator[list[Any]]) -> BytesIO:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Dossiers")
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer


def selected(member: Membership, ids: list[str]) -> QuerySet[Dossier]:
    keys = [value for value in ids if value]
    return base_queryset(member).filter(Q(public_id__in=keys))
