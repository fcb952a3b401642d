"""Comptoir's one settings module. Everything is driven by environment variables.

See docs/operations.md for the full list. The defaults are the embedded
setup: SQLite in WAL mode, local files and e-mails written to a folder, all
under COMPTOIR_DATA_DIR (./var by default).
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from comptoir import config

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir()

TESTING = config.env_bool("COMPTOIR_TESTING", "pytest" in sys.modules)
DEBUG = config.env_bool("COMPTOIR_DEBUG", False)
HTTPS = config.env_bool("COMPTOIR_HTTPS", False)
SECRET_KEY = config.secret_key(DATA_DIR)
ALLOWED_HOSTS = config.env_list("COMPTOIR_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = config.env_list("COMPTOIR_CSRF_TRUSTED_ORIGINS", [])
BASE_URL = config.env_str("COMPTOIR_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "comptoir.core",
    "comptoir.accounts",
    "comptoir.contacts",
    "comptoir.numbering",
    "comptoir.dossiers",
    "comptoir.company",
    "comptoir.expenses",
    "comptoir.sync",
    "comptoir.agenda",
    "comptoir.bundles",
    "comptoir.webdav",
    "comptoir.field",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "comptoir.field.middleware.PairedDeviceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "comptoir.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = config.env_str("COMPTOIR_URLCONF", "comptoir.urls")
WSGI_APPLICATION = "comptoir.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "comptoir.core.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": config.database(DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["comptoir.accounts.backends.LoginOrEmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:org-picker"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = config.storages(DATA_DIR)
WHITENOISE_USE_FINDERS = DEBUG or TESTING

_email = config.email(DATA_DIR)
EMAIL_BACKEND = _email.backend
EMAIL_HOST = _email.host
EMAIL_PORT = _email.port
EMAIL_HOST_USER = _email.user
EMAIL_HOST_PASSWORD = _email.password
EMAIL_USE_TLS = _email.use_tls
EMAIL_USE_SSL = _email.use_ssl
EMAIL_FILE_PATH = _email.file_path
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = config.env_str("COMPTOIR_FROM_EMAIL", "Comptoir <noreply@comptoir.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

REDIS_URL = config.env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    TASKS = {"default": {"BACKEND": "django_tasks_rq.backend.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    INSTALLED_APPS.append("django_rq")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "comptoir_cache",
        }
    }
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = config.env_bool("COMPTOIR_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = config.env_int("COMPTOIR_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if config.env_bool("COMPTOIR_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

# Comptoir's own knobs.
COMPTOIR_DEFAULT_STORAGE_QUOTA = (
    config.env_int("COMPTOIR_DEFAULT_STORAGE_QUOTA_GB", 30, minimum=1) * 1024**3
)
COMPTOIR_LOGIN_MAX_FAILURES = config.env_int("COMPTOIR_LOGIN_MAX_FAILURES", 5, minimum=1)
COMPTOIR_LOGIN_LOCKOUT_SECONDS = config.env_int("COMPTOIR_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
COMPTOIR_SETUP_LINK_HOURS = config.env_int("COMPTOIR_SETUP_LINK_HOURS", 72, minimum=1)
COMPTOIR_SHOW_MAILBOX = config.env_bool("COMPTOIR_SHOW_MAILBOX", DEBUG)
# The agenda's map: the geocoder (empty URL: off; tests use a fake server) and the tiles.
COMPTOIR_GEOCODER = config.env_str("COMPTOIR_GEOCODER", "comptoir.agenda.geocoding.BanGeocoder")
COMPTOIR_GEOCODER_URL = config.env_str(
    "COMPTOIR_GEOCODER_URL", "" if TESTING else "https://api-adresse.data.gouv.fr/search/"
)
COMPTOIR_MAP_TILES_URL = config.env_str(
    "COMPTOIR_MAP_TILES_URL", "" if TESTING else "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
)
COMPTOIR_MAP_ATTRIBUTION = config.env_str(  # HTML, shown in the map's corner
    "COMPTOIR_MAP_ATTRIBUTION",
    '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
)

NINJA_PAGINATION_MAX_LIMIT = 1000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": config.env_str("COMPTOIR_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]
