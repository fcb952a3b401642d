from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NumberingConfig(AppConfig):
    name = "comptoir.numbering"
    label = "numbering"
    verbose_name = _("Numbering")

    def ready(self) -> None:
        from comptoir.core.navigation import NavEntry, add_settings_tab
        from comptoir.core.roles import Action, Resource

        add_settings_tab(
            NavEntry(
                _("Numbering"),
                "numbering:settings",
                "123",
                Resource.SETTINGS,
                Action.VIEW,
                order=360,
            )
        )
