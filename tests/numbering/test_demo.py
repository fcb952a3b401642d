"""The demo loader gives MegaDiags and Côte d'Opale believable numbering."""

from __future__ import annotations

from django.utils import timezone

from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import AuditEntry
from comptoir.numbering import demo, services
from comptoir.numbering.models import IssuedNumber


def test_demo_loader(people):
    admin, tech, other = people["admin"], people["tech_all"], people["outsider"]
    tech.member.initials = "DUJ"
    tech.member.save(update_fields=["initials"])
    ctx = DemoContext(write=lambda line: None)
    ctx.objects.update(
        {
            "megadiags": admin.org,
            "megadiags:dcollet": admin.member,
            "megadiags:jdurant": tech.member,
            "cote-opale": other.org,
            "cote-opale:dcollet": other.member,
        }
    )
    demo.load(ctx)
    demo.load_late(ctx)
    today = timezone.localdate()
    year = today.year

    mega = {state.series.kind: state for state in services.overview(admin.org)}
    assert mega["invoice"].next_number == f"F{year}-00287"
    assert mega["quote"].next_number == f"D{year}-00215"  # 213 and 214 went to the station
    assert [issued.number for issued in mega["dossier"].recent] == [
        f"{year}-0000{n}" for n in (5, 4, 3, 2, 1)
    ]
    assert {(i.reserved_by, i.operator, i.reserved) for i in mega["dossier"].recent} == {
        (demo.STATION, "DUJ", True)
    }
    assert not IssuedNumber.objects.filter(organization=admin.org, kind="invoice").exists()
    assert (
        AuditEntry.objects.filter(organization=admin.org, action="numbering.reserve").count() == 1
    )

    opale = {state.series.kind: state for state in services.overview(other.org)}
    assert opale["dossier"].next_number == f"CO{year % 100:02d}{today.month:02d}-0001"
    assert opale["quote"].series.mask == "DV%AA%-%OPE%-%N%"
    assert opale["invoice"].next_number == f"FA{year}-001043"


def test_generated_dossiers_take_their_numbers_from_the_series(db):
    from django.core.management import call_command

    from comptoir.core.models import Organization
    from comptoir.dossiers.models import Dossier

    call_command("generate", "--org", "bench", "--dossiers", "30")
    org = Organization.objects.get(slug="bench")
    dossiers = list(Dossier.objects.filter(organization=org).order_by("created_at"))
    issued = dict(
        IssuedNumber.objects.filter(organization=org, kind="dossier").values_list(
            "number", "counter"
        )
    )
    assert len(dossiers) == len(issued) == 30
    for dossier in dossiers:
        assert dossier.number == f"{dossier.year}-{dossier.sequence:05d}"
        assert issued[dossier.number] == dossier.sequence
    # the hub carries on after them
    year = timezone.localdate().year
    last = max(d.sequence for d in dossiers if d.year == year)
    assert services.allocate(org, "dossier") == f"{year}-{last + 1:05d}"
