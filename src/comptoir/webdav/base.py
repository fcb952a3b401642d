"""What every WebDAV resource of Comptoir shares: who asks, what they may write,
how a domain refusal becomes an HTTP answer, and the writer behind a PUT."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any

from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from wsgidav import util
from wsgidav.dav_error import (
    HTTP_BAD_REQUEST,
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_INSUFFICIENT_STORAGE,
    HTTP_NOT_FOUND,
    HTTP_REQUEST_ENTITY_TOO_LARGE,
    DAVError,
)
from wsgidav.dav_provider import DAVNonCollection

from comptoir.core.errors import DomainError, LimitExceeded
from comptoir.dossiers.services import MAX_DOCUMENT_BYTES
from comptoir.webdav.auth import Principal, principal_of

SPACE = "Espace"  # /dav/<org>/Espace/: the member's own space
RESOURCES = "comptoir.resources"  # environ key: the request's resolved paths
LOCAL_FILE = "comptoir.local_file"  # environ key: the file a GET sends, on local storage
SPOOL = 4 * 1024 * 1024  # bytes of a PUT kept in memory before spilling to a file


def principal(environ: dict[str, Any]) -> Principal:
    return principal_of(environ)


def forget_resources(environ: dict[str, Any]) -> None:
    """After a write, paths may resolve differently: drop the request's cache."""
    environ.pop(RESOURCES, None)


def read_only_refusal(environ: dict[str, Any]) -> DAVError:
    if not principal(environ).may_write:
        return DAVError(
            HTTP_FORBIDDEN,
            _("This token is read-only: create a read-and-write token to change files."),
        )
    return DAVError(HTTP_FORBIDDEN, _("Your role does not allow this action."))


def structure_refusal() -> DAVError:
    return DAVError(
        HTTP_FORBIDDEN,
        _(
            "This folder is managed by Comptoir: dossiers are created, moved and deleted "
            "in Comptoir. Put files in a dossier's folder, or anything in your space "
            "“Espace”."
        ),
    )


def dossier_folder_refusal() -> DAVError:
    return DAVError(
        HTTP_FORBIDDEN,
        _("A dossier's folder holds files only. Put your folders in your space “Espace”."),
    )


def as_dav_error(exc: DomainError) -> DAVError:
    if isinstance(exc, LimitExceeded):
        return DAVError(HTTP_INSUFFICIENT_STORAGE, exc.message)
    status = {404: HTTP_NOT_FOUND, 403: HTTP_FORBIDDEN, 409: HTTP_CONFLICT}.get(
        exc.status, HTTP_BAD_REQUEST
    )
    return DAVError(status, exc.message)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a service's refusal into the WebDAV answer with its message."""
    try:
        yield
    except DomainError as exc:
        raise as_dav_error(exc) from None


class Upload:
    """What a PUT writes into: the bytes are spooled, then `store` receives them whole
    when WsgiDAV closes the writer (a refused or broken upload stores nothing)."""

    def __init__(self, store: Callable[[IO[bytes]], None]) -> None:
        self._store = store
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115
        self._size = 0

    def write(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > MAX_DOCUMENT_BYTES:
            raise DAVError(
                HTTP_REQUEST_ENTITY_TOO_LARGE, _("A file may not be larger than 200 MB.")
            )
        self._spool.write(data)

    def writelines(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def close(self) -> None:
        try:
            self._spool.seek(0)
            with domain_errors():
                self._store(self._spool)
        finally:
            self._spool.close()

    def discard(self) -> None:
        self._spool.close()


def parent_and_name(path: str) -> tuple[str, str]:
    return util.get_uri_parent(path.rstrip("/")) or "/", util.get_uri_name(path.rstrip("/"))


def transfer(source: Any, dest_path: str, *, is_move: bool) -> None:
    """COPY or MOVE one file (`copy_move_single`): the destination folder receives it.

    When the folder could move the record itself (a rename in the same dossier, a
    move inside the space), the source is marked moved and WsgiDAV's following
    `delete()` of the source does nothing; otherwise it removes the source.
    """
    provider, environ = source.provider, source.environ
    parent_path, name = parent_and_name(dest_path)
    target = provider.get_resource_inst(parent_path, environ)
    if target is None or not target.is_collection:
        raise DAVError(HTTP_CONFLICT, _("The destination folder does not exist."))
    if is_move:
        source.check_write("MOVE", as_parent=False)
    old_ref = source.get_ref_url()
    moved = target.receive(source, name, move=is_move)
    forget_resources(environ)
    dest = provider.get_resource_inst(dest_path, environ)
    manager = provider.prop_manager
    if moved:
        source.moved = True
        source.remove_all_locks(recursive=False)
        if manager and dest is not None:
            manager.move_properties(old_ref, dest.get_ref_url(), False, environ)
    elif manager and dest is not None:
        manager.copy_properties(old_ref, dest.get_ref_url(), environ)


class StoredFile(DAVNonCollection):  # type: ignore[misc]
    """What a dossier document and a file of the space share: content from the storage
    (handed to the server's sendfile on local storage), PUT through `store`, DELETE
    through `remove`, COPY/MOVE through `transfer`, PROPPATCH only where writable.

    Subclasses set `self.moved = False` and say where the bytes are (`stored_name`,
    `open_stored`, None while a new file is being written) and how they are removed."""

    moved: bool

    def stored_name(self) -> str | None:
        raise NotImplementedError

    def open_stored(self) -> IO[bytes]:
        raise NotImplementedError

    def store(self, stream: IO[bytes]) -> None:
        raise NotImplementedError

    def remove(self, actor: Any) -> None:
        """Remove the stored file (a soft removal, audited); never called for a new one."""
        raise NotImplementedError

    def check_write(self, method: str, *, as_parent: bool) -> None:
        raise NotImplementedError

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return True

    def get_content(self) -> IO[bytes]:
        name = self.stored_name()
        assert name is not None
        with suppress(NotImplementedError):  # local storage: the server may send it (sendfile)
            self.environ[LOCAL_FILE] = default_storage.path(name)
        return self.open_stored()

    def open_bytes(self) -> IO[bytes]:
        return self.get_content()

    def begin_write(self, *, content_type: str | None = None) -> Upload:
        self.check_write("PUT", as_parent=False)
        return Upload(self.store)

    def delete(self) -> None:
        if self.moved:  # renamed by copy_move_single: nothing left to remove
            return
        self.check_write("DELETE", as_parent=False)
        if self.stored_name() is not None:
            with domain_errors():
                self.remove(principal(self.environ).user)
        self.remove_all_properties(recursive=False)
        self.remove_all_locks(recursive=False)
        forget_resources(self.environ)

    def support_recursive_move(self, dest_path: str) -> bool:
        return False  # moved by copy_move_single (then a no-op delete), see transfer

    def copy_move_single(self, dest_path: str, *, is_move: bool) -> None:
        transfer(self, dest_path, is_move=is_move)

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> Any:
        self.check_write("PROPPATCH", as_parent=False)
        return DAVNonCollection.set_property_value(self, name, value, dry_run=dry_run)
