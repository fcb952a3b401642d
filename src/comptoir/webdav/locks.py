"""WebDAV locks in the database, so that every web process sees the same locks.

WsgiDAV's `LockManager` does the RFC 4918 logic (conflicts, depth, If headers);
this module is its storage (the interface of `wsgidav.lock_man.lock_storage`).
WsgiDAV's own storages are an in-memory dict (one per process: a lock taken
through one Gunicorn worker would be unknown to the others) and a shelve file
(one writer at a time, no sharing between machines). See
docs/decisions/0012-webdav.md.

Taking a lock checks for conflicts, then writes: `DatabaseLockManager.acquire`
does both in one transaction, holding the organisation's row, so two processes
cannot both take an exclusive lock on the same file.

Within a request the locks of the organisation are read once (a PROPFIND of 500
files asks for each file's locks): `request_cache()` opens that cache.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.db.models import Q
from wsgidav.lock_man.lock_manager import (
    LockManager,
    generate_lock_token,
    normalize_lock_root,
    validate_lock,
)

from comptoir.core.models import Organization
from comptoir.webdav.models import DavLock

LOCK_TIME_OUT_DEFAULT = 604800  # one week, WsgiDAV's default
LOCK_TIME_OUT_MAX = 604800

LockDict = dict[str, Any]
_cache: ContextVar[dict[str, list[LockDict]] | None] = ContextVar("dav_locks", default=None)


@contextmanager
def request_cache() -> Iterator[None]:
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def _forget() -> None:
    cache = _cache.get()
    if cache is not None:
        cache.clear()


def _tenant(path: str) -> str:
    """The first segment of a lock root: the organisation's slug."""
    return "/" + path.strip("/").split("/", 1)[0]


def _as_dict(row: DavLock) -> LockDict:
    return {
        "root": row.root,
        "type": "write",
        "scope": row.scope,
        "depth": row.depth,
        "owner": row.owner.encode(),
        "timeout": row.timeout,
        "expire": row.expire,
        "principal": row.principal,
        "token": row.token,
    }


def _live(rows: Any) -> Any:
    return rows.filter(expire__gte=time.time())


class DatabaseLockStorage:
    """The storage interface WsgiDAV's LockManager expects, on the `DavLock` table."""

    def __repr__(self) -> str:
        return "DatabaseLockStorage"

    def open(self) -> None:
        """Nothing to open: the database connection is Django's."""

    def close(self) -> None:
        """Nothing to close."""

    def cleanup(self) -> None:
        DavLock.objects.filter(expire__lt=time.time()).delete()
        _forget()

    def clear(self) -> None:
        DavLock.objects.all().delete()
        _forget()

    def get(self, token: str) -> LockDict | None:
        row = DavLock.objects.filter(token=token).first()
        if row is None:
            return None
        if row.expire < time.time():
            row.delete()
            _forget()
            return None
        return _as_dict(row)

    def create(self, path: str, lock: LockDict) -> LockDict:
        root = normalize_lock_root(path)
        timeout = float(lock.get("timeout") or LOCK_TIME_OUT_DEFAULT)
        if timeout < 0 or timeout > LOCK_TIME_OUT_MAX:
            timeout = LOCK_TIME_OUT_MAX
        lock.update(root=root, timeout=timeout, expire=time.time() + timeout)
        validate_lock(lock)
        lock["token"] = generate_lock_token()
        DavLock.objects.create(
            token=lock["token"],
            root=root,
            principal=lock["principal"],
            scope=lock["scope"],
            depth=lock["depth"],
            owner=lock["owner"].decode("utf-8", "replace"),
            timeout=timeout,
            expire=lock["expire"],
        )
        self.cleanup()
        return lock

    def refresh(self, token: str, *, timeout: float) -> LockDict:
        if timeout < 0 or timeout > LOCK_TIME_OUT_MAX:
            timeout = LOCK_TIME_OUT_MAX
        DavLock.objects.filter(token=token).update(timeout=timeout, expire=time.time() + timeout)
        _forget()
        return _as_dict(DavLock.objects.get(token=token))

    def delete(self, token: str) -> bool:
        deleted, _kinds = DavLock.objects.filter(token=token).delete()
        _forget()
        return bool(deleted)

    def get_lock_list(
        self, path: str, *, include_root: bool, include_children: bool, token_only: bool
    ) -> list[Any]:
        """The live locks on `path` (include_root) and/or below it (include_children)."""
        root = normalize_lock_root(path)
        below = root.rstrip("/") + "/"
        found = [
            lock
            for lock in self._tenant_locks(root)
            if (include_root and lock["root"] == root)
            or (include_children and lock["root"].startswith(below))
        ]
        return [lock["token"] for lock in found] if token_only else found

    def _tenant_locks(self, root: str) -> list[LockDict]:
        tenant = _tenant(root)
        cache = _cache.get()
        if cache is not None and tenant in cache:
            return cache[tenant]
        rows = _live(DavLock.objects.all())
        if tenant != "/":
            rows = rows.filter(Q(root__startswith=tenant + "/") | Q(root=tenant))
        found = [_as_dict(row) for row in rows]
        if cache is not None:
            cache[tenant] = found
        return found


class DatabaseLockManager(LockManager):  # type: ignore[misc]
    """WsgiDAV's lock manager, with the conflict check and the write in one transaction."""

    def acquire(self, **kwargs: Any) -> LockDict:
        with transaction.atomic():
            slug = _tenant(str(kwargs["url"])).lstrip("/")
            list(Organization.objects.select_for_update().filter(slug=slug).values_list("pk"))
            _forget()
            lock: LockDict = super().acquire(**kwargs)
            return lock
