"""Demo numbering: MegaDiags carries on the numbers of its previous software, a
station has reserved dossier numbers for offline work; Diagnostics Côte d'Opale
numbers by month and puts the operator in its quote numbers."""

from __future__ import annotations

from comptoir.core import audit
from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import Membership, Organization
from comptoir.numbering import services

# Where the previous software had got to (next counter values of the current year).
MEGADIAGS_NEXT = {"quote": 213, "invoice": 287}
STATION = "PC terrain Jean"  # the station of Jean Durant (initials DUJ)


def load(ctx: DemoContext) -> None:
    megadiags: Organization = ctx.objects["megadiags"]
    admin: Membership = ctx.objects["megadiags:dcollet"]
    with audit.backdated(ctx.days_ago(385)):
        for kind, next_value in MEGADIAGS_NEXT.items():
            services.set_next(megadiags, kind, next_value, actor=admin.user)

    opale: Organization = ctx.objects["cote-opale"]
    opale_admin: Membership = ctx.objects["cote-opale:dcollet"]
    with audit.backdated(ctx.days_ago(380)):
        services.update_series(
            opale,
            "dossier",
            mask="CO%AA%%MM%-%N%",
            width=4,
            reset="monthly",
            offset=0,
            actor=opale_admin.user,
        )
        services.update_series(
            opale,
            "quote",
            mask="DV%AA%-%OPE%-%N%",
            width=4,
            reset="yearly",
            offset=0,
            actor=opale_admin.user,
        )
        services.update_series(
            opale,
            "invoice",
            mask="FA%AAAA%-%N%",
            width=6,
            reset="yearly",
            offset=0,
            actor=opale_admin.user,
        )
        services.set_next(opale, "invoice", 1043, actor=opale_admin.user)


def load_late(ctx: DemoContext) -> None:
    """Once the dossiers exist: Jean's station reserved numbers before a day without
    network, and asked the hub for two quote numbers."""
    megadiags: Organization = ctx.objects["megadiags"]
    technician: Membership = ctx.objects["megadiags:jdurant"]
    with audit.backdated(ctx.days_ago(0.2)):
        services.reserve_block(
            megadiags,
            "dossier",
            5,
            operator=technician.initials,
            source=STATION,
            actor=technician.user,
        )
        for _index in range(2):
            services.allocate(megadiags, "quote", operator=technician.initials, source=STATION)
