"""The WsgiDAV provider: turns a path below /dav/ into one of Comptoir's resources.

    /                                   RootFolder: the organisation of the token
    /<org>/                             OrgFolder: years, and the member's space
    /<org>/<year>/                      YearFolder: the dossiers the member may see
    /<org>/<year>/<number>/             DossierFolder: its listed documents
    /<org>/<year>/<number>/<name>       DocumentFile
    /<org>/Espace/…                     SpaceFolder / SpaceFile (space_resources)

Another organisation, a dossier the member may not see and a missing one all
resolve to None (404). Before WsgiDAV handles a request that writes, the target
(or the folder that would receive it) says whether the member may write there:
a refusal is a 403 with its reason, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlparse

from django.utils.translation import gettext as _
from wsgidav import util
from wsgidav.dav_error import (
    HTTP_FORBIDDEN,
    HTTP_NOT_FOUND,
    HTTP_REQUEST_ENTITY_TOO_LARGE,
    DAVError,
    PRECONDITION_CODE_PropfindFiniteDepth,
)
from wsgidav.dav_provider import DAVProvider

from comptoir.dossiers.listing import base_queryset
from comptoir.dossiers.services import MAX_DOCUMENT_BYTES
from comptoir.webdav import space_resources
from comptoir.webdav.base import RESOURCES, SPACE, parent_and_name, principal
from comptoir.webdav.resources import (
    DocumentFile,
    DossierFolder,
    OrgFolder,
    RootFolder,
    YearFolder,
)

Environ = dict[str, Any]
WRITES = frozenset({"PUT", "DELETE", "MKCOL", "PROPPATCH", "LOCK", "UNLOCK", "MOVE"})


def _year(segment: str) -> int | None:
    return int(segment) if len(segment) == 4 and segment.isascii() and segment.isdigit() else None


class ComptoirProvider(DAVProvider):  # type: ignore[misc]
    def __repr__(self) -> str:
        return "ComptoirProvider"

    def get_resource_inst(self, path: str, environ: Environ) -> Any:
        """The resource at `path` for the member asking, or None; cached for the request."""
        key = "/" + path.strip("/")
        cache = environ.setdefault(RESOURCES, {})
        if key not in cache:
            cache[key] = self._resolve(key, environ)
        return cache[key]

    def _resolve(self, path: str, environ: Environ) -> Any:
        names = [name for name in path.split("/") if name]
        member = principal(environ).member
        if not names:
            return RootFolder(path, environ)
        if names[0] != member.organization.slug:
            return None
        if len(names) == 1:
            return OrgFolder(path, environ)
        if names[1] == SPACE:
            return space_resources.resolve(path, names[2:], environ)
        year = _year(names[1])
        if year is None or len(names) > 4:
            return None
        dossiers = base_queryset(member).filter(year=year)
        if len(names) == 2:
            return YearFolder(path, environ) if dossiers.exists() else None
        dossier = dossiers.filter(number=names[2]).first()
        if dossier is None:
            return None
        dossier.organization = member.organization
        if len(names) == 3:
            return DossierFolder(path, environ, dossier)
        document = dossier.documents.filter(removed_at__isnull=True, name=names[3]).first()
        if document is None:
            return None
        document.dossier = dossier
        return DocumentFile(path, environ, dossier, document)

    def ref_url_to_path(self, ref_url: str) -> str:
        return space_resources.path_of_ref(super().ref_url_to_path(ref_url))

    # -- checks made before WsgiDAV handles the request

    def custom_request_handler(
        self, environ: Environ, start_response: Any, default_handler: Any
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ["PATH_INFO"]
        if method == "PROPFIND":
            self._check_depth(path, environ)
        if method == "PUT" and util.get_content_length(environ) > MAX_DOCUMENT_BYTES:
            raise DAVError(
                HTTP_REQUEST_ENTITY_TOO_LARGE, _("A file may not be larger than 200 MB.")
            )
        if method in WRITES:
            self._check_target(method, path, environ)
        if method in ("COPY", "MOVE"):
            self._check_destination(path, environ)
        return default_handler(environ, start_response)  # type: ignore[no-any-return]

    def _check_depth(self, path: str, environ: Environ) -> None:
        """Depth: infinity would walk every dossier of the organisation: refused above a
        dossier (RFC 4918 §9.1, propfind-finite-depth)."""
        depth = environ.get("HTTP_DEPTH", "infinity").lower()
        resource = self.get_resource_inst(path, environ)
        if depth == "infinity" and isinstance(resource, RootFolder | OrgFolder | YearFolder):
            raise DAVError(HTTP_FORBIDDEN, err_condition=PRECONDITION_CODE_PropfindFiniteDepth)

    def _check_target(self, method: str, path: str, environ: Environ) -> None:
        resource = self.get_resource_inst(path, environ)
        if resource is not None:
            resource.check_write(method, as_parent=False)
            return
        if method in ("PUT", "MKCOL", "LOCK"):
            parent = self.get_resource_inst(parent_and_name(path)[0], environ)
            if parent is not None and parent.is_collection:
                parent.check_write(method, as_parent=True)
            elif parent is None and not self._in_space(path, environ):
                # a dossier (or organisation) missing or out of sight: 404, as for a read
                # (RFC 4918's 409 stays for the space, where folders are the client's)
                raise DAVError(HTTP_NOT_FOUND)

    def _in_space(self, path: str, environ: Environ) -> bool:
        names = [name for name in path.split("/") if name]
        slug = principal(environ).member.organization.slug
        return len(names) > 2 and names[0] == slug and names[1] == SPACE

    def _check_destination(self, path: str, environ: Environ) -> None:
        source = self.get_resource_inst(path, environ)
        destination = self._destination(environ)
        if source is None or destination is None:
            return  # WsgiDAV answers 404, 400 or 502 itself
        existing = self.get_resource_inst(destination, environ)
        if existing is not None:
            existing.check_write("DELETE" if existing.is_collection else "PUT", as_parent=False)
            return
        parent = self.get_resource_inst(parent_and_name(destination)[0], environ)
        if parent is not None and parent.is_collection:
            parent.check_write("MKCOL" if source.is_collection else "PUT", as_parent=True)

    def _destination(self, environ: Environ) -> str | None:
        """The Destination header's path below /dav/, as WsgiDAV will read it."""
        raw = environ.get("HTTP_DESTINATION")
        if not raw:
            return None
        path = urlparse(unquote(raw), allow_fragments=False).path
        mount = self.mount_path + self.share_path
        if not path.startswith(mount + "/"):
            return None
        try:
            return str(util.normalize_path(path[len(mount) :]))
        except DAVError:
            return None
