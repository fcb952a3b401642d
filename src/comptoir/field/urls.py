from django.urls import path

from comptoir.field import phone_views, pwa, views

app_name = "field"

P = "o/<slug:org>/terrain/"
urlpatterns = [
    path(P, views.home, name="home"),
    path(f"{P}dossiers/", views.dossier_list, name="dossiers"),
    path(f"{P}dossiers/nouveau/", views.dossier_create, name="dossier-create"),
    path(f"{P}dossiers/<str:dossier_id>/", views.dossier_detail, name="dossier"),
    path(f"{P}dossiers/<str:dossier_id>/notes/", views.note_add, name="note-add"),
    path(f"{P}rendez-vous/nouveau/", views.appointment_add, name="appointment-add"),
    path(f"{P}justificatif/", views.receipt_add, name="receipt-add"),
    path(f"{P}manifest.webmanifest", pwa.manifest, name="manifest"),
    path(f"{P}sw.js", pwa.service_worker, name="service-worker"),
    path(f"{P}hors-ligne/", pwa.offline, name="offline"),
    path("o/<slug:org>/mon-telephone/", phone_views.phone, name="phone"),
    path("o/<slug:org>/mon-telephone/connecter/", phone_views.phone_link, name="phone-link"),
    path(
        "o/<slug:org>/mon-telephone/<str:device_id>/deconnecter/",
        phone_views.device_revoke,
        name="device-revoke",
    ),
    path("terrain/connexion/<str:secret>/", phone_views.pair, name="pair"),
]
