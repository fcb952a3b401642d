"""A dossier as the stations see it: the `dossier.json` document, its revisions
and the organisation's change sequence (docs/sync/protocol.md).

Every write to a dossier, from the web or from a station, goes through
`commit_revision`: it takes the next change sequence (the counter row stays
locked until commit, so a change feed reader never skips a sequence) and keeps
the document as a revision. Nothing here deletes anything.
"""

from __future__ import annotations

import functools
import hashlib
import json
import mimetypes
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from comptoir.contacts.models import Contact
from comptoir.core.bulk import insert_rows
from comptoir.core.models import Membership, Organization
from comptoir.core.text import search_key
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import (
    ChangeCounter,
    Document,
    Dossier,
    DossierRevision,
    Mission,
    MissionType,
)

SCHEMA_VERSION = 1
HASH_RE = re.compile(r"^[0-9a-f]{64}\Z")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
MISSION_RE = re.compile(r"^[a-z0-9_-]{1,30}\Z")
SURFACE_RE = re.compile(r"^[0-9]{1,7}(\.[0-9]{1,2})?\Z")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
PROPERTY_TYPES = {"", *Dossier.PropertyType.values}
# Once: a choices enum builds its `values` list anew at each use (thousands per push).
STATUSES = frozenset(Status.values)
TOP_KEYS = {
    "schema",
    "id",
    "number",
    "year",
    "status",
    "created_at",
    "missions",
    "client",
    "property",
    "appointment",
    "operator",
    "custom_fields",
    "files",
}
CLIENT_KEYS = {"name": 200, "email": 254, "phone": 30, "street": 200, "postcode": 10, "city": 100}
PROPERTY_TEXT = {"street": 200, "postcode": 10, "city": 100, "lots": 200, "floor": 30}


# --- canonical form and revision ids -----------------------------------------


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def generation(rev: str | None) -> int:
    if not rev:
        return 0
    head, _sep, _digest = rev.partition("-")
    return int(head) if head.isdigit() else 0


def revision_id(document: dict[str, Any], base_rev: str | None) -> str:
    return f"{generation(base_rev) + 1}-{hashlib.sha256(canonical(document)).hexdigest()[:32]}"


# --- validation ----------------------------------------------------------------


