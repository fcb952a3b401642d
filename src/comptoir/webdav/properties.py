"""Dead properties (PROPPATCH) in the database: what clients store beside a file.

The interface is WsgiDAV's property manager (`wsgidav.prop_man.property_manager`),
keyed by the resource's reference URL. Within a request, the properties of a
collection and its members are read in one query (a PROPFIND of a folder asks
for each member's properties).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from wsgidav.dav_error import HTTP_FORBIDDEN, HTTP_INSUFFICIENT_STORAGE, DAVError

from comptoir.webdav.models import DavProperty

CACHE = "comptoir.properties"
MAX_URL = 2048
MAX_NAME = 400
MAX_VALUE = 100_000

Environ = dict[str, Any] | None


def _values(url: str, environ: Environ) -> dict[str, str]:
    """The properties of `url`, from the request's cache when a loaded prefix covers it."""
    if environ is None:
        return dict(DavProperty.objects.filter(url=url).values_list("name", "value"))
    cache = environ.setdefault(CACHE, {"prefixes": [], "values": {}})
    if not any(url.startswith(prefix) for prefix in cache["prefixes"]):
        # a collection's URL ends with "/": its members' properties come along
        rows = DavProperty.objects.filter(url__startswith=url).values_list("url", "name", "value")
        for row_url, name, value in rows:
            cache["values"].setdefault(row_url, {})[name] = value
        cache["prefixes"].append(url)
    found: dict[str, str] = cache["values"].get(url, {})
    return found


def _forget(environ: Environ) -> None:
    if environ is not None:
        environ.pop(CACHE, None)


def _below(url: str) -> Q:
    """`url` itself and, for a collection, everything under it."""
    return Q(url=url) | Q(url__startswith=url.rstrip("/") + "/")


class DatabasePropertyManager:
    def __repr__(self) -> str:
        return "DatabasePropertyManager"

    def get_properties(self, norm_url: str, environ: Environ = None) -> list[str]:
        return list(_values(norm_url, environ))

    def get_property(self, norm_url: str, name: str, environ: Environ = None) -> str | None:
        return _values(norm_url, environ).get(name)

    def write_property(
        self,
        norm_url: str,
        name: str,
        property_value: bytes | str,
        dry_run: bool = False,
        environ: Environ = None,
    ) -> None:
        value = (
            property_value.decode("utf-8")
            if isinstance(property_value, bytes)
            else str(property_value)
        )
        if len(norm_url) > MAX_URL or len(name) > MAX_NAME:
            raise DAVError(HTTP_FORBIDDEN, "Property name or path too long.")
        if len(value) > MAX_VALUE:
            raise DAVError(HTTP_INSUFFICIENT_STORAGE, "Property value too large.")
        if dry_run:
            return
        DavProperty.objects.update_or_create(url=norm_url, name=name, defaults={"value": value})
        _forget(environ)

    def remove_property(
        self, norm_url: str, name: str, dry_run: bool = False, environ: Environ = None
    ) -> None:
        if not dry_run:
            DavProperty.objects.filter(url=norm_url, name=name).delete()
            _forget(environ)

    def remove_properties(self, norm_url: str, environ: Environ = None) -> None:
        DavProperty.objects.filter(url=norm_url).delete()
        _forget(environ)

    def remove_tree(self, norm_url: str, environ: Environ = None) -> None:
        """The properties of a collection and of everything under it."""
        DavProperty.objects.filter(_below(norm_url)).delete()
        _forget(environ)

    @transaction.atomic
    def copy_properties(self, src_url: str, dest_url: str, environ: Environ = None) -> None:
        rows = list(DavProperty.objects.filter(url=src_url).values_list("name", "value"))
        DavProperty.objects.filter(url=dest_url).delete()
        DavProperty.objects.bulk_create(
            [DavProperty(url=dest_url, name=name, value=value) for name, value in rows]
        )
        _forget(environ)

    @transaction.atomic
    def move_properties(
        self, src_url: str, dest_url: str, with_children: bool, environ: Environ = None
    ) -> None:
        if not with_children:
            DavProperty.objects.filter(url=dest_url).delete()
            DavProperty.objects.filter(url=src_url).update(url=dest_url)
            _forget(environ)
            return
        DavProperty.objects.filter(_below(dest_url)).delete()
        for row in DavProperty.objects.filter(_below(src_url)):
            row.url = dest_url + row.url[len(src_url) :]
            row.save(update_fields=["url"])
        _forget(environ)
