from django.urls import path

from comptoir.dossiers import settings_views, views

app_name = "dossiers"

P = "o/<slug:org>/dossiers/"
S = "o/<slug:org>/parametres/dossiers/"
urlpatterns = [
    path(P, views.dossier_list, name="list"),
    path(f"{P}colonnes/", views.dossier_columns, name="columns"),
    path(f"{P}export/", views.dossier_export, name="export"),
    path(f"{P}selection/", views.dossier_bulk, name="bulk"),
    path(f"{P}nouveau/", views.dossier_create, name="create"),
    path(f"{P}<str:dossier_id>/", views.dossier_detail, name="detail"),
    path(f"{P}<str:dossier_id>/modifier/", views.dossier_edit, name="edit"),
    path(f"{P}<str:dossier_id>/statut/", views.dossier_status, name="status"),
    path(f"{P}<str:dossier_id>/supprimer/", views.dossier_delete, name="delete"),
    path(f"{P}<str:dossier_id>/documents/", views.document_add, name="document-add"),
    path(
        f"{P}<str:dossier_id>/documents/<str:document_id>/",
        views.document_download,
        name="document",
    ),
    path(f"{P}<str:dossier_id>/notes/", views.note_add, name="note-add"),
]
urlpatterns += [
    path(S, settings_views.dossier_settings, name="settings"),
    path(f"{S}nouvelle-mission/", settings_views.mission_type_add, name="mission-type-add"),
    path(f"{S}missions/<slug:code>/", settings_views.mission_type_edit, name="mission-type-edit"),
    path(
        f"{S}missions/<slug:code>/activation/",
        settings_views.mission_type_active,
        name="mission-type-active",
    ),
    path(f"{S}nouveau-champ/", settings_views.custom_field_add, name="custom-field-add"),
    path(f"{S}champs/<slug:key>/", settings_views.custom_field_edit, name="custom-field-edit"),
    path(
        f"{S}champs/<slug:key>/deplacer/",
        settings_views.custom_field_move,
        name="custom-field-move",
    ),
    path(
        f"{S}champs/<slug:key>/supprimer/",
        settings_views.custom_field_delete,
        name="custom-field-delete",
    ),
]
