"""The station protocol (docs/sync/protocol.md) under /api/v1/.

Every call but pairing needs a station token; the station's organisation is
the only one it reaches (another organisation's short name or dossier answers
404). These endpoints are for stations, not people: they are not in the role
matrix of the web routes, and tests/sync covers their permissions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Annotated, Any, BinaryIO, cast
from uuid import UUID

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema
from ninja.responses import Response

from comptoir.core.api_base import (
    BIGINT_MAX,
    Count,
    ErrorOut,
    InSchema,
    OutSchema,
    WholeNumber,
    public_signature,
)
from comptoir.core.errors import DomainError, NotFound
from comptoir.core.roles import Action
from comptoir.core.webworker import direct_body
from comptoir.dossiers import blobs
from comptoir.sync import configure, services, zone
from comptoir.sync import options as station_options
from comptoir.sync.models import Station

router = Router(tags=["sync"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    507: ErrorOut,
}
BATCH_TYPE = "application/x-comptoir-batch"


def station_call(handler: Callable[..., Any]) -> Callable[..., Any]:
    """`(request, org, …)` → `(request, station, …)`; the token must be a station's of `org`."""

    @wraps(handler)
    def wrapper(request: HttpRequest, org: str, *args: Any, **kwargs: Any) -> Any:
        token = getattr(request.auth, "token", None)  # type: ignore[attr-defined]
        if token is not None and token.membership.organization.slug != org:
            raise NotFound(_("Organisation not found."))
        station = services.station_for(token)
        if station.organization.slug != org:
            raise NotFound(_("Organisation not found."))
        return handler(request, station, *args, **kwargs)

    wrapper.__signature__ = public_signature(handler)  # type: ignore[attr-defined]
    return wrapper


# --- pairing and the station ----------------------------------------------------------


class PairIn(InSchema):
    code: str = Field(max_length=20, description="The one-time code, e.g. K7Q4-M2XP.")
    name: str = Field("", max_length=100)
    version: str = Field("", max_length=40)
    platform: str = Field("", max_length=40)


class PairOut(OutSchema):
    org: str
    organization: str
    station: UUID
    name: str
    token: str


@router.post(
    "/sync/pair",
    auth=None,
    response={201: PairOut, **ERRORS},
    summary="Pair a station with a one-time code",
)
def pair(request: HttpRequest, payload: PairIn) -> Response:
    station, token = services.pair(
        payload.code, name=payload.name, version=payload.version, platform=payload.platform
    )
    return Response(
        {
            "org": station.organization.slug,
            "organization": station.organization.name,
            "station": station.public_id,
            "name": station.name,
            "token": token,
        },
        status=201,
    )


class QuotaOut(Schema):
    used: int
    limit: int


class StationOut(OutSchema):
    station: UUID
    name: str
    options: dict[str, Any]
    server_time: datetime
    quota: QuotaOut
    checkpoint: int
    reread: int = Field(
        description="Raised by “Relire depuis le début” on the web: while it is above the "
        "last value the station honoured, the station reads the change feed from 0."
    )


def _station_out(station: Station) -> dict[str, Any]:
    org = station.organization
    org.refresh_from_db(fields=["storage_used_bytes"])
    return {
        "station": station.public_id,
        "name": station.name,
        "options": station_options.effective(station),
        "server_time": timezone.now(),
        "quota": {"used": org.storage_used_bytes, "limit": org.plan.storage_quota_bytes},
        "checkpoint": station.checkpoint,
        "reread": station.reread,
    }


@router.get(
    "/orgs/{org}/sync/station",
    response={200: StationOut, **ERRORS},
    summary="The station, its effective options and the quota",
)
@station_call
def station_info(request: HttpRequest, station: Station) -> dict[str, Any]:
    return _station_out(station)


