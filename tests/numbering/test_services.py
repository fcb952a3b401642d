"""Giving numbers out and changing series: formats, gaps, blocks, invoices, settings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import AuditEntry
from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Dossier
from comptoir.numbering import services
from comptoir.numbering.models import IssuedNumber, NumberCounter, NumberSeries
from tests.conftest import nothing_changes
from tests.helpers import fr

TODAY = timezone.localdate


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=timezone.get_current_timezone())


def test_reading_writes_nothing_and_shows_the_defaults(org):
    with nothing_changes():
        states = services.overview(org)
        exported = services.series_settings(org)
    year = TODAY().year
    assert [(s.series.kind, s.series.mask, s.next_number) for s in states] == [
        ("dossier", "%AAAA%-%N%", f"{year}-00001"),
        ("quote", "D%AAAA%-%N%", f"D{year}-00001"),
        ("invoice", "F%AAAA%-%N%", f"F{year}-00001"),
    ]
    assert exported["series"]["invoice"] == {
        "mask": "F%AAAA%-%N%",
        "width": 5,
        "reset": "yearly",
        "offset": 0,
        "next": 1,
    }


def test_default_dossier_numbers_are_the_usual_ones(org):
    year = TODAY().year
    numbers = [services.allocate(org, "dossier") for _ in range(3)]
    assert numbers == [f"{year}-00001", f"{year}-00002", f"{year}-00003"]
    assert services.allocate(org, "quote") == f"D{year}-00001"
    issued = IssuedNumber.objects.filter(organization=org, kind="dossier").order_by("pk")
    assert [(i.number, i.counter, i.period, i.reserved_by, i.reserved) for i in issued] == [
        (f"{year}-0000{n}", n, str(year), "web", False) for n in (1, 2, 3)
    ]
    assert NumberSeries.objects.filter(organization=org).count() == 2  # created on first use


def test_numbers_are_per_organisation(org, other_org):
    assert services.allocate(org, "dossier") == services.allocate(other_org, "dossier")


def test_yearly_reset(org):
    assert services.allocate(org, "dossier", when=date(2025, 12, 31)) == "2025-00001"
    assert services.allocate(org, "dossier", when=date(2026, 1, 1)) == "2026-00001"
    assert services.allocate(org, "dossier", when=date(2025, 12, 30)) == "2025-00002"


def test_monthly_reset(org):
    services.update_series(
        org, "quote", mask="DV%AA%%MM%-%N%", width=3, reset="monthly", offset=0, actor=None
    )
    given = [
        services.allocate(org, "quote", when=day)
        for day in (date(2026, 3, 2), date(2026, 3, 31), date(2026, 4, 1), date(2027, 3, 2))
    ]
    assert given == ["DV2603-001", "DV2603-002", "DV2604-001", "DV2703-001"]
    periods = NumberCounter.objects.filter(series__organization=org).values_list("period", "last")
    assert sorted(periods) == [("2026-03", 2), ("2026-04", 1), ("2027-03", 1)]


def test_day_code(org):
    services.update_series(
        org, "dossier", mask="%AAAA%%MM%%JJ%-%N%", width=2, reset="yearly", offset=0, actor=None
    )
    assert services.allocate(org, "dossier", when=date(2026, 2, 9)) == "20260209-01"
    assert services.allocate(org, "dossier", when=date(2026, 2, 10)) == "20260210-02"


def test_operator_initials(org):
    services.update_series(
        org, "dossier", mask="%AAAA%-%OPE%-%N%", width=4, reset="yearly", offset=0, actor=None
    )
    day = date(2026, 5, 4)
    assert services.allocate(org, "dossier", when=day, operator="duj") == "2026-DUJ-0001"
    assert services.allocate(org, "dossier", when=day, operator="Élodie") == "2026-ELODI-0002"
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.allocate(org, "dossier", when=day)
    assert refused.value.code == "operator_required"
    assert refused.value.message == fr(
        "This numbering puts the operator's initials in the number (%(code)s): "
        "choose the technician or give the operator's initials."
    ) % {"code": "%OPE%"}
    assert IssuedNumber.objects.get(number="2026-DUJ-0001").operator == "DUJ"


def test_offset_starts_new_periods(org):
    services.update_series(
        org, "quote", mask="D%AAAA%-%N%", width=5, reset="yearly", offset=500, actor=None
    )
    assert services.allocate(org, "quote", when=date(2026, 1, 5)) == "D2026-00501"
    assert services.allocate(org, "quote", when=date(2027, 1, 5)) == "D2027-00501"


def test_a_series_that_never_restarts(org):
    services.update_series(org, "quote", mask="Q%N%", width=4, reset="never", offset=0, actor=None)
    assert services.allocate(org, "quote", when=date(2025, 6, 1)) == "Q0001"
    assert services.allocate(org, "quote", when=date(2026, 6, 1)) == "Q0002"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"mask": "D-%N%"}, "invalid_mask"),
        ({"mask": "%AAAA%-%N%", "reset": "monthly"}, "invalid_mask"),
        ({"mask": "%AAAA%-%Z%-%N%"}, "invalid_mask"),
        ({"width": 0}, "invalid_width"),
        ({"offset": -5}, "invalid_offset"),
        ({"reset": "hourly"}, "invalid_reset"),
    ],
)
def test_invalid_series_writes_nothing(org, changes, code):
    services.allocate(org, "dossier")
    values = {"mask": "%AAAA%-%N%", "width": 5, "reset": "yearly", "offset": 0, **changes}
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.update_series(org, "dossier", actor=None, **values)
    assert refused.value.code == code


def test_update_series_is_audited(people):
    admin = people["admin"]
    services.update_series(
        admin.org, "quote", mask="DV%AAAA%-%N%", width=6, reset="yearly", offset=0, actor=admin.user
    )
    entry = AuditEntry.objects.filter(organization=admin.org, action="numbering.series").get()
    assert (entry.before, entry.after) == (
        {"mask": "D%AAAA%-%N%", "width": 5},
        {"mask": "DV%AAAA%-%N%", "width": 6},
    )
    assert entry.actor_id == admin.user.pk
    # the same values again: no entry
    services.update_series(
        admin.org, "quote", mask="DV%AAAA%-%N%", width=6, reset="yearly", offset=0, actor=admin.user
    )
    assert AuditEntry.objects.filter(action="numbering.series").count() == 1


def test_changing_the_restart_carries_the_counter_on(org):
    for _ in range(3):
        services.allocate(org, "quote")
    services.update_series(
        org, "quote", mask="D%AAAA%-%N%", width=5, reset="never", offset=0, actor=None
    )
    assert services.allocate(org, "quote") == f"D{TODAY().year}-00004"  # not 00001 again


def test_invoices_cannot_be_asked_for_or_reserved(org):
    with nothing_changes():
        for call in (
            lambda: services.allocate(org, "invoice"),
            lambda: services.reserve_block(org, "invoice", 3, operator=None, source="PC"),
            lambda: services.issue_many(org, "invoice", [TODAY()]),
        ):
            with pytest.raises(Conflict) as refused:
                call()
            assert refused.value.code == "invoice_numbers_hub_only"


def test_unknown_series(org):
    with pytest.raises(DomainError) as refused:
        services.allocate(org, "receipt")
    assert refused.value.code == "unknown_series"


def test_reserve_block(people):
    admin = people["admin"]
    org = admin.org
    year = TODAY().year
    first = services.allocate(org, "dossier")
    block = services.reserve_block(
        org, "dossier", 4, operator="duj", source="PC terrain", actor=admin.user
    )
    assert first == f"{year}-00001"
    assert block == [f"{year}-0000{n}" for n in (2, 3, 4, 5)]
    assert services.allocate(org, "dossier") == f"{year}-00006"
    rows = IssuedNumber.objects.filter(number__in=block)
    assert {(row.reserved_by, row.operator, row.reserved) for row in rows} == {
        ("PC terrain", "DUJ", True)
    }
    entry = AuditEntry.objects.get(organization=org, action="numbering.reserve")
    assert entry.after == {
        "series": "dossier",
        "count": 4,
        "first": block[0],
        "last": block[-1],
        "given_to": "PC terrain",
        "operator": "DUJ",
    }


@pytest.mark.parametrize("count", [0, -1, 501, True])
def test_reserve_block_size(org, count):
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.reserve_block(org, "quote", count, operator=None, source="PC")
    assert refused.value.code == "invalid_count"


def test_reserve_the_largest_block(org):
    numbers = services.reserve_block(org, "quote", 500, operator=None, source="PC")
    assert len(set(numbers)) == 500
    assert numbers[-1] == f"D{TODAY().year}-00500"


def test_going_back_passes_over_numbers_already_given(people):
    admin = people["admin"]
    org = admin.org
    year = TODAY().year
    given = [services.allocate(org, "dossier") for _ in range(5)]
    services.set_next(org, "dossier", 2, actor=admin.user)
    state = services.overview(org)[0]
    assert state.next_number == f"{year}-00006"  # the preview passes over them too
    assert services.allocate(org, "dossier") == f"{year}-00006"
    assert services.allocate(org, "dossier") == f"{year}-00007"
    assert len(given) == 5
    # a block straddling numbers already given skips them as well
    services.set_next(org, "dossier", 6, actor=admin.user)
    services.allocate(org, "dossier", when=TODAY())  # 00008
    services.set_next(org, "dossier", 1, actor=admin.user)
    block = services.reserve_block(org, "dossier", 3, operator=None, source="PC")
    assert block == [f"{year}-00009", f"{year}-00010", f"{year}-00011"]
    assert NumberCounter.objects.get(series__organization=org, series__kind="dossier").last == 11


def test_set_next_is_audited_and_invoices_only_move_forward(people):
    admin = people["admin"]
    org = admin.org
    year = TODAY().year
    services.set_next(org, "invoice", 287, actor=admin.user)
    entry = AuditEntry.objects.get(organization=org, action="numbering.next")
    assert (entry.before, entry.after) == (
        {"period": str(year), "next": 1},
        {"period": str(year), "next": 287},
    )
    for backwards in (286, 100, 1):
        with nothing_changes(), pytest.raises(Conflict) as refused:
            services.set_next(org, "invoice", backwards, actor=admin.user)
        assert refused.value.code == "invoice_next_backwards"
        assert refused.value.message == fr(
            "Invoice numbers only move forward: the next number must be %(next)s or more."
        ) % {"next": 287}
    with nothing_changes():
        services.set_next(org, "invoice", 287, actor=admin.user)  # where it is already
    services.set_next(org, "invoice", 300, actor=admin.user)
    assert services.overview(org)[2].next_number == f"F{year}-00300"


@pytest.mark.parametrize("value", [0, -3, 1_000_000_000, True])
def test_set_next_range(org, value):
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.set_next(org, "quote", value, actor=None)
    assert refused.value.code == "invalid_next"


def test_invoice_numbers_follow_each_other_and_the_dates(org):
    today = TODAY()
    earlier = today - timedelta(days=3)
    given = [
        services.allocate_invoice_number(org, when=at(earlier), source="web"),
        services.allocate_invoice_number(org, when=today),
        services.allocate_invoice_number(org, when=today),  # the same day is fine
    ]
    rows = IssuedNumber.objects.filter(organization=org, kind="invoice").order_by("pk")
    assert [(row.number, row.dated) for row in rows] == list(
        zip(given, [earlier, today, today], strict=True)
    )
    if earlier.year == today.year:  # (the series restarts on 1 January)
        assert given == [f"F{today.year}-0000{n}" for n in (1, 2, 3)]
    with nothing_changes(), pytest.raises(Conflict) as refused:
        services.allocate_invoice_number(org, when=today - timedelta(days=1))
    assert refused.value.code == "invoice_date_before_last"
    assert refused.value.details == {"last_number": given[-1], "last_date": today.isoformat()}
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.allocate_invoice_number(org, when=today + timedelta(days=1))
    assert refused.value.code == "invoice_date_in_future"
    # no gap after a refusal
    after = services.allocate_invoice_number(org, when=today)
    assert int(after.rsplit("-", 1)[1]) == int(given[-1].rsplit("-", 1)[1]) + 1


def test_a_rolled_back_invoice_gives_its_number_back(org):
    from django.db import transaction

    today = TODAY()
    services.allocate_invoice_number(org, when=today)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.allocate_invoice_number(org, when=today)
        raise RuntimeError("the invoice could not be validated")
    assert services.allocate_invoice_number(org, when=today) == f"F{today.year}-00002"


def test_a_taken_invoice_number_is_refused_not_skipped(org):
    """The backstop: a number given twice would break the series. (Only a hand-made
    row can cause it.)"""
    today = TODAY()
    IssuedNumber.objects.create(
        organization=org,
        kind="invoice",
        number=f"F{today.year}-00001",
        counter=1,
        dated=today,
        reserved_by="import",
    )
    with pytest.raises(Conflict) as refused:
        services.allocate_invoice_number(org, when=today)
    assert refused.value.code == "number_taken"
    assert not NumberCounter.objects.filter(series__kind="invoice", last__gt=0).exists()


def test_settings_export_and_import(people, outsider):
    admin = people["admin"]
    source, target = admin.org, outsider.org
    services.update_series(
        source, "dossier", mask="%AA%%MM%-%N%", width=4, reset="monthly", offset=0, actor=None
    )
    services.set_next(source, "quote", 40, actor=None)
    services.set_next(source, "invoice", 120, actor=None)
    exported = services.series_settings(source)
    assert exported["version"] == 1
    assert exported["series"]["dossier"] == {
        "mask": "%AA%%MM%-%N%",
        "width": 4,
        "reset": "monthly",
        "offset": 0,
        "next": 1,
    }
    assert (exported["series"]["quote"]["next"], exported["series"]["invoice"]["next"]) == (40, 120)
    services.apply_series_settings(target, exported, actor=outsider.user)
    assert services.series_settings(target) == exported
    audited = AuditEntry.objects.filter(organization=target, action__startswith="numbering.")
    count = audited.count()
    assert count == 3  # the dossier mask, the quote and invoice next numbers
    # applying it again changes nothing
    services.apply_series_settings(target, exported, actor=outsider.user)
    assert audited.count() == count
    # a lower next number never moves a counter back
    services.apply_series_settings(
        target, {"series": {"invoice": {"next": 5}, "quote": {"next": 41}}}, actor=None
    )
    after = services.series_settings(target)["series"]
    assert (after["invoice"]["next"], after["quote"]["next"]) == (120, 41)


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"version": 2, "series": {}},
        {"series": []},
        {"series": {"receipt": {}}},
        {"series": {"quote": {"colour": "red"}}},
        {"series": {"quote": {"width": "5"}}},
        {"series": {"quote": {"width": True}}},
        {"series": {"quote": {"next": 0}}},
        {"series": {"quote": {"mask": "D%N%"}}},  # yearly: the year is missing
        {"series": {"quote": {"mask": "D%AAAA%-%N%"}, "dossier": {"reset": "monthly"}}},
        {"extra": 1},
    ],
)
def test_invalid_settings_write_nothing(org, data):
    with nothing_changes(), pytest.raises(DomainError):
        services.apply_series_settings(org, data, actor=None)


def test_dossiers_take_their_numbers_from_the_series(people):
    admin = people["admin"]
    year = TODAY().year
    dossier = dossier_services.create_dossier(
        admin.member, dossier_services.DossierInput({"property_city": "Lille"}), actor=admin.user
    )
    assert (dossier.number, dossier.year, dossier.sequence) == (f"{year}-00001", year, 1)
    assert IssuedNumber.objects.filter(organization=admin.org, kind="dossier").get().number == (
        dossier.number
    )
    assert services.allocate(admin.org, "dossier") == f"{year}-00002"


def test_dossier_numbers_with_the_technician_initials(people):
    admin, tech = people["admin"], people["tech_all"]
    tech.member.initials = "DUJ"
    tech.member.save(update_fields=["initials"])
    services.update_series(
        admin.org, "dossier", mask="%AAAA%-%OPE%%N%", width=3, reset="yearly", offset=0, actor=None
    )
    moment = at(date(2026, 6, 1))
    sequence, number = dossier_services.allocate_number(
        admin.org, 2026, when=moment, technician=tech.member
    )
    assert (sequence, number) == (1, "2026-DUJ001")
    with pytest.raises(DomainError) as refused:
        dossier_services.allocate_number(admin.org, 2026, when=moment)
    assert refused.value.code == "operator_required"


def test_allocate_number_passes_over_a_station_number(people):
    """A station that numbered a dossier offline without a reserved block: the hub
    never gives that number again."""
    admin = people["admin"]
    Dossier.objects.create(organization=admin.org, number="2026-00001", year=2026, sequence=1)
    assert dossier_services.allocate_number(admin.org, 2026, when=at(date(2026, 2, 1))) == (
        2,
        "2026-00002",
    )


def test_allocate_number_without_a_moment_dates_it_in_its_year(org):
    assert dossier_services.allocate_number(org, 2024) == (1, "2024-00001")
    assert IssuedNumber.objects.get(number="2024-00001").dated == date(2024, 1, 1)
