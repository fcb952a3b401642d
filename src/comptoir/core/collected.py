"""Static files collected once per change of their sources, not at every start.

`comptoir serve` collects the static files before it serves them. With compression
(WhiteNoise writes a gzip and a Brotli copy of each file, the API explorers' bundles
included), that is about 15 seconds and 27 processor seconds every time, for files that
rarely change. The collection is skipped when the sources (each file's path, size and
modification time, as the finders list them) and the storage are what they were at the
last one, and what it wrote is still there.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles.apps import StaticFilesConfig
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command


def sources_fingerprint() -> str:
    """A digest of the static sources as the finders list them, and of the storage."""
    digest = hashlib.sha256()
    storage = settings.STORAGES["staticfiles"]
    digest.update(json.dumps([storage, str(settings.STATIC_URL)], sort_keys=True).encode())
    entries = []
    config = apps.get_app_config("staticfiles")
    assert isinstance(config, StaticFilesConfig)
    ignored = config.ignore_patterns  # what collectstatic leaves out
    for finder in get_finders():
        for path, storage in finder.list(ignored):
            prefix = getattr(storage, "prefix", None) or ""
            stat = os.stat(storage.path(path))
            entries.append(f"{os.path.join(prefix, path)}\0{stat.st_size}\0{stat.st_mtime_ns}")
    for entry in sorted(entries):
        digest.update(entry.encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def stamp_path() -> Path:
    """Beside the collected files, not among them (WhiteNoise serves all of those)."""
    root = Path(settings.STATIC_ROOT)
    return root.with_name(root.name + ".collected")


def _still_there(root: Path) -> bool:
    """The files a manifest names are all in place (no manifest: nothing to check)."""
    manifest = root / "staticfiles.json"
    if not manifest.is_file():
        return root.is_dir()
    try:
        paths = json.loads(manifest.read_text("utf-8")).get("paths", {})
    except (OSError, ValueError, AttributeError):
        return False
    return all((root / name).is_file() for name in paths.values())


def collect_static() -> bool:
    """`collectstatic`, unless the sources are those of the last collection and what it
    wrote is in place. True when it ran."""
    stamp = stamp_path()
    fingerprint = sources_fingerprint()
    try:
        done = stamp.read_text("ascii").strip() == fingerprint
    except OSError:
        done = False
    if done and _still_there(Path(settings.STATIC_ROOT)):
        return False
    stamp.unlink(missing_ok=True)  # a collection cut short is not taken for a whole one
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint + "\n", "ascii")
    return True
