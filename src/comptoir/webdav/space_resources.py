"""The member's own space as WebDAV resources: /<org>/Espace/<folders…>/<file>.

Every member who may add dossiers has one; each sees only theirs under the same
URL. Locks and dead properties are keyed by reference URLs that carry the
member's id (`/<org>/Espace/<member id>/…`), so two members' spaces never share
a lock or a property.
"""

from __future__ import annotations

import io
import re
from typing import IO, Any
from urllib.parse import quote

from django.utils.translation import gettext as _
from wsgidav import util
from wsgidav.dav_error import HTTP_FORBIDDEN, DAVError
from wsgidav.dav_provider import DAVCollection, DAVNonCollection

from comptoir.core.roles import Action, Resource
from comptoir.webdav import space
from comptoir.webdav.base import (
    SPACE,
    StoredFile,
    domain_errors,
    forget_resources,
    principal,
    read_only_refusal,
    transfer,
)
from comptoir.webdav.models import SpaceEntry

Environ = dict[str, Any]
MEMBER_SEGMENT = re.compile(r"^[0-9a-f]{32}\Z")


def may_use_space(environ: Environ) -> bool:
    return principal(environ).member.can(Resource.DOSSIERS, Action.ADD)


def resolve(path: str, names: list[str], environ: Environ) -> Any:
    """The space resource at `names` below the space's root, or None."""
    if not may_use_space(environ):
        return None
    member = principal(environ).member
    entry: SpaceEntry | None = None
    for name in names:
        if entry is not None and not entry.is_folder:
            return None
        entry = space.child(member, entry, name)
        if entry is None:
            return None
    if entry is None or entry.is_folder:
        return SpaceFolder(path, environ, entry)
    return SpaceFile(path, environ, entry.parent, entry)


def path_of_ref(path: str) -> str:
    """A reference URL's path back to the path the member sees (without their id)."""
    parts = path.split("/")
    if len(parts) > 3 and parts[2] == SPACE and MEMBER_SEGMENT.match(parts[3]):
        del parts[3]
    return "/".join(parts) or "/"


class SpaceResource:
    """What the space's folders and files share."""

    path: str
    environ: Environ
    is_collection: bool

    def space_ref(self) -> str:
        member = principal(self.environ).member
        org, _space, *rest = self.path.strip("/").split("/")
        tail = "/".join(rest)
        ref = f"/{org}/{SPACE}/{member.public_id.hex}" + (f"/{tail}" if tail else "")
        return quote(ref + ("/" if self.is_collection else ""))

    def check_write(self, method: str, *, as_parent: bool) -> None:
        if not principal(self.environ).may_write:
            raise read_only_refusal(self.environ)


