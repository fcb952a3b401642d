"""Demo settings bundles for MegaDiags: the drop-down lists a station sent (imported long
ago), a publication for the stations, and "PC bureau"'s latest parameters, waiting to be
imported: the bank details, a price rise, a new tariff, a renewed certification, an
operator the web does not know yet, a replaced lead source, richer drop-down lists."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from comptoir.bundles import services
from comptoir.bundles.sections import SECTIONS
from comptoir.core import audit
from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import Membership, Organization

DROPDOWNS: dict[str, dict[str, Any]] = {
    "pieces": {
        "label": "Pièces",
        "items": [
            {"key": "entree", "label": "Entrée", "description": "Sol carrelage, murs plâtre peint"},
            {"key": "sejour", "label": "Séjour", "description": "Parquet flottant, plafond plâtre"},
            {"key": "cuisine", "label": "Cuisine", "description": "Faïence murale, sol carrelé"},
            {"key": "chambre", "label": "Chambre", "description": ""},
            {"key": "sdb", "label": "Salle de bains", "description": "Faïence, plafond PVC"},
            {"key": "wc", "label": "WC", "description": ""},
            {
                "key": "garage",
                "label": "Garage",
                "description": "Dalle béton, toiture fibres-ciment",
            },
            {"key": "combles", "label": "Combles", "description": "Laine de verre, charpente bois"},
        ],
    },
    "materiaux": {
        "label": "Matériaux",
        "items": [
            {"key": "placo", "label": "Plaque de plâtre", "description": ""},
            {"key": "beton", "label": "Béton", "description": ""},
            {"key": "bois", "label": "Bois", "description": ""},
            {"key": "fibres-ciment", "label": "Fibres-ciment", "description": "Plaques ondulées"},
        ],
    },
    "etat": {
        "label": "État de conservation",
        "items": [
            {"key": "bon", "label": "Bon état", "description": ""},
            {"key": "moyen", "label": "État d'usage", "description": ""},
            {"key": "degrade", "label": "Dégradé", "description": "Mesures d'empoussièrement"},
        ],
    },
}


def load(ctx: DemoContext) -> None:
    org: Organization = ctx.objects["megadiags"]
    admin: Membership = ctx.objects["megadiags:dcollet"]
    technician: Membership = ctx.objects["megadiags:jdurant"]
    with audit.backdated(ctx.days_ago(370)):
        first = services.receive_bundle(
            org,
            {"dropdowns": DROPDOWNS},
            actor=technician.user,
            member=technician,
            source="PC bureau",
        )
    with audit.backdated(ctx.days_ago(369)):
        services.import_bundle(first, ["dropdowns"], actor=admin.user, member=admin)
    with audit.backdated(ctx.days_ago(60)):
        services.publish_bundle(
            org,
            ["company", "tariffs", "devices", "dropdowns"],
            actor=admin.user,
            member=admin,
        )
    with audit.backdated(ctx.days_ago(2)):
        services.receive_bundle(
            org,
            _latest_from_the_station(ctx, org),
            actor=technician.user,
            member=technician,
            source="PC bureau",
        )


def _latest_from_the_station(ctx: DemoContext, org: Organization) -> dict[str, Any]:
    """The web's data as the station has it now, with this year's changes."""
    company = SECTIONS["company"].export(org)
    company.update(phone="03 20 54 21 88", policy_expires_on=_iso(ctx, 585))

    tariffs = SECTIONS["tariffs"].export(org)
    for row in tariffs:
        if row["code"] == "DPE":
            row["price_excl_vat"] = "160.00"
    tariffs.append(
        {
            "code": "TERM",
            "label": "État relatif à la présence de termites",
            "mission_type": "termites",
            "price_excl_vat": "95.00",
            "vat_rate": "20.00",
            "is_active": True,
        }
    )

    operators = [row for row in SECTIONS["operators"].export(org) if row["active"]]
    for row in operators:
        if row["initials"] == "DUJ":
            for cert in row["certifications"]:
                if cert["kind"] == "amiante":  # renewed before it expired
                    cert.update(number="CPDI-5120", expires_on=_iso(ctx, 35 + 5 * 365))
    operators.append(
        {
            "initials": "AVD",
            "name": "Antoine Vandamme",
            "email": "antoine.vandamme@megadiags.fr",
            "phone": "06 41 27 83 90",
            "certifications": [
                {
                    "kind": "dpe",
                    "number": "ICERT-3107",
                    "body": "I.Cert",
                    "expires_on": _iso(ctx, 6 * 365),
                }
            ],
        }
    )

    devices = SECTIONS["devices"].export(org)
    for row in devices:
        if row["serial_number"] == "XLP-96214":  # the Cd-109 source was replaced
            row["expires_on"] = _iso(ctx, 41 + 540)
            row["notes"] = "Source Cd-109 remplacée."

    dropdowns = copy.deepcopy(DROPDOWNS)
    dropdowns["pieces"]["items"][3]["description"] = "Moquette, murs papier peint"
    dropdowns["pieces"]["items"][0]["description"] = ""  # never erases the web's
    dropdowns["pieces"]["items"].append(
        {"key": "cave", "label": "Cave", "description": "Sol terre battue, voûte briques"}
    )
    accounting = {
        "iban": "FR76 3000 6000 0112 3456 7890 189",
        "bic": "AGRIFRPP867",
        "bank_name": "Crédit Agricole Nord de France",
        "sales_journal": "VE",
        "bank_journal": "BQ",
        "customer_account_prefix": "411",
        "vat_regime": "receipts",
    }
    return {
        "company": company,
        "accounting": accounting,
        "operators": operators,
        "tariffs": tariffs,
        "devices": devices,
        "dropdowns": dropdowns,
    }


def _iso(ctx: DemoContext, days: int) -> str:
    return (ctx.today + timedelta(days=days)).isoformat()
