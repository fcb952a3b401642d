from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from comptoir.accounts.services import provision_organization
from comptoir.core.audit import request_context
from comptoir.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Provision an organisation and e-mail its first administrator a set-up link "
        "(the link is printed too)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help='The organisation\'s name, e.g. "MegaDiags".')
        parser.add_argument("--slug", required=True, help="Short name used in addresses.")
        parser.add_argument("--kind", required=True, choices=["business", "firm", "vendor"])
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-name", default="", help="The administrator's name.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with request_context(None, "cli"):
                done = provision_organization(
                    options["name"],
                    options["slug"],
                    options["kind"],
                    options["admin_email"],
                    admin_name=options["admin_name"],
                )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Organisation “{done.organization.name}” created ({done.organization.slug})."
            )
        )
        self.stdout.write(f"Administrator: {done.admin.user.email} (login {done.admin.user.login})")
        self.stdout.write(f"Set-up link (also e-mailed): {done.setup_url}")
