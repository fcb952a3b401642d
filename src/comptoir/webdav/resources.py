"""The dossiers as WebDAV resources: /<org>/<year>/<dossier number>/<file>.

The organisation, year and dossier folders are Comptoir's: they are listed, never
created, moved or deleted from a client. A dossier's folder holds files: writing
one makes a document (or a new version of it), deleting one takes it out of the
list (it is kept), moving or copying one renames or copies it, all through
`comptoir.dossiers.services`, so the audit log and the stations' revisions follow.
"""

from __future__ import annotations

import io
import mimetypes
from typing import IO, Any

from django.core.files.base import File
from wsgidav import util
from wsgidav.dav_provider import DAVCollection, DAVNonCollection

from comptoir.dossiers import blobs, services
from comptoir.dossiers.listing import base_queryset
from comptoir.dossiers.models import Document, Dossier, blob_path
from comptoir.webdav import base
from comptoir.webdav.base import (
    domain_errors,
    dossier_folder_refusal,
    forget_resources,
    principal,
    read_only_refusal,
    structure_refusal,
)

Environ = dict[str, Any]


class Folder(DAVCollection):  # type: ignore[misc]
    """A collection Comptoir manages: listed, never changed from a client."""

    def get_member_list(self) -> list[Any]:
        return []

    def get_member_names(self) -> list[str]:
        return [member.name for member in self.get_member_list()]

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def get_used_bytes(self) -> int:
        return int(principal(self.environ).member.organization.storage_used_bytes)

    def get_available_bytes(self) -> int:
        org = principal(self.environ).member.organization
        return max(int(org.plan.storage_quota_bytes - org.storage_used_bytes), 0)

    # -- changes: refused unless a subclass allows them

    def check_write(self, method: str, *, as_parent: bool) -> None:
        raise structure_refusal()

    def receive(self, source: Any, name: str, *, move: bool) -> bool:
        raise structure_refusal()

    def prevent_locking(self) -> bool:
        return True

    def create_empty_resource(self, name: str) -> Any:
        raise structure_refusal()

    def create_collection(self, name: str) -> None:
        raise structure_refusal()

    def handle_delete(self) -> bool:
        raise structure_refusal()

    def delete(self) -> None:
        raise structure_refusal()

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        raise structure_refusal()

    def handle_move(self, dest_path: str) -> bool:
        raise structure_refusal()

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        raise structure_refusal()

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> Any:
        raise structure_refusal()


class RootFolder(Folder):
    """/dav/: the organisation of the member's token."""

    def get_member_list(self) -> list[Any]:
        slug = principal(self.environ).member.organization.slug
        return [self.get_member(slug)]


class OrgFolder(Folder):
    """/dav/<org>/: the years of the dossiers the member may see, and their space."""

    def get_member_list(self) -> list[Any]:
        member = principal(self.environ).member
        years = base_queryset(member).order_by("-year").values_list("year", flat=True).distinct()
        found = [YearFolder(util.join_uri(self.path, str(year)), self.environ) for year in years]
        space = self.get_member(base.SPACE)
        return [*found, space] if space is not None else found


class YearFolder(Folder):
    """/dav/<org>/<year>/: the dossiers of that year the member may see."""

    def get_member_list(self) -> list[Any]:
        member = principal(self.environ).member
        dossiers = (
            base_queryset(member)
            .filter(year=int(self.name))
            .order_by("number")
            .only(
                "pk",
                "number",
                "year",
                "created_at",
                "updated_at",
                "technician_id",
                "organization_id",
            )
        )
        found = []
        for dossier in dossiers:
            dossier.organization = member.organization
            found.append(
                DossierFolder(util.join_uri(self.path, dossier.number), self.environ, dossier)
            )
        return found


def may_change(environ: Environ, dossier: Dossier) -> bool:
    who = principal(environ)
    return who.may_write and services.may_change(who.member, dossier)


