from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExpensesConfig(AppConfig):
    name = "comptoir.expenses"
    label = "expenses"
    verbose_name = _("Receipts and mileage")

    def ready(self) -> None:
        from comptoir.core.navigation import NavEntry, add_nav_entry
        from comptoir.core.roles import Resource

        add_nav_entry(
            NavEntry(_("Expenses"), "expenses:receipts", "receipt", Resource.RECEIPTS, order=50)
        )
