from django.urls import path

from comptoir.core import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("o/", views.org_picker, name="org-picker"),
    path("o/<slug:org>/", views.dashboard, name="dashboard"),
    path("o/<slug:org>/journal/", views.audit_log, name="audit"),
    path("o/<slug:org>/journal/export.xlsx", views.audit_export, name="audit-export"),
    path("o/<slug:org>/parametres/", views.org_settings, name="org-settings"),
    path("boite-mail/", views.mailbox, name="mailbox"),
]
