"""The hub's side of Comptoir Cloud: pairing, the change feed, dossier writes
with revisions and conflicts, content-addressed blobs and resumable uploads.

See docs/sync/protocol.md for the contract with the agent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, BinaryIO

from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts import tokens
from comptoir.accounts.models import ApiToken, User
from comptoir.core import audit
from comptoir.core.bulk import Insert, give_keys, insert_rows, object_rows, one_of, one_of_uuids
from comptoir.core.errors import Conflict, DomainError, Forbidden, NotFound
from comptoir.core.models import Membership, Organization
from comptoir.core.roles import Action, Resource, Scope, spec_for
from comptoir.core.services import check_storage, release_storage, reserve_storage
from comptoir.dossiers import blobs, exchange
from comptoir.dossiers.models import (
    Blob,
    ChangeCounter,
    Document,
    Dossier,
    DossierRevision,
    Mission,
    blob_path,
)
from comptoir.dossiers.services import allocate_number
from comptoir.sync import options as station_options
from comptoir.sync.models import (
    PAIRING_TTL,
    UPLOAD_TTL,
    PairingCode,
    Station,
    StationBlob,
    StationDossier,
    Upload,
)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
MAX_PUSH = 500
MAX_FETCH = 500
MAX_HASHES = 5000
MAX_FEED = 1000
MAX_SENT = 20  # unacknowledged revisions a push may name (see `_follows_own_write`)
MAX_BATCH_BYTES = 32 * 1024 * 1024
MAX_BATCH_BLOB = 4 * 1024 * 1024
CHUNK_SIZE = 16 * 1024 * 1024
MAX_CHUNK = 16 * 1024 * 1024
MAX_BLOB = 4 * 1024 * 1024 * 1024
HASH_RE = re.compile(r"^[0-9a-f]{64}\Z")
REV_RE = re.compile(r"^[1-9][0-9]{0,8}-[0-9a-f]{32}\Z")
SEEN_GRANULARITY = timedelta(minutes=1)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    status = 507


class HashMismatch(DomainError):
    code = "hash_mismatch"
    status = 422


class Unprocessable(DomainError):
    """The protocol's 422 answers: `invalid` document, `missing_blobs`."""

    status = 422


# --- stations and pairing ---------------------------------------------------------


def _code_digest(code: str) -> str:
    normalized = re.sub(r"[^A-Z0-9]", "", code.upper())
    return hashlib.sha256(normalized.encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


@transaction.atomic
def add_station(
    org: Organization, name: str, *, member: Membership, actor: User | None
) -> tuple[Station, str]:
    """Register a station to pair; returns it with its one-time pairing code."""
    name = " ".join(name.split())
    if not name:
        raise DomainError(
            _("Give the station a name, e.g. “PC bureau”."), details={"field": "name"}
        )
    if len(name) > 100:
        raise DomainError(
            _("A station name has at most 100 characters."), details={"field": "name"}
        )
    if member.organization_id != org.pk:
        raise NotFound(_("Member not found."))
    if member.is_blocked:
        raise DomainError(
            _("A blocked member cannot use a station."), details={"field": "membership"}
        )
    if Station.objects.filter(organization=org, name__iexact=name).exists():
        raise Conflict(
            _("A station named “%(name)s” already exists.") % {"name": name},
            code="duplicate",
            details={"field": "name"},
        )
    station = Station.objects.create(organization=org, name=name, membership=member)
    code = issue_code(station, actor=actor)
    audit.record(
        "station.add",
        organization=org,
        actor=actor,
        target=station,
        after={"name": name, "member": str(member)},
    )
    return station, code


def issue_code(station: Station, *, actor: User | None) -> str:
    """A fresh single-use pairing code (older unused codes stop working)."""
    now = timezone.now()
    PairingCode.objects.filter(station=station, used_at__isnull=True).update(expires_at=now)
    code = new_code()
    PairingCode.objects.create(
        station=station,
        code_hash=_code_digest(code),
        created_by=actor,
        expires_at=now + PAIRING_TTL,
    )
    return code


@transaction.atomic
def pair(
    code: str, *, name: str = "", version: str = "", platform: str = ""
) -> tuple[Station, str]:
    """Trade a pairing code for a station token. The code works once."""
    found = (
        PairingCode.objects.select_for_update()
        .select_related("station__organization", "station__membership")
        .filter(code_hash=_code_digest(code))
        .first()
    )
    now = timezone.now()
    if found is None or found.used_at is not None or found.expires_at <= now:
        raise DomainError(
            _("This pairing code is unknown, already used or expired: ask for a new one."),
            code="invalid_code",
            details={"field": "code"},
        )
    station = found.station
    if station.revoked_at is not None:
        raise DomainError(_("This station was revoked."), code="invalid_code")
    found.used_at = now
    found.save(update_fields=["used_at"])
    if station.token_id:
        tokens.revoke_token(station.token, actor=None, reason="re-paired")  # type: ignore[arg-type]
    token, secret = tokens.create_token(
        station.membership,
        f"{_('Station')} {station.name}",
        actor=None,
        kind=ApiToken.Kind.STATION,
    )
    station.token = token
    station.paired_at = now
    station.last_seen_at = now
    station.agent_version = version[:40]
    station.platform = platform[:40]
    station.save()
    audit.record(
        "station.pair",
        organization=station.organization,
        actor=station.membership.user,
        target=station,
        after={"version": station.agent_version, "platform": station.platform},
    )
    return station, secret


@transaction.atomic
def revoke_station(station: Station, *, actor: User | None) -> None:
    if station.revoked_at is not None:
        return
    station.revoked_at = timezone.now()
    station.save(update_fields=["revoked_at"])
    if station.token_id:
        tokens.revoke_token(station.token, actor=actor, reason="station revoked")  # type: ignore[arg-type]
    PairingCode.objects.filter(station=station, used_at__isnull=True).update(
        expires_at=station.revoked_at
    )
    audit.record("station.revoke", organization=station.organization, actor=actor, target=station)


@transaction.atomic
def request_reread(station: Station, *, actor: User | None) -> int:
    """Ask the station to read the whole change feed again from 0 at its next pass.

    `reread` only grows (an F expression: two clicks are two requests); the station
    records the last value it honoured once its feed pass is over, so a pass cut
    short reads it all again. Returns the new value.
    """
    Station.objects.filter(pk=station.pk).update(reread=F("reread") + 1)
    station.refresh_from_db(fields=["reread"])
    audit.record(
        "station.reread",
        organization=station.organization,
        actor=actor,
        target=station,
        after={"reread": station.reread},
    )
    return station.reread


def station_for(token: ApiToken | None) -> Station:
    """The station of `token`, with its organisation and member: those the token came
    with (`tokens.find_token` loaded them), not joined again at every call."""
    found = Station.objects.filter(token=token, revoked_at__isnull=True)[:1] if token else ()
    station = next(iter(found), None)
    if station is None:
        raise Forbidden(
            _("This call needs a station token: pair the station with `comptoir-agent pair`."),
            code="station_token_required",
        )
    assert token is not None
    member = token.membership
    if station.membership_id == member.pk:
        station.membership = member
    if station.organization_id == member.organization_id:
        station.organization = member.organization
    now = timezone.now()
    if station.last_seen_at is None or now - station.last_seen_at > SEEN_GRANULARITY:
        Station.objects.filter(pk=station.pk).update(last_seen_at=now)
        station.last_seen_at = now
    return station


def require(station: Station, action: Action) -> None:
    """Syncing is the role's station access (docs/roles.md, “Synchronisation depuis un
    poste”), not its web grant: the technician without web access syncs too."""
    member = station.membership
    if member.is_blocked or not spec_for(member.role).station_access:
        raise Forbidden(
            _("The account of this station may not do that."), code="forbidden_for_role"
        )


def report(station: Station, data: dict[str, Any]) -> None:
    counts = {
        key: int(value)
        for key, value in (data.get("counts") or {}).items()
        if key in {"green", "orange", "blue", "red", "grey"} and isinstance(value, int)
    }
    errors = [
        {
            "dossier": str(item.get("dossier", ""))[:40],
            "number": str(item.get("number", ""))[:30],
            "reason": str(item.get("reason", ""))[:300],
        }
        for item in (data.get("errors") or [])[:200]
        if isinstance(item, dict)
    ]
    checkpoint = data.get("checkpoint")
    Station.objects.filter(pk=station.pk).update(
        counts=counts,
        errors=errors,
        agent_version=str(data.get("version") or station.agent_version)[:40],
        checkpoint=checkpoint if isinstance(checkpoint, int) and checkpoint >= 0 else 0,
        reported_at=timezone.now(),
        last_seen_at=timezone.now(),
    )


# --- the change feed ------------------------------------------------------------------


def current_sequence(org: Organization) -> int:
    found = ChangeCounter.objects.filter(organization=org).values_list("last", flat=True).first()
    return found or 0


def sees_every_dossier(member: Membership) -> bool:
    """Whether a member's stations see the whole organisation's dossiers. The others (a
    technician on “own dossiers”, or without web access) see those assigned to them."""
    return member.scope_for(Resource.DOSSIERS) is Scope.ALL


def _held(station: Station) -> Q:
    return Q(pk__in=StationDossier.objects.filter(station=station).values("dossier_id"))


def visible_to(station: Station) -> Q:
    """The dossiers a station may read and write: every one, or (for an account that sees
    only its own) those assigned to its member plus those the station already holds."""
    if sees_every_dossier(station.membership):
        return Q()
    return Q(technician=station.membership) | _held(station)


def _conflict_files(dossiers: QuerySet[Dossier, Any]) -> RawSQL:
    """The right side of `sha256__in=`: the hashes named in the `files` of the conflict
    revisions of `dossiers` (a query of dossier keys). Those files have no document:
    only a kept version becomes the file list; a head's files all have one."""
    inner, params = dossiers.query.sql_with_params()
    meta, quote = DossierRevision._meta, connection.ops.quote_name
    table = quote(meta.db_table)
    column = {field.name: f"r.{quote(str(field.column))}" for field in meta.concrete_fields}
    document, dossier, is_conflict = column["document"], column["dossier"], column["is_conflict"]
    if connection.vendor == "postgresql":
        files = (
            f"jsonb_array_elements(CASE WHEN jsonb_typeof({document} -> 'files') = 'array' "
            f"THEN {document} -> 'files' ELSE '[]'::jsonb END) AS f"
        )
        sha = "f.value ->> 'sha256'"
    else:
        files, sha = f"json_each({document}, '$.files') AS f", "json_extract(f.value, '$.sha256')"
    return RawSQL(  # noqa: S611 - names from the model, values as parameters
        f"SELECT {sha} FROM {table} AS r, {files} "  # noqa: S608
        f"WHERE {is_conflict} AND {dossier} IN ({inner})",
        params,
    )


def _readable(station: Station) -> Q:
    """A filter of `Blob`: the files of a document (current or removed) or of a conflict
    revision of a dossier in `visible_to` (a station that sees only its own dossiers)."""
    org = station.organization
    visible = Dossier.objects.filter(organization=org).filter(visible_to(station)).values("pk")
    documents = Document.objects.filter(organization=org, dossier__in=visible).values("sha256")
    return Q(sha256__in=documents) | Q(sha256__in=_conflict_files(visible))


def readable_hashes(station: Station, hashes: list[str]) -> set[str]:
    """Which of these blobs the station may download (`_readable`)."""
    return _permitted(station, hashes, _readable)


def _permitted(station: Station, hashes: Iterable[str], rule: Callable[[Station], Q]) -> set[str]:
    """Those of `hashes` that are blobs in `rule(station)`: all of them, with no query,
    when the station sees every dossier; else one query."""
    wanted = list(dict.fromkeys(hashes))
    if not wanted or sees_every_dossier(station.membership):
        return set(wanted)
    return set(
        Blob.objects.filter(organization=station.organization, sha256__in=one_of(wanted))
        .filter(rule(station))
        .values_list("sha256", flat=True)
    )


# A station that sees only its own dossiers may name in a push (or a resolved version)
# only the files it may read already or whose bytes it sent itself: knowing another
# technician's hash must not let it attach that file to a dossier of its own, and then
# download it. What it sent is recorded in `StationBlob`; `blobs/missing` asks it for
# the bytes of any other hash, even one the hub stores (protocol.md).


def _nameable(station: Station) -> Q:
    """A filter of `Blob` for a restricted station: readable, or sent by the station."""
    sent = StationBlob.objects.filter(station=station).values("sha256")
    return _readable(station) | Q(sha256__in=sent)


def nameable_hashes(station: Station, hashes: Iterable[str]) -> set[str]:
    """Which of these hashes (blobs the hub stores) the station may name as a file
    (`_nameable`)."""
    return _permitted(station, hashes, _nameable)


def remember_sent(station: Station, hashes: Iterable[str]) -> None:
    """Record that the station sent the bytes of these blobs (their hash checked by the
    hub). Only for a restricted station: one that sees every dossier may name any file,
    and pays no query."""
    wanted = list(dict.fromkeys(hashes))
    if not wanted or sees_every_dossier(station.membership):
        return
    StationBlob.objects.bulk_create(
        [StationBlob(station=station, sha256=sha) for sha in wanted], ignore_conflicts=True
    )


def missing_for(station: Station, hashes: list[str]) -> list[str]:
    """`blobs/missing` as the station is told: `missing`, and for a restricted station
    also the stored blobs it may not name (`_nameable`), so that it sends their bytes.
    One query either way."""
    among = None if sees_every_dossier(station.membership) else _nameable(station)
    return missing(station.organization, hashes, among)


def feed_filter(station: Station, effective: dict[str, Any]) -> Q:
    """The dossiers a station is told about: those it holds, plus those to fetch."""
    held = _held(station)
    if not effective.get("fetch_missing"):
        return held
    wanted = Q(deleted_at__isnull=True)
    if not sees_every_dossier(station.membership):
        wanted &= Q(technician=station.membership)
    after = effective.get("fetch_after")
    if after:
        start = date.fromisoformat(after)
        wanted &= Q(appointment_at__date__gte=start) | Q(
            appointment_at__isnull=True, created_at__date__gte=start
        )
    # No `fetch_horizon_days` here: the horizon moves with the days, and a dossier left
    # out today would stay behind the checkpoint when it comes within the horizon. The
    # entry carries `planned`; the agent applies the horizon on each cycle.
    return held | wanted


FEED_FIELDS = (
    "public_id",
    "number",
    "year",
    "revision",
    "change_seq",
    "deleted_at",
    "quarantined_until",
    "in_conflict",
    "files_size",
    "appointment_at",
)


def change_entry(
    *,
    public_id: Any,
    number: str,
    year: int,
    revision: str,
    change_seq: int,
    deleted_at: datetime | None,
    quarantined_until: datetime | None,
    in_conflict: bool,
    files_size: int,
    appointment_at: datetime | None,
) -> dict[str, Any]:
    """A dossier as the change feed (and the exchange zone) describe it to a station."""
    return {
        "id": str(public_id),
        "number": number,
        "year": year,
        "rev": revision,
        "seq": change_seq,
        "deleted": deleted_at is not None,
        "quarantined_until": quarantined_until,
        "conflict": in_conflict,
        "size": files_size,
        "planned": timezone.localtime(appointment_at).date() if appointment_at else None,
    }


def change_entry_of(dossier: Dossier) -> dict[str, Any]:
    return change_entry(**{name: getattr(dossier, name) for name in FEED_FIELDS})


def changes(station: Station, since: int, limit: int) -> dict[str, Any]:
    if since < 0:
        raise DomainError(_("`since` cannot be negative."), details={"field": "since"})
    limit = max(1, min(limit, MAX_FEED))
    org = station.organization
    upper = current_sequence(org)  # read first: what commits later has a higher sequence
    # A checkpoint beyond the organisation's sequence was given by a hub that has since
    # gone back (restored from a backup): the station reads the whole feed again, or it
    # would miss every change until the sequence caught up.
    reset = since > upper
    if reset:
        since = 0
    effective = station_options.effective(station)
    rows = list(
        Dossier.objects.filter(organization=org, change_seq__gt=since)
        .filter(feed_filter(station, effective))
        .order_by("change_seq")
        .values(*FEED_FIELDS)[: limit + 1]
    )
    done = len(rows) <= limit
    rows = rows[:limit]
    results = [change_entry(**row) for row in rows]
    last: int = results[-1]["seq"] if results else since
    # A finished feed moves the checkpoint to the organisation's sequence even when the
    # filter kept nothing, so the next poll does not scan the same range again.
    next_seq = max(last, upper, since) if done else last
    return {"results": results, "next": next_seq, "done": done, "reset": reset}


# --- dossiers: push, fetch, conflicts ---------------------------------------------------


@dataclass
class PushResult:
    id: str
    status: str
    rev: str | None = None
    seq: int | None = None
    head_rev: str | None = None
    head_seq: int | None = None
    number: str | None = None
    code: str | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _rejected(item_id: str, code: str, message: str, **details: Any) -> PushResult:
    return PushResult(item_id, "rejected", code=code, message=message, details=details)


def _number_sequence(number: str) -> int:
    digits = re.search(r"(\d+)\D*$", number)
    return int(digits.group(1)) % 2_000_000_000 if digits else 0


def push(station: Station, items: list[dict[str, Any]]) -> list[PushResult]:
    """Write dossiers sent by a station; each item stands alone."""
    require(station, Action.CHANGE)
    if len(items) > MAX_PUSH:
        raise DomainError(
            _("At most %(max)s dossiers per request.") % {"max": MAX_PUSH},
            code="too_many",
            details={"max": MAX_PUSH},
        )
    org = station.organization
    source = f"station:{station.name}"
    hashes = {
        entry.get("sha256")
        for item in items
        if isinstance(item.get("document"), dict)
        for entry in (item["document"].get("files") or [])
        if isinstance(entry, dict)
    }
    stored = dict(
        Blob.objects.filter(
            organization=org,
            sha256__in=one_of([h for h in hashes if isinstance(h, str)]),
            purged_at__isnull=True,  # bytes removed by a clean-up must be sent again
        ).values_list("sha256", "size")
    )
    # A file a restricted station may not name is one the hub does not have, for it.
    known = {sha: stored[sha] for sha in nameable_hashes(station, stored)}
    materializer = exchange.Materializer(org)
    checked = [_check_item(item, known) for item in items]  # no database: once per item
    # Reads only, and no lock: the new dossiers' rows, while another push may be writing
    answered, creation = _plan_creation(station, checked, materializer, source)
    with transaction.atomic():
        created = _create_in_bulk(station, creation, materializer) if creation else {}
        answered.update(created)  # held already (`_create_in_bulk`)
        answered.update(_update_in_bulk(station, checked, answered, materializer, source))
        for index, item in enumerate(items):
            if index in answered:
                continue
            try:
                with transaction.atomic():
                    answered[index] = _push_one(station, item, checked[index], materializer, source)
            except IntegrityError:
                answered[index] = _rejected(
                    str(item.get("id")),
                    "retry",
                    _("Another write touched this dossier at the same time: send it again."),
                )
        results = [answered[index] for index in range(len(items))]
        held = [
            result.id
            for index, result in enumerate(results)
            if result.status in {"accepted", "unchanged", "conflict"} and index not in created
        ]
        _hold(station, held)
        counts: dict[str, int] = {}
        for result in results:
            counts[result.status] = counts.get(result.status, 0) + 1
        if counts.get("accepted") or counts.get("conflict"):
            audit.record(
                "sync.push",
                organization=org,
                actor=station.membership.user,
                object_type="station",
                object_id=str(station.public_id),
                object_repr=station.name,
                after=counts,
            )
    return results


def _hold(station: Station, public_ids: Iterable[str]) -> None:
    _hold_keys(
        station,
        Dossier.objects.filter(
            organization=station.organization, public_id__in=one_of_uuids(public_ids)
        ).values_list("pk", flat=True),
    )


def _hold_keys(station: Station, keys: Iterable[int]) -> None:
    """Note that the station holds these dossiers (database keys)."""
    StationDossier.objects.bulk_create(
        [StationDossier(station=station, dossier_id=pk) for pk in keys], ignore_conflicts=True
    )


def _check_item(item: dict[str, Any], known: Mapping[str, int]) -> Checked:
    """What can be said of a pushed item without the database: its rejection, or
    (id, document, rev, base_rev). `known`: the size of each file the hub has for the
    station, by SHA-256."""
    item_id = str(item.get("id", ""))
    document = item.get("document")
    rev = item.get("rev")
    base_rev = item.get("base_rev") or None
    try:
        exchange.validate(document)
    except exchange.DocumentErrors as exc:
        return _rejected(
            item_id, "invalid", _("The dossier document is not valid: %s") % exc, errors=exc.errors
        )
    assert isinstance(document, dict)
    if document["id"] != item_id:
        return _rejected(item_id, "invalid", _("The document's id differs from the item's id."))
    if not isinstance(rev, str) or not REV_RE.match(rev):
        return _rejected(item_id, "invalid", _("`rev` must look like 3-<32 hex digits>."))
    if base_rev is not None and not (isinstance(base_rev, str) and REV_RE.match(base_rev)):
        return _rejected(item_id, "invalid", _("`base_rev` must be a revision id or null."))
    if rev != exchange.revision_id(document, base_rev):
        return _rejected(
            item_id,
            "bad_rev",
            _("`rev` does not match the document and its base (see the protocol)."),
            expected=exchange.revision_id(document, base_rev),
        )
    files = document.get("files", [])
    # The bytes are the hub's: a size the station gives is checked against them (a wrong
    # one was recorded as it came, and a number over 2^63 was a 500).
    wrong = [
        {
            "loc": ["files", index, "size"],
            "msg": f"the hub holds this file with {known[entry['sha256']]} bytes",
        }
        for index, entry in enumerate(files)
        if entry["sha256"] in known and known[entry["sha256"]] != entry["size"]
    ]
    if wrong:
        return _rejected(
            item_id,
            "invalid",
            _("The dossier document is not valid: %s")
            % "; ".join(f"files.{e['loc'][1]}.size: {e['msg']}" for e in wrong),
            errors=wrong,
        )
    missing = sorted({entry["sha256"] for entry in files} - known.keys())
    if missing:
        return _rejected(
            item_id,
            "missing_blobs",
            _("Send the files first: %(count)s are missing on the hub.") % {"count": len(missing)},
            missing=missing,
        )
    return item_id, document, rev, base_rev


Checked = PushResult | tuple[str, dict[str, Any], str, str | None]


@dataclass
class _Creation:
    """New dossiers of a push, their rows prepared before the write lock (`_plan_creation`)
    and written under it (`_create_in_bulk`)."""

    chosen: dict[int, tuple[str, dict[str, Any], str]]
    dossiers: dict[int, Dossier]
    rows: Insert  # the dossiers'; their change sequence and parties are set under the lock
    documents: Insert  # each row's dossier key is set under the lock
    document_owners: list[int]  # the index of each document row's dossier
    revisions: Insert


def _plan_creation(
    station: Station,
    checked_items: list[Checked],
    materializer: exchange.Materializer,
    source: str,
) -> tuple[dict[int, PushResult], _Creation | None]:
    """What can be answered for the whole batch at once, found without the write lock:
    the rejections found without the database, and the new dossiers (an id and a number
    the hub has never seen), their rows prepared, to be created by `_create_in_bulk` with
    a few queries in all instead of a dozen each. Nothing is written here: two pushes
    prepare their rows side by side and only take turns to write them.

    Anything else (an update, a number to give again, a race with another writer)
    is left to `_push_one`, item by item: the answers are the same either way.
    """
    org = station.organization
    answered: dict[int, PushResult] = {}
    fresh: dict[int, tuple[str, dict[str, Any], str]] = {}
    for index, checked in enumerate(checked_items):
        if isinstance(checked, PushResult):
            answered[index] = checked
        elif checked[3] is None:
            fresh[index] = checked[:3]
    if len(fresh) < 2:
        return answered, None
    seen_ids = {
        str(value)
        for value in Dossier.objects.filter(
            public_id__in=one_of_uuids(item_id for item_id, _doc, _rev in fresh.values())
        ).values_list("public_id", flat=True)
    }
    taken = set(
        Dossier.objects.filter(
            organization=org,
            number__in=one_of([doc["number"] for _id, doc, _rev in fresh.values()]),
        ).values_list("number", flat=True)
    )
    chosen: dict[int, tuple[str, dict[str, Any], str]] = {}
    for index, (item_id, document, rev) in fresh.items():
        if item_id in seen_ids or document["number"] in taken:
            continue  # an update, a retry or a number to give again: one by one
        seen_ids.add(item_id)
        taken.add(document["number"])
        chosen[index] = (item_id, document, rev)
    if len(chosen) < 2:
        return answered, None
    now = timezone.now()
    dossiers: dict[int, Dossier] = {}
    for index, (item_id, document, rev) in chosen.items():
        dossier = Dossier(
            organization=org,
            public_id=item_id,
            number=document["number"],
            sequence=_number_sequence(document["number"]),
            created_by=station.membership.user,
            revision=rev,
            change_seq=0,  # taken under the lock
            files_size=sum(entry["size"] for entry in document.get("files", [])),
        )
        materializer.fill(dossier, document, create_contacts=False)
        dossiers[index] = dossier
    owners: list[int] = []
    document_rows: list[dict[str, Any]] = []
    for index, (_id, document, _rev) in chosen.items():
        files = document.get("files", [])
        rows = materializer.document_rows(
            None,
            files,
            source=source,
            paths={entry["sha256"]: blob_path(org, entry["sha256"]) for entry in files},
            now=now,
        )
        document_rows.extend(rows)
        owners.extend([index] * len(rows))
    revisions = [
        {
            "dossier_id": None,
            "rev": rev,
            "base_rev": "",
            "document": document,
            "source": source[:120],
            "created_at": now,
        }
        for _id, document, rev in chosen.values()
    ]
    return answered, _Creation(
        chosen=chosen,
        dossiers=dossiers,
        rows=Insert(Dossier, object_rows(Dossier, list(dossiers.values()))),
        documents=Insert(Document, document_rows),
        document_owners=owners,
        revisions=Insert(DossierRevision, revisions),
    )


def _create_in_bulk(
    station: Station, creation: _Creation, materializer: exchange.Materializer
) -> dict[int, PushResult]:
    """Write the new dossiers `_plan_creation` prepared, under the write lock, and note
    that the station holds them; {} when another writer got there first (a dossier id
    or a number taken meanwhile): `_push_one` answers them then, one by one."""
    org = station.organization
    chosen, dossiers = creation.chosen, creation.dossiers
    try:
        with transaction.atomic():
            materializer.settle_parties(
                (dossiers[index], document) for index, (_id, document, _rev) in chosen.items()
            )
            objects = list(dossiers.values())
            creation.rows.set("ordering_party_id", [d.ordering_party_id for d in objects])
            creation.rows.set("search_text", [d.search_text for d in objects])
            last = exchange.next_sequences(org, len(objects))
            for offset, dossier in enumerate(objects):
                dossier.change_seq = last - len(objects) + 1 + offset
            creation.rows.set("change_seq", [d.change_seq for d in objects])
            creation.rows.run()
            give_keys(Dossier, objects, key="public_id")
            insert_rows(
                Mission,
                [
                    {
                        "dossier_id": dossiers[index].pk,
                        "mission_type_id": materializer.mission_type(code).pk,
                    }
                    for index, (_id, document, _rev) in chosen.items()
                    for code in dict.fromkeys(document["missions"])
                ],
            )
            creation.documents.set(
                "dossier_id", [dossiers[index].pk for index in creation.document_owners]
            )
            creation.documents.run()
            creation.revisions.set("dossier_id", [d.pk for d in objects])
            creation.revisions.run()
            # New dossiers: the station holds them, and no one else can have said so yet
            insert_rows(
                StationDossier, [{"station_id": station.pk, "dossier_id": d.pk} for d in objects]
            )
    except IntegrityError:  # another writer got there first: item by item, as usual
        materializer.forget()  # what it created in the savepoint is gone
        return {}
    return {
        index: PushResult(
            str(dossier.public_id),
            "accepted",
            rev=dossier.revision,
            seq=dossier.change_seq,
            number=dossier.number,
        )
        for index, dossier in dossiers.items()
    }


def _update_in_bulk(
    station: Station,
    checked_items: list[Checked],
    answered: dict[int, PushResult],
    materializer: exchange.Materializer,
    source: str,
) -> dict[int, PushResult]:
    """Answer the plain updates of the batch together: a dossier of the organisation this
    station may write, neither deleted nor in quarantine, whose head is the item's base,
    that keeps its number and does not have this revision yet. Their records are compared
    and written with a few queries for the whole batch instead of a dozen each.

    Anything else (a conflict, a retry, a new number, a race) is left to `_push_one`: the
    answers and the records are the same either way.
    """
    org = station.organization
    updates = {
        index: checked
        for index, checked in enumerate(checked_items)
        if index not in answered and not isinstance(checked, PushResult) and checked[3]
    }
    if len(updates) < 2:
        return {}
    found = {
        str(dossier.public_id): dossier
        for dossier in Dossier.objects.select_for_update().filter(
            organization=org, public_id__in=one_of_uuids(c[0] for c in updates.values())
        )
    }
    chosen: dict[int, Dossier] = {}
    taken: set[int] = set()
    for index, (item_id, document, _rev, base_rev) in updates.items():
        dossier = found.get(item_id)
        if (
            dossier is None
            or dossier.deleted_at is not None
            or dossier.quarantined_until is not None
            or dossier.revision != base_rev
            or dossier.number != document["number"]
            or dossier.pk in taken  # twice in one batch: the second one by one
        ):
            continue
        chosen[index] = dossier
        taken.add(dossier.pk)
    writable = _writable(station, chosen.values())
    chosen = {index: dossier for index, dossier in chosen.items() if dossier.pk in writable}
    keys = [dossier.pk for dossier in chosen.values()]
    if len(keys) < 2:
        return {}
    written = set(
        DossierRevision.objects.filter(
            dossier_id__in=keys, rev__in=[updates[index][2] for index in chosen]
        ).values_list("dossier_id", "rev")
    )
    chosen = {i: d for i, d in chosen.items() if (d.pk, updates[i][2]) not in written}
    if len(chosen) < 2:
        return {}
    missions: dict[int, dict[int, int]] = {pk: {} for pk in keys}
    for pk, dossier_id, type_id in Mission.objects.filter(dossier_id__in=keys).values_list(
        "pk", "dossier_id", "mission_type_id"
    ):
        missions[dossier_id][type_id] = pk
    files: dict[int, dict[str, tuple[int, str]]] = {pk: {} for pk in keys}
    for pk, dossier_id, name, sha in Document.objects.filter(
        dossier_id__in=keys, removed_at__isnull=True
    ).values_list("pk", "dossier_id", "name", "sha256"):
        files[dossier_id][name] = (pk, sha)
    now = timezone.now()
    gone_missions: list[int] = []
    new_missions: list[dict[str, Any]] = []
    stale: list[int] = []
    new_files: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    try:
        with transaction.atomic():
            last = exchange.next_sequences(org, len(chosen))
            for offset, (index, dossier) in enumerate(chosen.items()):
                _item_id, document, rev, base_rev = updates[index]
                dossier.organization = org  # known: not read again for each dossier
                materializer.fill(dossier, document)
                gone, rows = materializer.missions_delta(
                    dossier, document["missions"], missions[dossier.pk]
                )
                gone_missions += gone
                new_missions += rows
                manifest = document.get("files", [])
                paths = {entry["sha256"]: blob_path(org, entry["sha256"]) for entry in manifest}
                gone, rows = materializer.files_delta(
                    dossier, manifest, files[dossier.pk], source=source, paths=paths, now=now
                )
                stale += gone
                new_files += rows
                revisions.append(
                    {
                        "dossier_id": dossier.pk,
                        "rev": rev,
                        "base_rev": base_rev or "",
                        "document": document,
                        "source": source[:120],
                        "created_at": now,
                    }
                )
                # The fields and the new head go to the dossier's row in one UPDATE.
                dossier.revision = rev
                dossier.change_seq = last - len(chosen) + 1 + offset
                dossier.files_size = sum(entry["size"] for entry in manifest)
                dossier.save()
            if gone_missions:
                Mission.objects.filter(pk__in=gone_missions).delete()
            insert_rows(Mission, new_missions)
            if stale:
                Document.objects.filter(pk__in=stale).update(removed_at=now)
            insert_rows(Document, new_files)
            insert_rows(DossierRevision, revisions)
    except IntegrityError:  # another writer got there first: item by item, as usual
        materializer.forget()  # what it created in the savepoint is gone
        return {}
    return {
        index: PushResult(
            str(dossier.public_id),
            "accepted",
            rev=dossier.revision,
            seq=dossier.change_seq,
            number=dossier.number,
        )
        for index, dossier in chosen.items()
    }


def _push_one(
    station: Station,
    item: dict[str, Any],
    checked: Checked,
    materializer: exchange.Materializer,
    source: str,
) -> PushResult:
    org = station.organization
    if isinstance(checked, PushResult):
        return checked
    item_id, document, rev, base_rev = checked
    dossier = Dossier.objects.select_for_update().filter(public_id=item_id).first()
    if dossier is not None and (
        dossier.organization_id != org.pk or not _may_write(station, dossier)
    ):
        return _rejected(item_id, "not_found", _("Dossier not found."))
    if dossier is not None:
        dossier.organization = org  # known: not read again for each dossier
    if dossier is None:
        return _create_from_station(station, document, rev, materializer, source)
    if dossier.deleted_at is not None:
        return _rejected(item_id, "deleted", _("This dossier was deleted on the web."))
    if dossier.quarantined_until is not None:
        return _rejected(
            item_id,
            "quarantined",
            _(
                "The cloud copy of this dossier is scheduled for removal: move the date "
                "“send dossiers dated after” of this station past it."
            ),
        )
    existing = DossierRevision.objects.filter(dossier=dossier, rev=rev).first()
    if existing is not None:
        return PushResult(
            item_id,
            "conflict" if existing.is_conflict and existing.resolved_at is None else "unchanged",
            rev=rev,
            seq=dossier.change_seq,
            head_rev=dossier.revision,
            head_seq=dossier.change_seq,
            number=dossier.number,
        )
    if (base_rev or "") != dossier.revision and _follows_own_write(dossier, base_rev, item, source):
        base_rev = dossier.revision
    if (base_rev or "") != dossier.revision:
        DossierRevision.objects.create(
            dossier=dossier,
            rev=rev,
            base_rev=base_rev or "",
            document=document,
            is_conflict=True,
            source=source,
        )
        Dossier.objects.filter(pk=dossier.pk).update(in_conflict=True)
        dossier.in_conflict = True
        exchange.bump(dossier)
        return PushResult(
            item_id,
            "conflict",
            rev=rev,
            seq=dossier.change_seq,
            head_rev=dossier.revision,
            head_seq=dossier.change_seq,
            number=dossier.number,
            code="conflict",
            message=_("The dossier changed on the cloud since this station last saw it."),
        )
    if document["number"] != dossier.number:
        taken = (
            Dossier.objects.filter(organization=org, number=document["number"])
            .exclude(pk=dossier.pk)
            .exists()
        )
        if taken:
            return _rejected(
                item_id,
                "number_taken",
                _("Another dossier already has the number %(number)s.")
                % {"number": document["number"]},
            )
        dossier.number = document["number"]
    # The fields and the new head go to the dossier's row in one UPDATE.
    _materialize(dossier, document, materializer, source, save=False)
    exchange.commit_revision(
        dossier, document, source=source, base_rev=base_rev, rev=rev, saved=False
    )
    return PushResult(item_id, "accepted", rev=rev, seq=dossier.change_seq, number=dossier.number)


def _materialize(
    dossier: Dossier,
    document: dict[str, Any],
    materializer: exchange.Materializer,
    source: str,
    *,
    save: bool = True,
) -> None:
    """The dossier's records from the document: its fields (saved unless told not to,
    for a dossier that exists already), missions and document list."""
    materializer.fill(dossier, document)
    if save:
        dossier.save()
    materializer.set_missions(dossier, document["missions"])
    paths = {
        entry["sha256"]: blob_path(dossier.organization, entry["sha256"])
        for entry in document.get("files", [])
    }
    materializer.set_files(dossier, document.get("files", []), source=source, paths=paths)


def _follows_own_write(
    dossier: Dossier, base_rev: str | None, item: dict[str, Any], source: str
) -> bool:
    """Whether the head is this station's own earlier write whose answer it never got.

    The station names in `sent` the revisions it sent since its last acknowledged one.
    When the head goes back through those revisions alone to the station's base, the new
    version was made on top of them (the station had them on disk): it follows the head,
    not a conflict with it. Naming revisions it did not send gains a station nothing: it
    could as well name the head as its base; and only revisions written by this
    station count.
    """
    sent = item.get("sent")
    if not isinstance(sent, list) or not sent:
        return False
    sent_revs = {value for value in sent[:MAX_SENT] if isinstance(value, str)}
    bases = dict(
        DossierRevision.objects.filter(
            dossier=dossier, rev__in=sent_revs, is_conflict=False, source=source[:120]
        ).values_list("rev", "base_rev")
    )
    rev, steps = dossier.revision, 0
    while rev in bases and steps <= len(bases):
        if bases[rev] == (base_rev or ""):
            return True
        rev, steps = bases[rev], steps + 1
    return False


def _may_write(station: Station, dossier: Dossier) -> bool:
    return dossier.pk in _writable(station, [dossier])


def _writable(station: Station, dossiers: Iterable[Dossier]) -> set[int]:
    """The keys of those of `dossiers` (its organisation's) a station may write: all of
    them for a member who sees every dossier, else those assigned to the member and
    those the station holds (one query for the rest)."""
    member = station.membership
    dossiers = list(dossiers)
    if sees_every_dossier(member):
        return {dossier.pk for dossier in dossiers}
    keys = {dossier.pk for dossier in dossiers if dossier.technician_id == member.pk}
    others = [dossier.pk for dossier in dossiers if dossier.pk not in keys]
    if others:
        keys.update(
            StationDossier.objects.filter(station=station, dossier_id__in=others).values_list(
                "dossier_id", flat=True
            )
        )
    return keys


def _create_from_station(
    station: Station,
    document: dict[str, Any],
    rev: str,
    materializer: exchange.Materializer,
    source: str,
) -> PushResult:
    org = station.organization
    number = document["number"]
    original_rev, sent = rev, document
    dossier = Dossier(
        organization=org,
        public_id=document["id"],
        number=number,
        sequence=_number_sequence(number),
        created_by=station.membership.user,
    )
    if Dossier.objects.filter(organization=org, number=number).exists():
        # Two stations gave the same number offline: the hub gives this one a new number.
        sequence, number = allocate_number(org, document["year"])
        document = {**document, "number": number}
        dossier.number, dossier.sequence = number, sequence
        rev = exchange.revision_id(document, None)
    _materialize(dossier, document, materializer, source)
    if rev != original_rev:
        # The station's version as it sent it: its revision id names that content.
        DossierRevision.objects.create(
            dossier=dossier, rev=original_rev, document=sent, source=f"{source} (renumbered)"
        )
    exchange.commit_revision(dossier, document, source=source, base_rev="", rev=rev)
    return PushResult(
        str(dossier.public_id), "accepted", rev=rev, seq=dossier.change_seq, number=dossier.number
    )


def fetch(station: Station, ids: list[str]) -> bytes:
    """The JSON body of dossiers/fetch: {"dossiers": [{id, rev, seq, deleted, conflict,
    document}]}, for the dossiers among `ids` the station may read.

    Each head document goes out as the database holds its JSON: decoding, validating
    and encoding again hundreds of documents per request cost more than the queries.
    """
    require(station, Action.VIEW)
    if len(ids) > MAX_FETCH:
        raise DomainError(
            _("At most %(max)s dossiers per request.") % {"max": MAX_FETCH}, code="too_many"
        )
    valid = [value for value in ids if isinstance(value, str) and exchange.UUID_RE.match(value)]
    dossiers = list(
        Dossier.objects.filter(organization=station.organization, public_id__in=valid)
        .filter(visible_to(station))
        .only("public_id", "revision", "change_seq", "deleted_at", "in_conflict")
    )
    # Each dossier's head through the join: two IN lists (ids × revs) made SQLite probe
    # every pair, 500 × 500 of them for a full request.
    # The revision goes with its document: a write between the two queries moves the
    # head, and the answer must pair the rev it names with that rev's content.
    heads: dict[int, tuple[str, str | None]] = {
        dossier_id: (rev, document)
        for dossier_id, rev, document in DossierRevision.objects.filter(
            dossier__in=[dossier.pk for dossier in dossiers], rev=F("dossier__revision")
        )
        .order_by()
        .values_list("dossier_id", "rev", Cast("document", TextField()))
    }
    items = []
    for dossier in dossiers:
        if dossier.pk in heads:
            dossier.revision, document = heads[dossier.pk]
        else:
            document = None
        if document in (None, "null") and dossier.deleted_at is None:
            dossier = Dossier.objects.get(pk=dossier.pk)  # its first revision, made now
            exchange.touch(dossier, source="hub")
            document = json.dumps(exchange.head_document(dossier))
        deleted = dossier.deleted_at is not None
        items.append(
            f'{{"id":"{dossier.public_id}","rev":{json.dumps(dossier.revision)},'
            f'"seq":{int(dossier.change_seq)},"deleted":{json.dumps(deleted)},'
            f'"conflict":{json.dumps(bool(dossier.in_conflict))},"document":{document or "null"}}}'
        )
    _hold_keys(station, [dossier.pk for dossier in dossiers if dossier.deleted_at is None])
    return ('{"dossiers":[' + ",".join(items) + "]}").encode("utf-8")


def dossier_of(station: Station, public_id: str) -> Dossier:
    """One dossier the station may see, or NotFound (another organisation's, or another
    technician's for an account that sees only its own)."""
    if not exchange.UUID_RE.match(str(public_id)):
        raise NotFound(_("Dossier not found."))
    dossier = (
        Dossier.objects.filter(organization=station.organization, public_id=public_id)
        .filter(visible_to(station))
        .first()
    )
    if dossier is None:
        raise NotFound(_("Dossier not found."))
    return dossier


def conflicts(dossier: Dossier) -> dict[str, Any]:
    open_revisions = DossierRevision.objects.filter(
        dossier=dossier, is_conflict=True, resolved_at__isnull=True
    )
    return {
        "head": {"rev": dossier.revision, "document": exchange.head_document(dossier)},
        "conflicts": [
            {
                "rev": revision.rev,
                "base_rev": revision.base_rev or None,
                "station": revision.source.removeprefix("station:"),
                "created_at": revision.created_at,
                "document": revision.document,
            }
            for revision in open_revisions
        ],
    }


@transaction.atomic
def resolve(
    dossier: Dossier,
    *,
    keep: str,
    head_rev: str,
    document: dict[str, Any] | None,
    source: str,
    actor: User | None,
    station: Station | None = None,
) -> Dossier:
    """Close a dossier's open conflicts; the kept version becomes the head. Nothing is deleted.

    A `station` (the caller of the station API) names only the files it may name
    (`nameable_hashes`): any other is answered as missing."""
    if keep not in {"local", "cloud", "both"}:
        raise DomainError(_("`keep` must be local, cloud or both."), details={"field": "keep"})
    dossier = Dossier.objects.select_for_update().get(pk=dossier.pk)
    if dossier.revision != head_rev:
        raise Conflict(
            _("The dossier changed again on the cloud: look at it again before choosing."),
            code="head_moved",
            details={"head_rev": dossier.revision},
        )
    materializer = exchange.Materializer(dossier.organization)
    if keep != "cloud":
        if document is None:
            raise DomainError(_("Send the version to keep."), details={"field": "document"})
        try:
            exchange.validate(document)
        except exchange.DocumentErrors as exc:
            raise Unprocessable(
                _("The dossier document is not valid: %s") % exc,
                details={"errors": exc.errors},
            ) from None
        if document["id"] != str(dossier.public_id):
            raise DomainError(_("The document's id differs from the dossier's id."))
        hashes = {entry["sha256"] for entry in document.get("files", [])}
        have = set(
            Blob.objects.filter(
                organization=dossier.organization, sha256__in=hashes, purged_at__isnull=True
            ).values_list("sha256", flat=True)
        )
        if station is not None:
            have = nameable_hashes(station, have)
        if hashes - have:
            raise Unprocessable(
                _("Send the files first."),
                code="missing_blobs",
                details={"missing": sorted(hashes - have)},
            )
        document = {**document, "number": dossier.number}
        _materialize(dossier, document, materializer, source)
        exchange.commit_revision(dossier, document, source=source)
    else:
        exchange.bump(dossier)
    closed = DossierRevision.objects.filter(
        dossier=dossier, is_conflict=True, resolved_at__isnull=True
    ).update(resolved_at=timezone.now())
    Dossier.objects.filter(pk=dossier.pk).update(in_conflict=False)
    dossier.in_conflict = False
    audit.record(
        "sync.resolve",
        organization=dossier.organization,
        actor=actor,
        target=dossier,
        after={"keep": keep, "closed": closed, "rev": dossier.revision, "by": source},
    )
    return dossier


# --- blobs ---------------------------------------------------------------------------


def _check_hashes(hashes: Any, limit: int = MAX_HASHES) -> list[str]:
    if not isinstance(hashes, list) or len(hashes) > limit:
        raise Unprocessable(
            _("`hashes` must be a list of at most %(max)s SHA-256.") % {"max": limit},
            details={"field": "hashes"},
        )
    bad = [value for value in hashes if not (isinstance(value, str) and HASH_RE.match(value))]
    if bad:
        raise Unprocessable(
            _("Not a SHA-256 (64 lower-case hex digits): %(value)s") % {"value": str(bad[0])[:80]},
            details={"field": "hashes"},
        )
    return hashes


def missing(org: Organization, hashes: list[str], among: Q | None = None) -> list[str]:
    """Those of `hashes` whose bytes the hub does not keep, or (with `among`, a filter
    of `Blob`) keeps outside it."""
    wanted = _check_hashes(hashes)
    stored = Blob.objects.filter(
        organization=org, sha256__in=one_of(wanted), purged_at__isnull=True
    )
    if among is not None:
        stored = stored.filter(among)
    have = set(stored.values_list("sha256", flat=True))
    return [value for value in dict.fromkeys(wanted) if value not in have]


def _reserve(org: Organization, size: int, *, check_only: bool = False) -> None:
    try:
        (check_storage if check_only else reserve_storage)(org, size)
    except DomainError as exc:
        if exc.code == "quota_exceeded":
            raise QuotaExceeded(exc.message, details=exc.details) from None
        raise


def _register_blobs(org: Organization, found: dict[str, int]) -> int:
    """Record new blobs; returns the bytes that were already recorded (to give back).

    A batch brings thousands of small files: one query finds those already recorded
    and one bulk insert records the others. Should a concurrent request record some
    of them in between, the insert fails as a whole and they go one by one instead.
    """
    if not found:
        return 0
    duplicate = 0
    rows = list(
        Blob.objects.filter(organization=org, sha256__in=one_of(list(found))).values_list(
            "pk", "sha256", "purged_at"
        )
    )
    purged = [pk for pk, _sha, purged_at in rows if purged_at is not None]
    duplicate += sum(found[sha] for _pk, sha, purged_at in rows if purged_at is None)
    if purged:
        Blob.objects.filter(pk__in=purged).update(purged_at=None)
    recorded = {sha for _pk, sha, _purged in rows}
    new = {sha: size for sha, size in found.items() if sha not in recorded}
    try:
        with transaction.atomic():
            now = timezone.now()
            insert_rows(
                Blob,
                [
                    {"organization_id": org.pk, "sha256": sha, "size": size, "created_at": now}
                    for sha, size in new.items()
                ],
            )
    except IntegrityError:
        for sha, size in new.items():
            _blob, created = Blob.objects.get_or_create(
                organization=org, sha256=sha, defaults={"size": size}
            )
            if not created:
                if _blob.purged_at is not None:
                    Blob.objects.filter(pk=_blob.pk).update(purged_at=None)
                else:
                    duplicate += size
    return duplicate


def _batch_payloads(raw: memoryview, length: int) -> dict[str, memoryview]:
    """The files of a batch body (protocol.md), each checked against its hash: sha256 →
    its bytes, as views of `raw` (not copies: valid only while the body is)."""
    start = bytes(raw[: 1024 * 1024])  # the manifest line is at most 1 MiB
    end = start.find(b"\n")
    header = start[: end + 1] if end >= 0 else start
    try:
        manifest = json.loads(header)
    except ValueError:
        raise DomainError(
            _("The first line of the batch must be a JSON list of {sha256, size}."),
            details={"line": 1},
        ) from None
    if not isinstance(manifest, list) or not all(
        isinstance(entry, dict)
        and isinstance(entry.get("sha256"), str)
        and HASH_RE.match(entry["sha256"])
        and isinstance(entry.get("size"), int)
        and not isinstance(entry.get("size"), bool)
        and 0 <= entry["size"] <= MAX_BATCH_BLOB
        for entry in manifest
    ):
        raise DomainError(
            _("Each entry of the batch must be {sha256: 64 hex digits, size: 0 to 4 MiB}."),
            details={"line": 1},
        )
    total = sum(entry["size"] for entry in manifest)
    if total + len(header) != length:
        raise DomainError(
            _("The batch announces %(announced)s bytes but carries %(sent)s.")
            % {"announced": total, "sent": max(length - len(header), 0)},
            code="size_mismatch",
        )
    body = raw[len(header) :]
    payloads: dict[str, memoryview] = {}
    offset = 0
    for index, entry in enumerate(manifest):
        data = body[offset : offset + entry["size"]]
        offset += entry["size"]
        if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise HashMismatch(
                _("File %(index)s of the batch does not match its SHA-256: nothing was stored.")
                % {"index": index + 1},
                details={"index": index, "sha256": entry["sha256"]},
            )
        payloads[entry["sha256"]] = data
    return payloads


def store_batch(org: Organization, stream: BinaryIO, length: int) -> dict[str, list[str]]:
    """Read the batch framing (protocol.md); check every hash before storing any."""
    if length > MAX_BATCH_BYTES + 1024 * 1024:
        raise DomainError(
            _("A batch holds at most 32 MiB; send big files as uploads."), code="too_large"
        )
    # One read of the whole body: reading the manifest line first went through the WSGI
    # server's readline, which copies its read-ahead buffer for every KiB of the line.
    # The files are written from it as they are, not copied out first (80 MB of copies
    # for tree A's 10,000 files).
    with blobs.read_body(stream, length) as raw:
        payloads = _batch_payloads(raw, length)
        have = set(
            Blob.objects.filter(
                organization=org, sha256__in=one_of(list(payloads)), purged_at__isnull=True
            ).values_list("sha256", flat=True)
        )
        new = {sha: data for sha, data in payloads.items() if sha not in have}
        sizes = {sha: len(data) for sha, data in new.items()}
        size = sum(sizes.values())
        _reserve(org, size, check_only=True)
        blobs.put_many(org, new)
    with transaction.atomic():  # the blobs and the bytes they count, or neither
        duplicate = _register_blobs(org, sizes)
        _reserve(org, size - duplicate)
    return {"stored": list(sizes), "existing": [sha for sha in payloads if sha in have]}


def blob_sizes(org: Organization, hashes: list[str]) -> dict[str, int]:
    return dict(
        Blob.objects.filter(
            organization=org, sha256__in=one_of(hashes), purged_at__isnull=True
        ).values_list("sha256", "size")
    )


def fetch_batch(
    org: Organization, hashes: list[str], readable: set[str] | None = None
) -> tuple[int, Iterator[bytes]]:
    """The batch framing of these blobs (protocol.md): its length, and its bytes in pieces
    of about 1 MiB (thousands of small blobs would otherwise be as many writes).

    A hash outside `readable` (`readable_hashes`) is answered as one the hub does not have.
    """
    wanted = list(dict.fromkeys(_check_hashes(hashes)))
    sizes = blob_sizes(org, wanted)
    if readable is not None:
        sizes = {sha: size for sha, size in sizes.items() if sha in readable}
    absent = [sha for sha in wanted if sha not in sizes]
    if absent:
        raise NotFound(
            _("The hub does not have %(count)s of these files.") % {"count": len(absent)},
            details={"missing": absent},
        )
    if sum(sizes.values()) > MAX_BATCH_BYTES:
        raise DomainError(
            _("Ask for at most 32 MiB per batch; fetch big files one by one."), code="too_large"
        )
    header = json.dumps([{"sha256": sha, "size": sizes[sha]} for sha in wanted]).encode() + b"\n"

    def body() -> Iterator[bytes]:
        pieces, held = [header], len(header)
        for data in blobs.read_many(org, wanted):
            pieces.append(data)
            held += len(data)
            if held >= blobs.CHUNK:
                yield b"".join(pieces)
                pieces, held = [], 0
        if pieces:
            yield b"".join(pieces)

    return len(header) + sum(sizes.values()), body()


# --- resumable uploads -----------------------------------------------------------------------


def _upload_state(upload: Upload) -> dict[str, Any]:
    return {
        "id": str(upload.public_id),
        "offset": upload.offset,
        "chunk_size": CHUNK_SIZE,
        "complete": upload.completed_at is not None,
    }


def start_upload(station: Station, sha256: str, size: int) -> dict[str, Any]:
    require(station, Action.CHANGE)
    org = station.organization
    _check_hashes([sha256])
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_BLOB:
        raise DomainError(
            _("The size must be a number of bytes up to 4 GiB."), details={"field": "size"}
        )
    if size == 0 and sha256 != EMPTY_SHA256:
        # Announced size and hash contradict each other: refused before anything is kept.
        raise DomainError(
            _("An empty file cannot have this SHA-256: the announced size or hash is wrong."),
            code="hash_mismatch",
            details={"field": "sha256"},
        )
    expire_uploads(org)
    stored = Blob.objects.filter(organization=org, sha256=sha256, purged_at__isnull=True).exists()
    # A restricted station sends even a stored file it may not name yet (`missing_for`):
    # its own upload, whose bytes take no quota when the hub has them already.
    if stored and nameable_hashes(station, [sha256]):
        return {"id": None, "offset": size, "chunk_size": CHUNK_SIZE, "complete": True}
    ongoing = (
        Upload.objects.filter(
            organization=org,
            sha256=sha256,
            size=size,
            completed_at__isnull=True,
            abandoned_at__isnull=True,
        )
        # a restricted station resumes only its own: it proves it has every byte
        .filter(Q() if sees_every_dossier(station.membership) else Q(station=station))
        .order_by("-updated_at")
        .first()
    )
    if ongoing is not None:
        return _upload_state(ongoing)
    reserved = 0 if stored else size
    with transaction.atomic():  # the reservation is the upload's: both or neither
        _reserve(org, reserved)
        upload = Upload.objects.create(
            organization=org, station=station, sha256=sha256, size=size, reserved=reserved
        )
    if size == 0:  # no chunk can carry an empty file: it is complete (or refused) now
        _assemble(upload)
        _remember_upload(station, upload)
    return _upload_state(upload)


def _remember_upload(station: Station, upload: Upload) -> None:
    """A station that completed its own upload sent all of its bytes (`remember_sent`)."""
    if upload.station_id == station.pk:
        remember_sent(station, [upload.sha256])


def upload_for(station: Station, public_id: str) -> Upload:
    upload = (
        Upload.objects.filter(organization=station.organization, public_id=public_id)
        .select_related("organization")
        .first()
        if exchange.UUID_RE.match(str(public_id))
        else None
    )
    if upload is None or upload.abandoned_at is not None:
        raise _upload_gone()
    return upload


def _upload_gone() -> NotFound:
    """404 for an upload that does not exist, or no more (expired, dropped)."""
    return NotFound(_("Upload not found (it may have expired): start it again."))


CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)\Z")


