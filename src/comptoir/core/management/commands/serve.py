from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from comptoir.core.collected import collect_static


class Command(BaseCommand):
    help = "Serve Comptoir with Gunicorn (static files by WhiteNoise)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("COMPTOIR_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("COMPTOIR_WEB_WORKERS", "2"))
        )
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="Also run one background worker (the embedded setup).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        collect_static()  # only when the static sources changed since the last time
        worker = None
        if options["with_worker"]:
            worker = subprocess.Popen([sys.executable, "-m", "comptoir.cli", "worker"])
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"Comptoir is served on {url}  (Ctrl+C to stop)"))
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "comptoir.wsgi:application",
            "--bind",
            f"{options['host']}:{options['port']}",
            "--workers",
            str(options["workers"]),
            "--threads",
            "4",
            "--worker-class",
            "comptoir.core.webworker.FairThreadWorker",
            "--access-logfile",
            "-",
            "--log-level",
            "warning",
            "--forwarded-allow-ips",
            os.environ.get("COMPTOIR_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ]
        try:
            subprocess.run(command, check=False)
        except KeyboardInterrupt:
            pass
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
        if settings.DEBUG:
            self.stdout.write("Stopped.")
