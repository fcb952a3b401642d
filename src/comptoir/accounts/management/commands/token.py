from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from comptoir.accounts.models import ApiToken
from comptoir.accounts.tokens import create_token
from comptoir.core.audit import request_context
from comptoir.core.errors import DomainError
from comptoir.core.models import Membership


class Command(BaseCommand):
    help = "Personal API tokens. `token create --org SLUG --member EMAIL --name NAME`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create", help="Print a new personal token (shown once).")
        create.add_argument("--org", required=True, help="Organisation short name.")
        create.add_argument("--member", required=True, help="The member's e-mail or login.")
        create.add_argument("--name", required=True, help="What the token is for.")
        create.add_argument("--read-only", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        who = options["member"].strip().lower()
        member = (
            Membership.objects.select_related("organization", "user")
            .filter(organization__slug=options["org"])
            .filter(Q(user__email=who) | Q(user__login=who))
            .first()
        )
        if member is None:
            raise CommandError(f"No member {who!r} in organisation {options['org']!r}.")
        scope = ApiToken.Scope.READ if options["read_only"] else ApiToken.Scope.WRITE
        try:
            with request_context(None, "cli"):
                _token, secret = create_token(member, options["name"], actor=None, scope=scope)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(secret)
