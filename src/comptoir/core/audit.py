"""The append-only, hash-chained audit log.

`record()` is the only way an entry is written. Each organisation has its own
chain (platform-wide events such as a failed login for an unknown address go
to the "platform" chain); an entry's hash covers its content and the previous
hash, so editing, removing or reordering entries is detected by `verify()`.
Database triggers (see migrations) refuse UPDATE and DELETE outright.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from comptoir.core.models import AuditChainHead, AuditEntry, Organization

PLATFORM_CHAIN = "platform"
GENESIS = "0" * 64


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    request_id: str = ""


_request_context: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "comptoir_request_context",
    default=RequestContext(),  # noqa: B039  (a frozen dataclass: immutable)
)


_clock: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "comptoir_audit_clock", default=None
)


@contextmanager
def backdated(moment: datetime) -> Iterator[None]:
    """Date the entries written in this block at `moment`.

    Only the demo loaders use it, replaying a believable history in
    chronological order; the chain order (seq) is still the order of writing.
    """
    token = _clock.set(moment)
    try:
        yield
    finally:
        _clock.reset(token)


@contextmanager
def request_context(ip: str | None, request_id: str) -> Iterator[None]:
    """Where the current change comes from; set by the middleware and the CLI."""
    token = _request_context.set(RequestContext(ip=ip, request_id=request_id))
    try:
        yield
    finally:
        _request_context.reset(token)


def jsonable(value: Any) -> Any:
    """Normalise a value to what JSON storage gives back (dates and decimals as text)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """The values of `fields` on `instance`, ready for an audit entry's before/after."""
    data = {}
    for name in fields:
        value = getattr(instance, name)
        data[name] = value.pk if isinstance(value, models.Model) else value
    return dict(jsonable(data))


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """Keep only the keys whose value changed."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def _digest(entry: AuditEntry) -> str:
    payload = [
        entry.prev_hash,
        entry.chain,
        entry.seq,
        entry.created_at.astimezone(UTC).isoformat(),
        entry.organization_id,
        entry.actor_id,
        entry.actor_label,
        entry.ip,
        entry.request_id,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.object_repr,
        entry.before,
        entry.after,
    ]
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _locked_head(chain: str) -> AuditChainHead:
    """The chain head, locked for the current transaction (created on first use)."""
    try:
        return AuditChainHead.objects.select_for_update().get(chain=chain)
    except AuditChainHead.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            AuditChainHead.objects.create(chain=chain, seq=0, hash=GENESIS)
    except IntegrityError:
        pass  # another writer created it first; lock theirs
    return AuditChainHead.objects.select_for_update().get(chain=chain)


def record(
    action: str,
    *,
    organization: Organization | None,
    actor: Any = None,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Runs in (or opens) a transaction so the entry commits
    or rolls back with the change it describes."""
    if target is not None:
        object_type = object_type or target._meta.model_name or ""
        object_id = object_id or str(getattr(target, "public_id", target.pk))
        object_repr = object_repr or str(target)[:200]
    context = _request_context.get()
    chain = organization.audit_chain if organization else PLATFORM_CHAIN
    with transaction.atomic():
        head = _locked_head(chain)
        entry = AuditEntry(
            chain=chain,
            seq=head.seq + 1,
            created_at=_clock.get() or timezone.now(),
            organization=organization,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=str(actor)[:200] if actor is not None else "",
            ip=context.ip,
            request_id=context.request_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr[:200],
            before=jsonable(dict(before)) if before is not None else None,
            after=jsonable(dict(after)) if after is not None else None,
            prev_hash=head.hash,
        )
        entry.hash = _digest(entry)
        entry.save(force_insert=True)
        AuditChainHead.objects.filter(chain=chain).update(seq=entry.seq, hash=entry.hash)
    return entry


