"""Demo organisations: MegaDiags (the seed's diagnostics company), a second
business so the organisation picker has a choice, and an accounting firm."""

from __future__ import annotations

from comptoir.core import audit
from comptoir.core.demo_registry import DemoContext
from comptoir.core.services import create_organization

ORGANISATIONS = [
    ("megadiags", "MegaDiags", "business"),
    ("cote-opale", "Diagnostics Côte d'Opale", "business"),
    ("cabinet-lemoine", "Cabinet Lemoine Expertise Comptable", "firm"),
]


def load(ctx: DemoContext) -> None:
    for offset, (slug, name, kind) in enumerate(ORGANISATIONS):
        with audit.backdated(ctx.days_ago(400 - offset)):
            ctx.objects[slug] = create_organization(name, slug, kind)
