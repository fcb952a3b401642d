"""Test data of the company app: real PDF and PNG bytes, tariffs, devices, SMTP settings."""

from __future__ import annotations

import struct
import uuid
import zlib
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.company import outgoing, services
from comptoir.company.models import Device, SmtpSettings, Tariff
from tests.conftest import Persona


def tiny_png() -> bytes:
    """A valid 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x1f\x4e\x79")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def pdf_bytes(title: str = "CGV") -> bytes:
    from comptoir.dossiers.demo import minimal_pdf

    return minimal_pdf(title)


def pdf_upload(name: str = "cgv.pdf", title: str = "CGV") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(title), content_type="application/pdf")


def png_upload(name: str = "logo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, tiny_png(), content_type="image/png")


def a_tariff(admin: Persona, **fields: Any) -> Tariff:
    data: dict[str, Any] = {
        "code": f"T{uuid.uuid4().hex[:6].upper()}",
        "label": "DPE maison",
        "price_excl_vat": Decimal("150.00"),
        "vat_rate": Decimal("20.00"),
    }
    data.update(fields)
    return services.create_tariff(admin.org, actor=admin.user, **data)


def a_device(admin: Persona, **fields: Any) -> Device:
    data: dict[str, Any] = {
        "name": "Niton XLp 300",
        "kind": "xrf",
        "manufacturer": "Thermo",
        "model_reference": "XLp 300",
        "serial_number": f"SN-{uuid.uuid4().hex[:8]}",
        "expiry_kind": "source",
        "expires_on": date(2031, 1, 31),
    }
    data.update(fields)
    return services.create_device(admin.org, actor=admin.user, **data)


def smtp_config(
    admin: Persona,
    port: int,
    *,
    membership: Any = None,
    password: str = "",
    username: str = "",
    from_email: str = "contact@acme-diag.fr",
    from_name: str = "",
    security: str = "none",
) -> SmtpSettings:
    return outgoing.save_settings(
        admin.org,
        actor=admin.user,
        membership=membership,
        host="127.0.0.1",
        port=port,
        security=security,
        username=username,
        password=password,
        from_email=from_email,
        from_name=from_name,
    )
