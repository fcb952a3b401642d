"""Domain operations on contacts. Every write is transactional and audited.

Contacts sit below dossiers in the layers: a dossier names its ordering party
and owner, so this module asks the reverse relations (`ordered_dossiers`,
`owned_dossiers`) and never imports the dossiers app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from comptoir.accounts.models import User
from comptoir.contacts import importing
from comptoir.contacts.models import Contact, ContactAddress, ContactChannel
from comptoir.contacts.validation import (
    CONTACT_FIELDS,
    FieldError,
    check_address,
    check_channel,
    check_contact,
    consistency_errors,
    has_address,
)
from comptoir.core import audit
from comptoir.core.access import scoped
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import Membership, Organization
from comptoir.core.roles import Action, Resource
from comptoir.core.text import fold

__all__ = [
    "CONTACT_FIELDS",
    "create_contact",
    "delete_contact",
    "import_contacts",
    "search_contacts",
    "update_contact",
]


class InvalidContact(DomainError):
    """A value the address book cannot take; `details` names the field."""

    code = "invalid_input"
    status = 422


def search_contacts(queryset: QuerySet[Contact], text: str) -> QuerySet[Contact]:
    """Every word must appear in the name, e-mail, phone, SIRET or an address."""
    for word in fold(text).split()[:8]:
        queryset = queryset.filter(search_text__contains=word)
    return queryset


def contact_state(
    contact: Contact,
    addresses: list[ContactAddress] | None = None,
    channels: list[ContactChannel] | None = None,
) -> dict[str, Any]:
    """What the audit log keeps of a contact (the saved parts unless given)."""
    data = audit.snapshot(contact, CONTACT_FIELDS)
    if addresses is None:
        addresses = list(contact.addresses.all())
    if channels is None:
        channels = list(contact.channels.all())
    data["addresses"] = [_address_text(address) for address in addresses]
    data["channels"] = [f"{channel.kind}: {channel.value}" for channel in channels]
    return data


def _address_text(address: ContactAddress) -> str:
    text = str(address)
    label = f"{address.label}: " if address.label else ""
    country = f" ({address.country})" if address.country != "FR" else ""
    return f"{label}{text}{country}"


def _raise(errors: list[FieldError]) -> None:
    if errors:
        first = errors[0]
        raise InvalidContact(
            first.message,
            details={
                "field": first.field,
                "errors": [{"field": error.field, "message": error.message} for error in errors],
            },
        )


def _clean(fields: dict[str, Any], *, current: Contact | None = None) -> dict[str, Any]:
    """The given fields checked; on an update, only the changed ones.

    The SIREN follows the SIRET: a SIRET without a SIREN gives it. A SIREN sent alone
    that the stored SIRET does not start with is a conflict with the record.
    """
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    if current is None:
        fields = {"kind": Contact.Kind.PERSON, "category": Contact.Category.CLIENT, **fields}
    cleaned, errors = check_contact(fields)
    merged = {name: getattr(current, name) for name in CONTACT_FIELDS} if current else {}
    merged.update(cleaned)
    siret_alone = bool(cleaned.get("siret")) and "siren" not in fields
    if merged.get("siret") and (siret_alone or not merged.get("siren")) and not errors:
        cleaned["siren"] = merged["siren"] = merged["siret"][:9]
    if not errors and not any(
        merged.get(name) for name in ("last_name", "first_name", "company_name")
    ):
        errors.append(FieldError("last_name", _("A name or a company name is required.")))
    _raise(errors)
    if current is not None and "siren" in fields and "siret" not in fields:
        for problem in consistency_errors(merged):
            raise Conflict(problem.message, code="siret_mismatch", details={"field": "siren"})
    return cleaned


def _clean_parts(
    addresses: list[dict[str, Any]] | None, channels: list[dict[str, Any]] | None
) -> tuple[list[ContactAddress] | None, list[ContactChannel] | None]:
    errors: list[FieldError] = []
    places = None
    if addresses is not None:
        places = []
        for data in addresses:
            if not has_address(data):
                continue
            cleaned, problems = check_address(data)
            errors += [FieldError("addresses", problem.message) for problem in problems]
            places.append(ContactAddress(**cleaned))
    lines = None
    if channels is not None:
        lines = []
        for data in channels:
            if not str(data.get("value") or "").strip() and not data.get("label"):
                continue
            cleaned, problems = check_channel(data)
            errors += problems
            lines.append(ContactChannel(**cleaned))
    _raise(errors)
    return places, lines


def _replace_parts(
    contact: Contact, addresses: list[ContactAddress] | None, channels: list[ContactChannel] | None
) -> None:
    if addresses is not None:
        contact.addresses.all().delete()
        for address in addresses:
            address.contact = contact
        ContactAddress.objects.bulk_create(addresses)
    if channels is not None:
        contact.channels.all().delete()
        for channel in channels:
            channel.contact = contact
        ContactChannel.objects.bulk_create(channels)


@transaction.atomic
def create_contact(
    org: Organization,
    *,
    actor: User | None,
    addresses: list[dict[str, Any]] | None = None,
    channels: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Contact:
    """A new contact with its addresses and extra e-mails/phones; refused whole when a
    value is wrong (InvalidContact names the field)."""
    cleaned = _clean(fields)
    places, lines = _clean_parts(addresses or [], channels or [])
    contact = Contact(organization=org, created_by=actor, **cleaned)
    contact.refresh_search_text(places, lines)
    contact.save()
    _replace_parts(contact, places, lines)
    audit.record(
        "contact.create",
        organization=org,
        actor=actor,
        target=contact,
        after=contact_state(contact, places, lines),
    )
    return contact


@transaction.atomic
def update_contact(
    contact: Contact,
    *,
    actor: User | None,
    addresses: list[dict[str, Any]] | None = None,
    channels: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Contact:
    """Change some fields; `addresses` or `channels`, when given, replace the current ones."""
    before = contact_state(contact)
    cleaned = _clean(fields, current=contact)
    places, lines = _clean_parts(addresses, channels)
    for name, value in cleaned.items():
        setattr(contact, name, value)
    _replace_parts(contact, places, lines)
    contact.refresh_search_text()
    contact.save()
    audit.record_change(
        "contact.update",
        organization=contact.organization,
        actor=actor,
        target=contact,
        before=before,
        after=contact_state(contact),
    )
    return contact


def deletion_refusal(contact: Contact) -> str | None:
    """Why this contact cannot be deleted: it appears in dossiers (even archived ones)."""
    count = len(
        set(contact.ordered_dossiers.values_list("pk", flat=True))
        | set(contact.owned_dossiers.values_list("pk", flat=True))
    )
    if not count:
        return None
    return ngettext(
        "This contact appears in %(count)d dossier: it cannot be deleted.",
        "This contact appears in %(count)d dossiers: it cannot be deleted.",
        count,
    ) % {"count": count}


@transaction.atomic
def delete_contact(contact: Contact, *, actor: User | None) -> None:
    """Delete a contact no dossier names; the audit log keeps what it was."""
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    refusal = deletion_refusal(locked)
    if refusal:
        raise Conflict(refusal, code="contact_in_use")
    state = contact_state(locked)
    audit.record(
        "contact.delete", organization=locked.organization, actor=actor, target=locked, before=state
    )
    locked.delete()


DOSSIER_ROLES = {"ordering_party": "ordered_dossiers", "owner": "owned_dossiers"}


def dossiers_of(contact: Contact, member: Membership) -> list[tuple[Any, list[str]]]:
    """The dossiers the member may see where this contact is the ordering party or the
    owner ("ordering_party", "owner": both, sometimes), newest first; 200 at most."""
    if not member.can(Resource.DOSSIERS, Action.VIEW):
        return []
    found: dict[int, tuple[Any, list[str]]] = {}
    for role, relation in DOSSIER_ROLES.items():
        related = getattr(contact, relation)
        queryset = scoped(
            related.filter(deleted_at__isnull=True),
            member,
            Resource.DOSSIERS,
            Action.VIEW,
            owner_field="technician",
        )
        for dossier in queryset.order_by("-year", "-sequence")[:200]:
            found.setdefault(dossier.pk, (dossier, []))[1].append(role)
    rows = sorted(found.values(), key=lambda item: (item[0].year, item[0].sequence), reverse=True)
    return rows[:200]


# --- import ---------------------------------------------------------------------------


def existing_keys(org: Organization) -> importing.Existing:
    """E-mails, phones and SIRETs already in the organisation's address book."""
    existing = importing.Existing()
    names: dict[int, str] = {}
    rows = Contact.objects.filter(organization=org).values_list(
        "pk",
        "kind",
        "civility",
        "first_name",
        "last_name",
        "company_name",
        "email",
        "phone",
        "siret",
    )
    for pk, kind, civility, first, last, company, email, phone, siret in rows.iterator(
        chunk_size=5000
    ):
        name = Contact(
            kind=kind, civility=civility, first_name=first, last_name=last, company_name=company
        ).display_name
        names[pk] = name
        existing.add(name, emails=[email], phones=[phone], sirets=[siret])
    channels = ContactChannel.objects.filter(contact__organization=org).values_list(
        "contact_id", "kind", "value"
    )
    for contact_id, kind, value in channels.iterator(chunk_size=5000):
        name = names.get(contact_id, "")
        if kind == ContactChannel.Kind.EMAIL:
            existing.add(name, emails=[value])
        else:
            existing.add(name, phones=[value])
    return existing