class DocumentErrors(Exception):
    """A document that breaks the schema: every error, each with where it is."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors


def _utf8_size(text: str) -> int:
    """Bytes of `text` in UTF-8; -1 when it has none (half of a character)."""
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        return -1


def safe_file_name(name: Any) -> bool:
    return (
        isinstance(name, str)
        and 0 < _utf8_size(name) <= 255
        and name not in {".", ".."}
        and "/" not in name
        and "\\" not in name
        and not CONTROL_RE.search(name)
    )


def validate(document: Any) -> dict[str, Any]:
    """Check a document against docs/sync/dossier.schema.json; raise DocumentErrors."""
    errors: list[dict[str, Any]] = []

    def fail(loc: Iterable[Any], msg: str) -> None:
        errors.append({"loc": list(loc), "msg": msg})

    if not isinstance(document, dict):
        raise DocumentErrors([{"loc": [], "msg": "the document must be a JSON object"}])
    for key in sorted(set(document) - TOP_KEYS):
        fail([key], "unknown field")
    for key in ("schema", "id", "number", "year", "status", "missions"):
        if key not in document:
            fail([key], "required field missing")
    if "schema" in document and document["schema"] != SCHEMA_VERSION:
        fail(["schema"], f"must be {SCHEMA_VERSION}")
    if "id" in document and not (isinstance(document["id"], str) and UUID_RE.match(document["id"])):
        fail(["id"], "must be a lower-case UUID")
    number = document.get("number")
    if "number" in document and not (
        isinstance(number, str) and 0 < len(number) <= 30 and safe_file_name(number)
    ):
        fail(["number"], "must be 1 to 30 characters, without / \\ or control characters")
    year = document.get("year")
    if "year" in document and not (
        isinstance(year, int) and not isinstance(year, bool) and 1990 <= year <= 2200
    ):
        fail(["year"], "must be a year between 1990 and 2200")
    if "status" in document and document["status"] not in STATUSES:
        fail(["status"], f"must be one of {', '.join(Status.values)}")
    for key in ("created_at", "appointment"):
        value = document.get(key)
        if value is not None and not (isinstance(value, str) and _datetime(value)):
            fail([key], "must be an ISO 8601 date-time with its offset, or null")
    missions = document.get("missions")
    if "missions" in document:
        if not isinstance(missions, list):
            fail(["missions"], "must be a list of mission codes")
        else:
            for index, code in enumerate(missions):
                if not (isinstance(code, str) and MISSION_RE.match(code)):
                    fail(["missions", index], "must be a code of a-z, 0-9, _ or -")
            if len({json.dumps(code) for code in missions}) != len(missions):
                fail(["missions"], "codes must not repeat")
    _validate_client(document.get("client"), fail)
    _validate_property(document.get("property", {}), fail)
    operator = document.get("operator")
    if operator is not None and not (isinstance(operator, str) and len(operator) <= 10):
        fail(["operator"], "must be initials (at most 10 characters) or null")
    custom = document.get("custom_fields", {})
    if not isinstance(custom, dict):
        fail(["custom_fields"], "must be an object")
    else:
        for key, value in custom.items():
            if not (value is None or isinstance(value, str | int | float | bool)):
                fail(["custom_fields", key], "must be text, a number, true/false or null")
    _validate_files(document.get("files", []), fail)
    if errors:
        raise DocumentErrors(errors)
    return document


def _validate_client(client: Any, fail: Any) -> None:
    if client is None:
        return
    if not isinstance(client, dict):
        fail(["client"], "must be an object or null")
        return
    for key in sorted(set(client) - set(CLIENT_KEYS)):
        fail(["client", key], "unknown field")
    if not (isinstance(client.get("name"), str) and client["name"].strip()):
        fail(["client", "name"], "required, not empty")
    for key, limit in CLIENT_KEYS.items():
        value = client.get(key, "")
        if not isinstance(value, str) or len(value) > limit:
            fail(["client", key], f"must be text of at most {limit} characters")


def _validate_property(prop: Any, fail: Any) -> None:
    if not isinstance(prop, dict):
        fail(["property"], "must be an object")
        return
    known = {*PROPERTY_TEXT, "type", "surface", "year_built"}
    for key in sorted(set(prop) - known):
        fail(["property", key], "unknown field")
    for key, limit in PROPERTY_TEXT.items():
        value = prop.get(key, "")
        if not isinstance(value, str) or len(value) > limit:
            fail(["property", key], f"must be text of at most {limit} characters")
    if prop.get("type", "") not in PROPERTY_TYPES:
        fail(["property", "type"], f"must be one of {', '.join(sorted(PROPERTY_TYPES - {''}))}")
    surface = prop.get("surface")
    if surface is not None and not (isinstance(surface, str) and SURFACE_RE.match(surface)):
        fail(["property", "surface"], "must be a decimal like 48.50, or null")
    built = prop.get("year_built")
    if built is not None and not (
        isinstance(built, int) and not isinstance(built, bool) and 1000 <= built <= 2200
    ):
        fail(["property", "year_built"], "must be a year or null")


FILE_KEYS = frozenset({"name", "sha256", "size"})
# A plain file name of up to 63 characters (at most 252 bytes in UTF-8): `safe_file_name`
# in one match, for the thousands of names of a push.
SHORT_SAFE_NAME = re.compile(r"(?!\.\.?\Z)[^/\\\x00-\x1f\x7f\ud800-\udfff]{1,63}\Z")


def _validate_files(files: Any, fail: Any) -> None:
    if not isinstance(files, list):
        fail(["files"], "must be a list")
        return
    seen: set[str] = set()
    for index, item in enumerate(files):
        if not isinstance(item, dict) or item.keys() != FILE_KEYS:
            fail(["files", index], "must be {name, sha256, size}")
            continue
        name = item["name"]
        if not (isinstance(name, str) and (SHORT_SAFE_NAME.match(name) or safe_file_name(name))):
            fail(["files", index, "name"], "not a plain file name (no /, \\, .. or controls)")
        elif (folded := name.casefold()) in seen:
            fail(["files", index, "name"], "the same name appears twice")
        else:
            seen.add(folded)
        if not (isinstance(item["sha256"], str) and HASH_RE.match(item["sha256"])):
            fail(["files", index, "sha256"], "must be 64 lower-case hex digits")
        size = item["size"]
        if not (isinstance(size, int) and not isinstance(size, bool) and size >= 0):
            fail(["files", index, "size"], "must be a whole number of bytes")


def in_utc(moment: datetime) -> datetime | None:
    """The same instant in UTC, or None when it falls outside the calendar.

    Databases refuse offsets beyond ±15:59 (an ISO string may carry +18:32), so
    instants are stored in UTC whatever offset they came with.
    """
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def _datetime(value: str) -> datetime | None:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    return in_utc(parsed) if parsed is not None and parsed.tzinfo is not None else None


# --- records -> document ---------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def files_of(dossier: Dossier) -> list[dict[str, Any]]:
    documents = Document.objects.filter(dossier=dossier, removed_at__isnull=True).values_list(
        "name", "sha256", "size"
    )
    return sorted(
        ({"name": name, "sha256": sha, "size": size} for name, sha, size in documents),
        key=lambda item: item["name"],
    )


def client_of(contact: Contact | None) -> dict[str, str] | None:
    if contact is None:
        return None
    address = contact.addresses.first()
    return {
        "name": contact.display_name[:200],
        "email": contact.email,
        "phone": contact.phone,
        "street": address.street if address else "",
        "postcode": address.postcode if address else "",
        "city": address.city if address else "",
    }


def to_document(dossier: Dossier, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The document the web's records say; fields the web does not keep come from `base`."""
    base = base or {}
    custom = dict(base.get("custom_fields") or {})
    custom.update(dossier.custom_fields or {})
    return {
        "schema": SCHEMA_VERSION,
        "id": str(dossier.public_id),
        "number": dossier.number,
        "year": dossier.year,
        "status": dossier.status,
        "created_at": _iso(dossier.created_at),
        "missions": sorted(dossier.missions.values_list("mission_type__code", flat=True)),
        "client": client_of(dossier.ordering_party),
        "property": {
            "street": dossier.property_street,
            "postcode": dossier.property_postcode,
            "city": dossier.property_city,
            "type": dossier.property_type,
            "surface": None if dossier.surface is None else f"{dossier.surface:.2f}",
            "year_built": dossier.year_built,
            "lots": dossier.lots,
            "floor": dossier.floor,
        },
        "appointment": _iso(dossier.appointment_at),
        "operator": (dossier.technician.initials or None) if dossier.technician else None,
        "custom_fields": custom,
        "files": files_of(dossier),
    }


