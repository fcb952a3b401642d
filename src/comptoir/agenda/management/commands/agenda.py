from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from comptoir.agenda import digest, feeds
from comptoir.core.audit import request_context
from comptoir.core.errors import DomainError
from comptoir.core.models import Membership, Organization
from comptoir.core.roles import Action, Resource


class Command(BaseCommand):
    help = (
        "The agenda: `agenda digests` queues the evening e-mails that are due (cron, every "
        "15 minutes); `agenda feed-url --org SLUG --member EMAIL` prints a calendar address."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser(
            "digests",
            help="Queue each technician's e-mail of tomorrow's appointments, once the "
            "organisation's chosen time has passed (safe to run as often as you like).",
        )
        feed = sub.add_parser("feed-url", help="Print a member's calendar subscription address.")
        feed.add_argument("--org", required=True, help="Organisation short name.")
        feed.add_argument("--member", required=True, help="The member's e-mail or login.")
        feed.add_argument(
            "--regenerate",
            action="store_true",
            help="Make a new address (the previous one stops working).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "digests":
            with request_context(None, "cli"):
                queued = digest.schedule()
            self.stdout.write(f"{queued} e-mail(s) queued.")
            return
        org = Organization.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"No organisation {options['org']!r}.")
        who = options["member"].lower()
        member = (
            Membership.objects.select_related("user", "organization")
            .filter(Q(user__email=who) | Q(user__login=who), organization=org)
            .first()
        )
        if member is None or member.is_blocked:
            raise CommandError(f"No active member {options['member']!r} in {org.slug!r}.")
        if not member.can(Resource.CALENDAR, Action.VIEW):
            raise CommandError(f"{member} has no agenda (their role has no calendar access).")
        try:
            with request_context(None, "cli"):
                feed = (
                    feeds.regenerate(member, actor=None)
                    if options["regenerate"]
                    else feeds.active_feed(member, actor=None)
                )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(feeds.url_for(feed))
        self.stderr.write(
            f"Calendar address of {member} ({org.slug}); on a phone: {feeds.webcal_url(feed)}"
        )
