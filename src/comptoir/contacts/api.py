"""Contact endpoints: the address book for the workstation agent, the mobile pages, scripts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from comptoir.accounts.models import acting_user
from comptoir.contacts import listing, services
from comptoir.contacts.models import Contact
from comptoir.core.access import by_public_id
from comptoir.core.api_base import ErrorOut, InSchema, OutSchema, org_endpoint
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource

router = Router(tags=["contacts"])
ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}

# Contact.Kind and Contact.Category values (a test keeps them in step).
Kind = Literal["person", "company"]
Category = Literal["client", "agency", "notary", "owner", "manager", "prospect", "other"]

# The input schemas publish the rules the services apply, so that a request valid per
# the OpenAPI document is accepted (tests/peers/test_api_fuzz.py checks it). Check digits
# cannot be written in JSON Schema: SIREN, SIRET and VAT numbers carry a `format`
# ("siren", "siret", "eu-vat") that the description explains.
# Exactly the characters Python's str.strip() and str.split() take for spaces, written out:
# regex engines disagree on "\s" (U+0085, U+001C–U+001F, U+FEFF).
SPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
    r"\u205f\u3000"
)
NAME_PATTERN = rf"[^{SPACE}]"  # some character that is not a space
SPACES = rf"[{SPACE}]*"
PHONE_PATTERN = rf"^{SPACES}$|^[+()./{SPACE}-]*(?:[0-9][+()./{SPACE}-]*){{6,15}}$"
FR_POSTCODE_PATTERN = rf"^{SPACES}(?:[0-9]{{4,5}})?{SPACES}$"
COUNTRY_PATTERN = rf"^{SPACES}[A-Za-z]{{2}}{SPACES}$"
IDENTIFIERS = (
    "Empty, or a number whose check digit is right: SIREN (9 digits), SIRET "
    "(14 digits; the SIREN is then taken from it), EU VAT number (FR…, BE…, DE…). "
    "A wrong one answers 422 naming the field."
)


EmailOrEmpty = Annotated[
    str,
    Field(
        max_length=254,
        json_schema_extra={"anyOf": [{"pattern": f"^{SPACES}$"}, {"format": "email"}]},
    ),
]
Email = Annotated[str, Field(min_length=1, max_length=254, json_schema_extra={"format": "email"})]
Phone = Annotated[str, Field(max_length=30, pattern=PHONE_PATTERN)]
Siren = Annotated[
    str, Field(max_length=20, description=IDENTIFIERS, json_schema_extra={"format": "siren"})
]
Siret = Annotated[
    str, Field(max_length=30, description=IDENTIFIERS, json_schema_extra={"format": "siret"})
]
Vat = Annotated[
    str, Field(max_length=30, description=IDENTIFIERS, json_schema_extra={"format": "eu-vat"})
]


class AddressSchema(Schema):
    label: str = Field(default="", max_length=60)
    street: str = Field(default="", max_length=200)
    postcode: str = Field(default="", max_length=10, description="In France, 5 digits.")
    city: str = Field(default="", max_length=100)
    country: str = Field(default="FR", description="ISO 3166 code, e.g. FR, BE.")


class ChannelSchema(Schema):
    kind: Literal["email", "phone"]
    label: str = Field(default="", max_length=60)
    value: str = Field(description="An e-mail address or a phone number.")


FRENCH_POSTCODE: dict[str, Any] = {
    "if": {
        "anyOf": [
            {"not": {"required": ["country"]}},
            {"properties": {"country": {"pattern": f"^{SPACES}[Ff][Rr]{SPACES}$"}}},
        ]
    },
    "then": {"properties": {"postcode": {"pattern": FR_POSTCODE_PATTERN}}},
}


class AddressIn(InSchema):
    """An address; in France (the default country) the postcode has 5 digits."""

    model_config = ConfigDict(strict=True, json_schema_extra=FRENCH_POSTCODE)

    label: str = Field(default="", max_length=60)
    street: str = Field(default="", max_length=200)
    postcode: str = Field(default="", max_length=10, description="In France, 5 digits.")
    city: str = Field(default="", max_length=100)
    country: str = Field(
        default="FR",
        max_length=10,
        pattern=COUNTRY_PATTERN,
        description="ISO 3166 code, e.g. FR, BE.",
    )


class EmailChannelIn(InSchema):
    kind: Literal["email"]
    label: str = Field(default="", max_length=60)
    value: Email


class PhoneChannelIn(InSchema):
    kind: Literal["phone"]
    label: str = Field(default="", max_length=60)
    value: str = Field(min_length=1, max_length=254, pattern=PHONE_PATTERN.split("|", 1)[1])


ChannelIn = Annotated[EmailChannelIn | PhoneChannelIn, Field(discriminator="kind")]


def _not_both(self: Any) -> None:
    """The one rule across fields the services cannot see: both identifiers sent."""
    if self.siren and self.siren.strip() and self.siret and self.siret.strip():
        raise PydanticCustomError(
            "siren_and_siret",
            _("Send the SIRET or the SIREN, not both: the SIREN is taken from the SIRET."),
        )


class ContactOut(OutSchema):
    id: UUID
    kind: str
    category: str
    display_name: str
    civility: str
    first_name: str
    last_name: str
    company_name: str
    siren: str
    siret: str
    vat_number: str
    email: str
    phone: str
    notes: str
    addresses: list[AddressSchema]
    channels: list[ChannelSchema]
    created_at: datetime
    updated_at: datetime


class DossierRef(Schema):
    id: UUID
    number: str
    status: str
    roles: list[Literal["ordering_party", "owner"]]


class ContactDetailOut(ContactOut):
    dossiers: list[DossierRef]


class ContactPage(Schema):
    items: list[ContactOut]
    count: int
    next_offset: int | None


class ContactQuery(Schema):
    q: str | None = Field(
        default=None,
        max_length=200,
        description="Words found in the name, e-mail, phone, SIRET, address.",
    )
    category: Category | None = None
    kind: Kind | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


NOT_BOTH: dict[str, Any] = {
    "not": {
        "required": ["siren", "siret"],
        "properties": {"siren": {"pattern": NAME_PATTERN}, "siret": {"pattern": NAME_PATTERN}},
    }
}


A_NAME: dict[str, Any] = {
    "anyOf": [
        {"required": [name], "properties": {name: {"pattern": NAME_PATTERN}}}
        for name in ("last_name", "first_name", "company_name")
    ]
}


class ContactIn(InSchema):
    """A person or a company: a last name, a first name or a company name at least."""

    model_config = ConfigDict(strict=True, json_schema_extra={**A_NAME, **NOT_BOTH})

    kind: Kind = "person"
    category: Category = "client"
    civility: str = Field(default="", max_length=10)
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    company_name: str = Field(default="", max_length=200)
    siren: Siren = ""
    siret: Siret = ""
    vat_number: Vat = ""
    email: EmailOrEmpty = ""
    phone: Phone = ""
    notes: str = Field(default="", max_length=10_000)
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    channels: list[ChannelIn] = Field(default_factory=list, max_length=30)

    @model_validator(mode="after")
    def _rules(self) -> ContactIn:
        _not_both(self)
        return self


class ContactPatch(InSchema):
    """Only the fields sent change; `addresses` and `channels`, when sent, replace the
    current ones; null empties a text."""

    model_config = ConfigDict(strict=True, json_schema_extra=NOT_BOTH)

    kind: Kind | None = None
    category: Category | None = None
    civility: str | None = Field(default=None, max_length=10)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    siren: Siren | None = None
    siret: Siret | None = None
    vat_number: Vat | None = None
    email: EmailOrEmpty | None = None
    phone: Phone | None = None
    notes: str | None = Field(default=None, max_length=10_000)
    addresses: list[AddressIn] | None = Field(default=None, max_length=20)
    channels: list[ChannelIn] | None = Field(default=None, max_length=30)

    @model_validator(mode="after")
    def _rules(self) -> ContactPatch:
        _not_both(self)
        return self


def contact_out(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.public_id,
        "kind": contact.kind,
        "category": contact.category,
        "display_name": contact.display_name,
        **{
            name: getattr(contact, name)
            for name in (
                "civility",
                "first_name",
                "last_name",
                "company_name",
                "siren",
                "siret",
                "vat_number",
                "email",
                "phone",
                "notes",
            )
        },
        "addresses": [
            {
                "label": a.label,
                "street": a.street,
                "postcode": a.postcode,
                "city": a.city,
                "country": a.country,
            }
            for a in contact.addresses.all()
        ],
        "channels": [
            {"kind": c.kind, "label": c.label, "value": c.value} for c in contact.channels.all()
        ],
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def _contact(member: Membership, contact_id: str, action: Action = Action.VIEW) -> Contact:
    return by_public_id(listing.with_related(listing.base_queryset(member, action)), contact_id)


def _detail(member: Membership, contact_id: str) -> dict[str, Any]:
    contact = _contact(member, contact_id)
    dossiers = [
        {
            "id": dossier.public_id,
            "number": dossier.number,
            "status": dossier.status,
            "roles": roles,
        }
        for dossier, roles in services.dossiers_of(contact, member)
    ]
    return {**contact_out(contact), "dossiers": dossiers}


@router.get(
    "/orgs/{org}/contacts",
    response={200: ContactPage, **ERRORS},
    summary="List contacts (search, category, paging)",
)
@org_endpoint("api-contacts", Resource.CONTACTS, Action.VIEW)
def list_contacts(
    request: HttpRequest, member: Membership, filters: Query[ContactQuery]
) -> dict[str, Any]:
    queryset = listing.apply_filters(listing.base_queryset(member), filters.dict())
    count = queryset.count()
    end = filters.offset + filters.limit
    page = listing.with_related(listing.order(queryset, "name"))[filters.offset : end]
    return {
        "items": [contact_out(contact) for contact in page],
        "count": count,
        "next_offset": end if end < count else None,
    }


@router.post(
    "/orgs/{org}/contacts", response={201: ContactDetailOut, **ERRORS}, summary="Create a contact"
)
@org_endpoint("api-contact-add", Resource.CONTACTS, Action.ADD)
def create_contact(
    request: HttpRequest, member: Membership, payload: ContactIn
) -> Status[dict[str, Any]]:
    data = payload.dict()
    contact = services.create_contact(member.organization, actor=acting_user(request), **data)
    return Status(201, _detail(member, str(contact.public_id)))


@router.get(
    "/orgs/{org}/contacts/{contact_id}",
    response={200: ContactDetailOut, **ERRORS},
    summary="One contact, with the dossiers it appears in",
)
@org_endpoint("api-contact", Resource.CONTACTS, Action.VIEW)
def get_contact(request: HttpRequest, member: Membership, contact_id: str) -> dict[str, Any]:
    return _detail(member, contact_id)


@router.patch(
    "/orgs/{org}/contacts/{contact_id}",
    response={200: ContactDetailOut, **ERRORS},
    summary="Change a contact",
)
@org_endpoint("api-contact-change", Resource.CONTACTS, Action.CHANGE)
def patch_contact(
    request: HttpRequest, member: Membership, contact_id: str, payload: ContactPatch
) -> dict[str, Any]:
    contact = _contact(member, contact_id, Action.CHANGE)
    changes = payload.dict(exclude_unset=True)
    for name in ("kind", "category"):
        if changes.get(name, "") is None:
            del changes[name]
    for name, value in list(changes.items()):
        if value is None and name not in ("addresses", "channels"):
            changes[name] = ""
    services.update_contact(contact, actor=acting_user(request), **changes)
    return _detail(member, contact_id)


@router.delete(
    "/orgs/{org}/contacts/{contact_id}",
    response={204: None, **ERRORS},
    summary="Delete a contact that no dossier names (409 otherwise)",
)
@org_endpoint("api-contact-delete", Resource.CONTACTS, Action.DELETE)
def delete_contact(request: HttpRequest, member: Membership, contact_id: str) -> Status:
    contact = _contact(member, contact_id, Action.DELETE)
    services.delete_contact(contact, actor=acting_user(request))
    return Status(204, None)