def head_document(dossier: Dossier) -> dict[str, Any] | None:
    if not dossier.revision:
        return None
    return (
        DossierRevision.objects.filter(dossier=dossier, rev=dossier.revision)
        .values_list("document", flat=True)
        .first()
    )


# --- the change sequence and revisions ---------------------------------------------


def next_sequences(org: Organization, count: int = 1) -> int:
    """Take `count` sequences; returns the last. The row stays locked until commit."""
    updated = ChangeCounter.objects.filter(organization=org).update(last=F("last") + count)
    if not updated:
        ChangeCounter.objects.get_or_create(organization=org)
        ChangeCounter.objects.filter(organization=org).update(last=F("last") + count)
    return ChangeCounter.objects.filter(organization=org).values_list("last", flat=True).get()


def commit_revision(
    dossier: Dossier,
    document: dict[str, Any],
    *,
    source: str,
    base_rev: str | None = None,
    rev: str | None = None,
    saved: bool = True,
) -> DossierRevision:
    """Make `document` the dossier's head: a new revision and a new change sequence.

    `saved=False`: the dossier's other fields were changed in memory and not saved yet;
    they are written with the head in one UPDATE.
    """
    base = dossier.revision if base_rev is None else base_rev
    rev = rev or revision_id(document, base)
    revision = DossierRevision.objects.create(
        dossier=dossier, rev=rev, base_rev=base or "", document=document, source=source[:120]
    )
    dossier.revision = rev
    dossier.change_seq = next_sequences(dossier.organization)
    dossier.files_size = sum(item["size"] for item in document.get("files", []))
    if not saved:
        dossier.save()
        return revision
    Dossier.objects.filter(pk=dossier.pk).update(
        revision=rev, change_seq=dossier.change_seq, files_size=dossier.files_size
    )
    return revision


def touch(dossier: Dossier, *, source: str) -> None:
    """After a write on the web: the records become the head document (if they changed).

    Two requests may touch the same dossier at once (two stations fetching a dossier
    that never had a revision): the row is locked while it is compared and written, and
    on a database without row locks the second finds the revision written and stops.
    """
    with transaction.atomic():
        Dossier.objects.select_for_update().filter(pk=dossier.pk).values_list("pk").first()
        dossier.refresh_from_db()
        current = head_document(dossier)
        document = to_document(dossier, current)
        if current is not None and canonical(current) == canonical(document):
            return
        rev = revision_id(document, dossier.revision)
        try:
            with transaction.atomic():
                commit_revision(dossier, document, source=source, rev=rev)
        except IntegrityError:
            if not DossierRevision.objects.filter(dossier=dossier, rev=rev).exists():
                raise
            dossier.refresh_from_db()