class SpaceFolder(SpaceResource, DAVCollection):  # type: ignore[misc]
    """A folder of the space, or (`entry` None) the space itself."""

    def __init__(self, path: str, environ: Environ, entry: SpaceEntry | None) -> None:
        DAVCollection.__init__(self, path, environ)
        self.entry = entry
        self.moved = False

    def get_ref_url(self) -> str:
        return self.space_ref()

    def get_creation_date(self) -> float | None:
        return self.entry.created_at.timestamp() if self.entry else None

    def get_last_modified(self) -> float | None:
        return self.entry.modified_at.timestamp() if self.entry else None

    def get_member_list(self) -> list[Any]:
        member = principal(self.environ).member
        found: list[Any] = []
        for entry in space.children(member, self.entry):
            path = util.join_uri(self.path, entry.name)
            if entry.is_folder:
                found.append(SpaceFolder(path, self.environ, entry))
            else:
                found.append(SpaceFile(path, self.environ, self.entry, entry))
        return found

    def get_member_names(self) -> list[str]:
        return [member.name for member in self.get_member_list()]

    def get_member(self, name: str) -> Any:
        return self.provider.get_resource_inst(util.join_uri(self.path, name), self.environ)

    def check_write(self, method: str, *, as_parent: bool) -> None:
        if self.entry is None and not as_parent and method in ("DELETE", "MOVE"):
            raise DAVError(HTTP_FORBIDDEN, _space_itself())
        super().check_write(method, as_parent=as_parent)

    def create_collection(self, name: str) -> None:
        self.check_write("MKCOL", as_parent=True)
        member = principal(self.environ)
        with domain_errors():
            space.make_folder(member.member, self.entry, name, actor=member.user)
        forget_resources(self.environ)

    def create_empty_resource(self, name: str) -> SpaceFile:
        self.check_write("PUT", as_parent=True)
        pending = SpaceFile(util.join_uri(self.path, name), self.environ, self.entry, None)
        if self.environ["REQUEST_METHOD"] != "PUT":  # LOCK of a new name: an empty file
            pending.store(io.BytesIO(b""))
        return pending

    def support_recursive_delete(self) -> bool:
        return True

    def delete(self) -> None:
        if self.moved:
            return
        self.check_write("DELETE", as_parent=False)
        assert self.entry is not None
        with domain_errors():
            space.delete_entry(self.entry, actor=principal(self.environ).user)
        manager = self.provider.prop_manager
        if manager:
            manager.remove_tree(self.get_ref_url(), self.environ)
        self.remove_all_locks(recursive=True)
        forget_resources(self.environ)

    def support_recursive_move(self, dest_path: str) -> bool:
        parent_path = util.get_uri_parent(dest_path.rstrip("/")) or "/"
        target = self.provider.get_resource_inst(parent_path, self.environ)
        return isinstance(target, SpaceFolder) and self.entry is not None

    def move_recursive(self, dest_path: str) -> list[Any]:
        self.check_write("MOVE", as_parent=False)
        assert self.entry is not None
        old_ref = self.get_ref_url()
        parent_path = util.get_uri_parent(dest_path.rstrip("/")) or "/"
        target = self.provider.get_resource_inst(parent_path, self.environ)
        target.check_write("MKCOL", as_parent=True)
        name = util.get_uri_name(dest_path.rstrip("/"))
        with domain_errors():
            space.move_entry(self.entry, target.entry, name, actor=principal(self.environ).user)
        self.remove_all_locks(recursive=True)
        forget_resources(self.environ)
        moved = self.provider.get_resource_inst(dest_path, self.environ)
        manager = self.provider.prop_manager
        if manager and moved is not None:
            manager.move_properties(old_ref, moved.get_ref_url(), True, self.environ)
        return []

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        if self.entry is None:
            raise DAVError(HTTP_FORBIDDEN, _space_itself())
        transfer(self, dest_path, is_move=is_move)

    def receive(self, source: Any, name: str, *, move: bool) -> bool:
        """Take a copy (or, from this space, a move) of `source` as `name` in this folder."""
        self.check_write("PUT", as_parent=True)
        who = principal(self.environ)
        with domain_errors():
            if move and isinstance(source, SpaceResource) and getattr(source, "entry", None):
                space.move_entry(source.entry, self.entry, name, actor=who.user)  # type: ignore[attr-defined]
                return True
            if source.is_collection:
                if space.child(who.member, self.entry, name) is None:  # else merged into it
                    space.make_folder(who.member, self.entry, name, actor=who.user)
                return False
            with source.open_bytes() as stream:
                space.write_file(who.member, self.entry, name, stream, actor=who.user)
        return False

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> Any:
        self.check_write("PROPPATCH", as_parent=False)
        return DAVCollection.set_property_value(self, name, value, dry_run=dry_run)


class SpaceFile(SpaceResource, StoredFile):
    """A file of the space, or (`entry` None) a new one being written."""

    def __init__(
        self,
        path: str,
        environ: Environ,
        parent: SpaceEntry | None,
        entry: SpaceEntry | None,
    ) -> None:
        DAVNonCollection.__init__(self, path, environ)
        self.parent = parent
        self.entry = entry
        self.moved = False

    def get_ref_url(self) -> str:
        return self.space_ref()

    def get_content_length(self) -> int:
        return self.entry.size if self.entry else 0

    def get_content_type(self) -> str:
        return self.entry.content_type if self.entry else "application/octet-stream"

    def get_creation_date(self) -> float | None:
        return self.entry.created_at.timestamp() if self.entry else None

    def get_last_modified(self) -> float | None:
        return self.entry.modified_at.timestamp() if self.entry else None

    def get_etag(self) -> str | None:
        return self.entry.sha256 if self.entry else None

    def stored_name(self) -> str | None:
        return self.entry.storage_name if self.entry is not None else None

    def open_stored(self) -> IO[bytes]:
        assert self.entry is not None
        return space.open_file(self.entry)

    def store(self, stream: IO[bytes]) -> None:
        who = principal(self.environ)
        with domain_errors():
            self.entry = space.write_file(
                who.member, self.parent, self.name, stream, actor=who.user
            )
        forget_resources(self.environ)

    def remove(self, actor: Any) -> None:
        assert self.entry is not None
        space.delete_entry(self.entry, actor=actor)


def _space_itself() -> str:
    return _("Your space itself cannot be deleted, copied or moved.")