def plan_import(
    org: Organization, table: importing.Table, mapping: list[str], default_category: str
) -> importing.Plan:
    problems = importing.check_mapping(mapping, len(table.headers))
    if problems:
        raise DomainError(problems[0], code="invalid_mapping")
    if default_category not in Contact.Category.values:
        default_category = Contact.Category.CLIENT
    return importing.plan_import(table, mapping, existing_keys(org), default_category)


class ImportRefused(DomainError):
    """The file has errors: nothing was written; `details["errors"]` lists every line."""

    code = "import_refused"
    status = 422


@dataclass(frozen=True)
class ImportResult:
    created: int
    skipped: int
    lines: int


@transaction.atomic
def import_contacts(
    org: Organization,
    *,
    actor: User | None,
    table: importing.Table,
    mapping: list[str],
    default_category: str,
    force: set[int],
    file_name: str = "",
) -> ImportResult:
    """Create the contacts of a checked file, all or nothing.

    The plan is made again inside the transaction (the address book may have
    changed since the dry run). Any error refuses the whole file. Duplicates are
    skipped unless their line is in `force`.
    """
    plan = plan_import(org, table, mapping, default_category)
    if plan.errors:
        messages = [importing.error_line(line, message) for line, message in plan.errors]
        raise ImportRefused(
            ngettext(
                "The file has %(count)d error: nothing was imported.",
                "The file has %(count)d errors: nothing was imported.",
                len(messages),
            )
            % {"count": len(messages)},
            details={"errors": messages},
        )
    rows = plan.to_create(force)
    contacts, places, lines = [], [], []
    for row in rows:
        contact = Contact(organization=org, created_by=actor, **row.contact)
        addresses = [ContactAddress(**address) for address in row.addresses]
        channels = [ContactChannel(**channel) for channel in row.channels]
        contact.refresh_search_text(addresses, channels)
        contacts.append(contact)
        places.append(addresses)
        lines.append(channels)
    Contact.objects.bulk_create(contacts, batch_size=500)
    for contact, addresses, channels in zip(contacts, places, lines, strict=True):
        for address in addresses:
            address.contact = contact
        for channel in channels:
            channel.contact = contact
    ContactAddress.objects.bulk_create([a for group in places for a in group], batch_size=1000)
    ContactChannel.objects.bulk_create([c for group in lines for c in group], batch_size=1000)
    for contact, addresses, channels in zip(contacts, places, lines, strict=True):
        audit.record(
            "contact.create",
            organization=org,
            actor=actor,
            target=contact,
            after={**contact_state(contact, addresses, channels), "source": "import"},
        )
    result = ImportResult(
        created=len(contacts), skipped=len(plan.rows) - len(contacts), lines=len(plan.rows)
    )
    audit.record(
        "contact.import",
        organization=org,
        actor=actor,
        object_type="contact",
        object_repr=file_name[:200] or _("Contact import"),
        after={
            "file": file_name,
            "lines": result.lines,
            "created": result.created,
            "skipped_duplicates": result.skipped,
            "forced_duplicates": sorted(force & {row.line for row in rows}),
        },
    )
    return result
