"""Numbering endpoints: the stations ask for dossier and quote numbers here
(docs/sync/protocol.md, "Numbering and settings"); administrators read the series."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from comptoir.accounts.api import TokenPrincipal
from comptoir.accounts.models import acting_user
from comptoir.core.api_base import ErrorOut, InSchema, OutSchema, WholeNumber, org_endpoint
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.numbering import services
from comptoir.numbering.models import IssuedNumber, Kind

router = Router(tags=["numbering"])
ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
OPERATOR = r"^[A-Za-z0-9]{1,5}$"


class IssuedOut(OutSchema):
    number: str
    dated: date
    issued_at: datetime
    given_to: str
    operator: str
    reserved: bool


class SeriesOut(Schema):
    series: Kind
    mask: str
    width: int
    reset: str
    offset: int
    period: str = Field(description='"2026", "2026-03", or "" when the counter never restarts')
    last_counter: int
    next_counter: int
    next_number: str = Field(description="A preview: %OPE% stands for the operator's initials")
    last_numbers: list[IssuedOut]


class NumberingOut(Schema):
    series: list[SeriesOut]


class NextIn(InSchema):
    operator: str | None = Field(
        default=None,
        pattern=OPERATOR,
        description="The operator's initials, for a mask holding %OPE%",
    )


class NumberOut(Schema):
    number: str


class ReserveIn(InSchema):
    count: WholeNumber = Field(ge=1, le=services.MAX_BLOCK)
    operator: str | None = Field(default=None, pattern=OPERATOR)


class NumbersOut(Schema):
    numbers: list[str]


def source_of(request: HttpRequest) -> str:
    """Who gets the number: the token's name (a station's), or "web" for a browser."""
    principal = getattr(request, "auth", None)
    if isinstance(principal, TokenPrincipal):
        return principal.token.name
    return services.WEB


def issued_out(issued: IssuedNumber) -> dict[str, Any]:
    return {
        "number": issued.number,
        "dated": issued.dated,
        "issued_at": issued.issued_at,
        "given_to": issued.reserved_by,
        "operator": issued.operator,
        "reserved": issued.reserved,
    }


@router.get(
    "/orgs/{org}/numbering",
    response={200: NumberingOut, **ERRORS},
    summary="The numbering series: masks, last numbers given, next number",
)
@org_endpoint("api-numbering", Resource.SETTINGS, Action.VIEW)
def numbering(request: HttpRequest, member: Membership) -> dict[str, Any]:
    return {
        "series": [
            {
                "series": state.series.kind,
                "mask": state.series.mask,
                "width": state.series.width,
                "reset": state.series.reset,
                "offset": state.series.offset,
                "period": state.period,
                "last_counter": state.last_counter,
                "next_counter": state.next_counter,
                "next_number": state.next_number,
                "last_numbers": [issued_out(issued) for issued in state.recent],
            }
            for state in services.overview(member.organization)
        ]
    }


@router.post(
    "/orgs/{org}/numbering/{series}/next",
    response={200: NumberOut, **ERRORS},
    summary="The next dossier or quote number (invoice numbers: 409 invoice_numbers_hub_only)",
)
@org_endpoint("api-numbering-next", Resource.DOSSIERS, Action.ADD, stations=True)
def next_number(
    request: HttpRequest, member: Membership, series: Kind, payload: NextIn
) -> dict[str, Any]:
    number = services.allocate(
        member.organization, series, operator=payload.operator, source=source_of(request)
    )
    return {"number": number}


@router.post(
    "/orgs/{org}/numbering/{series}/reserve",
    response={200: NumbersOut, **ERRORS},
    summary="A block of dossier or quote numbers for offline work (unused ones are skipped)",
)
@org_endpoint("api-numbering-reserve", Resource.DOSSIERS, Action.ADD, stations=True)
def reserve(
    request: HttpRequest, member: Membership, series: Kind, payload: ReserveIn
) -> dict[str, Any]:
    numbers = services.reserve_block(
        member.organization,
        series,
        payload.count,
        operator=payload.operator,
        source=source_of(request),
        actor=acting_user(request),
    )
    return {"numbers": numbers}
