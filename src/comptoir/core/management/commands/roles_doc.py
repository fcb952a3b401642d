from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from comptoir.core.roles_doc import render_roles_markdown


class Command(BaseCommand):
    help = "Write docs/roles.md from the role matrix (--check: fail if it differs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", default="docs/roles.md")
        parser.add_argument("--check", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["output"])
        text = render_roles_markdown()
        if options["check"]:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                raise CommandError(f"{path} is out of date: run `comptoir roles_doc`.")
            self.stdout.write(f"{path} matches the role matrix.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {path}.")
