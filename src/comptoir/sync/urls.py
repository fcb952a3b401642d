from __future__ import annotations

from django.urls import path

from comptoir.sync import views, zone_views

app_name = "sync"

P = "o/<slug:org>/parametres/"
urlpatterns = [
    path(f"{P}postes/", views.stations, name="stations"),
    path(f"{P}postes/ajouter/", views.station_add, name="station-add"),
    path(f"{P}postes/options/", views.company_options, name="options"),
    path(f"{P}postes/<str:station_id>/", views.station_detail, name="station"),
    path(
        f"{P}postes/<str:station_id>/options/", views.station_options_post, name="station-options"
    ),
    path(f"{P}postes/<str:station_id>/code/", views.station_code, name="station-code"),
    path(f"{P}postes/<str:station_id>/revoquer/", views.station_revoke, name="station-revoke"),
    path(f"{P}postes/<str:station_id>/relire/", views.station_reread, name="station-reread"),
    path(f"{P}volume/", views.volume, name="volume"),
    path(f"{P}volume/<int:cleanup_id>/annuler/", views.cleanup_cancel, name="cleanup-cancel"),
    path(
        "o/<slug:org>/dossiers/<str:dossier_id>/conflits/",
        views.dossier_conflicts,
        name="conflicts",
    ),
    path("o/<slug:org>/zone-echange/", zone_views.zone_page, name="zone"),
    path(
        "o/<slug:org>/dossiers/<str:dossier_id>/zone-echange/",
        zone_views.zone_add,
        name="zone-add",
    ),
    path(
        "o/<slug:org>/dossiers/<str:dossier_id>/zone-echange/retirer/",
        zone_views.zone_remove,
        name="zone-remove",
    ),
]
