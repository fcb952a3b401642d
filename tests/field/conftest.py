"""Field app tests: receipt files in a folder of the test only, and a phone paired the way
a member pairs one (a link made on the "My phone" page, opened by another browser)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from comptoir.field import services
from comptoir.field.models import PairedDevice
from tests.conftest import Persona
from tests.expenses.conftest import JPEG, upload

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


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


@dataclass
class Phone:
    client: Client
    device: PairedDevice
    response: Any  # the answer to opening the link


def pairing_url(persona: Persona) -> str:
    """A fresh link for the persona, as the "My phone" page makes it (path only)."""
    _link, secret = services.create_pairing_link(persona.member, actor=persona.user)
    return f"/terrain/connexion/{secret}/"


def pair_phone(persona: Persona, user_agent: str = IPHONE) -> Phone:
    """A new browser (no cookie) opens a fresh link of the persona and confirms."""
    client = Client(HTTP_USER_AGENT=user_agent, enforce_csrf_checks=True)
    url = pairing_url(persona)
    asked = client.get(url)
    assert asked.status_code == 200, asked.content
    response = client.post(url, {"csrfmiddlewaretoken": asked.context["csrf_token"]})
    device = PairedDevice.objects.filter(member=persona.member).latest("created_at")
    return Phone(client, device, response)


def receipt_form() -> dict[str, object]:
    return {
        "date": "2025-03-14",
        "supplier": "Sanef A1",
        "category": "peage",
        "amount_ttc": "12,60",
        "amount_ht": "10,50",
        "amount_vat": "2,10",
        "dossier": "",
        "notes": "",
        "file": upload(JPEG, "photo.jpg"),
    }


DOSSIER_FORM = {
    "missions": ["dpe", "gaz"],
    "property_street": "3 rue de la Monnaie",
    "property_postcode": "59000",
    "property_city": "Lille",
    "property_type": "flat",
}
