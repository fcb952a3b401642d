"""Settings for the dossier-list benchmark: Comptoir plus django.contrib.admin (the peer)."""

from comptoir.settings import *  # noqa: F403
from comptoir.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.admin"]
ROOT_URLCONF = "benchmarks.bench_admin_urls"
DEBUG = False
# Server time of the views is measured; static files are not served here.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
