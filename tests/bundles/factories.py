"""Test data of the settings bundles: a station's payload for every section, and bundles."""

from __future__ import annotations

import base64
from typing import Any

from comptoir.bundles import dropdowns, services
from comptoir.bundles.models import DropdownList, SettingsBundle
from tests.company.factories import tiny_png
from tests.conftest import Persona

SIRET = "73282932000074"
IBAN = "FR7630006000011234567890189"


def company_payload(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "legal_name": "Acme Diagnostics SAS",
        "legal_form": "sas",
        "share_capital": "10000.00",
        "siret": SIRET,
        "naf_code": "71.20B",
        "vat_number": "FR44732829320",
        "street": "55 rue Faidherbe",
        "postcode": "59000",
        "city": "Lille",
        "country": "France",
        "phone": "03 20 00 00 00",
        "email": "contact@acme-diag.fr",
        "website": "https://www.acme-diag.fr",
        "insurer": "Hiscox",
        "policy_number": "HA-1",
        "policy_expires_on": "2027-03-31",
    }
    data.update(changes)
    return data


def accounting_payload(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "iban": IBAN,
        "bic": "BNPAFRPPXXX",
        "bank_name": "BNP Paribas Lille",
        "sales_journal": "VT",
        "bank_journal": "BQ1",
        "customer_account_prefix": "411",
        "vat_regime": "receipts",
    }
    data.update(changes)
    return data


def logo_payload(footer: str = "SAS au capital de 10 000 €") -> dict[str, Any]:
    return {
        "document_footer": footer,
        "logo": {
            "name": "logo.png",
            "content_type": "image/png",
            "data": base64.b64encode(tiny_png()).decode(),
        },
    }


def operators_payload(initials: str = "TA") -> list[dict[str, Any]]:
    return [
        {
            "initials": initials,
            "name": "Thomas Aubert",
            "email": "thomas.aubert@acme.test",
            "phone": "06 11 22 33 44",
            "certifications": [
                {
                    "kind": "dpe",
                    "number": "CPDI-4242",
                    "body": "Bureau Veritas",
                    "expires_on": "2030-06-30",
                }
            ],
        },
        {"initials": "ZZZ", "name": "Zoé Inconnue", "phone": "06 00 00 00 00"},
    ]


def tariffs_payload() -> list[dict[str, Any]]:
    return [
        {
            "code": "DPE",
            "label": "DPE maison",
            "mission_type": "dpe",
            "price_excl_vat": "150.00",
            "vat_rate": "20.00",
            "is_active": True,
        },
        {"code": "AMI", "label": "Amiante vente", "price_excl_vat": 120, "vat_rate": 20},
    ]


def devices_payload() -> list[dict[str, Any]]:
    return [
        {
            "name": "Niton XLp 300",
            "kind": "xrf",
            "manufacturer": "Thermo",
            "model_reference": "XLp 300",
            "serial_number": "XLP-1",
            "expiry_kind": "source",
            "expires_on": "2027-01-31",
        },
        {"name": "Télémètre laser", "kind": "laser"},
    ]


def contacts_payload() -> list[dict[str, Any]]:
    return [
        {
            "kind": "person",
            "category": "client",
            "first_name": "Élodie",
            "last_name": "Martin",
            "email": "elodie.martin@example.fr",
            "phone": "06 12 34 56 78",
            "addresses": [{"street": "3 rue de Paris", "postcode": "59000", "city": "Lille"}],
        },
        {
            "kind": "company",
            "category": "agency",
            "company_name": "Agence du Beffroi",
            "siret": SIRET,
            "channels": [{"kind": "phone", "label": "Standard", "value": "03 20 11 22 33"}],
        },
    ]


def dropdowns_payload() -> dict[str, Any]:
    return {
        "pieces": {
            "label": "Pièces",
            "items": [
                {"key": "cuisine", "label": "Cuisine", "description": "Carrelage au sol"},
                {"key": "sejour", "label": "Séjour", "description": ""},
            ],
        },
        "materiaux": {
            "label": "Matériaux",
            "items": [{"key": "placo", "label": "Plaque de plâtre", "description": ""}],
        },
    }


def a_dropdown_list(admin: Persona, key: str = "pieces") -> DropdownList:
    return dropdowns.create_list(
        admin.org,
        actor=admin.user,
        key=key,
        label="Pièces",
        items=[
            {"key": "cuisine", "label": "Cuisine", "description": "Faïence murale"},
            {"key": "entree", "label": "Entrée", "description": "Parquet chêne"},
        ],
    )


def a_received_bundle(persona: Persona, **sections: Any) -> SettingsBundle:
    """A bundle "PC bureau" sent (tariffs and drop-down lists unless told otherwise)."""
    payload = sections or {"tariffs": tariffs_payload(), "dropdowns": dropdowns_payload()}
    return services.receive_bundle(
        persona.org, payload, actor=persona.user, member=persona.member, source="PC bureau"
    )


def a_published_bundle(admin: Persona, *names: str) -> SettingsBundle:
    return services.publish_bundle(
        admin.org,
        names or ["company", "tariffs", "dropdowns"],
        actor=admin.user,
        member=admin.member,
    )
