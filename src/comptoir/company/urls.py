from django.urls import path

from comptoir.company import views

app_name = "company"

P = "o/<slug:org>/parametres/"
urlpatterns = [
    path(f"{P}entreprise/", views.profile, name="profile"),
    path(f"{P}entreprise/logo/", views.logo, name="logo"),
    path(f"{P}entreprise/logo/fichier/", views.logo_file, name="logo-file"),
    path(f"{P}documents/", views.documents, name="documents"),
    path(f"{P}documents/fichier/<str:document_id>/", views.document_download, name="document"),
    path(f"{P}documents/<str:kind>/", views.document_upload, name="document-upload"),
    path(f"{P}tarifs/", views.tariffs, name="tariffs"),
    path(f"{P}tarifs/nouveau/", views.tariff_add, name="tariff-add"),
    path(f"{P}tarifs/<str:tariff_id>/", views.tariff_edit, name="tariff-edit"),
    path(f"{P}tarifs/<str:tariff_id>/activation/", views.tariff_active, name="tariff-active"),
    path(f"{P}tarifs/<str:tariff_id>/supprimer/", views.tariff_delete, name="tariff-delete"),
    path(f"{P}appareils/", views.devices, name="devices"),
    path(f"{P}appareils/nouveau/", views.device_add, name="device-add"),
    path(f"{P}appareils/<str:device_id>/", views.device_edit, name="device-edit"),
    path(f"{P}appareils/<str:device_id>/activation/", views.device_active, name="device-active"),
    path(f"{P}e-mail/", views.smtp, name="smtp"),
    path(f"{P}e-mail/test/", views.smtp_test, name="smtp-test"),
    path(f"{P}e-mail/supprimer/", views.smtp_remove, name="smtp-remove"),
    path(f"{P}e-mail/<str:member_id>/", views.smtp, name="smtp-member"),
    path(f"{P}e-mail/<str:member_id>/test/", views.smtp_test, name="smtp-member-test"),
    path(f"{P}e-mail/<str:member_id>/supprimer/", views.smtp_remove, name="smtp-member-remove"),
]
