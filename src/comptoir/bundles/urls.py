from django.urls import path

from comptoir.bundles import views

app_name = "bundles"

P = "o/<slug:org>/parametres/"
urlpatterns = [
    path(f"{P}sauvegarde/", views.bundle_list, name="list"),
    path(f"{P}sauvegarde/publier/", views.bundle_publish, name="publish"),
    path(f"{P}sauvegarde/<str:bundle_id>/", views.bundle_detail, name="detail"),
    path(f"{P}sauvegarde/<str:bundle_id>/importer/", views.bundle_import, name="import"),
    path(f"{P}menus-deroulants/", views.dropdown_lists, name="dropdowns"),
    path(f"{P}menus-deroulants/nouveau/", views.dropdown_list_add, name="dropdown-add"),
    path(f"{P}menus-deroulants/<str:list_id>/", views.dropdown_list_edit, name="dropdown-edit"),
]
