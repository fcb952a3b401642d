from django.urls import path

from comptoir.contacts import views

app_name = "contacts"

P = "o/<slug:org>/contacts/"
urlpatterns = [
    path(P, views.contact_list, name="list"),
    path(f"{P}choisir/", views.contact_lookup, name="lookup"),
    path(f"{P}export/", views.contact_export, name="export"),
    path(f"{P}nouveau/", views.contact_create, name="create"),
    path(f"{P}importer/", views.contact_import, name="import"),
    path(f"{P}importer/<str:upload_id>/", views.contact_import_map, name="import-map"),
    path(f"{P}importer/<str:upload_id>/confirmer/", views.contact_import_run, name="import-run"),
    path(
        f"{P}importer/<str:upload_id>/abandonner/",
        views.contact_import_cancel,
        name="import-cancel",
    ),
    path(f"{P}<str:contact_id>/", views.contact_detail, name="detail"),
    path(f"{P}<str:contact_id>/modifier/", views.contact_edit, name="edit"),
    path(f"{P}<str:contact_id>/supprimer/", views.contact_delete, name="delete"),
]
