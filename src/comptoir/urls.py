from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from comptoir.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("comptoir.accounts.urls")),
    path("", include("comptoir.contacts.urls")),
    path("", include("comptoir.dossiers.urls")),
    path("", include("comptoir.company.urls")),
    path("", include("comptoir.expenses.urls")),
    path("", include("comptoir.numbering.urls")),
    path("", include("comptoir.sync.urls")),
    path("", include("comptoir.agenda.urls")),
    path("", include("comptoir.bundles.urls")),
    path("", include("comptoir.webdav.urls")),
    path("", include("comptoir.field.urls")),
    path("", include("comptoir.core.urls")),
]

handler403 = "comptoir.core.errorpages.forbidden"
handler404 = "comptoir.core.errorpages.not_found"
handler500 = "comptoir.core.errorpages.server_error"
