"""Pure functions of the sync protocol: canonical JSON, revision ids, batch framing.

Nothing here does I/O; docs/sync/protocol.md is the contract these follow.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

API_PREFIX = "/api/v1/"
PROTOCOL_VERSION = 1
BATCH_CONTENT_TYPE = "application/x-comptoir-batch"

MAX_FEED_PAGE = 1000
MAX_MISSING_QUERY = 5000
MAX_BULK_DOSSIERS = 500
MAX_BATCH_BYTES = 32 * 1024 * 1024
MAX_BATCH_BLOB = 4 * 1024 * 1024
HASH_READ_SIZE = 1024 * 1024


class FramingError(ValueError):
    """A batch body that does not follow the framing of protocol.md."""


def canonical_json(doc: Mapping[str, Any]) -> bytes:
    """The canonical bytes of a document (sorted keys, no spaces, UTF-8)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


# Half of a UTF-16 pair, as a JSON escape or as the bytes json.loads lets through.
_SURROGATE_IN_JSON = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(raw: bytes, parsed: Any) -> str | None:
    """Where `parsed` (json.loads of `raw`) holds half of a character, a lone surrogate
    ("client.name"; "(document)" for the top): no UTF-8 text can carry it, so such a
    document has no canonical bytes. None when there is none (most documents: `raw`
    shows none, nothing is walked)."""
    if not _SURROGATE_IN_JSON.search(raw):
        return None
    return _find_surrogate(parsed, "")


def _find_surrogate(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        return (where or "(document)") if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            found = _find_surrogate(key, where) or _find_surrogate(item, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_surrogate(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def document_digest(doc: Mapping[str, Any]) -> str:
    """The first 32 hex digits of SHA-256 of the canonical document."""
    return digest_of_canonical(canonical_json(doc))


def digest_of_canonical(canonical: bytes) -> str:
    """`document_digest` of a document whose canonical bytes are already at hand."""
    return hashlib.sha256(canonical).hexdigest()[:32]


def encode_push(items: Sequence[Mapping[str, Any]], documents: Mapping[str, bytes]) -> bytes:
    """The JSON body of a push, {"dossiers": items}, each item's document given as the
    canonical bytes already at hand (`documents`, by item id) instead of encoded again."""
    parts = []
    for item in items:
        head = {key: value for key, value in item.items() if key != "document"}
        encoded = json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        assert encoded.endswith(b"}") and len(head) > 0, "an item has its id"
        parts.append(encoded[:-1] + b',"document":' + documents[item["id"]] + b"}")
    return b'{"dossiers":[' + b",".join(parts) + b"]}"


def with_manifest(doc: Mapping[str, Any], files: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The synced document: `doc` with `files` set to the manifest sorted by name."""
    return with_entries(
        doc, ({"name": f["name"], "sha256": f["sha256"], "size": f["size"]} for f in files)
    )


def with_entries(doc: Mapping[str, Any], entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`with_manifest` of entries made for it ({name, sha256, size} each, new dicts): taken
    as they are, not copied (a scan makes thousands)."""
    synced = dict(doc)
    synced["files"] = sorted(entries, key=_entry_name)
    return synced


def _entry_name(entry: Mapping[str, Any]) -> str:
    return str(entry["name"])


def rev_generation(rev: str | None) -> int:
    """The generation of a revision id, 0 for none."""
    if not rev:
        return 0
    head, _, _ = rev.partition("-")
    try:
        return int(head)
    except ValueError:
        return 0


def rev_digest(rev: str | None) -> str | None:
    """The digest part of a revision id."""
    if not rev or "-" not in rev:
        return None
    return rev.partition("-")[2]


def next_rev(base_rev: str | None, digest: str) -> str:
    """The revision id a writer gives a document written on top of `base_rev`."""
    return f"{rev_generation(base_rev) + 1}-{digest}"


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def tapered(items: Sequence[Any], size: int, least: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most `size` items, each half of what is left (at least
    `least`, or all that is left when less would remain): 1,000 in slices of 500 give
    500, 250, 125 and 125. The last slices are small, so is what waits for the last."""
    start = 0
    while start < len(items):
        left = len(items) - start
        take = min(size, max(least, -(-left // 2)))
        if left - take < least:
            take = min(size, left)
        yield items[start : start + take]
        start += take


@dataclass(frozen=True)
class BlobHeader:
    sha256: str
    size: int


def encode_batch_header(blobs: Sequence[BlobHeader]) -> bytes:
    """The first line of a batch body: the JSON array of blobs, then a newline."""
    header = [{"sha256": b.sha256, "size": b.size} for b in blobs]
    return json.dumps(header, separators=(",", ":")).encode("ascii") + b"\n"


def encode_batch(blobs: Sequence[tuple[str, bytes]]) -> bytes:
    """A whole batch body from (sha256, bytes) pairs."""
    header = encode_batch_header([BlobHeader(sha, len(data)) for sha, data in blobs])
    return header + b"".join(data for _, data in blobs)


def parse_batch_header(line: bytes) -> list[BlobHeader]:
    """Read the header line of a batch (without or with its trailing newline)."""
    try:
        raw = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FramingError(f"en-tête de lot illisible : {exc}") from exc
    if not isinstance(raw, list):
        raise FramingError("en-tête de lot : un tableau JSON est attendu")
    headers: list[BlobHeader] = []
    for item in raw:
        if not isinstance(item, dict):
            raise FramingError("en-tête de lot : objet attendu")
        sha, size = item.get("sha256"), item.get("size")
        if not isinstance(sha, str) or not is_sha256(sha):
            raise FramingError(f"en-tête de lot : empreinte invalide {sha!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise FramingError(f"en-tête de lot : taille invalide {size!r}")
        headers.append(BlobHeader(sha, size))
    return headers


def decode_batch(body: bytes) -> list[tuple[str, bytes]]:
    """Split a whole batch body into (sha256, bytes), checking sizes and hashes."""
    newline = body.find(b"\n")
    if newline < 0:
        raise FramingError("lot sans en-tête")
    headers = parse_batch_header(body[:newline])
    position = newline + 1
    blobs: list[tuple[str, bytes]] = []
    for header in headers:
        data = body[position : position + header.size]
        if len(data) != header.size:
            raise FramingError("lot tronqué")
        if hashlib.sha256(data).hexdigest() != header.sha256:
            raise FramingError(f"empreinte incorrecte pour {header.sha256}")
        blobs.append((header.sha256, data))
        position += header.size
    if position != len(body):
        raise FramingError("octets en trop après le dernier document du lot")
    return blobs


SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: str) -> bool:
    return SHA256_HEX.fullmatch(value) is not None
