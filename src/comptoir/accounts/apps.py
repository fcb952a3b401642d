from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "comptoir.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from comptoir.core.navigation import NavEntry, add_nav_entry
        from comptoir.core.roles import Resource

        add_nav_entry(NavEntry(_("Home"), "core:dashboard", "house", order=0))
        add_nav_entry(
            NavEntry(_("Users"), "accounts:members", "people", Resource.SETTINGS, order=900)
        )
        add_nav_entry(
            NavEntry(_("Audit log"), "core:audit", "journal-text", Resource.SETTINGS, order=910)
        )
        add_nav_entry(
            NavEntry(_("Settings"), "core:org-settings", "gear", Resource.SETTINGS, order=920)
        )