class ReportIn(InSchema):
    version: str = Field("", max_length=40)
    counts: dict[str, Count] = Field(default_factory=dict)
    errors: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)
    checkpoint: WholeNumber = Field(0, ge=0, le=BIGINT_MAX)


@router.post(
    "/orgs/{org}/sync/station/report",
    response={204: None, **ERRORS},
    summary="Report the station's state (counts per colour, errors, checkpoint)",
)
@station_call
def station_report(request: HttpRequest, station: Station, payload: ReportIn) -> HttpResponse:
    services.report(station, payload.dict())
    return HttpResponse(status=204)  # no body at all, as HTTP wants of a 204


class OptionsIn(InSchema):
    options: dict[str, Any]
    admin_password: str = Field("", max_length=200)


@router.put(
    "/orgs/{org}/sync/station/options",
    response={200: StationOut, **ERRORS},
    summary="Change this station's own options (admin password when one is set)",
)
@station_call
def station_options_put(request: HttpRequest, station: Station, payload: OptionsIn) -> Any:
    configure.set_station_options(
        station,
        payload.options,
        admin_password=payload.admin_password,
        actor=station.membership.user,
    )
    station.refresh_from_db()
    return _station_out(station)


# --- change feed and dossiers ----------------------------------------------------------


class ChangesQuery(Schema):
    since: int = Field(0, ge=0, le=BIGINT_MAX)
    limit: int = Field(1000, ge=1, le=services.MAX_FEED)


class ChangeOut(Schema):
    id: UUID
    number: str
    year: int
    rev: str
    seq: int
    deleted: bool
    quarantined_until: datetime | None
    conflict: bool
    size: int
    planned: date | None


class ChangesOut(OutSchema):
    results: list[ChangeOut]
    next: int
    done: bool
    reset: bool = False


@router.get(
    "/orgs/{org}/sync/changes",
    response={200: ChangesOut, **ERRORS},
    summary="What changed since a checkpoint (filtered for this station)",
)
@station_call
def changes(request: HttpRequest, station: Station, query: Query[ChangesQuery]) -> Any:
    return services.changes(station, query.since, query.limit)


class PushItem(InSchema):
    id: str = Field(max_length=36)
    base_rev: str | None = Field(None, max_length=50)
    rev: str = Field(max_length=50)
    document: dict[str, Any]
    sent: list[str] = Field(default_factory=list, max_length=services.MAX_SENT)


class PushIn(InSchema):
    dossiers: list[PushItem] = Field(max_length=services.MAX_PUSH)


class PushResultOut(OutSchema):
    id: str
    status: str
    rev: str | None = None
    seq: int | None = None
    head_rev: str | None = None
    head_seq: int | None = None
    number: str | None = None
    code: str | None = None
    message: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class PushOut(OutSchema):
    results: list[PushResultOut]


@router.post(
    "/orgs/{org}/sync/dossiers/push",
    response={200: PushOut, **ERRORS},
    summary="Send dossiers (each with the revision it is based on)",
)
@station_call
def push(request: HttpRequest, station: Station, payload: PushIn) -> Any:
    # The fields as validated (`dict(item)`: a dump would copy every document again).
    items = [dict(item) for item in payload.dossiers]
    return {"results": [vars(result) for result in services.push(station, items)]}


class FetchIn(InSchema):
    ids: list[str] = Field(max_length=services.MAX_FETCH)


class FetchedOut(Schema):
    id: UUID
    rev: str
    seq: int
    deleted: bool
    conflict: bool
    document: dict[str, Any] | None


class FetchOut(OutSchema):
    dossiers: list[FetchedOut]


@router.post(
    "/orgs/{org}/sync/dossiers/fetch",
    response={200: FetchOut, **ERRORS},
    summary="The head documents of some dossiers",
)
@station_call
def fetch(request: HttpRequest, station: Station, payload: FetchIn) -> Any:
    # Already JSON: the head documents go out as stored (see services.fetch).
    return HttpResponse(services.fetch(station, payload.ids), content_type="application/json")


