"""Django's flush, which must lift the audit guard to empty a test database.

Outside tests the guard stays: flushing a production database with an audit
log fails, as it should.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands import flush

from comptoir.core.audit import guard_lifted


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        if not settings.TESTING:
            super().handle(**options)
            return
        with guard_lifted():
            super().handle(**options)
