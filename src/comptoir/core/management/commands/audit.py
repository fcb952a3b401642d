from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from comptoir.core.audit import verify
from comptoir.core.models import Organization


class Command(BaseCommand):
    help = "Audit log tools. `audit verify [--org SLUG]` checks the hash chains."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        check = sub.add_parser("verify", help="Recompute the hash chains; exit 1 on tampering.")
        check.add_argument("--org", help="Only this organisation (slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        org = None
        if options.get("org"):
            org = Organization.objects.filter(slug=options["org"]).first()
            if org is None:
                raise CommandError(f"No organisation with the short name {options['org']!r}.")
        reports = verify(org)
        names = dict(Organization.objects.values_list("public_id", "slug"))
        broken = 0
        for report in reports:
            label = next(
                (slug for key, slug in names.items() if key.hex == report.chain), report.chain
            )
            if report.ok:
                self.stdout.write(f"OK       {label}: {report.entries} entries")
                continue
            broken += 1
            self.stdout.write(self.style.ERROR(f"TAMPERED {label}: {report.entries} entries"))
            for problem in report.problems:
                self.stdout.write(f"         {problem}")
        if broken:
            raise CommandError(f"{broken} audit chain(s) failed verification.", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"{len(reports)} chain(s) verified."))
