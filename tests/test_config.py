"""Strict parsing of the environment, and a production configuration that passes
`check --deploy`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from comptoir import config

ROOT = Path(__file__).resolve().parents[1]


def refused(call, *args) -> str:
    with pytest.raises(ImproperlyConfigured) as raised:
        call(*args)
    return str(raised.value)


# --- booleans, numbers, lists ---------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("", False),
    ],
)
def test_booleans(monkeypatch, raw, value):
    monkeypatch.setenv("COMPTOIR_DEBUG", raw)
    assert config.env_bool("COMPTOIR_DEBUG", not value) is value


def test_bad_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("COMPTOIR_DEBUG", "maybe")
    assert refused(config.env_bool, "COMPTOIR_DEBUG", False) == (
        "COMPTOIR_DEBUG='maybe': expected one of 1/0, true/false, yes/no, on/off."
    )


def test_unset_variables_take_the_default(monkeypatch):
    monkeypatch.delenv("COMPTOIR_NOT_SET", raising=False)
    assert config.env_bool("COMPTOIR_NOT_SET", True) is True
    assert config.env_int("COMPTOIR_NOT_SET", 7) == 7
    assert config.env_list("COMPTOIR_NOT_SET", ["a"]) == ["a"]


def test_integers(monkeypatch):
    monkeypatch.setenv("COMPTOIR_LOGIN_MAX_FAILURES", " 12 ")
    assert config.env_int("COMPTOIR_LOGIN_MAX_FAILURES", 5, minimum=1) == 12
    monkeypatch.setenv("COMPTOIR_LOGIN_MAX_FAILURES", "five")
    assert refused(config.env_int, "COMPTOIR_LOGIN_MAX_FAILURES", 5) == (
        "COMPTOIR_LOGIN_MAX_FAILURES='five': expected a whole number."
    )
    monkeypatch.setenv("COMPTOIR_LOGIN_MAX_FAILURES", "0")
    with pytest.raises(ImproperlyConfigured) as raised:
        config.env_int("COMPTOIR_LOGIN_MAX_FAILURES", 5, minimum=1)
    assert str(raised.value) == "COMPTOIR_LOGIN_MAX_FAILURES='0': must be at least 1."


def test_lists(monkeypatch):
    monkeypatch.setenv("COMPTOIR_ALLOWED_HOSTS", " a.example, ,b.example ")
    assert config.env_list("COMPTOIR_ALLOWED_HOSTS", []) == ["a.example", "b.example"]


# --- database -------------------------------------------------------------------


def test_bad_database_scheme(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "mysql://u:p@db/comptoir")
    assert refused(config.database, tmp_path) == (
        "DATABASE_URL: unsupported scheme 'mysql'; use sqlite:///path or postgres://…"
    )


def test_default_database_is_sqlite_in_wal_mode(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("COMPTOIR_TEST_SQLITE_NAME", raising=False)
    db = config.database(tmp_path)
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "comptoir.sqlite3")
    assert "PRAGMA journal_mode=WAL;" in db["OPTIONS"]["init_command"]
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_sqlite_connection_gets_its_pragmas(monkeypatch, tmp_path, django_db_blocker):
    """The PRAGMAs of `init_command` take effect on a real connection (a typo in one of
    them would be silently ignored by SQLite)."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("COMPTOIR_TEST_SQLITE_NAME", raising=False)
    settings = config.database(tmp_path)
    wrapper = DatabaseWrapper({**settings, "TIME_ZONE": None, "AUTOCOMMIT": True}, alias="probe")
    try:
        with django_db_blocker.unblock(), wrapper.cursor() as cursor:
            found = {}
            for pragma in ("journal_mode", "synchronous", "foreign_keys", "cache_size"):
                cursor.execute(f"PRAGMA {pragma}")
                found[pragma] = cursor.fetchone()[0]
            cursor.execute("PRAGMA mmap_size")
            mmap = cursor.fetchone()
    finally:
        wrapper.close()
    # synchronous=NORMAL is 1; cache_size negative = KiB
    assert found == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "cache_size": -32768,
    }
    # SQLite may be built with a lower ceiling for the mapping (never 0 here: mmap is on)
    assert mmap is not None and mmap[0] > 0


