"""Demo data and large generated data sets, contributed by every app.

An app that has a `demo` module with `load(ctx)` adds to `comptoir demo`
(and `load_late(ctx)`, run once every app has loaded: a departure, say, after
the departed technician's dossiers exist);
`generate(ctx, options)` and `add_arguments(parser)` add to `comptoir
generate`. Loaders run in INSTALLED_APPS order, so an app finds the data of
the apps below it.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import import_module
from types import ModuleType
from typing import Any

from django.apps import apps
from django.utils import timezone

DEMO_PASSWORD = "demo-comptoir-2026"


@dataclass
class DemoContext:
    """Shared state of one demo run: a seeded random source, a clock, what was made."""

    write: Callable[[str], None]
    seed: int = 20261122
    now: datetime = field(default_factory=timezone.now)
    objects: dict[str, Any] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)  # noqa: S311  (repeatable demo data, not secrets)

    @property
    def today(self) -> date:
        return timezone.localdate(self.now)

    def days_ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)


def demo_modules() -> Iterator[tuple[str, ModuleType]]:
    for config in apps.get_app_configs():
        if not config.name.startswith("comptoir."):
            continue
        try:
            module = import_module(f"{config.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
            continue
        yield config.label, module


def add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    for _label, module in demo_modules():
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)
