from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from comptoir.core.audit import request_context
from comptoir.core.demo_registry import DemoContext, add_generate_arguments, demo_modules
from comptoir.core.models import Organization, Plan
from comptoir.core.services import create_organization


class Command(BaseCommand):
    help = "Make a large data set in an organisation (created if missing), for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Organisation short name (slug).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (repeatable).")
        add_generate_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["org"]
        org = Organization.objects.filter(slug=slug).first()
        with request_context("127.0.0.1", "generate"):
            if org is None:
                unlimited, _new = Plan.objects.get_or_create(
                    code="unlimited", defaults={"name": "Sans limite", "max_web_users": None}
                )
                org = create_organization(
                    slug.replace("-", " ").title(), slug, "business", plan=unlimited
                )
                self.stdout.write(f"Created organisation {slug}.")
            context = DemoContext(write=self.stdout.write, seed=options["seed"])
            context.objects["org"] = org
            for label, module in demo_modules():
                if hasattr(module, "generate"):
                    started = time.monotonic()
                    made = module.generate(context, options)
                    if made:
                        self.stdout.write(
                            f"  · {label}: {made} ({time.monotonic() - started:.1f} s)"
                        )
