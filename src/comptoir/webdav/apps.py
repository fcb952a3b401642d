from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebdavConfig(AppConfig):
    name = "comptoir.webdav"
    label = "webdav"
    verbose_name = _("WebDAV")

    def ready(self) -> None:
        from comptoir.dossiers.document_links import add_link_maker
        from comptoir.webdav.links import desktop_link

        add_link_maker(desktop_link)