class RevisionOut(Schema):
    rev: str
    document: dict[str, Any] | None


class ConflictOut(Schema):
    rev: str
    base_rev: str | None
    station: str
    created_at: datetime
    document: dict[str, Any]


class ConflictsOut(OutSchema):
    head: RevisionOut
    conflicts: list[ConflictOut]


@router.get(
    "/orgs/{org}/sync/dossiers/{dossier_id}/conflicts",
    response={200: ConflictsOut, **ERRORS},
    summary="A dossier's head and its open conflict revisions",
)
@station_call
def dossier_conflicts(request: HttpRequest, station: Station, dossier_id: str) -> Any:
    return services.conflicts(services.dossier_of(station, dossier_id))


class ResolveIn(InSchema):
    keep: str = Field(pattern="^(local|cloud|both)$")
    head_rev: str = Field(max_length=50)
    document: dict[str, Any] | None = None


class ResolveOut(OutSchema):
    rev: str
    seq: int


@router.post(
    "/orgs/{org}/sync/dossiers/{dossier_id}/resolve",
    response={200: ResolveOut, **ERRORS},
    summary="Close a dossier's conflicts, keeping the local, the cloud or both versions",
)
@station_call
def resolve(request: HttpRequest, station: Station, dossier_id: str, payload: ResolveIn) -> Any:
    services.require(station, Action.CHANGE)
    dossier = services.resolve(
        services.dossier_of(station, dossier_id),
        keep=payload.keep,
        head_rev=payload.head_rev,
        document=payload.document,
        source=f"station:{station.name}",
        actor=station.membership.user,
        station=station,
    )
    return {"rev": dossier.revision, "seq": dossier.change_seq}


# --- exchange zone ---------------------------------------------------------------------------


class ZoneEntryOut(Schema):
    dossier: ChangeOut
    address: str
    ordering_party: str
    missions: list[str]
    appointment: UUID | None
    starts_at: datetime | None
    ends_at: datetime | None
    technician: str | None
    technician_id: UUID | None
    mine: bool
    manual: bool
    added_at: datetime | None


class ZoneOut(OutSchema):
    today: date
    tomorrow: date
    everyone: bool
    entries: list[ZoneEntryOut]


@router.get(
    "/orgs/{org}/sync/exchange-zone",
    response={200: ZoneOut, **ERRORS},
    summary="The exchange zone: today's and tomorrow's appointments, and dossiers sent by hand",
)
@station_call
def exchange_zone(request: HttpRequest, station: Station) -> Any:
    services.require(station, Action.VIEW)
    return zone.station_view(station.membership)


# --- blobs and uploads ---------------------------------------------------------------------


Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class HashesIn(InSchema):
    hashes: list[Sha256] = Field(max_length=services.MAX_HASHES)


class MissingOut(OutSchema):
    missing: list[str]


@router.post(
    "/orgs/{org}/sync/blobs/missing",
    response={200: MissingOut, **ERRORS},
    summary="Which of these SHA-256 the station must send before naming them in a push",
)
@station_call
def blobs_missing(request: HttpRequest, station: Station, payload: HashesIn) -> Any:
    return {"missing": services.missing_for(station, payload.hashes)}


class BatchOut(OutSchema):
    stored: list[str]
    existing: list[str]


def _body(request: HttpRequest) -> BinaryIO:
    """The request's body as a stream: straight from the connection when nothing read it
    yet (a batch or a chunk: megabytes that Gunicorn's reader would copy several times)."""
    direct = None if getattr(request, "_read_started", True) else direct_body(request.META)
    return cast(BinaryIO, direct or request)


def _length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise DomainError(_("Content-Length must be a number."), code="invalid") from None


