"""What makes the field app installable: the web app manifest, the service worker and the
page it shows without a network. All three are public (a browser fetches the manifest
without cookies) and hold no personal data."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

NAME = "Comptoir Terrain"
THEME_COLOUR = "#1f4e79"
BACKGROUND_COLOUR = "#ffffff"
ICONS = (
    ("field/icons/icon-192.png", 192, "any"),
    ("field/icons/icon-512.png", 512, "any"),
    ("field/icons/icon-maskable-512.png", 512, "maskable"),
)
# What the service worker stores when it installs: the pages' styles, fonts and icons.
SHELL = (
    "comptoir/vendor/bootstrap/bootstrap.min.css",
    "comptoir/vendor/bootstrap-icons/bootstrap-icons.min.css",
    "comptoir/vendor/bootstrap-icons/fonts/bootstrap-icons.woff2",
    "field/field.css",
    "field/field.js",
    "field/icons/icon-192.png",
)
# Bump when sw.js changes in a way its rendered text would not show.
WORKER_REVISION = "1"


def manifest_for(org: str) -> dict[str, Any]:
    home = reverse("field:home", kwargs={"org": org})
    return {
        "id": home,
        "name": NAME,
        "short_name": "Terrain",  # a name, like NAME: not translated
        "description": _("Your appointments, dossiers and receipts, on your phone."),
        "lang": get_language() or "fr",
        "start_url": home,
        "scope": home,
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {
                "src": static(path),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": purpose,
            }
            for path, size, purpose in ICONS
        ],
    }


@require_safe
def manifest(request: HttpRequest, org: str) -> HttpResponse:
    return JsonResponse(
        manifest_for(org),
        content_type="application/manifest+json",
        json_dumps_params={"ensure_ascii": False, "indent": 1},
        headers={"Cache-Control": "public, max-age=3600"},
    )


def offline_page(org: str) -> str:
    """The page the service worker shows for a page it cannot fetch (no request: no data)."""
    return render_to_string("field/offline.html", {"field_org": org})


@require_safe
def offline(request: HttpRequest, org: str) -> HttpResponse:
    return HttpResponse(offline_page(org), headers={"Cache-Control": "no-cache"})


@require_safe
def service_worker(request: HttpRequest, org: str) -> HttpResponse:
    """Served under /o/<org>/terrain/, so its scope is the field app of that organisation."""
    offline_url = reverse("field:offline", kwargs={"org": org})
    shell = [offline_url, *(static(path) for path in SHELL)]
    fingerprint = json.dumps([WORKER_REVISION, shell, offline_page(org)])
    config = {
        "cachePrefix": f"comptoir-terrain-{org}-",
        "version": hashlib.sha256(fingerprint.encode()).hexdigest()[:12],
        "offline": offline_url,
        "staticPrefix": settings.STATIC_URL,  # static("") fails with the manifest storage
        "shell": shell,
    }
    body = render_to_string("field/sw.js", {"config": json.dumps(config, indent=1)})
    return HttpResponse(
        body,
        content_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )
