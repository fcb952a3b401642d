"""An in-memory hub speaking docs/sync/protocol.md on loopback: the agent's test double.

It follows the protocol and the real hub's documented choices (a station's
number already taken on creation gets a new one; a push of a known revision
answers `unchanged`, or `conflict` while that revision is an open conflict;
`resolve` keeps the hub's number). `web_*` methods act like people on the web.
`fail` injects errors; `requests` records every call for request-count checks.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from comptoir_agent.protocol import (
    BATCH_CONTENT_TYPE,
    canonical_json,
    decode_batch,
    encode_batch,
    rev_generation,
)

DEFAULT_OPTIONS: dict[str, Any] = {
    "enabled": True,
    "send_after": None,
    "fetch_missing": True,
    "fetch_after": None,
    "fetch_horizon_days": -1,
    "update_present": True,
    "fetch_statistics": False,
    "window_start": None,
    "window_end": None,
    "not_systematic": False,
    "refresh_icon": True,
    "warn_newer": True,
    "import_invoicing": True,
    "may_send_invoices": False,
}
CHUNK = 1024 * 1024


def rev_for(doc: dict[str, Any], base_rev: str | None) -> str:
    digest = hashlib.sha256(canonical_json(doc)).hexdigest()[:32]
    return f"{rev_generation(base_rev) + 1}-{digest}"


class Fail(Exception):
    def __init__(self, status: int, code: str = "", message: str = "", **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


@dataclass
class Dossier:
    id: str
    head_rev: str
    doc: dict[str, Any] | None
    seq: int
    revisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)  # open conflict revs
    written_by: dict[str, tuple[str, str | None]] = field(
        default_factory=dict
    )  # rev: (station, base)
    deleted: bool = False
    quarantined_until: str | None = None
    planned: str | None = None


def follows_own_write(
    dossier: Dossier, st: StationRec, base: str | None, sent: list[str] | None
) -> bool:
    """The protocol's `sent` rule: the head goes back to `base` through revisions this
    station sent (docs/sync/protocol.md, “Dossiers”)."""
    rev, sent_revs = dossier.head_rev, set(sent or [])
    while rev in sent_revs and dossier.written_by.get(rev, ("", None))[0] == st.name:
        sent_revs.discard(rev)
        parent = dossier.written_by[rev][1]
        if parent == base:
            return True
        if parent is None:
            return False
        rev = parent
    return False


@dataclass
class StationRec:
    id: str
    name: str
    token: str
    options: dict[str, Any]
    held: set[str] = field(default_factory=set)
    reports: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: int = 0
    reread: int = 0  # raised by the web's “Relire depuis le début”


class FakeHub:
    def __init__(self, org: str = "acme") -> None:
        self.org = org
        self.lock = threading.RLock()
        self.seq = 0
        self.dossiers: dict[str, Dossier] = {}
        self.stations: dict[str, StationRec] = {}
        self.codes: dict[str, str | None] = {}
        self.blobs: dict[str, bytes] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.quota_limit = 30 * 10**9
        self.settings: dict[str, Any] = {"version": 0, "sections": {}}
        self.counters: dict[str, int] = {}
        self.zone: list[dict[str, Any]] = []  # exchange zone entries: web_zone()
        self.zone_days = ("2026-11-25", "2026-11-26")
        self.requests: list[tuple[str, str]] = []
        self.fail_rules: list[tuple[str, str, int, Fail | str]] = []
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # lifecycle --------------------------------------------------------------------------

    def start(self) -> str:
        hub = self

        class Handler(_Handler):
            owner = hub

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # test helpers -----------------------------------------------------------------------

    def add_code(self, code: str, name: str | None = None) -> str:
        self.codes[code] = name
        return code

    def station(self, name: str | None = None) -> StationRec:
        if name is None:
            return next(iter(self.stations.values()))
        return next(s for s in self.stations.values() if s.name == name)

    def fail(self, method: str, pattern: str, times: int, error: Fail | str) -> None:
        """The next `times` requests matching are answered with `error` ("drop": connection cut)."""
        self.fail_rules.append((method, pattern, times, error))

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for m, p in self.requests if m == method and re.search(pattern, p))

    def used(self) -> int:
        return sum(len(b) for b in self.blobs.values())

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def web_create(
        self, doc: dict[str, Any], files: dict[str, bytes] | None = None, planned: str | None = None
    ) -> str:
        """A dossier made on the web (its blobs stored)."""
        with self.lock:
            manifest = []
            for name, data in sorted((files or {}).items()):
                sha = hashlib.sha256(data).hexdigest()
                self.blobs[sha] = data
                manifest.append({"name": name, "sha256": sha, "size": len(data)})
            doc = {**doc, "files": manifest}
            rev = rev_for(doc, None)
            self.dossiers[doc["id"]] = Dossier(
                doc["id"], rev, doc, self.next_seq(), {rev: doc}, planned=planned
            )
            return rev

    def web_edit(
        self, ident: str, changes: dict[str, Any], files: dict[str, bytes] | None = None
    ) -> str:
        with self.lock:
            dossier = self.dossiers[ident]
            assert dossier.doc is not None
            doc = {**dossier.doc, **changes}
            if files is not None:
                manifest = []
                for name, data in sorted(files.items()):
                    sha = hashlib.sha256(data).hexdigest()
                    self.blobs[sha] = data
                    manifest.append({"name": name, "sha256": sha, "size": len(data)})
                doc["files"] = manifest
            rev = rev_for(doc, dossier.head_rev)
            dossier.doc, dossier.head_rev, dossier.seq = doc, rev, self.next_seq()
            dossier.revisions[rev] = doc
            return rev

    def web_delete(self, ident: str) -> None:
        with self.lock:
            dossier = self.dossiers[ident]
            dossier.deleted, dossier.doc, dossier.seq = True, None, self.next_seq()

    def web_quarantine(self, ident: str, until: str) -> None:
        with self.lock:
            dossier = self.dossiers[ident]
            dossier.quarantined_until, dossier.seq = until, self.next_seq()

    def web_zone(self, ident: str, **fields: Any) -> None:
        """Put a dossier in the exchange zone (an appointment, or `manual=True`)."""
        entry = {
            "id": ident,
            "address": "14 rue Esquermoise, 59000 Lille",
            "ordering_party": "Agence du Beffroi",
            "missions": ["DPE"],
            "appointment": None,
            "starts_at": None,
            "ends_at": None,
            "technician": "Jean Durant",
            "technician_id": "6a1f6d2c-7a0e-4c55-9a53-4b9c3c1f0b11",
            "mine": True,
            "manual": False,
            "added_at": None,
        }
        entry.update(fields)
        with self.lock:
            self.zone.append(entry)

    def head(self, ident: str) -> dict[str, Any] | None:
        return self.dossiers[ident].doc

    # dispatch ---------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, Any, str]:
        with self.lock:
            self.requests.append((method, path))
            for index, (m, pattern, times, error) in enumerate(self.fail_rules):
                if m == method and re.search(pattern, path) and times > 0:
                    self.fail_rules[index] = (m, pattern, times - 1, error)
                    if error == "drop":
                        raise ConnectionAbortedError
                    assert isinstance(error, Fail)
                    raise error
            if path == "/api/v1/sync/pair" and method == "POST":
                return self.pair(json.loads(body))
            station = self.auth(headers)
            prefix = f"/api/v1/orgs/{self.org}/"
            if not path.startswith(prefix):
                raise Fail(404, "not_found", "Organisation inconnue")
            route = path[len(prefix) :]
            return self.route(station, method, route, query, headers, body)

    def auth(self, headers: Any) -> StationRec:
        value = headers.get("Authorization", "")
        token = value.removeprefix("Bearer ")
        for station in self.stations.values():
            if station.token == token:
                return station
        raise Fail(401, "", "Unauthorized")

    def route(
        self,
        st: StationRec,
        method: str,
        route: str,
        query: dict[str, str],
        headers: Any,
        body: bytes,
    ) -> tuple[int, Any, str]:
        data = (
            json.loads(body) if body and headers.get("Content-Type") == "application/json" else None
        )
        simple = {
            ("GET", "sync/station"): lambda: self.station_info(st),
            ("PUT", "sync/station/options"): lambda: self.set_options(st, data),
            ("POST", "sync/station/report"): lambda: self.report(st, data),
            ("GET", "sync/changes"): lambda: self.changes(st, query),
            ("GET", "sync/exchange-zone"): lambda: self.exchange_zone(),
            ("POST", "sync/dossiers/push"): lambda: self.push(st, data),
            ("POST", "sync/dossiers/fetch"): lambda: self.fetch(st, data),
            ("POST", "sync/blobs/missing"): lambda: (
                200,
                {"missing": [h for h in data["hashes"] if h not in self.blobs]},
                "json",
            ),
            ("POST", "sync/blobs/batch"): lambda: self.batch(headers, body),
            ("POST", "sync/blobs/fetch"): lambda: self.blobs_fetch(data),
            ("POST", "sync/uploads"): lambda: self.upload_start(data),
            ("POST", "sync/settings"): lambda: self.settings_push(data),
            ("GET", "sync/settings"): lambda: self.settings_pull(query),
        }
        if (method, route) in simple:
            return simple[(method, route)]()
        match = re.fullmatch(r"sync/dossiers/([0-9a-f-]+)/(conflicts|resolve)", route)
        if match:
            dossier = self.dossiers.get(match.group(1))
            if dossier is None:
                raise Fail(404, "not_found", "Dossier inconnu")
            if match.group(2) == "conflicts":
                return self.conflicts(dossier)
            return self.resolve(st, dossier, data)
        match = re.fullmatch(r"sync/uploads/([0-9a-f-]+)", route)
        if match:
            return self.upload(match.group(1), method, headers, body)
        match = re.fullmatch(r"sync/blobs/([0-9a-f]{64})", route)
        if match and method == "GET":
            return self.blob_get(match.group(1), headers)
        match = re.fullmatch(r"numbering/(dossier|quote)/(next|reserve)", route)
        if match and method == "POST":
            return self.numbering(match.group(1), match.group(2), data)
        raise Fail(404, "not_found", f"no route {method} {route}")

    # endpoints --------------------------------------------------------------------------

    def pair(self, data: dict[str, Any]) -> tuple[int, Any, str]:
        code = data.get("code")
        if code not in self.codes:
            raise Fail(404, "not_found", "Code inconnu ou expiré")
        name = self.codes.pop(code) or data.get("name") or "Poste"
        station = StationRec(
            str(uuid.uuid4()), name, "cpt_" + uuid.uuid4().hex, dict(DEFAULT_OPTIONS)
        )
        self.stations[station.id] = station
        return (
            201,
            {
                "org": self.org,
                "organization": "Acme Diagnostics",
                "station": station.id,
                "name": name,
                "token": station.token,
            },
            "json",
        )

    def station_info(self, st: StationRec) -> tuple[int, Any, str]:
        return (
            200,
            {
                "station": st.id,
                "name": st.name,
                "options": st.options,
                "server_time": "2026-11-20T10:00:00Z",
                "quota": {"used": self.used(), "limit": self.quota_limit},
                "checkpoint": st.checkpoint,
                "reread": st.reread,
            },
            "json",
        )

    def set_options(self, st: StationRec, data: dict[str, Any]) -> tuple[int, Any, str]:
        unknown = set(data["options"]) - set(DEFAULT_OPTIONS)
        if unknown:
            raise Fail(422, "invalid", "unknown option", errors=sorted(unknown))
        st.options.update(data["options"])
        return self.station_info(st)

    def report(self, st: StationRec, data: dict[str, Any]) -> tuple[int, Any, str]:
        st.reports.append(data)
        st.checkpoint = data.get("checkpoint", 0)
        return 204, None, "json"

    def changes(self, st: StationRec, query: dict[str, str]) -> tuple[int, Any, str]:
        since, limit = int(query.get("since", 0)), int(query.get("limit", 1000))
        assert limit <= 1000
        reset = since > self.seq  # the hub went back: the whole feed again
        if reset:
            since = 0
        rows = sorted(
            (
                d
                for d in self.dossiers.values()
                if d.seq > since and (d.id in st.held or st.options.get("fetch_missing"))
            ),
            key=lambda d: d.seq,
        )
        done = len(rows) <= limit
        rows = rows[:limit]
        results = [self.feed_entry(d) for d in rows]
        last = results[-1]["seq"] if results else since
        return (
            200,
            {
                "results": results,
                "next": max(last, self.seq) if done else last,
                "done": done,
                "reset": reset,
            },
            "json",
        )

    def feed_entry(self, d: Dossier) -> dict[str, Any]:
        doc = d.doc or d.revisions[d.head_rev]
        return {
            "id": d.id,
            "number": doc["number"],
            "year": doc["year"],
            "rev": d.head_rev,
            "seq": d.seq,
            "deleted": d.deleted,
            "quarantined_until": d.quarantined_until,
            "conflict": bool(d.conflicts),
            "size": sum(f["size"] for f in doc.get("files", [])),
            "planned": d.planned,
        }

    def exchange_zone(self) -> tuple[int, Any, str]:
        entries = []
        for item in self.zone:
            d = self.dossiers[item["id"]]
            if d.deleted or d.quarantined_until:
                continue
            fields = {k: v for k, v in item.items() if k != "id"}
            entries.append({"dossier": self.feed_entry(d), **fields})
        today, tomorrow = self.zone_days
        body = {"today": today, "tomorrow": tomorrow, "everyone": True, "entries": entries}
        return 200, body, "json"

    def push(self, st: StationRec, data: dict[str, Any]) -> tuple[int, Any, str]:
        assert len(data["dossiers"]) <= 500
        return 200, {"results": [self.push_one(st, item) for item in data["dossiers"]]}, "json"

    def push_one(self, st: StationRec, item: dict[str, Any]) -> dict[str, Any]:
        ident, doc, rev, base = item["id"], item["document"], item["rev"], item.get("base_rev")
        if rev != rev_for(doc, base):
            return {"id": ident, "status": "rejected", "code": "bad_rev", "message": "bad rev"}
        missing = sorted({f["sha256"] for f in doc.get("files", [])} - set(self.blobs))
        if missing:
            return {
                "id": ident,
                "status": "rejected",
                "code": "missing_blobs",
                "message": "missing",
                "details": {"missing": missing},
            }
        dossier = self.dossiers.get(ident)
        if dossier is None:
            number = doc["number"]
            taken = any(d.doc and d.doc["number"] == number for d in self.dossiers.values())
            head_doc, head_rev = doc, rev
            revisions = {rev: doc}
            if taken:
                number = f"{number}-R"
                head_doc = {**doc, "number": number}
                head_rev = rev_for(head_doc, None)
                revisions[head_rev] = head_doc
            self.dossiers[ident] = Dossier(ident, head_rev, head_doc, self.next_seq(), revisions)
            if head_rev == rev:
                self.dossiers[ident].written_by[rev] = (st.name, None)
            st.held.add(ident)
            return {
                "id": ident,
                "status": "accepted",
                "rev": head_rev,
                "seq": self.seq,
                "number": number,
            }
        if dossier.deleted:
            return {"id": ident, "status": "rejected", "code": "deleted", "message": "deleted"}
        if dossier.quarantined_until:
            return {"id": ident, "status": "rejected", "code": "quarantined", "message": "q"}
        st.held.add(ident)
        head_number = (dossier.doc or {}).get("number")
        if rev in dossier.revisions or rev in dossier.conflicts:
            status = "conflict" if rev in dossier.conflicts else "unchanged"
            return {
                "id": ident,
                "status": status,
                "rev": rev,
                "seq": dossier.seq,
                "head_rev": dossier.head_rev,
                "head_seq": dossier.seq,
                "number": head_number,
            }
        if base != dossier.head_rev and follows_own_write(dossier, st, base, item.get("sent")):
            base = dossier.head_rev
        if base != dossier.head_rev:
            dossier.conflicts[rev] = {
                "rev": rev,
                "base_rev": base,
                "station": st.name,
                "created_at": "2026-11-20T10:00:00Z",
                "document": doc,
            }
            dossier.seq = self.next_seq()
            return {
                "id": ident,
                "status": "conflict",
                "rev": rev,
                "seq": dossier.seq,
                "head_rev": dossier.head_rev,
                "head_seq": dossier.seq,
                "number": head_number,
                "code": "conflict",
            }
        dossier.doc, dossier.head_rev, dossier.seq = doc, rev, self.next_seq()
        dossier.revisions[rev] = doc
        dossier.written_by[rev] = (st.name, base)
        return {
            "id": ident,
            "status": "accepted",
            "rev": rev,
            "seq": dossier.seq,
            "number": doc["number"],
        }

    def fetch(self, st: StationRec, data: dict[str, Any]) -> tuple[int, Any, str]:
        assert len(data["ids"]) <= 500
        out = []
        for ident in data["ids"]:
            d = self.dossiers.get(ident)
            if d is None:
                continue
            if not d.deleted:
                st.held.add(ident)
            out.append(
                {
                    "id": d.id,
                    "rev": d.head_rev,
                    "seq": d.seq,
                    "deleted": d.deleted,
                    "conflict": bool(d.conflicts),
                    "document": d.doc,
                }
            )
        return 200, {"dossiers": out}, "json"

    def conflicts(self, d: Dossier) -> tuple[int, Any, str]:
        return (
            200,
            {
                "head": {"rev": d.head_rev, "document": d.doc},
                "conflicts": list(d.conflicts.values()),
            },
            "json",
        )

    def resolve(self, st: StationRec, d: Dossier, data: dict[str, Any]) -> tuple[int, Any, str]:
        if data["head_rev"] != d.head_rev:
            raise Fail(409, "head_moved", "head moved", head_rev=d.head_rev)
        if data["keep"] != "cloud":
            doc = data["document"]
            missing = {f["sha256"] for f in doc["files"]} - set(self.blobs)
            if missing:
                raise Fail(422, "missing_blobs", "missing", missing=sorted(missing))
            assert d.doc is not None
            doc = {**doc, "number": d.doc["number"]}
            rev = rev_for(doc, d.head_rev)
            d.doc, d.head_rev = doc, rev
            d.revisions[rev] = doc
        d.conflicts.clear()
        d.seq = self.next_seq()
        return 200, {"rev": d.head_rev, "seq": d.seq}, "json"

    def _quota(self, extra: int) -> None:
        if self.used() + extra > self.quota_limit:
            raise Fail(507, "quota_exceeded", "quota", used=self.used(), limit=self.quota_limit)

    def batch(self, headers: Any, body: bytes) -> tuple[int, Any, str]:
        assert headers.get("Content-Type") == BATCH_CONTENT_TYPE
        assert len(body) <= 32 * 1024 * 1024 + 1024 * 1024
        try:
            blobs = decode_batch(body)
        except ValueError as exc:
            raise Fail(422, "hash_mismatch", str(exc)) from exc
        new = [(s, b) for s, b in blobs if s not in self.blobs]
        self._quota(sum(len(b) for _, b in new))
        for sha, data in new:
            self.blobs[sha] = data
        return (
            200,
            {"stored": [s for s, _ in new], "existing": [s for s, _ in blobs if (s, _) not in new]},
            "json",
        )

    def blobs_fetch(self, data: dict[str, Any]) -> tuple[int, Any, str]:
        found = [(h, self.blobs[h]) for h in data["hashes"] if h in self.blobs]
        return 200, encode_batch(found), BATCH_CONTENT_TYPE

    def upload_start(self, data: dict[str, Any]) -> tuple[int, Any, str]:
        sha, size = data["sha256"], data["size"]
        if sha in self.blobs:
            return 201, {"id": None, "offset": size, "chunk_size": CHUNK, "complete": True}, "json"
        for ident, up in self.uploads.items():  # the real hub resumes an ongoing upload
            if up["sha256"] == sha and up["size"] == size:
                return 201, {"id": ident, "offset": len(up["data"]), "chunk_size": CHUNK}, "json"
        self._quota(size)
        ident = str(uuid.uuid4())
        self.uploads[ident] = {"sha256": sha, "size": size, "data": bytearray()}
        return 201, {"id": ident, "offset": 0, "chunk_size": CHUNK, "complete": False}, "json"

    def upload(self, ident: str, method: str, headers: Any, body: bytes) -> tuple[int, Any, str]:
        up = self.uploads.get(ident)
        if up is None:
            raise Fail(404, "not_found", "upload inconnu")
        if method == "PUT":
            match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers.get("Content-Range", ""))
            assert match, headers.get("Content-Range")
            start = int(match.group(1))
            if start != len(up["data"]):
                raise Fail(409, "offset_mismatch", "offset", offset=len(up["data"]))
            up["data"] += body
            if len(up["data"]) == up["size"]:
                if hashlib.sha256(up["data"]).hexdigest() != up["sha256"]:
                    del self.uploads[ident]
                    raise Fail(422, "hash_mismatch", "hash")
                self.blobs[up["sha256"]] = bytes(up["data"])
        complete = up["sha256"] in self.blobs
        return (
            200,
            {"id": ident, "offset": len(up["data"]), "chunk_size": CHUNK, "complete": complete},
            "json",
        )

    def blob_get(self, sha: str, headers: Any) -> tuple[int, Any, str]:
        data = self.blobs.get(sha)
        if data is None:
            raise Fail(404, "not_found", "blob")
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            return 206, data[start : end + 1], "application/octet-stream"
        return 200, data, "application/octet-stream"

    def numbering(self, series: str, action: str, data: dict[str, Any]) -> tuple[int, Any, str]:
        def take() -> str:
            self.counters[series] = self.counters.get(series, 0) + 1
            prefix = "2026" if series == "dossier" else "D2026"
            return f"{prefix}-{self.counters[series]:05d}"

        if action == "next":
            return 200, {"number": take()}, "json"
        return 200, {"numbers": [take() for _ in range(int(data["count"]))]}, "json"

    def settings_push(self, data: dict[str, Any]) -> tuple[int, Any, str]:
        self.settings["version"] += 1
        self.settings["sections"].update(data["sections"])
        return 200, {"version": self.settings["version"]}, "json"

    def settings_pull(self, query: dict[str, str]) -> tuple[int, Any, str]:
        wanted = query.get("sections", "").split(",")
        sections = {k: v for k, v in self.settings["sections"].items() if k in wanted}
        return 200, {"version": self.settings["version"], "sections": sections}, "json"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FakeHub

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            status, payload, kind = self.owner.handle(
                self.command, parts.path, query, self.headers, body
            )
        except ConnectionAbortedError:
            self.close_connection = True
            self.connection.close()
            return
        except Fail as fail:
            status, kind = fail.status, "json"
            payload = {"code": fail.code, "message": fail.message, "details": fail.details}
        if kind == "json":
            data = b"" if payload is None else json.dumps(payload).encode()
            kind = "application/json"
        else:
            data = payload
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _serve
