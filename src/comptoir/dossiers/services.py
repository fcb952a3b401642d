"""Domain operations on dossiers. Every write is transactional and audited."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, BinaryIO

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.contacts.models import Contact
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError, Forbidden, NotFound, invalid_model
from comptoir.core.models import Membership, Organization
from comptoir.core.roles import Action, Resource, Scope
from comptoir.core.services import check_storage, reserve_storage
from comptoir.dossiers import blobs, exchange
from comptoir.dossiers.lifecycle import Status, may_move
from comptoir.dossiers.models import (
    BUILTIN_MISSION_TYPES,
    Blob,
    Document,
    Dossier,
    Mission,
    MissionType,
    Note,
    blob_path,
)
from comptoir.numbering import services as numbering

AUDITED = [
    "number",
    "status",
    "ordering_party",
    "owner",
    "technician",
    "appointment_at",
    "property_street",
    "property_postcode",
    "property_city",
    "property_type",
    "surface",
    "year_built",
    "lots",
    "floor",
    "custom_fields",
]
EDITABLE = set(AUDITED) - {"number", "status"}
MAX_DOCUMENT_BYTES = 200 * 1024 * 1024

# Other apps register reasons a dossier must be archived rather than deleted
# (billing: "has an issued invoice"). Each returns a message or None.
DELETION_GUARDS: list[Callable[[Dossier], str | None]] = []


def ensure_mission_types(org: Organization) -> None:
    MissionType.objects.bulk_create(
        [
            MissionType(organization=org, code=code, label=label, is_builtin=True)
            for code, label in BUILTIN_MISSION_TYPES
        ],
        ignore_conflicts=True,
    )


def mission_types(org: Organization) -> list[MissionType]:
    """The types offered on new dossiers (active ones); creates the built-in ones once."""
    if not MissionType.objects.filter(organization=org, is_builtin=True).exists():
        ensure_mission_types(org)
    return list(MissionType.objects.filter(organization=org, is_active=True))


def allocate_number(
    org: Organization,
    year: int,
    *,
    when: datetime | None = None,
    technician: Membership | None = None,
) -> tuple[int, str]:
    """The counter value (the dossier's `sequence`) and the number of a new dossier, from
    the organisation's shared "dossier" series (comptoir.numbering).

    Call inside the transaction that creates the dossier: the series stays locked until
    commit, so two creations never share a number. `when` dates the number (a moment
    in `year`; 1 January of `year` when it is not given and today is in another year);
    the technician's initials fill `%OPE%` when the mask holds it."""
    moment = when or timezone.now()
    if timezone.localtime(moment).year != year:
        moment = datetime(year, 1, 1, 12, tzinfo=timezone.get_current_timezone())
    while True:
        issued = numbering.issue(
            org,
            "dossier",
            when=moment,
            operator=technician.initials if technician else None,
            source=numbering.WEB,
        )
        # a number a station chose offline, outside any reserved block, is passed over
        if not Dossier.objects.filter(organization=org, number=issued.number).exists():
            return issued.counter, issued.number


@dataclass
class DossierInput:
    """What a person enters for a dossier; every field optional on update."""

    fields: dict[str, Any] = field(default_factory=dict)
    missions: list[str] | None = None  # mission type codes


def _check_refs(member: Membership, values: dict[str, Any]) -> None:
    org = member.organization
    for name in ("ordering_party", "owner"):
        contact = values.get(name)
        if contact is not None and (
            not isinstance(contact, Contact) or contact.organization_id != org.pk
        ):
            raise DomainError(_("Unknown contact."), details={"field": name})
    technician = values.get("technician")
    if technician is not None and (technician.organization_id != org.pk or technician.is_blocked):
        raise DomainError(
            _("Choose an active technician of the organisation."), details={"field": "technician"}
        )


def _apply_scope(member: Membership, values: dict[str, Any], creating: bool) -> None:
    """A technician who sees only their own dossiers creates and keeps them as theirs."""
    if member.scope_for(Resource.DOSSIERS) is not Scope.OWN:
        return
    if creating:
        values["technician"] = member
    elif "technician" in values and values["technician"] != member:
        raise Forbidden(_("You can only assign dossiers to yourself."))


def _inactive_missions(dossier: Dossier) -> list[Mission]:
    """The (saved) dossier's missions whose type has since been deactivated."""
    return list(
        dossier.missions.select_related("mission_type").filter(mission_type__is_active=False)
    )


def _set_missions(dossier: Dossier, codes: Iterable[str]) -> None:
    wanted = list(dict.fromkeys(code for code in codes if code))
    types = {kind.code: kind for kind in mission_types(dossier.organization)}
    # a deactivated type is no longer offered, but a dossier that has it keeps it
    types.update(
        {mission.mission_type.code: mission.mission_type for mission in _inactive_missions(dossier)}
    )
    unknown = [code for code in wanted if code not in types]
    if unknown:
        raise DomainError(
            _("Unknown mission type: %(codes)s.") % {"codes": ", ".join(unknown)},
            details={"field": "missions"},
        )
    dossier.missions.exclude(mission_type__code__in=wanted).delete()
    existing = set(dossier.missions.values_list("mission_type__code", flat=True))
    Mission.objects.bulk_create(
        [
            Mission(dossier=dossier, mission_type=types[code])
            for code in wanted
            if code not in existing
        ]
    )


def _validate(dossier: Dossier) -> None:
    if dossier.appointment_at is not None:
        appointment = exchange.in_utc(dossier.appointment_at)
        if appointment is None:
            raise DomainError(
                _("The appointment is outside the calendar."),
                details={"field": "appointment_at"},
            )
        dossier.appointment_at = appointment
    try:
        dossier.full_clean(
            exclude=[
                "organization",
                "number",
                "year",
                "sequence",
                "created_by",
                "ordering_party",
                "owner",
                "technician",
                # a station may send a dossier without a type (exchange.PROPERTY_TYPES)
                *(["property_type"] if dossier.property_type == "" else []),
            ],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        raise invalid_model(exc, Dossier) from None


def state(dossier: Dossier) -> dict[str, Any]:
    data = audit.snapshot(dossier, AUDITED)
    for name in ("ordering_party", "owner", "technician"):
        related = getattr(dossier, name)
        data[name] = str(related) if related else None
    data["missions"] = sorted(dossier.missions.values_list("mission_type__code", flat=True))
    return data


@transaction.atomic
def create_dossier(
    member: Membership, data: DossierInput, *, actor: User | None, when: datetime | None = None
) -> Dossier:
    if not member.can(Resource.DOSSIERS, Action.ADD):
        raise Forbidden(_("Your role does not allow creating dossiers."))
    values = dict(data.fields)
    unknown = set(values) - EDITABLE
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    _apply_scope(member, values, creating=True)
    _check_refs(member, values)
    org = member.organization
    created = when or timezone.now()
    year = timezone.localtime(created).year
    dossier = Dossier(
        organization=org,
        year=year,
        sequence=0,
        number="",
        created_by=actor,
        created_at=created,
        **values,
    )
    if dossier.appointment_at:
        dossier.status = Status.SCHEDULED
    _validate(dossier)
    dossier.sequence, dossier.number = allocate_number(
        org, year, when=created, technician=dossier.technician
    )
    dossier.refresh_search_text()
    dossier.save()
    _set_missions(dossier, data.missions or [])
    exchange.touch(dossier, source=_source(actor))
    audit.record(
        "dossier.create", organization=org, actor=actor, target=dossier, after=state(dossier)
    )
    return dossier


@transaction.atomic
def update_dossier(
    member: Membership, dossier: Dossier, data: DossierInput, *, actor: User | None
) -> Dossier:
    values = dict(data.fields)
    unknown = set(values) - EDITABLE
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    _apply_scope(member, values, creating=False)
    _check_refs(member, values)
    before = state(dossier)
    for name, value in values.items():
        setattr(dossier, name, value)
    if values.get("appointment_at") and dossier.status == Status.TO_SCHEDULE:
        dossier.status = Status.SCHEDULED
    _validate(dossier)
    dossier.refresh_search_text()
    dossier.save()
    if data.missions is not None:
        _set_missions(dossier, data.missions)
    exchange.touch(dossier, source=_source(actor))
    audit.record_change(
        "dossier.update",
        organization=dossier.organization,
        actor=actor,
        target=dossier,
        before=before,
        after=state(dossier),
    )
    return dossier


@transaction.atomic
def change_status(dossier: Dossier, status: str, *, actor: User | None) -> Dossier:
    if status not in Status.values:
        raise DomainError(
            _("Unknown status “%(status)s”.") % {"status": status}, details={"field": "status"}
        )
    if not may_move(dossier.status, status):
        raise Conflict(
            _("A dossier cannot go from “%(old)s” to “%(new)s”.")
            % {"old": Status(dossier.status).label, "new": Status(status).label},
            code="invalid_transition",
        )
    before = dossier.status
    dossier.status = status
    dossier.save(update_fields=["status", "updated_at"])
    exchange.touch(dossier, source=_source(actor))
    audit.record(
        "dossier.status",
        organization=dossier.organization,
        actor=actor,
        target=dossier,
        before={"status": before},
        after={"status": status},
    )
    return dossier


def may_change(member: Membership, dossier: Dossier) -> bool:
    """Whether `member` may change this dossier (their own only, for an "own" scope)."""
    return member.can(Resource.DOSSIERS, Action.CHANGE, owner_id=dossier.technician_id)


def deletion_refusal(dossier: Dossier) -> str | None:
    if dossier.documents.exists():
        return _("This dossier has documents: archive it instead of deleting it.")
    for guard in DELETION_GUARDS:
        reason = guard(dossier)
        if reason:
            return reason
    return None


@transaction.atomic
def delete_dossier(dossier: Dossier, *, actor: User | None) -> None:
    """Delete an empty dossier (kept as a tombstone); one with documents is refused."""
    reason = deletion_refusal(dossier)
    if reason:
        raise Conflict(reason, code="dossier_not_deletable")
    before = state(dossier)
    dossier.deleted_at = timezone.now()
    dossier.save(update_fields=["deleted_at", "updated_at"])
    exchange.bump(dossier)
    audit.record(
        "dossier.delete",
        organization=dossier.organization,
        actor=actor,
        target=dossier,
        before=before,
    )


@transaction.atomic
def bulk_assign(
    member: Membership,
    dossiers: list[Dossier],
    technician: Membership | None,
    *,
    actor: User | None,
) -> int:
    for dossier in dossiers:
        update_dossier(member, dossier, DossierInput({"technician": technician}), actor=actor)
    return len(dossiers)


MAX_NOTE_LENGTH = 5000


@transaction.atomic
def add_note(dossier: Dossier, text: str, *, actor: User) -> Note:
    text = text.strip()
    if not text:
        raise DomainError(_("The note is empty."), details={"field": "text"})
    if len(text) > MAX_NOTE_LENGTH:
        raise DomainError(
            _("A note holds at most %(max)s characters.") % {"max": MAX_NOTE_LENGTH},
            details={"field": "text"},
        )
    if "\x00" in text:  # PostgreSQL refuses U+0000 in a text
        raise DomainError(_("The note contains a null character."), details={"field": "text"})
    note = Note.objects.create(dossier=dossier, author=actor, text=text)
    audit.record(
        "dossier.note",
        organization=dossier.organization,
        actor=actor,
        target=dossier,
        after={"note": text[:500]},
    )
    return note


def _digest(stream: BinaryIO) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        hasher.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return hasher.hexdigest(), size


def _source(actor: User | None) -> str:
    return f"web:{actor.get_username()}" if actor else "web"


def unique_document_name(dossier: Dossier, filename: str) -> str:
    """`rapport.pdf`, or `rapport (2).pdf` when the dossier already lists that name:
    stations key a dossier's files by name."""
    taken = {
        name.casefold()
        for name in dossier.documents.filter(removed_at__isnull=True).values_list("name", flat=True)
    }
    stem, dot, suffix = filename.rpartition(".")
    if not dot or not stem:
        stem, suffix = filename, ""
    candidate, index = filename, 1
    while candidate.casefold() in taken:
        index += 1
        candidate = f"{stem} ({index}){'.' + suffix if suffix else ''}"
    return candidate


def add_document(
    dossier: Dossier, upload: File, *, kind: str, actor: User | None, name: str | None = None
) -> Document:
    """Store a file against the quota; the bytes are counted before they are kept.

    Content-addressed: bytes the organisation already has are not stored or
    counted twice.
    """
    if kind not in Document.Kind.values:
        raise DomainError(
            _("Unknown document kind “%(kind)s”.") % {"kind": kind}, details={"field": "kind"}
        )
    filename = (name or upload.name or "document").replace("\\", "/").rsplit("/", 1)[-1][:200]
    if not exchange.safe_file_name(filename):
        raise DomainError(
            _("“%(name)s” is not a valid file name.") % {"name": filename},
            details={"field": "file"},
        )
    filename = unique_document_name(dossier, filename)
    sha256, size = _digest(upload)  # type: ignore[arg-type]
    if size == 0:
        raise DomainError(
            _("The file “%(name)s” is empty.") % {"name": filename}, details={"field": "file"}
        )
    if size > MAX_DOCUMENT_BYTES:
        raise DomainError(
            _("The file “%(name)s” is larger than 200 MB.") % {"name": filename},
            details={"field": "file"},
        )
    content_type = (
        getattr(upload, "content_type", None)
        or mimetypes.guess_type(filename)[0]
        or "application/octet-stream"
    )
    org = dossier.organization
    check_storage(org, 0 if _has_blob(org, sha256) else size)
    with transaction.atomic():
        _keep_blob(org, sha256, size, upload)
        document = _list_document(
            dossier, kind, filename, content_type, sha256=sha256, size=size, actor=actor
        )
        audit.record(
            "document.add",
            organization=org,
            actor=actor,
            target=document,
            object_repr=f"{dossier.number} — {filename}",
            after={"dossier": dossier.number, "name": filename, "size": size, "sha256": sha256},
        )
    return document


def _list_document(
    dossier: Dossier,
    kind: str,
    name: str,
    content_type: str,
    *,
    sha256: str,
    size: int,
    actor: User | None,
) -> Document:
    """Record a document of the dossier on stored bytes; the dossier's head follows."""
    org = dossier.organization
    document = Document(
        organization=org,
        dossier=dossier,
        kind=kind,
        name=name,
        content_type=content_type,
        size=size,
        sha256=sha256,
        uploaded_by=actor,
        source=_source(actor),
    )
    document.file.name = blob_path(org, sha256)
    document.save()
    exchange.touch(dossier, source=_source(actor))
    return document


def _has_blob(org: Organization, sha256: str) -> bool:
    return Blob.objects.filter(organization=org, sha256=sha256, purged_at__isnull=True).exists()


def _keep_blob(org: Organization, sha256: str, size: int, upload: File) -> None:
    """Inside the transaction that records a document: store its bytes unless the
    organisation already has them, and count them against the quota then."""
    if _has_blob(org, sha256):
        return
    blobs.put_stream(org, sha256, upload)  # type: ignore[arg-type]
    blob, created = Blob.objects.get_or_create(
        organization=org, sha256=sha256, defaults={"size": size}
    )
    if not created:
        if blob.purged_at is None:
            return  # stored meanwhile by another writer, which counted it
        Blob.objects.filter(pk=blob.pk).update(purged_at=None)
    reserve_storage(org, size)


def parse_decimal(raw: Any) -> Decimal | None:
    if raw in (None, ""):
        return None
    return Decimal(str(raw).replace(",", "."))


# --- files written from desktop clients (WebDAV: comptoir.webdav) -------------------
# A dossier lists one document per name (case-insensitively). Writing a name the list
# already holds makes a new version: the previous document leaves the list but is
# kept, like a file a station replaced. Nothing here deletes bytes.


def _checked_name(name: str) -> str:
    if not exchange.safe_file_name(name):
        raise DomainError(
            _("“%(name)s” is not a valid file name.") % {"name": name[:100]},
            details={"field": "name"},
        )
    return name


def _lock_file_list(dossier: Dossier) -> None:
    """Serialise the writers of one dossier's file list until commit (names stay unique)."""
    list(Dossier.objects.select_for_update().filter(pk=dossier.pk).values_list("pk", flat=True))


def listed_document(dossier: Dossier, name: str) -> Document | None:
    """The document the dossier lists under `name`, compared as `unique_document_name` does."""
    folded = name.casefold()
    for pk, listed in dossier.documents.filter(removed_at__isnull=True).values_list("pk", "name"):
        if listed.casefold() == folded:
            return Document.objects.get(pk=pk)
    return None


def _file_name_taken(dossier: Dossier, name: str) -> Conflict:
    return Conflict(
        _("The dossier already has a file named “%(name)s”.") % {"name": name},
        code="name_taken",
        details={"field": "name"},
    )


def write_document(dossier: Dossier, upload: File, *, name: str, actor: User | None) -> Document:
    """Store `upload` as the dossier's file `name`: a new document, or a new version of
    the one listed under that name. The same bytes again change nothing.

    Unlike `add_document`, an empty file is accepted: desktop clients create a file
    empty, then write its content.
    """
    _checked_name(name)
    sha256, size = _digest(upload)  # type: ignore[arg-type]
    if size > MAX_DOCUMENT_BYTES:
        raise DomainError(
            _("The file “%(name)s” is larger than 200 MB.") % {"name": name},
            details={"field": "file"},
        )
    org = dossier.organization
    check_storage(org, 0 if _has_blob(org, sha256) else size)
    with transaction.atomic():
        _lock_file_list(dossier)
        previous = listed_document(dossier, name)
        if previous is not None and previous.sha256 == sha256:
            return previous
        _keep_blob(org, sha256, size, upload)
        return _write_version(dossier, previous, name, sha256, size, actor)


def _write_version(
    dossier: Dossier,
    previous: Document | None,
    name: str,
    sha256: str,
    size: int,
    actor: User | None,
) -> Document:
    org = dossier.organization
    if previous is not None:
        Document.objects.filter(pk=previous.pk).update(removed_at=timezone.now())
    document = _list_document(
        dossier,
        previous.kind if previous else exchange.kind_for(name),
        name,  # as the client wrote it (a case-only change of a name is kept)
        exchange.content_type_for(name),
        sha256=sha256,
        size=size,
        actor=actor,
    )
    audit.record(
        "document.replace" if previous else "document.add",
        organization=org,
        actor=actor,
        target=document,
        object_repr=f"{dossier.number} — {document.name}",
        before={"sha256": previous.sha256, "size": previous.size} if previous else None,
        after={"dossier": dossier.number, "name": document.name, "size": size, "sha256": sha256},
    )
    return document


@transaction.atomic
def remove_document(document: Document, *, actor: User | None) -> bool:
    """Take the document out of the dossier's file list; it is kept (and its bytes).
    False when it was already out."""
    claimed = Document.objects.filter(pk=document.pk, removed_at__isnull=True).update(
        removed_at=timezone.now()
    )
    if not claimed:
        return False
    dossier = document.dossier
    exchange.touch(dossier, source=_source(actor))
    audit.record(
        "document.remove",
        organization=dossier.organization,
        actor=actor,
        target=document,
        object_repr=f"{dossier.number} — {document.name}",
        before={"dossier": dossier.number, "name": document.name, "sha256": document.sha256},
    )
    return True


@transaction.atomic
def rename_document(document: Document, name: str, *, actor: User | None) -> Document:
    """Give a listed document another name in its dossier (refused if the name is taken)."""
    _checked_name(name)
    dossier = document.dossier
    _lock_file_list(dossier)
    taken = listed_document(dossier, name)
    if taken is not None and taken.pk != document.pk:
        raise _file_name_taken(dossier, name)
    before = document.name
    if document.kind == exchange.kind_for(before):  # a kind guessed from the name follows it
        document.kind = exchange.kind_for(name)
    document.name = name
    document.content_type = exchange.content_type_for(name)
    document.save(update_fields=["name", "kind", "content_type"])
    exchange.touch(dossier, source=_source(actor))
    audit.record(
        "document.rename",
        organization=dossier.organization,
        actor=actor,
        target=document,
        object_repr=f"{dossier.number} — {name}",
        before={"name": before},
        after={"name": name},
    )
    return document


@transaction.atomic
def copy_document(
    document: Document, dossier: Dossier, *, name: str, actor: User | None
) -> Document:
    """A new document of `dossier` (same organisation) with the bytes of `document`:
    nothing is stored or counted twice."""
    _checked_name(name)
    org = dossier.organization
    if document.organization_id != org.pk:
        raise NotFound(_("Not found."))
    if not Blob.objects.filter(
        organization=org, sha256=document.sha256, purged_at__isnull=True
    ).exists():
        raise Conflict(_("This file's content is no longer kept on the cloud."), code="purged")
    _lock_file_list(dossier)
    if listed_document(dossier, name) is not None:
        raise _file_name_taken(dossier, name)
    copy = Document(
        organization=org,
        dossier=dossier,
        kind=document.kind,
        name=name,
        content_type=exchange.content_type_for(name),
        size=document.size,
        sha256=document.sha256,
        uploaded_by=actor,
        source=_source(actor),
    )
    copy.file.name = blob_path(org, document.sha256)
    copy.save()
    exchange.touch(dossier, source=_source(actor))
    audit.record(
        "document.add",
        organization=org,
        actor=actor,
        target=copy,
        object_repr=f"{dossier.number} — {name}",
        after={
            "dossier": dossier.number,
            "name": name,
            "size": copy.size,
            "sha256": copy.sha256,
            "copied_from": f"{document.dossier.number}/{document.name}",
        },
    )
    return copy
