"""Comptoir's URLs plus the peer baseline: a bare Django view for the same member list.

Served only by the benchmark (`COMPTOIR_URLCONF=benchmarks.bench_urls`). The bare
view is what a plain Django project would write for "list an organisation's
members as JSON": one `.values()` query and a `JsonResponse`, with no token, no
membership check, no role check and no response schema. It returns the same
fields, in the same row order, as `GET /api/v1/orgs/{org}/members`.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from comptoir.core.models import Membership
from comptoir.urls import handler403, handler404, handler500  # noqa: F401
from comptoir.urls import urlpatterns as comptoir_urlpatterns

# (JSON key, `.values()` field), in the API schema's order, so both bodies are byte-identical.
KEYS = (
    ("id", "public_id"),
    ("login", "user__login"),
    ("email", "user__email"),
    ("display_name", "display_name"),
    ("initials", "initials"),
    ("role", "role"),
    ("phone", "phone"),
    ("performs_diagnostics", "performs_diagnostics"),
    ("listed_on_calendar", "listed_on_calendar"),
    ("agenda_color", "agenda_color"),
    ("is_blocked", "is_blocked"),
    ("created_at", "created_at"),
)
FIELDS = tuple(field for _key, field in KEYS)


def bare_members(request: HttpRequest, org: str) -> JsonResponse:
    rows = (
        Membership.objects.filter(organization__slug=org)
        .order_by("display_name", "pk")
        .values(*FIELDS)
    )
    return JsonResponse([{key: row[field] for key, field in KEYS} for row in rows], safe=False)


urlpatterns = [
    path("bench/bare-members/<slug:org>/", bare_members, name="bench-bare-members"),
    *comptoir_urlpatterns,
]