def bump(dossier: Dossier) -> None:
    """A change stations must see that is not in the document (deletion, quarantine)."""
    dossier.change_seq = next_sequences(dossier.organization)
    Dossier.objects.filter(pk=dossier.pk).update(change_seq=dossier.change_seq)


def bump_all(org: Organization, dossiers: list[Dossier], fields: Iterable[str] = ()) -> None:
    """`bump` for many dossiers of `org` at once: their sequences are taken together and
    written, with the other `fields` set on the instances, in a few bulk updates."""
    if not dossiers:
        return
    last = next_sequences(org, len(dossiers))
    for offset, dossier in enumerate(dossiers, start=last - len(dossiers) + 1):
        dossier.change_seq = offset
    Dossier.objects.bulk_update(dossiers, ["change_seq", *fields], batch_size=500)


# --- document -> records -------------------------------------------------------------


class Materializer:
    """Writes station documents into the web's records; caches lookups for a batch."""

    def __init__(self, org: Organization) -> None:
        self.org = org
        self.forget()

    def forget(self) -> None:
        """Drop the cached lookups (after a rollback, what was created is gone)."""
        self.operators = {
            member.initials.upper(): member
            for member in Membership.objects.filter(organization=self.org).exclude(initials="")
        }
        self.mission_types = {
            mission.code: mission for mission in MissionType.objects.filter(organization=self.org)
        }
        self.contacts: dict[str, Contact | None] = {}

    def mission_type(self, code: str) -> MissionType:
        found = self.mission_types.get(code)
        if found is None:
            found, _created = MissionType.objects.get_or_create(
                organization=self.org, code=code, defaults={"label": code.upper()}
            )
            self.mission_types[code] = found
        return found

    def contact(self, client: dict[str, Any] | None, *, create: bool = True) -> Contact | None:
        """The organisation's contact for a document's client, created if it has none
        (`create=False`: None then, and nothing written)."""
        if not client:
            return None
        name = client["name"].strip()
        email = (client.get("email") or "").strip()
        key = email.casefold() if email else search_key(name)
        if key in self.contacts:
            cached = self.contacts[key]
            if cached is not None or not create:
                return cached  # None: looked for without creating, and not found
        queryset = Contact.objects.filter(organization=self.org)
        found = (
            queryset.filter(email__iexact=email).first()
            if email
            else queryset.filter(sort_name=search_key(name)[:200]).first()
        )
        if found is None:
            if not create:
                self.contacts[key] = None
                return None
            found = Contact(
                organization=self.org,
                kind=Contact.Kind.COMPANY,
                company_name=name,
                email=email,
                phone=(client.get("phone") or "")[:30],
            )
            found.refresh_search_text(addresses=[], channels=[])
            found.save()
            if any(client.get(part) for part in ("street", "postcode", "city")):
                found.addresses.create(
                    street=client.get("street", ""),
                    postcode=client.get("postcode", ""),
                    city=client.get("city", ""),
                )
                found.refresh_search_text()
                found.save(update_fields=["search_text", "sort_name"])
        self.contacts[key] = found
        return found

    def fill(
        self, dossier: Dossier, document: dict[str, Any], *, create_contacts: bool = True
    ) -> None:
        """Set the dossier's fields from a validated document (not saved).

        `create_contacts=False`: nothing is written (rows prepared before a write lock is
        taken); a client the organisation does not have yet is left for `settle_parties`.
        """
        prop = document.get("property") or {}
        dossier.year = document["year"]
        dossier.status = document["status"]
        if document.get("created_at"):
            dossier.created_at = _datetime(document["created_at"]) or dossier.created_at
        dossier.ordering_party = self.contact(document.get("client"), create=create_contacts)
        dossier.property_street = prop.get("street", "")
        dossier.property_postcode = prop.get("postcode", "")
        dossier.property_city = prop.get("city", "")
        dossier.property_type = prop.get("type", "")
        dossier.surface = _decimal(prop.get("surface"))
        dossier.year_built = prop.get("year_built")
        dossier.lots = prop.get("lots", "")
        dossier.floor = prop.get("floor", "")
        appointment = document.get("appointment")
        dossier.appointment_at = _datetime(appointment) if appointment else None
        operator = document.get("operator")
        dossier.technician = self.operators.get(operator.upper()) if operator else None
        dossier.custom_fields = dict(document.get("custom_fields") or {})
        dossier.refresh_search_text()

    def settle_parties(self, filled: Iterable[tuple[Dossier, dict[str, Any]]]) -> None:
        """Under the write lock, for dossiers filled with `create_contacts=False`: the
        contacts found then are locked (one that no dossier names may have been deleted
        since), and the clients without one get theirs; ordering parties and search text
        follow."""
        found = {contact.pk for contact in self.contacts.values() if contact is not None}
        kept = set(
            Contact.objects.select_for_update()
            .filter(pk__in=found)
            .values_list("pk", flat=True)
            .order_by()
        )
        if kept != found:
            self.contacts = {k: c for k, c in self.contacts.items() if c and c.pk in kept}
        for dossier, document in filled:
            client = document.get("client")
            party = dossier.ordering_party
            if not client or (party is not None and party.pk in kept):
                continue
            dossier.ordering_party = self.contact(client)
            dossier.refresh_search_text()

    def set_missions(self, dossier: Dossier, codes: list[str]) -> None:
        current = dict(dossier.missions.values_list("mission_type_id", "pk"))
        gone, rows = self.missions_delta(dossier, codes, current)
        if gone:
            Mission.objects.filter(pk__in=gone).delete()
        insert_rows(Mission, rows)

    def missions_delta(
        self, dossier: Dossier, codes: list[str], current: dict[int, int]
    ) -> tuple[list[int], list[dict[str, Any]]]:
        """What makes the dossier's missions (`current`: mission type → mission key) those
        of `codes`: the keys of the missions to delete, the rows to insert."""
        wanted = {self.mission_type(code).pk for code in codes}
        gone = [pk for type_id, pk in current.items() if type_id not in wanted]
        added = [type_id for type_id in wanted if type_id not in current]
        return gone, [{"dossier_id": dossier.pk, "mission_type_id": pk} for pk in added]

    def set_files(
        self, dossier: Dossier, files: list[dict[str, Any]], *, source: str, paths: dict[str, str]
    ) -> None:
        """Make the dossier's document list match the manifest; removed ones are kept."""
        now = timezone.now()
        current = {
            name: (pk, sha)
            for pk, name, sha in Document.objects.filter(
                dossier=dossier, removed_at__isnull=True
            ).values_list("pk", "name", "sha256")
        }
        stale, rows = self.files_delta(dossier, files, current, source=source, paths=paths, now=now)
        if stale:
            Document.objects.filter(pk__in=stale).update(removed_at=now)
        insert_rows(Document, rows)

    def files_delta(
        self,
        dossier: Dossier,
        files: list[dict[str, Any]],
        current: dict[str, tuple[int, str]],
        *,
        source: str,
        paths: dict[str, str],
        now: datetime,
    ) -> tuple[list[int], list[dict[str, Any]]]:
        """What makes the dossier's documents (`current`: name → (key, sha256)) match the
        manifest: the keys of the documents to mark removed, the rows to insert."""
        wanted = {item["name"]: item for item in files}
        stale = [
            pk
            for name, (pk, sha) in current.items()
            if name not in wanted or wanted[name]["sha256"] != sha
        ]
        changed = [
            item
            for name, item in wanted.items()
            if name not in current or current[name][1] != item["sha256"]
        ]
        return stale, self.document_rows(dossier, changed, source=source, paths=paths, now=now)

    def document_rows(
        self,
        dossier: Dossier | None,
        files: list[dict[str, Any]],
        *,
        source: str,
        paths: dict[str, str],
        now: datetime,
    ) -> list[dict[str, Any]]:
        """The document records of manifest entries, as rows for `insert_rows` (`dossier`
        None: a dossier not written yet, whose key the caller gives the rows later)."""
        assert dossier is None or dossier.pk is not None
        key = dossier.pk if dossier is not None else None
        return [
            {
                "organization_id": self.org.pk,
                "dossier_id": key,
                "kind": kind_for(item["name"]),
                "name": item["name"],
                "file": paths[item["sha256"]],
                "content_type": content_type_for(item["name"]),
                "size": item["size"],
                "sha256": item["sha256"],
                "uploaded_at": now,
                "source": source[:120],
            }
            for item in files
        ]


def _decimal(raw: Any) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def content_type_for(name: str) -> str:
    # The type depends only on the suffixes ("x.tar.gz"): one guess per suffix chain.
    dot = name.find(".", 1)
    return _content_type("x" + name[dot:] if dot > 0 else name)


@functools.lru_cache(maxsize=512)
def _content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def kind_for(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".pdf"):
        return Document.Kind.REPORT
    if lowered.endswith((".jpg", ".jpeg", ".png", ".heic", ".webp", ".gif")):
        return Document.Kind.PHOTO
    if lowered.endswith((".dwg", ".dxf", ".svg")):
        return Document.Kind.PLAN
    return Document.Kind.OTHER


def planned_date(dossier: Dossier) -> date | None:
    return timezone.localtime(dossier.appointment_at).date() if dossier.appointment_at else None
