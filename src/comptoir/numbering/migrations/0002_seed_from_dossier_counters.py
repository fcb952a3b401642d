"""Existing organisations carry on their dossier numbering in the shared series.

Each organisation that already numbered dossiers gets its "dossier" series
with the mask those numbers follow (`%AAAA%-%N%`, width 5, yearly), a counter
per year at the last number it gave (`dossiers.DossierCounter`, or the highest
sequence found), and every existing dossier number recorded as given, so none
is ever given again.
"""

from django.db import migrations
from django.db.models import Max
from django.utils import timezone

BATCH = 2000


def seed(apps, schema_editor):
    DossierCounter = apps.get_model("dossiers", "DossierCounter")
    Dossier = apps.get_model("dossiers", "Dossier")
    NumberSeries = apps.get_model("numbering", "NumberSeries")
    NumberCounter = apps.get_model("numbering", "NumberCounter")
    IssuedNumber = apps.get_model("numbering", "IssuedNumber")

    lasts = {}
    for org_id, year, last in DossierCounter.objects.values_list("organization_id", "year", "last"):
        lasts[(org_id, year)] = max(last, lasts.get((org_id, year), 0))
    rows = Dossier.objects.values("organization_id", "year").annotate(top=Max("sequence"))
    for row in rows:
        key = (row["organization_id"], row["year"])
        lasts[key] = max(row["top"] or 0, lasts.get(key, 0))

    series_of = {}
    for org_id, year in sorted(lasts):
        if org_id not in series_of:
            series_of[org_id], _created = NumberSeries.objects.get_or_create(
                organization_id=org_id,
                kind="dossier",
                defaults={"mask": "%AAAA%-%N%", "width": 5, "reset": "yearly", "offset": 0},
            )
        counter, _created = NumberCounter.objects.get_or_create(
            series=series_of[org_id], period=f"{year:04d}", defaults={"last": 0}
        )
        if counter.last < lasts[(org_id, year)]:
            counter.last = lasts[(org_id, year)]
            counter.save(update_fields=["last"])

    known = set(IssuedNumber.objects.filter(kind="dossier").values_list("organization_id", "number"))
    pending = []
    dossiers = Dossier.objects.order_by("pk").values_list(
        "organization_id", "number", "year", "sequence", "created_at"
    )
    for org_id, number, year, sequence, created_at in dossiers.iterator(chunk_size=BATCH):
        if (org_id, number) in known:
            continue
        known.add((org_id, number))
        pending.append(
            IssuedNumber(
                organization_id=org_id,
                kind="dossier",
                number=number,
                period=f"{year:04d}",
                counter=sequence,
                dated=timezone.localdate(created_at),
                issued_at=created_at,
                reserved_by="web",
            )
        )
        if len(pending) >= BATCH:
            IssuedNumber.objects.bulk_create(pending)
            pending = []
    IssuedNumber.objects.bulk_create(pending)


def unseed(apps, schema_editor):
    """Back to the yearly dossier counters: each keeps the highest value either side gave."""
    DossierCounter = apps.get_model("dossiers", "DossierCounter")
    NumberCounter = apps.get_model("numbering", "NumberCounter")
    counters = NumberCounter.objects.filter(series__kind="dossier", series__reset="yearly")
    for org_id, period, last in counters.values_list(
        "series__organization_id", "period", "last"
    ):
        if not period.isdigit():
            continue
        counter, _created = DossierCounter.objects.get_or_create(
            organization_id=org_id, year=int(period)
        )
        if counter.last < last:
            counter.last = last
            counter.save(update_fields=["last"])


class Migration(migrations.Migration):
    dependencies = [
        ("numbering", "0001_initial"),
        ("dossiers", "0003_sync_revisions"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
