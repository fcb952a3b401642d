"""Strict parsing of Comptoir's environment variables.

Every setting comes from the environment. A value that cannot be understood
stops the process with a message naming the variable and what was expected,
rather than silently falling back to a default.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r}: must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def data_dir() -> Path:
    """Folder for the embedded default: SQLite database, files, mail, secret key."""
    path = Path(env_str("COMPTOIR_DATA_DIR") or "var").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(folder: Path) -> str:
    """SECRET_KEY, SECRET_KEY_FILE, or a key generated once into the data folder."""
    direct = env_str("SECRET_KEY")
    if direct:
        if len(direct) < 50:
            raise ImproperlyConfigured("SECRET_KEY: must be at least 50 characters long.")
        return direct
    file_name = env_str("SECRET_KEY_FILE")
    if file_name:
        try:
            value = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"SECRET_KEY_FILE={file_name!r}: {exc.strerror}.") from None
        if len(value) < 50:
            raise ImproperlyConfigured(f"SECRET_KEY_FILE={file_name!r}: key shorter than 50.")
        return value
    generated = folder / "secret_key"
    if not generated.exists():
        generated.touch(mode=0o600)
        generated.write_text(secrets.token_urlsafe(64), encoding="utf-8")
    return generated.read_text(encoding="utf-8").strip()


def database(folder: Path) -> dict[str, object]:
    import dj_database_url

    url = env_str("DATABASE_URL") or f"sqlite:///{folder / 'comptoir.sqlite3'}"
    scheme = urlsplit(url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:///path or postgres://…"
        )
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
    if scheme == "sqlite":
        # Kept open like PostgreSQL's: a new connection re-runs the PRAGMAs below, about a
        # fifth of a station's feed poll (benchmarks/sync_vs_rsync.py).
        config["CONN_MAX_AGE"] = 60
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                # SQLite's own page cache is 2 MiB by default: past a few tens of
                # thousands of documents, the indexes of blobs and documents no longer
                # fit and every insert reads pages back. 32 MiB per connection at most,
                # and the file mapped (shared by every connection through the OS cache).
                " PRAGMA cache_size=-32768; PRAGMA mmap_size=268435456;"
            ),
        }
        test_name = env_str("COMPTOIR_TEST_SQLITE_NAME")
        if test_name:
            config["TEST"] = {"NAME": test_name}
    else:
        config["CONN_HEALTH_CHECKS"] = True
    return config


@dataclass(frozen=True)
class EmailConfig:
    backend: str
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    file_path: str = ""


def email(folder: Path) -> EmailConfig:
    """EMAIL_URL: smtp://user:pass@host:587?tls=1, smtps://…, file:///path, console:."""
    url = env_str("EMAIL_URL") or f"file://{folder / 'mail'}"
    parts = urlsplit(url)
    if parts.scheme == "file":
        return EmailConfig("django.core.mail.backends.filebased.EmailBackend", file_path=parts.path)
    if parts.scheme == "console":
        return EmailConfig("django.core.mail.backends.console.EmailBackend")
    if parts.scheme in {"smtp", "smtps"}:
        query = parse_qs(parts.query)
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ImproperlyConfigured(f"EMAIL_URL: invalid port in {url!r}.") from None
        return EmailConfig(
            "django.core.mail.backends.smtp.EmailBackend",
            host=parts.hostname or "localhost",
            port=port,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            use_tls=query.get("tls", ["0"])[0] in TRUE_WORDS,
            use_ssl=parts.scheme == "smtps",
        )
    raise ImproperlyConfigured(
        f"EMAIL_URL: unsupported scheme {parts.scheme!r}; "
        "use smtp://, smtps://, file:// or console:"
    )


def storages(folder: Path) -> dict[str, dict[str, object]]:
    """COMPTOIR_STORAGE_URL: file:///path (default) or s3://bucket?endpoint_url=…&region=…"""
    url = env_str("COMPTOIR_STORAGE_URL") or f"file://{folder / 'files'}"
    parts = urlsplit(url)
    if parts.scheme == "file":
        default: dict[str, object] = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": parts.path},
        }
    elif parts.scheme == "s3":
        if not parts.hostname:
            raise ImproperlyConfigured("COMPTOIR_STORAGE_URL: s3:// needs a bucket name.")
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        options: dict[str, object] = {"bucket_name": parts.hostname, "default_acl": None}
        if parts.path.strip("/"):
            options["location"] = parts.path.strip("/")
        if "endpoint_url" in query:
            options["endpoint_url"] = query["endpoint_url"]
        if "region" in query:
            options["region_name"] = query["region"]
        default = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
    else:
        raise ImproperlyConfigured(
            f"COMPTOIR_STORAGE_URL: unsupported scheme {parts.scheme!r}; use file:// or s3://"
        )
    return {
        "default": default,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }


def generate_secret() -> str:
    return secrets.token_urlsafe(64)
