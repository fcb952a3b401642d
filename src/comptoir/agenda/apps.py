from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgendaConfig(AppConfig):
    name = "comptoir.agenda"
    label = "agenda"
    verbose_name = _("Agenda")

    def ready(self) -> None:
        from comptoir.agenda import links
        from comptoir.core.navigation import NavEntry, add_nav_entry, add_settings_tab
        from comptoir.core.roles import Action, Resource

        add_nav_entry(
            NavEntry(_("Agenda"), "agenda:calendar", "calendar3", Resource.CALENDAR, order=15)
        )
        add_settings_tab(
            NavEntry(
                _("Agenda"),
                "agenda:settings",
                "calendar-week",
                Resource.SETTINGS,
                Action.VIEW,
                order=450,
            )
        )
        links.register()
