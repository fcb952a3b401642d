"""Demo company settings for MegaDiags: details, documents, tariffs, devices."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from stdnum.fr import siret as fr_siret

from comptoir.company import services
from comptoir.company.models import CompanyDocument, Device
from comptoir.contacts.demo import luhn_siret
from comptoir.core import audit
from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import Organization
from comptoir.dossiers.demo import minimal_pdf
from comptoir.dossiers.models import MissionType
from comptoir.dossiers.services import ensure_mission_types

# (code, label, mission type, price excl. VAT)
TARIFFS = [
    ("DPE", "Diagnostic de performance énergétique", "dpe", "150.00"),
    ("AMI", "Repérage amiante avant vente", "amiante", "120.00"),
    ("PLB", "Constat de risque d'exposition au plomb (CREP)", "plomb", "130.00"),
    ("GAZ", "État de l'installation intérieure de gaz", "gaz", "110.00"),
    ("ELEC", "État de l'installation intérieure d'électricité", "electricite", "110.00"),
    ("ERP", "État des risques et pollutions", "erp", "25.00"),
    ("CARREZ", "Mesurage loi Carrez", "carrez", "60.00"),
]
DOCUMENTS = {
    CompanyDocument.Kind.CGV: ("cgv-megadiags.pdf", "Conditions generales de vente - MegaDiags"),
    CompanyDocument.Kind.CGI: (
        "cgi-megadiags.pdf",
        "Conditions generales d'intervention - MegaDiags",
    ),
    CompanyDocument.Kind.PREREQUISITES: (
        "prerequis-diagnostics.pdf",
        "Prerequis a la realisation des diagnostics",
    ),
    CompanyDocument.Kind.WITHDRAWAL: ("formulaire-retractation.pdf", "Formulaire de retractation"),
}


def valid_siret(rng: Any) -> str:
    """A SIRET whose SIREN also passes the check (luhn_siret only checks the 14 digits)."""
    while True:
        candidate = luhn_siret(rng)
        if fr_siret.is_valid(candidate):
            return candidate


def french_vat(siren: str) -> str:
    return f"FR{int(siren + '12') % 97:02d}{siren}"


def load(ctx: DemoContext) -> None:
    org: Organization = ctx.objects["megadiags"]
    actor = ctx.objects["megadiags:dcollet"].user
    siret = valid_siret(ctx.random)
    siren, vat = siret[:9], french_vat(siret[:9])
    with audit.backdated(ctx.days_ago(385)):
        services.update_profile(
            org,
            actor=actor,
            legal_name="MegaDiags",
            legal_form="sas",
            share_capital=Decimal("10000.00"),
            siret=siret,
            naf_code="71.20B",
            vat_number=vat,
            street="55 rue Faidherbe",
            postcode="59000",
            city="Lille",
            country="France",
            phone="03 20 54 21 87",
            email="contact@megadiags.fr",
            website="https://www.megadiags.fr",
            insurer="Hiscox",
            policy_number="HA RCP0284512",
            policy_expires_on=ctx.today + timedelta(days=220),
            document_footer=(
                f"MegaDiags SAS au capital de 10 000 € · SIRET {siret} · RCS Lille Métropole "
                f"{siren} · TVA intracommunautaire {vat}\nAssurance responsabilité civile "
                "professionnelle Hiscox n° HA RCP0284512 · Certifications des diagnostiqueurs "
                "consultables sur www.megadiags.fr"
            ),
        )
    for offset, (kind, (filename, title)) in enumerate(DOCUMENTS.items()):
        with audit.backdated(ctx.days_ago(384 - offset)):
            services.upload_document(
                org,
                kind,
                ContentFile(minimal_pdf(title), name=filename),
                actor=actor,
                name=filename,
            )
    _tariffs(ctx, org, actor)
    _devices(ctx, org, actor)


def _tariffs(ctx: DemoContext, org: Organization, actor: Any) -> None:
    ensure_mission_types(org)
    types = {kind.code: kind for kind in MissionType.objects.filter(organization=org)}
    for offset, (code, label, mission, price) in enumerate(TARIFFS):
        with audit.backdated(ctx.days_ago(383 - offset / 10)):
            services.create_tariff(
                org,
                actor=actor,
                code=code,
                label=label,
                mission_type=types.get(mission),
                price_excl_vat=Decimal(price),
                vat_rate=Decimal("20.00"),
            )
    with audit.backdated(ctx.days_ago(90)):  # a price rise, and a package no longer sold
        old = services.create_tariff(
            org,
            actor=actor,
            code="PACK-VENTE",
            label="Pack vente appartement (DPE, amiante, Carrez)",
            price_excl_vat=Decimal("290.00"),
        )
    with audit.backdated(ctx.days_ago(30)):
        services.set_tariff_active(old, False, actor=actor)


def _devices(ctx: DemoContext, org: Organization, actor: Any) -> None:
    today = ctx.today
    with audit.backdated(ctx.days_ago(370)):
        services.create_device(
            org,
            actor=actor,
            name="Analyseur plomb Niton",
            kind=Device.Kind.XRF,
            manufacturer="Thermo Scientific",
            model_reference="Niton XLp 300",
            serial_number="XLP-96214",
            expiry_kind=Device.ExpiryKind.SOURCE,
            expires_on=today + timedelta(days=41),
            notes="Source Cd-109 : remplacement à commander auprès du fabricant.",
        )
        services.create_device(
            org,
            actor=actor,
            name="Détecteur de fuites de gaz",
            kind=Device.Kind.GAS,
            manufacturer="Testo",
            model_reference="316-2",
            serial_number="T316-40871",
            expiry_kind=Device.ExpiryKind.CALIBRATION,
            expires_on=today + timedelta(days=230),
        )
        services.create_device(
            org,
            actor=actor,
            name="Télémètre laser",
            kind=Device.Kind.LASER,
            manufacturer="Leica",
            model_reference="Disto D2",
            serial_number="D2-1187342",
            expiry_kind=Device.ExpiryKind.CALIBRATION,
            expires_on=today + timedelta(days=310),
        )