@router.post(
    "/orgs/{org}/sync/blobs/batch",
    response={200: BatchOut, **ERRORS},
    summary="Store small files (application/x-comptoir-batch framing)",
    openapi_extra={
        "requestBody": {"content": {BATCH_TYPE: {"schema": {"type": "string", "format": "binary"}}}}
    },
)
@station_call
def blobs_batch(request: HttpRequest, station: Station) -> Any:
    services.require(station, Action.CHANGE)
    if request.content_type != BATCH_TYPE:
        raise DomainError(
            _("Send the files with Content-Type: %(type)s.") % {"type": BATCH_TYPE},
            code="unsupported_media_type",
        )
    stored = services.store_batch(station.organization, _body(request), _length(request))
    # the station sent these bytes, checked against their hash: it may name them in a push
    services.remember_sent(station, [*stored["stored"], *stored["existing"]])
    return stored


@router.post(
    "/orgs/{org}/sync/blobs/fetch",
    response={200: None, **ERRORS},
    summary="Several files at once (application/x-comptoir-batch framing)",
)
@station_call
def blobs_fetch(request: HttpRequest, station: Station, payload: HashesIn) -> HttpResponseBase:
    readable = services.readable_hashes(station, payload.hashes)
    length, body = services.fetch_batch(station.organization, payload.hashes, readable)
    response = StreamingHttpResponse(body, content_type=BATCH_TYPE)
    # A known length: the station reads one body, not thousands of chunks.
    response["Content-Length"] = str(length)
    return response


RANGE = re.compile(r"^bytes=(\d*)-(\d*)\Z")


@router.get(
    "/orgs/{org}/sync/blobs/{sha256}",
    response={200: None, 206: None, **ERRORS},
    summary="One file's bytes (Range supported)",
)
@station_call
def blob_get(
    request: HttpRequest, station: Station, sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
) -> HttpResponseBase:
    org = station.organization
    sizes = services.blob_sizes(org, services._check_hashes([sha256]))
    # A file of a dossier the station may not read is answered as one the hub lacks.
    if sha256 not in sizes or not services.readable_hashes(station, [sha256]):
        raise NotFound(_("The hub does not have this file."))
    size = sizes[sha256]
    handle = blobs.open_blob(org, sha256)
    wanted = RANGE.match(request.headers.get("Range", "").strip())
    if not wanted or wanted.groups() == ("", ""):
        response: HttpResponseBase = FileResponse(handle, content_type="application/octet-stream")
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = wanted.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    if start >= size or start > end:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle.seek(start)
    data = handle.read(end - start + 1)
    handle.close()
    response = HttpResponse(data, status=206, content_type="application/octet-stream")
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response


class UploadIn(InSchema):
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    size: WholeNumber = Field(ge=0, le=BIGINT_MAX)


class UploadOut(OutSchema):
    id: UUID | None
    offset: int
    chunk_size: int
    complete: bool


@router.post(
    "/orgs/{org}/sync/uploads",
    response={201: UploadOut, **ERRORS},
    summary="Start (or find) a resumable upload of one large file",
)
@station_call
def upload_start(request: HttpRequest, station: Station, payload: UploadIn) -> Response:
    return Response(services.start_upload(station, payload.sha256, payload.size), status=201)


@router.get(
    "/orgs/{org}/sync/uploads/{upload_id}",
    response={200: UploadOut, **ERRORS},
    summary="Where an upload stands (to resume it)",
)
@station_call
def upload_state(request: HttpRequest, station: Station, upload_id: str) -> Any:
    return services._upload_state(services.upload_for(station, upload_id))


@router.put(
    "/orgs/{org}/sync/uploads/{upload_id}",
    response={200: UploadOut, **ERRORS},
    summary="Send one chunk (Content-Range: bytes START-END/TOTAL)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }
        }
    },
)
@station_call
def upload_chunk(request: HttpRequest, station: Station, upload_id: str) -> Any:
    content_range = request.headers.get("Content-Range", "")
    return services.put_chunk(station, upload_id, content_range, _body(request), _length(request))
