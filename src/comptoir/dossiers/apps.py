from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DossiersConfig(AppConfig):
    name = "comptoir.dossiers"
    label = "dossiers"
    verbose_name = _("Dossiers")

    def ready(self) -> None:
        from comptoir.core.navigation import NavEntry, add_nav_entry, add_settings_tab
        from comptoir.core.roles import Action, Resource

        add_nav_entry(
            NavEntry(_("Dossiers"), "dossiers:list", "folder2-open", Resource.DOSSIERS, order=10)
        )
        add_settings_tab(
            NavEntry(
                _("Dossiers"),
                "dossiers:settings",
                "ui-checks",
                Resource.SETTINGS,
                Action.VIEW,
                order=350,
            )
        )
