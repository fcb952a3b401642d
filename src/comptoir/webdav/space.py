"""A member's own space (/dav/<org>/Espace/): folders and files for desktop clients.

Beside the dossiers, which hold files only and keep every version, the space is a
scratch area with folders of any depth. Its bytes are stored once per file, count
against the organisation's quota, and are freed when the file is deleted or
overwritten (after commit). Changes are audited like any stored file.
"""

from __future__ import annotations

import hashlib
import mimetypes
import uuid
from functools import partial
from typing import IO

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import Membership
from comptoir.core.services import check_storage, release_storage, reserve_storage
from comptoir.dossiers.exchange import safe_file_name
from comptoir.dossiers.services import MAX_DOCUMENT_BYTES
from comptoir.webdav.models import SpaceEntry

CHUNK = 1024 * 1024


def children(member: Membership, parent: SpaceEntry | None) -> list[SpaceEntry]:
    return list(SpaceEntry.objects.filter(membership=member, parent=parent).order_by("name"))


def child(member: Membership, parent: SpaceEntry | None, name: str) -> SpaceEntry | None:
    return SpaceEntry.objects.filter(membership=member, parent=parent, name=name).first()


def _checked_name(name: str) -> str:
    if not safe_file_name(name):
        raise DomainError(
            _("“%(name)s” is not a valid file name.") % {"name": name[:100]},
            details={"field": "name"},
        )
    return name


def _name_taken(name: str) -> Conflict:
    return Conflict(
        _("Your space already has “%(name)s” here.") % {"name": name}, code="name_taken"
    )


def _digest(stream: IO[bytes]) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    stream.seek(0)
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        hasher.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return hasher.hexdigest(), size


def _storage_name(member: Membership) -> str:
    org = member.organization.public_id.hex
    return f"orgs/{org}/spaces/{member.public_id.hex}/{uuid.uuid4().hex}"


def _forget_bytes(names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def _record(action: str, entry: SpaceEntry, actor: User | None, **values: object) -> None:
    audit.record(
        action,
        organization=entry.organization,
        actor=actor,
        target=entry,
        object_repr=f"Espace — {entry.name}",
        after={"name": entry.name, **values},
    )


@transaction.atomic
def make_folder(
    member: Membership, parent: SpaceEntry | None, name: str, *, actor: User | None
) -> SpaceEntry:
    _checked_name(name)
    if child(member, parent, name) is not None:
        raise _name_taken(name)
    folder = SpaceEntry.objects.create(
        organization=member.organization,
        membership=member,
        parent=parent,
        name=name,
        is_folder=True,
    )
    _record("space.folder", folder, actor)
    return folder


def write_file(
    member: Membership,
    parent: SpaceEntry | None,
    name: str,
    stream: IO[bytes],
    *,
    actor: User | None,
) -> SpaceEntry:
    """Create the file `name` in `parent`, or overwrite it; the old bytes are freed."""
    _checked_name(name)
    sha256, size = _digest(stream)
    if size > MAX_DOCUMENT_BYTES:
        raise DomainError(_("The file “%(name)s” is larger than 200 MB.") % {"name": name})
    org = member.organization
    check_storage(org, size)
    stored = ""
    try:
        stored = default_storage.save(_storage_name(member), File(stream))
        with transaction.atomic():
            entry = _store(member, parent, name, stored, sha256, size)
            reserve_storage(org, size)
            _record("space.write", entry, actor, size=size, sha256=sha256)
    except BaseException:
        _forget_bytes([stored])
        raise
    return entry


def _store(
    member: Membership,
    parent: SpaceEntry | None,
    name: str,
    stored: str,
    sha256: str,
    size: int,
) -> SpaceEntry:
    entry = child(member, parent, name)
    if entry is not None and entry.is_folder:
        raise _name_taken(name)
    if entry is None:
        entry = SpaceEntry(
            organization=member.organization, membership=member, parent=parent, name=name
        )
    else:
        release_storage(member.organization, entry.size)
        transaction.on_commit(partial(_forget_bytes, [entry.storage_name]))
    entry.storage_name = stored
    entry.sha256 = sha256
    entry.size = size
    entry.content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    entry.modified_at = timezone.now()
    entry.save()
    return entry


def _subtree(entry: SpaceEntry) -> list[SpaceEntry]:
    """The entry and everything below it, parents before children."""
    found, level = [entry], [entry]
    while level:
        level = list(SpaceEntry.objects.filter(parent__in=level))
        found.extend(level)
    return found


@transaction.atomic
def delete_entry(entry: SpaceEntry, *, actor: User | None) -> None:
    """Delete a file, or a folder with everything in it; the bytes go after commit."""
    entries = _subtree(entry)
    freed = sum(item.size for item in entries if not item.is_folder)
    _record("space.delete", entry, actor, entries=len(entries), size=freed)
    for item in reversed(entries):
        item.delete()
    release_storage(entry.organization, freed)
    transaction.on_commit(
        partial(_forget_bytes, [item.storage_name for item in entries if not item.is_folder])
    )


@transaction.atomic
def move_entry(
    entry: SpaceEntry, parent: SpaceEntry | None, name: str, *, actor: User | None
) -> SpaceEntry:
    """Rename and/or move an entry (a folder with its content) inside the same space."""
    _checked_name(name)
    if parent is not None and any(item.pk == parent.pk for item in _subtree(entry)):
        raise Conflict(_("A folder cannot go inside itself."), code="cycle")
    taken = child(entry.membership, parent, name)
    if taken is not None and taken.pk != entry.pk:
        raise _name_taken(name)
    before = entry.name
    entry.parent = parent
    entry.name = name
    entry.modified_at = timezone.now()
    entry.save(update_fields=["parent", "name", "modified_at"])
    _record("space.move", entry, actor, previous_name=before)
    return entry


def open_file(entry: SpaceEntry) -> IO[bytes]:
    return default_storage.open(entry.storage_name, "rb")
