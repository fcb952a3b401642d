"""A WebDAV client over Django's test client, and dossiers with files for the personas."""

from __future__ import annotations

from base64 import b64encode
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Dossier
from tests.conftest import Persona

PROPFIND_ALL = (
    '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
)


def basic(name: str, secret: str) -> str:
    return "Basic " + b64encode(f"{name}:{secret}".encode()).decode()


@dataclass
class Dav:
    """Requests to /dav/ as one person: e-mail and token by default."""

    authorization: str | None

    @classmethod
    def of(cls, persona: Persona, token: str | None = None) -> Dav:
        return cls(basic(persona.user.email, token or persona.token))

    def request(self, method: str, path: str, body: bytes | str = b"", **headers: Any) -> Any:
        extra = {f"HTTP_{key.upper()}": value for key, value in headers.items()}
        if self.authorization:
            extra["HTTP_AUTHORIZATION"] = self.authorization
        content_type = extra.pop("HTTP_CONTENT_TYPE", "application/octet-stream")
        return Client().generic(method, path, body, content_type=content_type, **extra)

    def propfind(self, path: str, depth: str = "1", body: str = PROPFIND_ALL) -> Any:
        return self.request("PROPFIND", path, body, depth=depth, content_type="application/xml")

    def get(self, path: str, **headers: Any) -> Any:
        return self.request("GET", path, **headers)

    def put(self, path: str, data: bytes, **headers: Any) -> Any:
        return self.request("PUT", path, data, **headers)

    def delete(self, path: str, **headers: Any) -> Any:
        return self.request("DELETE", path, **headers)

    def mkcol(self, path: str) -> Any:
        return self.request("MKCOL", path)

    def move(self, path: str, destination: str, overwrite: str = "T") -> Any:
        return self.request(
            "MOVE", path, destination=f"http://testserver{destination}", overwrite=overwrite
        )

    def copy(self, path: str, destination: str, overwrite: str = "T") -> Any:
        return self.request(
            "COPY", path, destination=f"http://testserver{destination}", overwrite=overwrite
        )


def body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def a_file_dossier(people: dict[str, Persona], assignee: str, *files: tuple[str, bytes]) -> Dossier:
    """A dossier of "acme" assigned to `assignee`, with `files` added by the administrator."""
    admin = people["admin"]
    dossier = dossier_services.create_dossier(
        admin.member,
        dossier_services.DossierInput({"technician": people[assignee].member}, ["dpe"]),
        actor=admin.user,
    )
    for name, data in files:
        dossier_services.add_document(
            dossier, SimpleUploadedFile(name, data), kind="report", actor=admin.user
        )
    return dossier


def dav_path(dossier: Dossier, name: str = "") -> str:
    return f"/dav/{dossier.organization.slug}/{dossier.year}/{dossier.number}/{name}"


@pytest.fixture
def dossier_of(people: dict[str, Persona]) -> Any:
    return lambda assignee, *files: a_file_dossier(people, assignee, *files)
