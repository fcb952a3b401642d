"""Dossier endpoints: used by the workstation agent, the mobile pages and scripts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import FileResponse, HttpRequest
from ninja import File, Form, Query, Router, Schema
from ninja import Status as Reply
from ninja.files import UploadedFile
from pydantic import Field

from comptoir.accounts.models import acting_user
from comptoir.contacts.models import Contact
from comptoir.core.access import by_public_id
from comptoir.core.api_base import ErrorOut, InSchema, org_endpoint
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers import listing, services
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Document, Dossier

router = Router(tags=["dossiers"])
ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class PartyOut(Schema):
    id: UUID
    name: str


class DocumentOut(Schema):
    id: UUID
    name: str
    kind: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class DossierOut(Schema):
    id: UUID
    number: str
    year: int
    status: str
    missions: list[str]
    ordering_party: PartyOut | None
    owner: PartyOut | None
    technician: PartyOut | None
    appointment_at: datetime | None
    property_street: str
    property_postcode: str
    property_city: str
    property_type: str
    surface: Decimal | None
    year_built: int | None
    lots: str
    floor: str
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class DossierDetailOut(DossierOut):
    documents: list[DocumentOut]


class DossierPage(Schema):
    items: list[DossierOut]
    count: int
    next_offset: int | None


class DossierQuery(Schema):
    q: str | None = Field(default=None, max_length=200)
    status: Status | None = None
    technician: UUID | None = None
    mission: str | None = Field(default=None, max_length=30)
    year: int | None = Field(default=None, ge=1900, le=2100)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class DossierIn(InSchema):
    missions: list[str] | None = None
    ordering_party: UUID | None = None
    owner: UUID | None = None
    technician: UUID | None = None
    appointment_at: datetime | None = None
    property_street: str | None = Field(default=None, max_length=200)
    property_postcode: str | None = Field(default=None, pattern=r"^(\d{5})?$")
    property_city: str | None = Field(default=None, max_length=100)
    property_type: Dossier.PropertyType | None = None
    surface: float | None = Field(
        default=None,
        ge=0,
        le=9_999_999.99,
        description="Square metres as a JSON number, e.g. 45.5 (kept to 2 decimals).",
    )
    year_built: int | None = Field(default=None, ge=1000, le=2100)
    lots: str | None = Field(default=None, max_length=200)
    floor: str | None = Field(default=None, max_length=30)
    custom_fields: dict[str, Any] | None = None


class StatusIn(InSchema):
    status: Status


def _party(value: Any) -> dict[str, Any] | None:
    return {"id": value.public_id, "name": str(value)} if value else None


def document_out(document: Document) -> dict[str, Any]:
    return {
        "id": document.public_id,
        "name": document.name,
        "kind": document.kind,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "uploaded_at": document.uploaded_at,
    }


def dossier_out(dossier: Dossier) -> dict[str, Any]:
    return {
        "id": dossier.public_id,
        "number": dossier.number,
        "year": dossier.year,
        "status": dossier.status,
        "missions": [mission.mission_type.code for mission in dossier.missions.all()],
        "ordering_party": _party(dossier.ordering_party),
        "owner": _party(dossier.owner),
        "technician": _party(dossier.technician),
        "appointment_at": dossier.appointment_at,
        **{
            name: getattr(dossier, name)
            for name in (
                "property_street",
                "property_postcode",
                "property_city",
                "property_type",
                "surface",
                "year_built",
                "lots",
                "floor",
                "custom_fields",
                "created_at",
                "updated_at",
            )
        },
    }


def _dossier(member: Membership, dossier_id: str, action: Action = Action.VIEW) -> Dossier:
    return listing.dossier_for(member, dossier_id, action)


def _input(member: Membership, payload: DossierIn) -> services.DossierInput:
    data = payload.dict(exclude_unset=True)
    missions = data.pop("missions", None)
    org = member.organization
    for name in ("ordering_party", "owner"):
        if data.get(name) is not None:
            data[name] = by_public_id(Contact.objects.filter(organization=org), data[name])
    if data.get("technician") is not None:
        data["technician"] = by_public_id(
            Membership.objects.filter(organization=org), data["technician"]
        )
    if "property_type" in data and data["property_type"] is None:
        del data["property_type"]  # the field always has a value: null leaves it as it is
    if data.get("surface") is not None:
        data["surface"] = Decimal(str(data["surface"])).quantize(Decimal("0.01"))
    for name in ("property_street", "property_postcode", "property_city", "lots", "floor"):
        if name in data and data[name] is None:
            data[name] = ""
    if "custom_fields" in data and data["custom_fields"] is None:
        data["custom_fields"] = {}
    return services.DossierInput(data, missions)


@router.get(
    "/orgs/{org}/dossiers",
    response={200: DossierPage, **ERRORS},
    summary="List dossiers (search, filters, paging)",
)
@org_endpoint("api-dossiers", Resource.DOSSIERS, Action.VIEW)
def list_dossiers(
    request: HttpRequest, member: Membership, filters: Query[DossierQuery]
) -> dict[str, Any]:
    data = filters.dict()
    if data.get("status"):
        data["status"] = [data["status"]]
    queryset = listing.apply_filters(listing.base_queryset(member), data)
    if data.get("mission"):
        queryset = queryset.distinct()
    count = queryset.count()
    page = listing.with_related(queryset.order_by("-year", "-sequence"))[
        filters.offset : filters.offset + filters.limit
    ]
    end = filters.offset + filters.limit
    return {
        "items": [dossier_out(dossier) for dossier in page],
        "count": count,
        "next_offset": end if end < count else None,
    }


@router.post(
    "/orgs/{org}/dossiers",
    response={201: DossierDetailOut, **ERRORS},
    summary="Create a dossier (its number is given by the hub)",
)
@org_endpoint("api-dossier-add", Resource.DOSSIERS, Action.ADD)
def create_dossier(
    request: HttpRequest, member: Membership, payload: DossierIn
) -> Reply[dict[str, Any]]:
    dossier = services.create_dossier(member, _input(member, payload), actor=acting_user(request))
    return Reply(201, _detail(member, str(dossier.public_id)))


@router.get(
    "/orgs/{org}/dossiers/{dossier_id}",
    response={200: DossierDetailOut, **ERRORS},
    summary="One dossier, with its documents",
)
@org_endpoint("api-dossier", Resource.DOSSIERS, Action.VIEW)
def get_dossier(request: HttpRequest, member: Membership, dossier_id: str) -> dict[str, Any]:
    return _detail(member, dossier_id)


def _detail(member: Membership, dossier_id: str) -> dict[str, Any]:
    dossier = _dossier(member, dossier_id)
    return {
        **dossier_out(dossier),
        "documents": [document_out(doc) for doc in dossier.documents.all()],
    }


@router.patch(
    "/orgs/{org}/dossiers/{dossier_id}",
    response={200: DossierDetailOut, **ERRORS},
    summary="Change a dossier",
)
@org_endpoint("api-dossier-change", Resource.DOSSIERS, Action.CHANGE)
def patch_dossier(
    request: HttpRequest, member: Membership, dossier_id: str, payload: DossierIn
) -> dict[str, Any]:
    dossier = _dossier(member, dossier_id, Action.CHANGE)
    services.update_dossier(member, dossier, _input(member, payload), actor=acting_user(request))
    return _detail(member, dossier_id)


@router.post(
    "/orgs/{org}/dossiers/{dossier_id}/status",
    response={200: DossierOut, **ERRORS},
    summary="Move a dossier along its lifecycle",
)
@org_endpoint("api-dossier-status", Resource.DOSSIERS, Action.CHANGE)
def set_status(
    request: HttpRequest, member: Membership, dossier_id: str, payload: StatusIn
) -> dict[str, Any]:
    dossier = _dossier(member, dossier_id, Action.CHANGE)
    services.change_status(dossier, payload.status, actor=acting_user(request))
    return dossier_out(dossier)


@router.delete(
    "/orgs/{org}/dossiers/{dossier_id}",
    response={204: None, **ERRORS},
    summary="Delete an empty dossier (administrators; otherwise archive it)",
)
@org_endpoint("api-dossier-delete", Resource.DOSSIERS, Action.DELETE)
def delete_dossier(request: HttpRequest, member: Membership, dossier_id: str) -> Reply[None]:
    dossier = _dossier(member, dossier_id, Action.DELETE)
    services.delete_dossier(dossier, actor=acting_user(request))
    return Reply(204, None)


@router.post(
    "/orgs/{org}/dossiers/{dossier_id}/documents",
    response={201: DocumentOut, **ERRORS},
    summary="Upload a document",
)
@org_endpoint("api-document-add", Resource.DOSSIERS, Action.CHANGE)
def upload_document(
    request: HttpRequest,
    member: Membership,
    dossier_id: str,
    file: File[UploadedFile],
    kind: Form[str] = "other",
) -> Reply[dict[str, Any]]:
    dossier = _dossier(member, dossier_id, Action.CHANGE)
    document = services.add_document(dossier, file, kind=kind, actor=acting_user(request))
    return Reply(201, document_out(document))


@router.get(
    "/orgs/{org}/dossiers/{dossier_id}/documents/{document_id}",
    response={200: None, **ERRORS},
    summary="Download a document",
)
@org_endpoint("api-document", Resource.DOSSIERS, Action.VIEW)
def download_document(
    request: HttpRequest, member: Membership, dossier_id: str, document_id: str
) -> FileResponse:
    dossier = _dossier(member, dossier_id)
    document: Document = by_public_id(dossier.documents.all(), document_id)
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.name,
        content_type=document.content_type,
    )


class MissionTypeOut(Schema):
    code: str
    label: str
    is_builtin: bool


@router.get(
    "/orgs/{org}/mission-types",
    response={200: list[MissionTypeOut], **ERRORS},
    summary="Mission types of the organisation",
)
@org_endpoint("api-mission-types", Resource.DOSSIERS, Action.VIEW)
def list_mission_types(request: HttpRequest, member: Membership) -> list[dict[str, Any]]:
    return [
        {"code": kind.code, "label": kind.label, "is_builtin": kind.is_builtin}
        for kind in services.mission_types(member.organization)
    ]