def put_chunk(
    station: Station, public_id: str, content_range: str, stream: BinaryIO, length: int
) -> dict[str, Any]:
    require(station, Action.CHANGE)
    upload = upload_for(station, public_id)
    if upload.completed_at is not None:
        return _upload_state(upload)
    match = CONTENT_RANGE.match(content_range.strip())
    if not match:
        raise DomainError(
            _("Send a Content-Range header: bytes START-END/TOTAL."),
            details={"field": "Content-Range"},
        )
    start, end, total = (int(part) for part in match.groups())
    if total != upload.size or end < start or end >= total:
        raise DomainError(
            _("The Content-Range does not fit this upload of %(size)s bytes.")
            % {"size": upload.size},
            details={"field": "Content-Range"},
        )
    if end - start + 1 > MAX_CHUNK or length != end - start + 1:
        raise DomainError(
            _("A chunk carries at most 16 MiB and exactly the bytes its range announces."),
            details={"field": "Content-Range"},
        )
    path = _part_path(upload)
    # On local files the part file is held (locked) from the offset check to the end:
    # two requests carrying the same range are then taken one after the other.
    try:
        held = (
            blobs.PartFile(path, create=upload.offset == 0)
            if path is not None
            else contextlib.nullcontext()
        )
    except blobs.PartBusy:
        raise Conflict(
            _("Another request is storing a chunk of this upload: send it again later."),
            code="upload_busy",
        ) from None
    except FileNotFoundError:  # finished (or dropped) by another request meanwhile
        upload = upload_for(station, public_id)
        if upload.completed_at is not None:
            return _upload_state(upload)
        raise _offset_conflict(upload.offset) from None
    with held as part:
        _check_offset(upload, start)
        stored = (
            part.write(start, stream, length)
            if part is not None
            else blobs.save_piecewise(upload.chunk_name(start), stream, length)
        )
        if not stored:
            raise DomainError(_("The chunk was cut short: send it again."), code="short_chunk")
        with transaction.atomic():
            locked = Upload.objects.select_for_update().get(pk=upload.pk)
            # Expired meanwhile: only possible with chunk objects (no part file to hold).
            expired = locked.abandoned_at is not None
            if not expired:
                if start != locked.offset:  # another request stored this range meanwhile
                    return _upload_state(locked)
                locked.offset = end + 1
                locked.chunks = [*locked.chunks, [start, end]]
                locked.updated_at = timezone.now()
                locked.save(update_fields=["offset", "chunks", "updated_at"])
        if expired:
            if part is None:
                default_storage.delete(upload.chunk_name(start))
            raise _upload_gone()
        if part is not None:
            part.counted()
        if locked.offset == locked.size:
            _assemble(locked, part.digest(locked.size) if part is not None else None)
            _remember_upload(station, locked)
    return _upload_state(locked)


