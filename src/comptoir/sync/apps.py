from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyncConfig(AppConfig):
    name = "comptoir.sync"
    label = "sync"
    verbose_name = _("Cloud sync")

    def ready(self) -> None:
        from comptoir.core.navigation import NavEntry, add_settings_tab
        from comptoir.core.roles import Action, Resource
        from comptoir.sync import zone_views

        zone_views.register()

        add_settings_tab(
            NavEntry(
                _("Stations"),
                "sync:stations",
                "pc-display",
                Resource.SETTINGS,
                Action.VIEW,
                order=600,
            )
        )
        add_settings_tab(
            NavEntry(
                _("Data volume"),
                "sync:volume",
                "hdd-stack",
                Resource.SETTINGS,
                Action.VIEW,
                order=700,
            )
        )
