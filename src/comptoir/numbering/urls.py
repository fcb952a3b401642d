from __future__ import annotations

from django.urls import path

from comptoir.numbering import views

app_name = "numbering"

P = "o/<slug:org>/parametres/numerotation/"
urlpatterns = [
    path(P, views.numbering_settings, name="settings"),
    path(f"{P}<str:kind>/masque/", views.series_edit, name="series-edit"),
    path(f"{P}<str:kind>/prochain/", views.next_edit, name="next-edit"),
]