def _check_offset(upload: Upload, start: int) -> None:
    with transaction.atomic():
        locked = Upload.objects.select_for_update().get(pk=upload.pk)
        if locked.abandoned_at is not None:  # expired since `upload_for` read it
            raise _upload_gone()
        if start != locked.offset:
            raise _offset_conflict(locked.offset)


def _offset_conflict(offset: int) -> Conflict:
    """409 `offset_mismatch`: the chunk does not start where the upload is."""
    return Conflict(
        _("The upload is at byte %(offset)s: resume from there.") % {"offset": offset},
        code="offset_mismatch",
        details={"offset": offset},
    )


def _part_path(upload: Upload) -> str | None:
    """The upload's part file on local files; None on another storage, or for an
    upload begun in chunk objects (before part files), which goes on that way."""
    path = blobs.part_path(upload.part_name())
    if path is None or (upload.offset > 0 and not os.path.exists(path)):
        return None
    return path


def _drop_chunks(upload: Upload) -> None:
    """Remove what an upload stored on its way (part file or chunk objects)."""
    path = blobs.part_path(upload.part_name())
    if path is not None and os.path.exists(path):
        os.unlink(path)
    for start, _end in upload.chunks:
        default_storage.delete(upload.chunk_name(start))


def _assemble(upload: Upload, digest: str | None = None) -> None:
    """Make the upload's bytes its blob if they hash to it (`digest`: their hash, when
    it was computed on the way in); else drop them (HashMismatch)."""
    org = upload.organization
    names = [upload.chunk_name(start) for start, _end in upload.chunks]
    part = _part_path(upload)

    def assembled() -> Iterator[bytes]:
        for name in names:
            with default_storage.open(name, "rb") as chunk:
                yield from iter(lambda: chunk.read(blobs.CHUNK), b"")

    if part is not None and upload.size > 0:
        good = blobs.adopt_part(org, upload.sha256, part, digest)  # renamed, not copied
    else:
        good = blobs.put_checked(org, upload.sha256, assembled())
    if not good:
        _abandon(upload, offset=0, chunks=[])
        _drop_chunks(upload)
        raise HashMismatch(
            _("The uploaded bytes do not match their SHA-256: nothing was stored."),
            details={"sha256": upload.sha256},
        )
    with transaction.atomic():  # the upload's reservation becomes the blob's count
        reserved = (
            Upload.objects.select_for_update()
            .filter(pk=upload.pk, completed_at__isnull=True, abandoned_at__isnull=True)
            .values_list("reserved", flat=True)
            .first()
        )
        if reserved is not None:
            Upload.objects.filter(pk=upload.pk).update(completed_at=timezone.now(), reserved=0)
            duplicate = _register_blobs(org, {upload.sha256: upload.size})
            release_storage(org, reserved)
            _reserve(org, upload.size - duplicate)
    upload.completed_at = timezone.now()
    _drop_chunks(upload)


