from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BundlesConfig(AppConfig):
    name = "comptoir.bundles"
    label = "bundles"
    verbose_name = _("Settings bundles")

    def ready(self) -> None:
        from comptoir.core.navigation import NavEntry, add_settings_tab
        from comptoir.core.roles import Action, Resource

        for label, url_name, icon, order in [
            (_("Settings backup"), "bundles:list", "cloud-arrow-up", 600),
            (_("Drop-down lists"), "bundles:dropdowns", "menu-down", 650),
        ]:
            add_settings_tab(
                NavEntry(label, url_name, icon, Resource.SETTINGS, Action.VIEW, order=order)
            )
