from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from comptoir.core.audit import request_context
from comptoir.core.errors import DomainError
from comptoir.core.models import Membership, Organization
from comptoir.core.roles import Role
from comptoir.sync import cleanup, services
from comptoir.sync.models import Station


class Command(BaseCommand):
    help = "Field stations: `station add --org SLUG NAME` prints a one-time pairing code."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        add = sub.add_parser("add", help="Register a station and print its pairing code.")
        add.add_argument("--org", required=True, help="Organisation short name.")
        add.add_argument(
            "--member", help="E-mail or login of the account the station uses (default: an admin)."
        )
        add.add_argument("name", help="The station's name, e.g. “PC bureau”.")
        code = sub.add_parser("code", help="Print a new pairing code for a station.")
        code.add_argument("--org", required=True)
        code.add_argument("name")
        listing = sub.add_parser("list", help="List the stations of an organisation.")
        listing.add_argument("--org", required=True)
        sub.add_parser(
            "housekeeping",
            help="Expire unfinished uploads and run the cloud clean-ups whose quarantine ended.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "housekeeping":
            expired = services.expire_uploads()
            ran = cleanup.execute_due()
            self.stdout.write(f"{expired} upload(s) expired, {ran} clean-up(s) done.")
            return
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"No organisation {options['org']!r}.")
        if verb == "list":
            for station in Station.objects.filter(organization=org):
                seen = station.last_seen_at.isoformat() if station.last_seen_at else "never"
                state = (
                    "revoked"
                    if station.revoked_at
                    else ("paired" if station.paired_at else "waiting")
                )
                self.stdout.write(f"{station.name}\t{state}\t{seen}\t{station.agent_version}")
            return
        try:
            with request_context(None, "cli"):
                if verb == "add":
                    member = self._member(org, options.get("member"))
                    station, secret = services.add_station(
                        org, options["name"], member=member, actor=None
                    )
                else:
                    found = Station.objects.filter(
                        organization=org, name=options["name"], revoked_at__isnull=True
                    ).first()
                    if found is None:
                        raise CommandError(f"No active station {options['name']!r}.")
                    station = found
                    secret = services.issue_code(station, actor=None)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(secret)
        self.stderr.write(
            f"Pairing code for “{station.name}” (single use, 24 h). On the station:\n"
            f"  comptoir-agent pair <hub URL> {secret}"
        )

    def _member(self, org: Organization, who: str | None) -> Membership:
        members = Membership.objects.filter(organization=org, is_blocked=False)
        if who:
            found = members.filter(Q(user__email=who.lower()) | Q(user__login=who.lower())).first()
        else:
            found = members.filter(role=Role.ADMIN).order_by("pk").first()
        if found is None:
            raise CommandError(f"No active member {who or 'administrator'!r} in {org.slug!r}.")
        return found
