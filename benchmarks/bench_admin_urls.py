"""Comptoir's URLs plus the Django admin changelist of Dossier, configured as a competent
admin user would (list_select_related, search on the indexed text, 50 rows): the peer."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import include, path

from comptoir.dossiers.models import Dossier


class BenchAdminSite(admin.AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active)


class DossierAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "status",
        "appointment_at",
        "ordering_party",
        "property_street",
        "property_city",
        "technician",
    ]
    list_select_related = ["ordering_party", "technician"]
    search_fields = ["search_text"]
    list_per_page = 50
    ordering = ["-year", "-sequence"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return True


site = BenchAdminSite(name="bench-admin")
site.register(Dossier, DossierAdmin)

urlpatterns = [path("bench-admin/", site.urls), path("", include("comptoir.urls"))]