class DossierFolder(Folder):
    """/dav/<org>/<year>/<number>/: the dossier's listed documents."""

    def __init__(self, path: str, environ: Environ, dossier: Dossier) -> None:
        super().__init__(path, environ)
        self.dossier = dossier

    def get_creation_date(self) -> float:
        return self.dossier.created_at.timestamp()

    def get_last_modified(self) -> float:
        return self.dossier.updated_at.timestamp()

    def get_member_list(self) -> list[Any]:
        documents = self.dossier.documents.filter(removed_at__isnull=True).order_by("name")
        cache = self.environ.setdefault(base.RESOURCES, {})
        found = []
        for document in documents:
            document.dossier = self.dossier
            path = util.join_uri(self.path, document.name)
            found.append(DocumentFile(path, self.environ, self.dossier, document))
            cache[path] = found[-1]
        return found

    def check_write(self, method: str, *, as_parent: bool) -> None:
        if as_parent and method == "MKCOL":
            raise dossier_folder_refusal()
        if not as_parent and method in ("DELETE", "MOVE"):
            raise structure_refusal()
        if not may_change(self.environ, self.dossier):
            raise read_only_refusal(self.environ)

    def prevent_locking(self) -> bool:
        return False

    def create_collection(self, name: str) -> None:
        raise dossier_folder_refusal()

    def create_empty_resource(self, name: str) -> DocumentFile:
        self.check_write("PUT", as_parent=True)
        pending = DocumentFile(util.join_uri(self.path, name), self.environ, self.dossier, None)
        if self.environ["REQUEST_METHOD"] != "PUT":  # LOCK of a new name: an empty file
            pending.store(io.BytesIO(b""))
        return pending

    def handle_copy(self, dest_path: str, *, depth_infinity: bool) -> bool:
        return False  # copied file by file (into a space folder; elsewhere refused)

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        if is_move:
            raise structure_refusal()
        parent_path, name = base.parent_and_name(dest_path)
        target = self.provider.get_resource_inst(parent_path, self.environ)
        if target is None:
            raise structure_refusal()
        target.receive(self, name, move=False)
        forget_resources(self.environ)

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> Any:
        self.check_write("PROPPATCH", as_parent=False)
        return DAVCollection.set_property_value(self, name, value, dry_run=dry_run)

    def receive(self, source: Any, name: str, *, move: bool) -> bool:
        self.check_write("PUT", as_parent=True)
        if source.is_collection:
            raise dossier_folder_refusal()
        actor = principal(self.environ).user
        with domain_errors():
            if isinstance(source, DocumentFile) and source.document is not None:
                if move and source.dossier.pk == self.dossier.pk:
                    services.rename_document(source.document, name, actor=actor)
                    return True
                services.copy_document(source.document, self.dossier, name=name, actor=actor)
                return False
            with source.open_bytes() as stream:
                services.write_document(
                    self.dossier, File(stream, name=name), name=name, actor=actor
                )
        return False


class DocumentFile(base.StoredFile):
    """A listed document of a dossier, or (`document` None) a new one being written."""

    def __init__(
        self, path: str, environ: Environ, dossier: Dossier, document: Document | None
    ) -> None:
        super().__init__(path, environ)
        self.dossier = dossier
        self.document = document
        self.moved = False
        self._ref: str | None = None

    def get_content_length(self) -> int:
        return self.document.size if self.document else 0

    def get_content_type(self) -> str:
        if self.document is not None:
            return self.document.content_type
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    def get_creation_date(self) -> float | None:
        return self.document.uploaded_at.timestamp() if self.document else None

    def get_last_modified(self) -> float | None:
        return self.document.uploaded_at.timestamp() if self.document else None

    def get_etag(self) -> str | None:
        return self.document.sha256 if self.document else None

    def stored_name(self) -> str | None:
        if self.document is None:
            return None
        return blob_path(self.dossier.organization, self.document.sha256)

    def open_stored(self) -> IO[bytes]:
        assert self.document is not None
        return blobs.open_blob(self.dossier.organization, self.document.sha256)

    def get_ref_url(self) -> str:
        if self._ref is None:
            self._ref = DAVNonCollection.get_ref_url(self)
        return self._ref

    def check_write(self, method: str, *, as_parent: bool) -> None:
        if not may_change(self.environ, self.dossier):
            raise read_only_refusal(self.environ)

    def store(self, stream: IO[bytes]) -> None:
        actor = principal(self.environ).user
        with domain_errors():
            self.document = services.write_document(
                self.dossier, File(stream, name=self.name), name=self.name, actor=actor
            )
        forget_resources(self.environ)

    def remove(self, actor: Any) -> None:
        assert self.document is not None
        services.remove_document(self.document, actor=actor)
