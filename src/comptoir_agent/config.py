"""Where the station keeps its state: the data folder, its `.comptoir/` folder, the token.

`<data>/.comptoir/station.json` is the pairing record and the sentinel: a data
folder without it is not synced (an unmounted disk must not look like "every
dossier was deleted").
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from comptoir_agent.files import write_bytes

ENV_DATA = "COMPTOIR_AGENT_DATA"
STATE_DIR = ".comptoir"
SETTINGS_DIR = "Parametres"


class ConfigError(Exception):
    """A problem with the data folder or the pairing; `exit_code` tells the CLI what to return."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    @property
    def sentinel(self) -> Path:
        return self.state / "station.json"

    @property
    def token(self) -> Path:
        return self.state / "token"

    @property
    def journal(self) -> Path:
        return self.state / "journal.sqlite3"

    @property
    def trash(self) -> Path:
        return self.state / "trash"

    @property
    def lock(self) -> Path:
        return self.state / "lock"

    @property
    def log(self) -> Path:
        return self.state / "agent.log"

    @property
    def settings(self) -> Path:
        return self.root / SETTINGS_DIR


@dataclass(frozen=True)
class Station:
    """What pairing told the station about itself."""

    hub: str
    org: str
    organization: str
    station: str
    name: str
    paired_at: str


def local_now() -> datetime:
    """The station's wall clock, timezone-aware (windows and dates are local)."""
    return datetime.now(UTC).astimezone()


def local_today() -> date:
    return local_now().date()


def resolve_data_dir(arg: str | None) -> Path:
    value = arg or os.environ.get(ENV_DATA)
    if not value:
        raise ConfigError(
            f"Dossier de données non indiqué : utilisez --data DOSSIER ou la variable {ENV_DATA}.",
            1,
        )
    return Path(value).expanduser().absolute()


def normalise_hub_url(url: str) -> str:
    """`https://hub.example/` or `…/api/v1/` → `https://hub.example`."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"Adresse du hub invalide : {url!r} (http:// ou https:// attendu).", 1)
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    return url


def load_station(paths: Paths) -> Station:
    """The pairing record; refuses a missing folder, a missing sentinel or a missing token."""
    if not paths.root.is_dir():
        raise ConfigError(
            f"Le dossier de données {paths.root} est introuvable (disque non monté ?) : "
            "synchronisation refusée.",
            5,
        )
    if not paths.sentinel.is_file():
        if paths.journal.exists():
            raise ConfigError(
                f"{paths.sentinel} manque alors que le journal existe : le dossier de données "
                "semble remplacé ou incomplet, synchronisation refusée.",
                5,
            )
        raise ConfigError(
            f"Ce poste n'est pas appairé ({paths.root}) : lancez "
            "« comptoir-agent pair ADRESSE CODE ».",
            2,
        )
    try:
        raw = json.loads(paths.sentinel.read_text(encoding="utf-8"))
        station = Station(**{key: str(raw[key]) for key in Station.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{paths.sentinel} est illisible : {exc}", 2) from exc
    if not paths.token.is_file():
        raise ConfigError("Le jeton du poste manque : appairez à nouveau ce poste.", 2)
    return station


def read_token(paths: Paths) -> str:
    try:
        return paths.token.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"Jeton illisible : {exc}", 2) from exc


def save_station(paths: Paths, station: Station, token: str) -> None:
    """Write the token (mode 0600) then the sentinel, each atomically."""
    paths.state.mkdir(parents=True, exist_ok=True)
    write_private(paths.token, token.encode("utf-8") + b"\n")
    body = json.dumps(asdict(station), indent=2, ensure_ascii=False) + "\n"
    write_bytes(paths.sentinel, body.encode("utf-8"))


def write_private(path: Path, data: bytes) -> None:
    """Atomically write a file only its owner can read (0600)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class StateLock:
    """An exclusive lock on `<data>/.comptoir/lock`: one pass at a time per data folder."""

    def __init__(self, paths: Paths) -> None:
        self.path = paths.lock
        self.handle: IO[Any] | None = None

    def __enter__(self) -> StateLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")
        try:
            _lock(handle)
        except OSError as exc:
            handle.close()
            raise ConfigError(
                "Une autre synchronisation est en cours sur ce dossier de données.", 1
            ) from exc
        self.handle = handle
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.handle is not None:
            _unlock(self.handle)
            self.handle.close()
            self.handle = None


if sys.platform == "win32":
    import msvcrt

    def _lock(handle: IO[Any]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle: IO[Any]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[Any]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: IO[Any]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
