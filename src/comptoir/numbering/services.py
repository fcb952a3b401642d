"""Giving numbers out, and changing how they are made.

Every number comes from here, for the web and for every station, so none is
ever given twice:

- dossier and quote numbers: `allocate` (one), `reserve_block` (a block a
  station uses offline). Gaps are allowed: a reserved number that is never used
  is simply skipped, and a number already given (set back by hand, or kept by a
  synced dossier) is passed over.
- invoice numbers: `allocate_invoice_number`, only on the hub, inside the
  transaction that validates the invoice: chronological, no gap, no duplicate
  (CGI art. 242 nonies A). A rolled-back validation gives its number back.

Each allocation locks the series row (SELECT … FOR UPDATE; on SQLite the
IMMEDIATE transaction already holds the database's write lock), then moves
the period's counter with UPDATE … SET last = last + 1; both locks are held
until commit. `IssuedNumber`'s UNIQUE (organisation, kind, number) is the
backstop. Keep the locked section short: allocate last, after the checks and
before the audit entry, and send e-mails or build PDFs after commit.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.db.transaction import TransactionManagementError
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import Organization
from comptoir.numbering import masks
from comptoir.numbering.models import IssuedNumber, Kind, NumberCounter, NumberSeries

T = TypeVar("T")

WEB = "web"  # `source` of the numbers the hub gives to its own pages
GAPS_ALLOWED = frozenset({Kind.DOSSIER, Kind.QUOTE})
MAX_BLOCK = 500
RECENT = 10
SERIES_FIELDS = ["mask", "width", "reset", "offset"]
SETTINGS_VERSION = 1
SQLITE_RETRY_SECONDS = 15.0
_LOOKUP_CHUNK = 500  # numbers per IN (…) query


@dataclass(frozen=True)
class Issued:
    """A number given out, with its counter value (a dossier's `sequence`) and period."""

    number: str
    counter: int
    period: str
    dated: date


@dataclass(frozen=True)
class SeriesState:
    """A series as the settings page and the API show it."""

    series: NumberSeries
    period: str
    last_counter: int
    next_counter: int
    next_number: str
    recent: list[IssuedNumber]


# --- transactions ------------------------------------------------------------------


def run_atomic(work: Callable[[], T]) -> T:
    """Run `work` in a transaction of its own (a savepoint inside an open one).

    SQLite admits one writer at a time. A writer that finds the database still
    locked after the connection's busy timeout (or at once, on the shared
    in-memory database of the tests) starts again after a short random pause,
    for up to 15 seconds. PostgreSQL waits on the row locks: the work runs once.
    Inside an open transaction nothing can be retried, so the work runs once too.
    """
    connection = transaction.get_connection()
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic():
            return work()
    deadline = time.monotonic() + SQLITE_RETRY_SECONDS
    while True:
        try:
            with transaction.atomic():
                return work()
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(random.uniform(0.001, 0.02))  # noqa: S311  (jitter, not a secret)


# --- reading -----------------------------------------------------------------------


def _kind(kind: str) -> Kind:
    if kind not in Kind.values:
        raise DomainError(_("Unknown numbering series."), code="unknown_series")
    return Kind(kind)


def _gap_kind(kind: str) -> Kind:
    """A series whose numbers may be given to anyone asking: dossiers and quotes."""
    found = _kind(kind)
    if found not in GAPS_ALLOWED:
        raise Conflict(
            _(
                "Invoice numbers are only given by the hub, when an invoice is validated: "
                "they cannot be asked for or reserved."
            ),
            code="invoice_numbers_hub_only",
        )
    return found


def _day(when: date | datetime | None) -> date:
    if when is None:
        return timezone.localdate()
    if isinstance(when, datetime):
        return timezone.localdate(when) if timezone.is_aware(when) else when.date()
    return when


def default_series(org: Organization, kind: str) -> NumberSeries:
    """The series an organisation starts with (not saved)."""
    found = _kind(kind)
    defaults = masks.DEFAULTS[found]
    return NumberSeries(
        organization=org,
        kind=found,
        mask=defaults.mask,
        width=defaults.width,
        reset=defaults.reset,
        offset=0,
    )


def get_series(org: Organization, kind: str) -> NumberSeries:
    """The organisation's series, or its defaults when never used (reading writes nothing)."""
    return NumberSeries.objects.filter(
        organization=org, kind=_kind(kind)
    ).first() or default_series(org, kind)


def _last_counter(series: NumberSeries, period: str) -> int:
    if not series.pk:  # the defaults of a series never used
        return series.offset
    found = (
        NumberCounter.objects.filter(series=series, period=period)
        .values_list("last", flat=True)
        .first()
    )
    return series.offset if found is None else found


def next_counter(series: NumberSeries, day: date | None = None) -> int:
    """The counter value the next number of the period would get."""
    return _last_counter(series, masks.period_of(series.reset, day or timezone.localdate())) + 1


def _already_issued(org_id: int, kind: str, numbers: Iterable[str]) -> set[str]:
    found: set[str] = set()
    pending = list(numbers)
    for start in range(0, len(pending), _LOOKUP_CHUNK):
        found.update(
            IssuedNumber.objects.filter(
                organization_id=org_id, kind=kind, number__in=pending[start : start + _LOOKUP_CHUNK]
            ).values_list("number", flat=True)
        )
    return found


def _renderer(series: NumberSeries, operator: str) -> Callable[[int, date], str]:
    def render(value: int, day: date) -> str:
        return masks.render(
            series.mask, day=day, counter=value, width=series.width, operator=operator or None
        )

    return render


def _first_free(
    series: NumberSeries, after: int, day: date, render: Callable[[int, date], str]
) -> int:
    """The first counter value above `after` whose number was never given."""
    start, window = after + 1, 64
    while start <= masks.MAX_COUNTER:
        values = range(start, min(start + window, masks.MAX_COUNTER + 1))
        numbers = {value: render(value, day) for value in values}
        used = _already_issued(series.organization_id, series.kind, numbers.values())
        for value in values:
            if numbers[value] not in used:
                return value
        start, window = values[-1] + 1, min(window * 2, 4096)
    raise _exhausted(series)


def _exhausted(series: NumberSeries) -> Conflict:
    return Conflict(
        _("The %(series)s series has no number left in this period.")
        % {"series": series.get_kind_display()},
        code="series_exhausted",
    )


def preview(series: NumberSeries, day: date | None = None) -> tuple[int, str]:
    """The next counter value and number, without giving it (`%OPE%` stays as is)."""
    day = day or timezone.localdate()
    value = next_counter(series, day)
    render = _renderer(series, "")
    if (
        series.pk
        and series.kind in GAPS_ALLOWED
        and not masks.uses_operator(series.mask)  # each operator has their own numbers
    ):
        value = _first_free(series, value - 1, day, render)
    return value, render(value, day)


def recent_numbers(org: Organization, kind: str, limit: int = RECENT) -> list[IssuedNumber]:
    return list(
        IssuedNumber.objects.filter(organization=org, kind=_kind(kind)).order_by("-pk")[:limit]
    )


def overview(org: Organization, *, recent: int = RECENT) -> list[SeriesState]:
    """Every series of the organisation: how it is made, its last numbers, the next one."""
    today = timezone.localdate()
    states = []
    for kind in Kind:
        series = get_series(org, kind)
        period = masks.period_of(series.reset, today)
        value, number = preview(series, today)
        states.append(
            SeriesState(
                series=series,
                period=period,
                last_counter=_last_counter(series, period),
                next_counter=value,
                next_number=number,
                recent=recent_numbers(org, kind, recent),
            )
        )
    return states


# --- giving numbers ----------------------------------------------------------------


def _locked_series(org: Organization, kind: Kind) -> NumberSeries:
    """The series, created with its defaults on first use, locked until commit."""
    found = NumberSeries.objects.select_for_update().filter(organization=org, kind=kind).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            default_series(org, kind).save(force_insert=True)
    except IntegrityError:
        pass  # another transaction created it first: lock theirs
    return NumberSeries.objects.select_for_update().get(organization=org, kind=kind)


def _counter_pk(series: NumberSeries, period: str) -> int:
    """The period's counter (new periods start at the series' offset). Under the series lock."""
    found = (
        NumberCounter.objects.filter(series=series, period=period)
        .values_list("pk", flat=True)
        .first()
    )
    if found is not None:
        return found
    return NumberCounter.objects.create(series=series, period=period, last=series.offset).pk


def _take(
    series: NumberSeries, period: str, days: Sequence[date], *, operator: str, skip_taken: bool
) -> list[tuple[int, str, date]]:
    """Counter values and numbers for `days` (all in `period`), in order.

    The counter moves first (UPDATE … SET last = last + n), which locks its row.
    A number that was already given is passed over when gaps are allowed, and
    refused otherwise.
    """
    counter_pk = _counter_pk(series, period)
    NumberCounter.objects.filter(pk=counter_pk).update(last=F("last") + len(days))
    last = NumberCounter.objects.values_list("last", flat=True).get(pk=counter_pk)
    if last > masks.MAX_COUNTER:
        raise _exhausted(series)
    render = _renderer(series, operator)
    value = last - len(days)  # the last value used before these
    taken: list[tuple[int, str, date]] = []
    while len(taken) < len(days):
        pending = days[len(taken) :]
        candidates = [(value + 1 + index, day) for index, day in enumerate(pending)]
        numbers = [render(candidate, day) for candidate, day in candidates]
        used = _already_issued(series.organization_id, series.kind, numbers)
        clash = ""
        for (candidate, day), number in zip(candidates, numbers, strict=True):
            if number in used:
                clash = number
                break
            taken.append((candidate, number, day))
            value = candidate
        if not clash:
            break
        if not skip_taken:
            raise Conflict(
                _("The number %(number)s was already given.") % {"number": clash},
                code="number_taken",
            )
        day = days[len(taken)]
        value = _first_free(series, value, day, render)
        taken.append((value, render(value, day), day))
    if value != last:
        NumberCounter.objects.filter(pk=counter_pk).update(last=value)
    return taken


def _issue(
    series: NumberSeries,
    days: Sequence[date],
    *,
    operator: str,
    source: str,
    reserved: bool,
    skip_taken: bool,
) -> list[Issued]:
    issued: list[Issued] = []
    now = timezone.now()
    for period, group in itertools.groupby(
        days, key=lambda day: masks.period_of(series.reset, day)
    ):
        taken = _take(series, period, list(group), operator=operator, skip_taken=skip_taken)
        IssuedNumber.objects.bulk_create(
            [
                IssuedNumber(
                    organization_id=series.organization_id,
                    kind=series.kind,
                    number=number,
                    period=period,
                    counter=value,
                    dated=day,
                    issued_at=now,
                    reserved_by=(source or WEB)[:100],
                    operator=operator,
                    reserved=reserved,
                )
                for value, number, day in taken
            ],
            batch_size=1000,
        )
        issued += [Issued(number, value, period, day) for value, number, day in taken]
    return issued


def issue_many(
    org: Organization,
    kind: str,
    dates: Sequence[date | datetime],
    *,
    operator: str | None = None,
    source: str = WEB,
    reserved: bool = False,
) -> list[Issued]:
    """One dossier or quote number per date, in order (imports and generated data)."""
    found = _gap_kind(kind)
    days = [_day(when) for when in dates]
    if not days:
        return []

    def work() -> list[Issued]:
        series = _locked_series(org, found)
        initials = masks.check_operator(series.mask, operator)
        return _issue(
            series, days, operator=initials, source=source, reserved=reserved, skip_taken=True
        )

    return run_atomic(work)


def issue(
    org: Organization,
    kind: str,
    *,
    when: date | datetime | None = None,
    operator: str | None = None,
    source: str = WEB,
) -> Issued:
    """The next dossier or quote number, with its counter value."""
    return issue_many(org, kind, [_day(when)], operator=operator, source=source)[0]


def allocate(
    org: Organization,
    kind: str,
    *,
    when: date | datetime | None = None,
    operator: str | None = None,
    source: str = WEB,
) -> str:
    """The next dossier or quote number (gaps allowed). `operator`: the initials that
    fill `%OPE%`; `source`: who gets it ("web", or the station's token name).

    Joins the caller's transaction when one is open: the number is then given
    back if it rolls back."""
    return issue(org, kind, when=when, operator=operator, source=source).number


def reserve_block(
    org: Organization,
    kind: str,
    count: int,
    *,
    operator: str | None,
    source: str,
    actor: Any = None,
) -> list[str]:
    """`count` (1 to 500) dossier or quote numbers for a station working offline.
    The ones it never uses stay unused: these series allow gaps."""
    found = _gap_kind(kind)
    if isinstance(count, bool) or not 1 <= count <= MAX_BLOCK:
        raise DomainError(
            _("Reserve between 1 and %(count)s numbers at a time.") % {"count": MAX_BLOCK},
            code="invalid_count",
            details={"field": "count"},
        )
    today = timezone.localdate()

    def work() -> list[str]:
        issued = issue_many(
            org, found, [today] * count, operator=operator, source=source, reserved=True
        )
        series = NumberSeries.objects.get(organization=org, kind=found)
        numbers = [item.number for item in issued]
        audit.record(
            "numbering.reserve",
            organization=org,
            actor=actor,
            target=series,
            after={
                "series": found.value,
                "count": count,
                "first": numbers[0],
                "last": numbers[-1],
                "given_to": source,
                "operator": masks.clean_operator(operator),
            },
        )
        return numbers

    return run_atomic(work)


def allocate_invoice_number(org: Organization, *, when: date | datetime, source: str = WEB) -> str:
    """The next invoice number, for an invoice validated with the date `when`.

    Call it inside the transaction that validates the invoice (`transaction.atomic`),
    after every other check: the series stays locked until commit, and a rollback
    gives the number back, so numbers follow each other with no gap. Refuses a
    date before the last invoice's (numbers follow the dates) and a future date.
    """
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError(
            "allocate_invoice_number() must run inside the transaction that validates "
            "the invoice (transaction.atomic)."
        )
    day = _day(when)
    if day > timezone.localdate():
        raise DomainError(
            _("An invoice cannot be dated in the future."),
            code="invoice_date_in_future",
            details={"field": "date"},
        )
    with transaction.atomic():  # a refusal below leaves the caller's transaction as it was
        series = _locked_series(org, Kind.INVOICE)
        # the last one given is the latest dated: every allocation checked it
        last = (
            IssuedNumber.objects.filter(organization=org, kind=Kind.INVOICE).order_by("-pk").first()
        )
        if last is not None and day < last.dated:
            raise Conflict(
                _(
                    "An invoice cannot be dated %(date)s: invoice %(number)s, the last one, "
                    "is dated %(last)s. Invoice numbers follow the dates."
                )
                % {
                    "date": formats.date_format(day, "SHORT_DATE_FORMAT"),
                    "number": last.number,
                    "last": formats.date_format(last.dated, "SHORT_DATE_FORMAT"),
                },
                code="invoice_date_before_last",
                details={"last_number": last.number, "last_date": last.dated.isoformat()},
            )
        issued = _issue(series, [day], operator="", source=source, reserved=False, skip_taken=False)
    return issued[0].number


# --- changing a series -------------------------------------------------------------


def _check_next(next_value: int) -> None:
    if isinstance(next_value, bool) or not 1 <= next_value <= masks.MAX_COUNTER:
        raise DomainError(
            _("The next number must be between 1 and %(high)s.") % {"high": masks.MAX_COUNTER},
            code="invalid_next",
            details={"field": "next_value"},
        )


def set_next(org: Organization, kind: str, next_value: int, *, actor: Any) -> None:
    """Make `next_value` the counter of the next number of the current period.

    Dossiers and quotes may go back (numbers already given are passed over);
    invoices only go forward: a value at or below the last one given (or skipped) is refused.
    """
    found = _kind(kind)
    _check_next(next_value)

    def work() -> None:
        series = _locked_series(org, found)
        period = masks.period_of(series.reset, timezone.localdate())
        counter_pk = _counter_pk(series, period)
        last = NumberCounter.objects.values_list("last", flat=True).get(pk=counter_pk)
        if found == Kind.INVOICE and next_value <= last:
            raise Conflict(
                _("Invoice numbers only move forward: the next number must be %(next)s or more.")
                % {"next": last + 1},
                code="invoice_next_backwards",
                details={"field": "next_value", "next": last + 1},
            )
        if next_value == last + 1:
            return
        NumberCounter.objects.filter(pk=counter_pk).update(last=next_value - 1)
        audit.record(
            "numbering.next",
            organization=org,
            actor=actor,
            target=series,
            before={"period": period, "next": last + 1},
            after={"period": period, "next": next_value},
        )

    run_atomic(work)


def update_series(
    org: Organization,
    kind: str,
    *,
    mask: str,
    width: int,
    reset: str,
    offset: int,
    actor: Any,
) -> NumberSeries:
    """Change how a series makes its numbers. A new offset applies from the next period;
    when the restart changes, the new period's counter carries on from the current one,
    so no number is made twice."""
    found = _kind(kind)
    mask = mask.strip()
    masks.check_series(found, mask, width, reset, offset)

    def work() -> NumberSeries:
        series = _locked_series(org, found)
        before = audit.snapshot(series, SERIES_FIELDS)
        today = timezone.localdate()
        old_period = masks.period_of(series.reset, today)
        carry = _last_counter(series, old_period)
        series.mask, series.width, series.reset, series.offset = mask, width, reset, offset
        new_period = masks.period_of(reset, today)
        if new_period != old_period and carry > series.offset:
            counter_pk = _counter_pk(series, new_period)
            NumberCounter.objects.filter(pk=counter_pk, last__lt=carry).update(last=carry)
        series.save()
        audit.record_change(
            "numbering.series",
            organization=org,
            actor=actor,
            target=series,
            before=before,
            after=audit.snapshot(series, SERIES_FIELDS),
        )
        return series

    return run_atomic(work)


# --- export and import (settings bundles) -------------------------------------------


def series_settings(org: Organization) -> dict[str, Any]:
    """The organisation's numbering as JSON-able data: each series' mask, width, restart,
    offset and next counter value (for the current period)."""
    today = timezone.localdate()
    result: dict[str, Any] = {}
    for kind in Kind:
        series = get_series(org, kind)
        result[kind.value] = {
            "mask": series.mask,
            "width": series.width,
            "reset": series.reset,
            "offset": series.offset,
            "next": next_counter(series, today),
        }
    return {"version": SETTINGS_VERSION, "series": result}


def _settings_error(where: str) -> DomainError:
    return DomainError(
        _("The numbering settings are not valid (%(where)s).") % {"where": where},
        code="invalid_settings",
        details={"field": where},
    )


def _read_settings(org: Organization, data: Mapping[str, Any]) -> dict[Kind, dict[str, Any]]:
    """What `data` asks for, checked and completed with the current values."""
    if not isinstance(data, Mapping):
        raise _settings_error("numbering")
    unknown = set(data) - {"version", "series"}
    if unknown:
        raise _settings_error(sorted(unknown)[0])
    if data.get("version", SETTINGS_VERSION) != SETTINGS_VERSION:
        raise _settings_error("version")
    wanted = data.get("series", {})
    if not isinstance(wanted, Mapping):
        raise _settings_error("series")
    plan: dict[Kind, dict[str, Any]] = {}
    for name, values in wanted.items():
        if name not in Kind.values:
            raise _settings_error(f"series.{name}")
        if not isinstance(values, Mapping):
            raise _settings_error(f"series.{name}")
        extra = set(values) - {*SERIES_FIELDS, "next"}
        if extra:
            raise _settings_error(f"series.{name}.{sorted(extra)[0]}")
        current = get_series(org, name)
        merged: dict[str, Any] = {field: getattr(current, field) for field in SERIES_FIELDS}
        merged["next"] = None
        for field, value in values.items():
            expected: type = str if field in ("mask", "reset") else int
            if not isinstance(value, expected) or isinstance(value, bool):
                raise _settings_error(f"series.{name}.{field}")
            merged[field] = value
        merged["mask"] = merged["mask"].strip()
        masks.check_series(name, merged["mask"], merged["width"], merged["reset"], merged["offset"])
        if merged["next"] is not None:
            _check_next(merged["next"])
        plan[Kind(name)] = merged
    return plan


def apply_series_settings(org: Organization, data: dict[str, Any], *, actor: Any) -> None:
    """Apply what `series_settings` exported (all of it, or some series or fields).

    Everything is checked before anything is written. Masks, widths, restarts and
    offsets are taken as given; a next number only ever moves a counter forward
    (numbers already given stay given): a lower one is left aside.
    """
    plan = _read_settings(org, data)

    def work() -> None:
        for kind, wanted in plan.items():
            series = update_series(
                org,
                kind,
                mask=wanted["mask"],
                width=wanted["width"],
                reset=wanted["reset"],
                offset=wanted["offset"],
                actor=actor,
            )
            if wanted["next"] is not None and wanted["next"] > next_counter(series):
                set_next(org, kind, wanted["next"], actor=actor)

    run_atomic(work)