def test_postgres_url(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://comptoir:s3cret@db.local:5433/comptoir")
    db = config.database(tmp_path)
    assert (db["ENGINE"], db["HOST"], db["PORT"], db["NAME"], db["USER"], db["PASSWORD"]) == (
        "django.db.backends.postgresql",
        "db.local",
        5433,
        "comptoir",
        "comptoir",
        "s3cret",
    )
    assert db["CONN_HEALTH_CHECKS"] is True


# --- e-mail ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "ftp://mail.example",
            "EMAIL_URL: unsupported scheme 'ftp'; use smtp://, smtps://, file:// or console:",
        ),
        ("smtp://mail.example:port", "EMAIL_URL: invalid port in 'smtp://mail.example:port'."),
        (
            "mail.example",
            "EMAIL_URL: unsupported scheme ''; use smtp://, smtps://, file:// or console:",
        ),
    ],
)
def test_bad_email_url(monkeypatch, tmp_path, url, message):
    monkeypatch.setenv("EMAIL_URL", url)
    assert refused(config.email, tmp_path) == message


def test_smtp_url(monkeypatch, tmp_path):
    monkeypatch.setenv("EMAIL_URL", "smtp://relay%40diag.fr:p%40ss@smtp.example:587?tls=1")
    assert config.email(tmp_path) == config.EmailConfig(
        "django.core.mail.backends.smtp.EmailBackend",
        host="smtp.example",
        port=587,
        user="relay@diag.fr",
        password="p@ss",
        use_tls=True,
        use_ssl=False,
    )
    monkeypatch.setenv("EMAIL_URL", "smtps://smtp.example")
    assert (config.email(tmp_path).port, config.email(tmp_path).use_ssl) == (465, True)
    monkeypatch.delenv("EMAIL_URL")
    assert config.email(tmp_path).file_path == str(tmp_path / "mail")


# --- storage --------------------------------------------------------------------


def test_storage_urls(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPTOIR_STORAGE_URL", "s3://")
    assert refused(config.storages, tmp_path) == "COMPTOIR_STORAGE_URL: s3:// needs a bucket name."
    monkeypatch.setenv("COMPTOIR_STORAGE_URL", "gs://bucket")
    assert "unsupported scheme 'gs'" in refused(config.storages, tmp_path)
    monkeypatch.setenv(
        "COMPTOIR_STORAGE_URL",
        "s3://comptoir-files/prod?endpoint_url=https://s3.example&region=fr-par",
    )
    assert config.storages(tmp_path)["default"]["OPTIONS"] == {
        "bucket_name": "comptoir-files",
        "default_acl": None,
        "location": "prod",
        "endpoint_url": "https://s3.example",
        "region_name": "fr-par",
    }


# --- the secret key -------------------------------------------------------------


def test_short_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 49)
    assert refused(config.secret_key, tmp_path) == (
        "SECRET_KEY: must be at least 50 characters long."
    )


def test_secret_key_file(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    key_file = tmp_path / "key"
    key_file.write_text("k" * 64 + "\n", encoding="utf-8")
    monkeypatch.setenv("SECRET_KEY_FILE", str(key_file))
    assert config.secret_key(tmp_path) == "k" * 64
    key_file.write_text("short", encoding="utf-8")
    assert refused(config.secret_key, tmp_path) == (
        f"SECRET_KEY_FILE={str(key_file)!r}: key shorter than 50."
    )
    missing = tmp_path / "missing"
    monkeypatch.setenv("SECRET_KEY_FILE", str(missing))
    assert refused(config.secret_key, tmp_path) == (
        f"SECRET_KEY_FILE={str(missing)!r}: No such file or directory."
    )


def test_generated_secret_key_is_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY_FILE", raising=False)
    first = config.secret_key(tmp_path)
    assert len(first) >= 80
    assert config.secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


# --- a production configuration -------------------------------------------------


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COMPTOIR_", "DJANGO_"))
        and key not in {"SECRET_KEY", "SECRET_KEY_FILE", "EMAIL_URL", "REDIS_URL"}
    }
    env.update(
        {
            "COMPTOIR_DEBUG": "0",
            "COMPTOIR_HTTPS": "1",
            "SECRET_KEY": secrets.token_urlsafe(45)[:60],
            "COMPTOIR_DATA_DIR": str(tmp_path),
            "COMPTOIR_TESTING": "0",
            "COMPTOIR_ALLOWED_HOSTS": "comptoir.example",
        }
    )
    assert len(env["SECRET_KEY"]) == 60
    result = subprocess.run(
        [sys.executable, "-m", "comptoir.cli", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_bad_variable_stops_the_process(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMPTOIR_")}
    env.update({"COMPTOIR_DATA_DIR": str(tmp_path), "COMPTOIR_DEBUG": "peut-être"})
    result = subprocess.run(
        [sys.executable, "-m", "comptoir.cli", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "COMPTOIR_DEBUG='peut-être': expected one of 1/0" in result.stderr
