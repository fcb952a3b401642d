"""The demo loader fills MegaDiags's settings with believable, valid data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from stdnum.fr import siret as fr_siret
from stdnum.fr import tva as fr_tva

from comptoir.company import demo, services
from comptoir.company.expiry import ExpiryState
from comptoir.company.models import CompanyDocument, CompanyProfile, Device, Tariff
from comptoir.core.demo_registry import DemoContext


def test_demo_loader(people):
    admin = people["admin"]
    ctx = DemoContext(write=lambda line: None)
    ctx.objects.update({"megadiags": admin.org, "megadiags:dcollet": admin.member})
    demo.load(ctx)

    profile = CompanyProfile.objects.get(organization=admin.org)
    assert fr_siret.is_valid(profile.siret) and profile.siren == profile.siret[:9]
    assert fr_tva.is_valid(profile.vat_number) and profile.vat_number.endswith(profile.siren)
    assert (profile.legal_form, profile.share_capital, profile.city) == (
        "sas",
        Decimal("10000.00"),
        "Lille",
    )

    prices = {
        tariff.code: (tariff.price_excl_vat, tariff.vat_rate, tariff.mission_type.code)
        for tariff in services.active_tariffs(admin.org)
    }
    assert prices == {
        "DPE": (Decimal("150.00"), Decimal("20.00"), "dpe"),
        "AMI": (Decimal("120.00"), Decimal("20.00"), "amiante"),
        "PLB": (Decimal("130.00"), Decimal("20.00"), "plomb"),
        "GAZ": (Decimal("110.00"), Decimal("20.00"), "gaz"),
        "ELEC": (Decimal("110.00"), Decimal("20.00"), "electricite"),
        "ERP": (Decimal("25.00"), Decimal("20.00"), "erp"),
        "CARREZ": (Decimal("60.00"), Decimal("20.00"), "carrez"),
    }
    assert Tariff.objects.get(organization=admin.org, code="PACK-VENTE").is_active is False

    states = sorted(device.expiry() for device in Device.objects.filter(organization=admin.org))
    assert states == [ExpiryState.OK, ExpiryState.OK, ExpiryState.SOON]
    niton = Device.objects.get(organization=admin.org, kind="xrf")
    assert niton.expires_on - timezone.localdate() < timedelta(days=60)

    assert set(services.current_documents(admin.org)) == set(CompanyDocument.Kind.values)
