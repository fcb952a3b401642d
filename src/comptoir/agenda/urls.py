from django.urls import path

from comptoir.agenda import views

app_name = "agenda"

P = "o/<slug:org>/agenda/"
urlpatterns = [
    path(P, views.calendar, name="calendar"),
    path(f"{P}nouveau/", views.appointment_add, name="appointment-add"),
    path(f"{P}carte/", views.day_map, name="map"),
    path(f"{P}abonnement/", views.feed_page, name="feed"),
    path(f"{P}abonnement/nouvelle-adresse/", views.feed_regenerate, name="feed-regenerate"),
    path(f"{P}abonnement/desactiver/", views.feed_revoke, name="feed-revoke"),
    path(f"{P}abonnement/options/", views.feed_options, name="feed-options"),
    path(f"{P}rdv/<str:appointment_id>/", views.appointment_detail, name="appointment"),
    path(
        f"{P}rdv/<str:appointment_id>/annuler/", views.appointment_cancel, name="appointment-cancel"
    ),
    path("o/<slug:org>/parametres/agenda/", views.agenda_settings, name="settings"),
    path("agenda/ics/<str:token>.ics", views.feed_ics, name="feed-ics"),
]
