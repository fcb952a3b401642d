"""The file being imported, kept between the steps (mapping, dry run, confirmation).

It lives in the default storage (local folder or S3, like documents), under a
folder of the member who uploaded it and a random name: another member, even of
the same organisation, cannot reach it, and no session state is needed (several
tabs, a server restart or another worker are fine). It is deleted after the
import, on "cancel", or a day later at the next upload of anyone (`purge_stale`).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.contacts.importing import MAX_BYTES, ImportFileError
from comptoir.core.errors import NotFound
from comptoir.core.models import Membership

ROOT = "contact-imports"
KEEP = timedelta(days=1)
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}\Z")


@dataclass(frozen=True)
class StoredUpload:
    upload_id: str
    name: str
    data: bytes


def _folder(member: Membership) -> str:
    return f"{ROOT}/{member.public_id.hex}"


def _paths(member: Membership, upload_id: str) -> tuple[str, str]:
    if not _UPLOAD_ID.match(upload_id or ""):
        raise NotFound(_("This import is finished or has expired: upload the file again."))
    base = f"{_folder(member)}/{upload_id}"
    return f"{base}.data", f"{base}.json"


def save_upload(member: Membership, name: str, data: bytes) -> str:
    """Keep the file for the next steps; its id for the URLs."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _("The file is too large (%(size)d MB at most).") % {"size": MAX_BYTES // (1024 * 1024)}
        )
    purge_stale()
    upload_id = secrets.token_urlsafe(24)
    data_path, meta_path = _paths(member, upload_id)
    default_storage.save(data_path, ContentFile(data))
    meta = json.dumps({"name": name[:200]}).encode()
    default_storage.save(meta_path, ContentFile(meta))
    return upload_id


def load_upload(member: Membership, upload_id: str) -> StoredUpload:
    data_path, meta_path = _paths(member, upload_id)
    if not default_storage.exists(data_path):
        raise NotFound(_("This import is finished or has expired: upload the file again."))
    with default_storage.open(data_path, "rb") as handle:
        data = handle.read()
    name = ""
    if default_storage.exists(meta_path):
        with default_storage.open(meta_path, "rb") as handle:
            name = str(json.loads(handle.read() or b"{}").get("name", ""))
    return StoredUpload(upload_id, name, data)


def discard_upload(member: Membership, upload_id: str) -> None:
    for path in _paths(member, upload_id):
        if default_storage.exists(path):
            default_storage.delete(path)


def purge_stale() -> int:
    """Forget every import left half-way more than a day ago (any member's); how many
    files went. Run at each upload, so abandoned files never pile up."""
    limit = timezone.now() - KEEP
    removed = 0
    try:
        folders, _files = default_storage.listdir(ROOT)
    except FileNotFoundError:
        return 0
    for folder in folders:
        _dirs, files = default_storage.listdir(f"{ROOT}/{folder}")
        for name in files:
            path = f"{ROOT}/{folder}/{name}"
            try:
                if default_storage.get_modified_time(path) < limit:
                    default_storage.delete(path)
                    removed += 1
            except (FileNotFoundError, NotImplementedError):
                continue
    return removed
