from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from comptoir.core.audit import request_context
from comptoir.core.demo_registry import DEMO_PASSWORD, DemoContext, demo_modules
from comptoir.core.models import Organization


class Command(BaseCommand):
    help = "Load the demo organisations (MegaDiags and friends). Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        if Organization.objects.filter(slug="megadiags").exists():
            self.stdout.write("The demo is already loaded; nothing to do.")
        else:
            context = DemoContext(write=self.stdout.write)
            with transaction.atomic(), request_context("127.0.0.1", "demo"):
                modules = list(demo_modules())
                for label, module in modules:
                    if hasattr(module, "load"):
                        self.stdout.write(f"  · {label}")
                        module.load(context)
                for _label, module in modules:  # what must come after every app's data
                    if hasattr(module, "load_late"):
                        module.load_late(context)
            self.stdout.write(self.style.SUCCESS("Demo loaded."))
        self._print_logins()

    def _print_logins(self) -> None:
        from comptoir.core.models import Membership

        self.stdout.write("")
        self.stdout.write(
            f"Open {settings.BASE_URL}/ and log in with one of these "
            f"(password for all: {DEMO_PASSWORD}):"
        )
        rows = (
            Membership.objects.filter(
                organization__slug__in=["megadiags", "cote-opale", "cabinet-lemoine"]
            )
            .select_related("user", "organization")
            .order_by("organization__name", "role")
        )
        for row in rows:
            state = "BLOCKED" if row.is_blocked else ""
            self.stdout.write(
                f"  {row.user.login:<12} {row.organization.name:<32} "
                f"{row.get_role_display():<36} {state}"
            )
        if settings.COMPTOIR_SHOW_MAILBOX:
            self.stdout.write(
                f"E-mails are written to {settings.EMAIL_FILE_PATH} and shown at "
                f"{settings.BASE_URL}/boite-mail/"
            )