def expire_uploads(org: Organization | None = None) -> int:
    """Give back the quota of uploads left unfinished for 24 hours; drop their chunks."""
    cutoff = timezone.now() - UPLOAD_TTL
    stale = Upload.objects.filter(
        completed_at__isnull=True, abandoned_at__isnull=True, updated_at__lt=cutoff
    ).select_related("organization")
    if org is not None:
        stale = stale.filter(organization=org)
    return sum(_expire(upload, cutoff) for upload in stale)


def _expire(upload: Upload, cutoff: datetime) -> bool:
    """Abandon one stale upload and drop its bytes, holding its part file (on local files)
    as `put_chunk` does: a chunk that arrives meanwhile is either stored first (the upload
    is then no longer stale, and stays) or refused (the upload is gone), never written
    into a file being removed."""
    path = blobs.part_path(upload.part_name())
    held: Any = contextlib.nullcontext()
    if path is not None:
        try:
            held = blobs.PartFile(path, create=False)
        except blobs.PartBusy:  # a chunk is being stored right now: not stale
            return False
        except FileNotFoundError:  # no part file (none yet, or the upload ended): nothing held
            pass
    with held:
        if not _abandon(upload, updated_before=cutoff):
            return False
        _drop_chunks(upload)
    return True


def _abandon(upload: Upload, updated_before: datetime | None = None, **changes: Any) -> bool:
    """Drop an unfinished upload and give its reservation back, in one transaction;
    False when another request finished or dropped it first (or, with `updated_before`,
    stored a chunk since that moment)."""
    with transaction.atomic():
        unfinished = Upload.objects.select_for_update().filter(
            pk=upload.pk, completed_at__isnull=True, abandoned_at__isnull=True
        )
        if updated_before is not None:
            unfinished = unfinished.filter(updated_at__lt=updated_before)
        reserved = unfinished.values_list("reserved", flat=True).first()
        if reserved is None:
            return False
        Upload.objects.filter(pk=upload.pk).update(
            abandoned_at=timezone.now(), reserved=0, **changes
        )
        release_storage(upload.organization, reserved)
    return True


def parse_date(value: Any, field_name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DomainError(
            _("%(field)s must be a date (YYYY-MM-DD).") % {"field": field_name},
            details={"field": field_name},
        ) from None


def as_datetime(value: date) -> datetime:
    return timezone.make_aware(datetime.combine(value, datetime.min.time()))
