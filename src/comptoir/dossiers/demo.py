"""Demo dossiers (1,500 over two years for MegaDiags) and generated ones for benchmarks."""

from __future__ import annotations

import argparse
import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from comptoir.contacts.models import Contact
from comptoir.core import audit
from comptoir.core.demo_data import address
from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import Membership, Organization
from comptoir.core.text import search_key
from comptoir.dossiers import services
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Dossier, Mission, MissionType
from comptoir.numbering import masks as numbering_masks
from comptoir.numbering import services as numbering

DEMO_DOSSIERS = 1500
PATH_AFTER = {  # the usual road from "done" on
    Status.DONE: [Status.DONE],
    Status.REPORT_SENT: [Status.DONE, Status.REPORT_SENT],
    Status.INVOICED: [Status.DONE, Status.REPORT_SENT, Status.INVOICED],
    Status.PAID: [Status.DONE, Status.REPORT_SENT, Status.INVOICED, Status.PAID],
    Status.ARCHIVED: [
        Status.DONE,
        Status.REPORT_SENT,
        Status.INVOICED,
        Status.PAID,
        Status.ARCHIVED,
    ],
}


def missions_for(rng: Any, property_type: str, year_built: int) -> list[str]:
    """A realistic mix: what a sale of this property legally needs, more or less."""
    codes = ["dpe", "erp"]
    if year_built < 1997:
        codes.append("amiante")
    if year_built < 1949:
        codes.append("plomb")
    if rng.random() < 0.6:
        codes += ["gaz", "electricite"]
    if property_type == Dossier.PropertyType.FLAT:
        codes.append("carrez")
    if property_type == Dossier.PropertyType.HOUSE and rng.random() < 0.3:
        codes.append("termites")
    return codes


def property_fields(rng: Any) -> dict[str, Any]:
    street, postcode, city = address(rng)
    kind = rng.choices(
        [
            Dossier.PropertyType.FLAT,
            Dossier.PropertyType.HOUSE,
            Dossier.PropertyType.COMMERCIAL,
            Dossier.PropertyType.BUILDING,
        ],
        [55, 38, 5, 2],
    )[0]
    year_built = rng.choice([1890, 1925, 1948, 1955, 1968, 1975, 1985, 1992, 2001, 2012])
    surface = (
        Decimal(rng.randint(18, 95) if kind == Dossier.PropertyType.FLAT else rng.randint(70, 220))
        + Decimal(rng.randint(0, 99)) / 100
    )
    return {
        "property_street": street,
        "property_postcode": postcode,
        "property_city": city,
        "property_type": kind,
        "surface": surface,
        "year_built": year_built,
        "lots": f"Lot {rng.randint(1, 60)}" if kind == Dossier.PropertyType.FLAT else "",
        "floor": str(rng.randint(0, 6)) if kind == Dossier.PropertyType.FLAT else "",
    }


def _target_status(rng: Any, appointment: datetime | None, now: datetime) -> Status:
    if appointment is None:
        return Status.TO_SCHEDULE
    if appointment > now:
        return Status.SCHEDULED
    age = (now - appointment).days
    if age < 3:
        return Status.DONE
    if age < 15:
        return Status(rng.choice([Status.REPORT_SENT, Status.INVOICED]))
    if age < 60:
        return Status(rng.choice([Status.INVOICED, Status.PAID, Status.PAID]))
    return Status.ARCHIVED if age > 400 and rng.random() < 0.5 else Status.PAID


def _appointment(rng: Any, created: datetime) -> datetime:
    day = timezone.localtime(created + timedelta(days=rng.randint(2, 12)))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(
        hour=rng.choice([8, 9, 10, 11, 14, 15, 16]),
        minute=rng.choice([0, 30]),
        second=0,
        microsecond=0,
    )


def minimal_pdf(title: str) -> bytes:
    """A valid one-page PDF with one line of text (demo reports)."""
    text = title.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def load(ctx: DemoContext) -> None:
    org: Organization = ctx.objects["megadiags"]
    services.ensure_mission_types(org)
    staff = {
        login: ctx.objects[f"megadiags:{login}"]
        for login in ("mmarty", "jdurant", "llefebvre", "mguyot", "sbernard")
    }
    contacts = ctx.objects["contacts"]
    parties = contacts["agency"] * 6 + contacts["notary"] * 2 + contacts["other"]
    for index in range(DEMO_DOSSIERS):
        created = ctx.days_ago(730 * (1 - index / DEMO_DOSSIERS) + ctx.random.random())
        _demo_dossier(ctx, org, staff, parties, contacts["owner"], created)


