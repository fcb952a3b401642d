"""Compléments tests: files in a folder of the test only, and receipts and trips ready-made."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.expenses import services
from comptoir.expenses.models import Receipt, Trip, Vehicle

# The first bytes of each kind of file a receipt may be (what the services look at).
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
PDF = b"%PDF-1.4\n% ticket de caisse\n"


@pytest.fixture(autouse=True)
def receipt_storage(settings: Any, tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "files"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    yield folder


def upload(data: bytes = PDF, name: str = "ticket.pdf", content_type: str = "") -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type or "application/octet-stream")


def category(org: Any, code: str = "repas") -> Any:
    return next(c for c in services.categories(org) if c.code == code)


def make_receipt(people: dict[str, Any], **fields: Any) -> Receipt:
    """A receipt of acme for the all-dossiers technician: 24,00 € of which 4,00 € VAT."""
    admin = people["admin"]
    values = {
        "member": people["tech_all"].member,
        "date": date(2025, 3, 12),
        "supplier": "Brasserie du Beffroi",
        "amount_ttc": "24.00",
        "amount_ht": "20.00",
        "amount_vat": "4.00",
        "category": category(admin.org),
        "notes": "",
        **fields,
    }
    return services.create_receipt(
        admin.org, actor=admin.user, upload=BytesIO(PDF), file_name="ticket.pdf", **values
    )


def make_vehicle(people: dict[str, Any], key: str = "tech_all", **fields: Any) -> Vehicle:
    admin = people["admin"]
    values = {"label": "Peugeot 208", "kind": "car", "fiscal_power": 5, **fields}
    return services.create_vehicle(admin.org, actor=admin.user, member=people[key].member, **values)


def make_trip(people: dict[str, Any], vehicle: Vehicle, **fields: Any) -> Trip:
    admin = people["admin"]
    values = {
        "member": vehicle.member,
        "vehicle": vehicle,
        "date": date(2025, 3, 12),
        "origin": "Lille",
        "destination": "Roubaix",
        "distance_km": "100",
        "purpose": "Diagnostics DPE",
        **fields,
    }
    return services.create_trip(admin.org, actor=admin.user, **values)