def record_change(
    action: str,
    *,
    organization: Organization | None,
    actor: Any,
    target: models.Model,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    **extra: Any,
) -> AuditEntry | None:
    """Record only the fields that changed between two snapshots; nothing if none did."""
    old, new = diff(before, after)
    if not new:
        return None
    return record(
        action,
        organization=organization,
        actor=actor,
        target=target,
        before=old,
        after=new,
        **extra,
    )


@dataclass(frozen=True)
class ChainReport:
    chain: str
    entries: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(chain: str) -> ChainReport:
    """Recompute every link of one chain; report each break with its position."""
    problems: list[str] = []
    expected_prev, expected_seq, count = GENESIS, 1, 0
    rows = AuditEntry.objects.filter(chain=chain).order_by("seq").iterator(chunk_size=2000)
    for entry in rows:
        count += 1
        if entry.seq != expected_seq:
            problems.append(f"#{expected_seq}: missing entry (next found is #{entry.seq})")
        if entry.prev_hash != expected_prev:
            problems.append(f"#{entry.seq}: previous hash does not match entry #{entry.seq - 1}")
        if _digest(entry) != entry.hash:
            problems.append(f"#{entry.seq}: content altered (hash mismatch)")
        expected_prev, expected_seq = entry.hash, entry.seq + 1
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and head.seq != expected_seq - 1:
        problems.append(f"chain head says #{head.seq}, last entry is #{expected_seq - 1}")
    return ChainReport(chain=chain, entries=count, problems=problems)


def verify(organization: Organization | None = None) -> list[ChainReport]:
    if organization is not None:
        return [verify_chain(organization.audit_chain)]
    chains = AuditEntry.objects.values_list("chain", flat=True).distinct().order_by("chain")
    heads = AuditChainHead.objects.values_list("chain", flat=True)
    return [verify_chain(chain) for chain in sorted(set(chains) | set(heads))]


# --- the database guard -----------------------------------------------------

TABLE = "core_auditentry"

SQLITE_GUARD = [
    f"CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;",
    f"CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;",
]
SQLITE_UNGUARD = [
    "DROP TRIGGER IF EXISTS audit_no_update;",
    "DROP TRIGGER IF EXISTS audit_no_delete;",
]
POSTGRES_GUARD = [
    "CREATE OR REPLACE FUNCTION comptoir_audit_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit entries are append-only'; END; $$ LANGUAGE plpgsql;",
    f"CREATE OR REPLACE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION comptoir_audit_append_only();",
    f"CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION comptoir_audit_append_only();",
]
POSTGRES_UNGUARD = [
    f"DROP TRIGGER IF EXISTS audit_no_update_delete ON {TABLE};",
    f"DROP TRIGGER IF EXISTS audit_no_truncate ON {TABLE};",
]


def guard_statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "sqlite":
        return SQLITE_GUARD if install else SQLITE_UNGUARD
    if vendor == "postgresql":
        return POSTGRES_GUARD if install else POSTGRES_UNGUARD
    raise NotImplementedError(f"no audit guard for database {vendor!r}")


@contextmanager
def guard_lifted() -> Iterator[None]:
    """Drop the append-only triggers for the duration of the block.

    Only for wiping a test database (see the `flush` command) and for tests
    that simulate tampering; never called by the application.
    """
    with connection.cursor() as cursor:
        for statement in guard_statements(connection.vendor, install=False):
            cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for statement in guard_statements(connection.vendor, install=True):
                cursor.execute(statement)


def as_row(entry: AuditEntry) -> list[Any]:
    """One entry as spreadsheet cells (the XLSX export and its tests share it)."""
    local = timezone.localtime(entry.created_at).replace(tzinfo=None)
    return [
        entry.seq,
        local,
        entry.actor_label,
        entry.ip or "",
        entry.action,
        entry.object_type,
        entry.object_repr,
        json.dumps(entry.before, ensure_ascii=False) if entry.before is not None else "",
        json.dumps(entry.after, ensure_ascii=False) if entry.after is not None else "",
    ]
