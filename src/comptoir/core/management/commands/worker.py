from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run background jobs with the configured backend (database, or Redis with RQ)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-tasks",
            type=int,
            default=0,
            help="Stop after this many tasks (0: run until stopped).",
        )
        parser.add_argument(
            "--burst", action="store_true", help="With Redis: run what is queued, then stop."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        backend = str(settings.TASKS["default"]["BACKEND"])
        if backend.startswith("django_tasks_rq"):
            # The backend's own job class turns RQ jobs back into Django tasks.
            call_command(
                "rqworker",
                "default",
                job_class="django_tasks_rq.backend.Job",
                burst=options["burst"],
                with_scheduler=False,
            )
            return
        extra = ["--max-tasks", str(options["max_tasks"])] if options["max_tasks"] else []
        call_command("db_worker", "--interval", "1", "--no-startup-delay", *extra)
