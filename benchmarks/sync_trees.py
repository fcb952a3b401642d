"""Helpers of `benchmarks/sync_vs_rsync.py`: the trees both tools sync, and station codes.

The trees are data folders as `comptoir-agent` expects them (docs/agent.md,
src/comptoir_agent/layout.py): `<root>/<year>/<number>/dossier.json` (valid
against docs/sync/dossier.schema.json, `files` left empty: the agent computes
the manifest) plus the dossier's documents, random incompressible bytes from a
seeded RNG. rsync copies the very same folders.

Run as a module inside the hub's environment, it makes pairing codes in bulk
(one process instead of one `comptoir station add` per station):

    python -m benchmarks.sync_trees codes --org acme --prefix Sim --count 200
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

YEAR = 2026
DOSSIER_FILE = "dossier.json"
STATUSES = ("to_schedule", "scheduled", "done", "report_sent", "invoiced")


@dataclass(frozen=True)
class TreeSpec:
    """`dossiers` folders of `files_per_dossier` documents of `file_size` bytes each."""

    name: str
    dossiers: int
    files_per_dossier: int
    file_size: int
    first_number: int = 1

    @property
    def files(self) -> int:
        return self.dossiers * self.files_per_dossier

    @property
    def bytes(self) -> int:
        return self.files * self.file_size


def number_of(spec: TreeSpec, index: int) -> str:
    return f"{YEAR}-{spec.first_number + index:05d}"


def rel_of(spec: TreeSpec, index: int) -> str:
    return f"{YEAR}/{number_of(spec, index)}"


def dossier_doc(rng: random.Random, number: str) -> dict[str, Any]:
    """A dossier document like tests/agent/conftest.py `make_doc`, with a seeded id."""
    return {
        "schema": 1,
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "number": number,
        "year": YEAR,
        "status": "scheduled",
        "created_at": f"{YEAR}-03-10T09:00:00+01:00",
        "missions": ["dpe", "amiante"],
        "client": {"name": "Agence du Beffroi", "city": "Lille"},
        "property": {"street": f"{number[-3:]} rue Esquermoise", "city": "Lille"},
        "files": [],
    }


def document_name(index: int, spec: TreeSpec) -> str:
    suffix = "pdf" if spec.file_size <= 4 * 1024 * 1024 else "dwg"
    return f"document-{index:02d}.{suffix}"


def write_tree(root: Path, spec: TreeSpec, seed: int) -> dict[str, Any]:
    """Write the tree under `root` (created); the same seed gives the same bytes."""
    rng = random.Random(f"{seed}:{spec.name}")
    root.mkdir(parents=True, exist_ok=True)
    for index in range(spec.dossiers):
        folder = root / rel_of(spec, index)
        folder.mkdir(parents=True, exist_ok=True)
        doc = dossier_doc(rng, number_of(spec, index))
        (folder / DOSSIER_FILE).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        for file_index in range(spec.files_per_dossier):
            with open(folder / document_name(file_index, spec), "wb") as out:
                left = spec.file_size
                while left:  # randbytes of 64 MiB at once would double the memory needed
                    step = min(left, 8 * 1024 * 1024)
                    out.write(rng.randbytes(step))
                    left -= step
    return {
        "name": spec.name,
        "dossiers": spec.dossiers,
        "documents": spec.files,
        "document_size": spec.file_size,
        "files_with_dossier_json": spec.files + spec.dossiers,
        "document_bytes": spec.bytes,
    }


def modify(roots: list[Path], spec: TreeSpec, indexes: list[int], round_: int, seed: int) -> int:
    """Change one document and one dossier.json field in each dossier, identically in
    every root; returns the bytes rewritten (per root)."""
    written = 0
    for index in indexes:
        rng = random.Random(f"{seed}:{spec.name}:edit:{round_}:{index}")
        data = rng.randbytes(spec.file_size)
        status = STATUSES[(round_ + 1) % len(STATUSES)]
        name = document_name(round_ % spec.files_per_dossier, spec)
        for root in roots:
            folder = root / rel_of(spec, index)
            (folder / name).write_bytes(data)
            doc = json.loads((folder / DOSSIER_FILE).read_text(encoding="utf-8"))
            doc["status"] = status
            doc["operator"] = f"R{round_}"
            raw = json.dumps(doc, ensure_ascii=False)
            (folder / DOSSIER_FILE).write_text(raw, encoding="utf-8")
        written += len(data) + len(raw.encode())
    return written


def reidentify(root: Path, salt: str) -> int:
    """Give every dossier of the tree another id (same length, derived from `salt`).

    A dossier id is unique across the hub: a second upload of the same tree into a
    fresh organisation (a repeat of an initial upload) needs other ids; the
    documents' bytes, hence the blobs, stay the same."""
    count = 0
    for path in sorted(root.glob(f"*/*/{DOSSIER_FILE}")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["id"] = str(uuid.uuid5(uuid.UUID(doc["id"]), salt))
        stat = path.stat()
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        count += 1
    return count


def documents_digest(root: Path) -> dict[str, Any]:
    """Count, bytes and one SHA-256 over every document (not dossier.json) of the tree:
    the same for two trees holding the same documents under the same names."""
    digest = hashlib.sha256()
    count = size = dossiers = 0
    for year in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
        for folder in sorted(p for p in year.iterdir() if p.is_dir()):
            if not (folder / DOSSIER_FILE).exists():
                continue
            dossiers += 1
            for path in sorted(folder.iterdir()):
                if path.name == DOSSIER_FILE or not path.is_file():
                    continue
                data = path.read_bytes()
                rel = f"{year.name}/{folder.name}/{path.name}"
                digest.update(f"{rel}\0{hashlib.sha256(data).hexdigest()}\n".encode())
                count += 1
                size += len(data)
    return {"dossiers": dossiers, "documents": count, "bytes": size, "sha256": digest.hexdigest()}


def dossier_fields(root: Path) -> dict[str, dict[str, Any]]:
    """Each dossier's fields but `files`, keyed by its relative folder."""
    found = {}
    for path in sorted(root.glob(f"*/*/{DOSSIER_FILE}")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc.pop("files", None)
        found[f"{path.parent.parent.name}/{path.parent.name}"] = doc
    return found


# --- pairing codes in bulk (inside the hub's environment) -----------------------------------


def make_codes(org_slug: str, prefix: str, count: int) -> list[str]:
    import django

    django.setup()
    from comptoir.core.audit import request_context
    from comptoir.core.models import Membership, Organization
    from comptoir.core.roles import Role
    from comptoir.sync import services

    org = Organization.objects.get(slug=org_slug)
    member = (
        Membership.objects.filter(organization=org, role=Role.ADMIN, is_blocked=False)
        .order_by("pk")
        .first()
    )
    if member is None:
        raise SystemExit(f"no administrator in {org_slug!r}")
    codes = []
    with request_context(None, "cli"):
        for number in range(count):
            _station, code = services.add_station(
                org, f"{prefix} {number + 1:04d}", member=member, actor=None
            )
            codes.append(code)
    return codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Pairing codes in bulk for the benchmark.")
    sub = parser.add_subparsers(dest="verb", required=True)
    codes = sub.add_parser("codes")
    codes.add_argument("--org", required=True)
    codes.add_argument("--prefix", required=True)
    codes.add_argument("--count", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
    print(json.dumps(make_codes(args.org, args.prefix, args.count)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
