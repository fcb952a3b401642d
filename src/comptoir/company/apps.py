from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CompanyConfig(AppConfig):
    name = "comptoir.company"
    label = "company"
    verbose_name = _("Company settings")

    def ready(self) -> None:
        from comptoir.accounts.mail import add_outgoing_router
        from comptoir.company import outgoing, panels
        from comptoir.core.navigation import NavEntry, add_settings_tab
        from comptoir.core.roles import Action, Resource

        add_outgoing_router(outgoing.route)
        panels.register()
        for label, url_name, icon, order in [
            (pgettext_lazy("settings tab", "Company"), "company:profile", "building", 100),
            (_("Documents"), "company:documents", "file-earmark-pdf", 200),
            (_("Tariffs"), "company:tariffs", "tags", 300),
            (_("Devices"), "company:devices", "rulers", 400),
            (_("Outgoing e-mail"), "company:smtp", "envelope-at", 500),
        ]:
            add_settings_tab(
                NavEntry(label, url_name, icon, Resource.SETTINGS, Action.VIEW, order=order)
            )