def _demo_dossier(
    ctx: DemoContext,
    org: Organization,
    staff: dict[str, Membership],
    parties: list[Contact],
    owners: list[Contact],
    created: datetime,
) -> None:
    rng = ctx.random
    gone = ctx.days_ago(45)
    technicians = [staff["jdurant"], staff["llefebvre"], staff["mguyot"]]
    if created < gone:
        technicians.append(staff["sbernard"])
    fields = property_fields(rng)
    appointment = (
        None if (ctx.now - created).days < 10 and rng.random() < 0.4 else _appointment(rng, created)
    )
    fields.update(
        ordering_party=rng.choice(parties),
        owner=rng.choice(owners),
        technician=rng.choice(technicians),
        appointment_at=appointment,
    )
    codes = missions_for(rng, fields["property_type"], fields["year_built"])
    with audit.backdated(created):
        dossier = services.create_dossier(
            staff["mmarty"],
            services.DossierInput(fields, codes),
            actor=staff["mmarty"].user,
            when=created,
        )
    target = _target_status(rng, appointment, ctx.now)
    for step, status in enumerate(PATH_AFTER.get(target, [])):
        assert appointment is not None
        with audit.backdated(appointment + timedelta(days=step * 3, hours=2)):
            services.change_status(
                dossier,
                status,
                actor=dossier.technician.user
                if status == Status.DONE and dossier.technician
                else staff["mmarty"].user,
            )
            if status == Status.REPORT_SENT and (ctx.now - appointment).days < 120:
                services.add_document(
                    dossier,
                    ContentFile(
                        minimal_pdf(f"Rapport {dossier.number}"),
                        name=f"rapport-{dossier.number}.pdf",
                    ),
                    kind="report",
                    actor=staff["mmarty"].user,
                )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dossiers", type=int, default=0, help="Dossiers to add.")


@transaction.atomic
def generate(ctx: DemoContext, options: dict[str, Any]) -> str:
    """Bulk-insert dossiers with their missions (minutes for 100,000, not hours)."""
    count = options.get("dossiers") or 0
    if count <= 0:
        return ""
    org: Organization = ctx.objects["org"]
    rng = ctx.random
    services.ensure_mission_types(org)
    types = {kind.code: kind for kind in MissionType.objects.filter(organization=org)}
    party_ids = list(Contact.objects.filter(organization=org).values_list("pk", flat=True)[:5000])
    parties = {contact.pk: contact for contact in Contact.objects.filter(pk__in=party_ids)}
    technicians = list(Membership.objects.filter(organization=org, is_blocked=False)[:20])
    now = timezone.now()
    batch = 5000
    for start in range(0, count, batch):
        dossiers, mission_codes = [], []
        for index in range(start, min(start + batch, count)):
            created = now - timedelta(days=730 * (1 - index / count))
            fields = property_fields(rng)
            party = parties[rng.choice(party_ids)] if party_ids else None
            dossier = Dossier(
                organization=org,
                year=timezone.localtime(created).year,
                sequence=0,
                created_at=created,
                ordering_party=party,
                technician=rng.choice(technicians) if technicians else None,
                status=rng.choice(Status.values),
                **fields,
            )
            dossiers.append(dossier)
            mission_codes.append(missions_for(rng, fields["property_type"], fields["year_built"]))
        _number(org, dossiers)
        Dossier.objects.bulk_create(dossiers, batch_size=1000)
        Mission.objects.bulk_create(
            [
                Mission(dossier=dossier, mission_type=types[code])
                for dossier, codes in zip(dossiers, mission_codes, strict=True)
                for code in codes
            ],
            batch_size=5000,
        )
    audit.record(
        "dossier.generate",
        organization=org,
        actor=None,
        object_type="dossier",
        object_repr=f"{count} dossiers générés",
        after={"count": count},
    )
    return f"{count} dossiers"


def _number(org: Organization, dossiers: list[Dossier]) -> None:
    """Give numbers in creation order from the organisation's dossier series."""
    uses_operator = numbering_masks.uses_operator(numbering.get_series(org, "dossier").mask)

    def initials(dossier: Dossier) -> str:
        if not uses_operator:
            return ""  # one run: the operator is not part of the number
        return (dossier.technician.initials if dossier.technician else "") or "X"

    for operator, run in itertools.groupby(dossiers, key=initials):
        batch = list(run)
        given = numbering.issue_many(
            org,
            "dossier",
            [dossier.created_at for dossier in batch],
            operator=operator or None,
            source="demo",
        )
        for dossier, issued in zip(batch, given, strict=True):
            dossier.sequence, dossier.number = issued.counter, issued.number
            parties = [dossier.ordering_party.search_text] if dossier.ordering_party else []
            dossier.search_text = search_key(
                dossier.number,
                dossier.property_street,
                dossier.property_postcode,
                dossier.property_city,
                *parties,
            )
