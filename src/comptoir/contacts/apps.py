from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "comptoir.contacts"
    label = "contacts"
    verbose_name = _("Contacts")

    def ready(self) -> None:
        from comptoir.core.navigation import NavEntry, add_nav_entry
        from comptoir.core.roles import Resource

        add_nav_entry(
            NavEntry(
                _("Contacts"), "contacts:list", "person-lines-fill", Resource.CONTACTS, order=20
            )
        )
