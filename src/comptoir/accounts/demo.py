"""Demo people, with a believable history; and generated members for benchmarks."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from comptoir.accounts import services, tokens
from comptoir.accounts.models import User
from comptoir.core import audit
from comptoir.core.demo_registry import DEMO_PASSWORD, DemoContext
from comptoir.core.models import Membership, Organization
from comptoir.core.roles import Role

# (org, login, name, initials, role, e-mail, diagnostics+calendar, colour, city)
PEOPLE = [
    (
        "megadiags",
        "dcollet",
        "David Collet",
        "DCL",
        Role.ADMIN,
        "david.collet@megadiags.fr",
        False,
        "#1f4e79",
        "Lille",
    ),
    (
        "megadiags",
        "mmarty",
        "Michel Marty",
        "MMT",
        Role.BACKOFFICE,
        "michel.marty@megadiags.fr",
        False,
        "#6c757d",
        "Lille",
    ),
    (
        "megadiags",
        "jdurant",
        "Jean Durant",
        "DUJ",
        Role.TECHNICIAN_ALL,
        "jean.durant@megadiags.fr",
        True,
        "#2e9afe",
        "Roubaix",
    ),
    (
        "megadiags",
        "llefebvre",
        "Laurent Lefebvre",
        "LLF",
        Role.TECHNICIAN_ALL,
        "laurent.lefebvre@megadiags.fr",
        True,
        "#f39c12",
        "Tourcoing",
    ),
    (
        "megadiags",
        "mguyot",
        "Marcel Guyot",
        "MGY",
        Role.TECHNICIAN_STATION,
        None,
        True,
        "#27ae60",
        "Arras",
    ),
    (
        "megadiags",
        "sbernard",
        "Sophie Bernard",
        "BES",
        Role.TECHNICIAN_ALL,
        "sophie.bernard@megadiags.fr",
        True,
        "#8e44ad",
        "Douai",
    ),
    (
        "cote-opale",
        "dcollet",
        "David Collet",
        "DCL",
        Role.ADMIN,
        "david.collet@megadiags.fr",
        False,
        "#1f4e79",
        "Lille",
    ),
    (
        "cote-opale",
        "nhaddad",
        "Nadia Haddad",
        "NHA",
        Role.TECHNICIAN_OWN,
        "nadia.haddad@cote-opale-diag.fr",
        True,
        "#e74c3c",
        "Boulogne-sur-Mer",
    ),
    (
        "cabinet-lemoine",
        "clemoine",
        "Claire Lemoine",
        "CLE",
        Role.ADMIN,
        "claire.lemoine@cabinet-lemoine.fr",
        False,
        "#1f4e79",
        "Arras",
    ),
    (
        "cabinet-lemoine",
        "hpetit",
        "Hugo Petit",
        "HPE",
        Role.BACKOFFICE,
        "hugo.petit@cabinet-lemoine.fr",
        False,
        "#6c757d",
        "Arras",
    ),
]

CERTIFICATIONS = {
    "jdurant": [
        ("dpe", "CPDI-4512", "Bureau Veritas Certification", 420),
        ("amiante", "CPDI-4513", "Bureau Veritas Certification", 35),
        ("gaz", "CPDI-4514", "Bureau Veritas Certification", 900),
    ],
    "llefebvre": [
        ("dpe", "ICERT-2231", "I.Cert", 610),
        ("electricite", "ICERT-2232", "I.Cert", 52),
    ],
    "mguyot": [("plomb", "AFC-889", "AFNOR Certification", 300)],
    "nhaddad": [("dpe", "DEK-7781", "Dekra Certification", 150)],
}


def _street(ctx: DemoContext) -> str:
    number = ctx.random.randint(1, 140)
    name = ctx.random.choice(
        [
            "rue Nationale",
            "rue de Paris",
            "boulevard de la Liberté",
            "rue Faidherbe",
            "avenue Foch",
            "rue des Arts",
        ]
    )
    return f"{number} {name}"


def load(ctx: DemoContext) -> None:
    admins: dict[str, Membership] = {}
    for offset, row in enumerate(PEOPLE):
        org_slug, login, name, initials, role, email, field, colour, city = row
        org: Organization = ctx.objects[org_slug]
        actor = admins[org_slug].user if org_slug in admins else None
        with audit.backdated(ctx.days_ago(390 - offset * 7)):
            new = services.add_member(
                org,
                actor=actor,
                display_name=name,
                role=role,
                email=email,
                login=login,
                initials=initials,
                phone=f"06 {ctx.random.randint(10, 99)} "
                f"{ctx.random.randint(10, 99)} {ctx.random.randint(10, 99)} "
                f"{ctx.random.randint(10, 99)}",
                address_street=_street(ctx),
                address_postcode="59000" if city == "Lille" else "62000",
                address_city=city,
                performs_diagnostics=field,
                listed_on_calendar=field,
                agenda_color=colour,
            )
        member = new.membership
        admins.setdefault(org_slug, member)
        with audit.backdated(ctx.days_ago(389 - offset * 7)):
            _set_first_password(member, new.setup_url, admins[org_slug].user)
        ctx.objects[f"{org_slug}:{login}"] = member
        for kind, number, body, days in CERTIFICATIONS.get(login, []):
            with audit.backdated(ctx.days_ago(380 - offset * 7)):
                services.save_certification(
                    member,
                    actor=admins[org_slug].user,
                    kind=kind,
                    number=number,
                    body=body,
                    expires_on=ctx.today + timedelta(days=days),
                )
        ctx.logins.append((login, org.name, str(role.label)))
    _history(ctx)


def _set_first_password(member: Membership, setup_url: str | None, admin: User) -> None:
    user = member.user
    if user.has_usable_password():
        return
    if setup_url:
        link = tokens.valid_setup_link(setup_url.rstrip("/").rsplit("/", 1)[-1])
        assert link is not None
        services.complete_setup_link(link, DEMO_PASSWORD)
        return
    services.generate_password(member, actor=admin)  # the technician without e-mail
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])


def _history(ctx: DemoContext) -> None:
    """Months of ordinary life: logins, a role change, a departure, a token."""
    mega = {
        login: ctx.objects[f"megadiags:{login}"]
        for login in ("dcollet", "mmarty", "jdurant", "llefebvre", "sbernard")
    }
    admin = mega["dcollet"].user
    for days in range(300, 0, -9):
        for login in ("dcollet", "mmarty", "jdurant", "llefebvre"):
            with audit.backdated(ctx.days_ago(days + ctx.random.random())):
                services.record_login(mega[login].user)
    with audit.backdated(ctx.days_ago(200)):
        services.update_member(mega["llefebvre"], actor=admin, role=Role.TECHNICIAN_OWN)
    with audit.backdated(ctx.days_ago(120)):
        tokens.create_token(mega["jdurant"], "WebDAV bureau", actor=mega["jdurant"].user)
    with audit.backdated(ctx.days_ago(1)):
        services.update_member(mega["jdurant"], actor=admin, phone="06 12 34 56 78")
    for user in {member.user for member in mega.values()}:
        User.objects.filter(pk=user.pk).update(last_login=ctx.days_ago(1))


def load_late(ctx: DemoContext) -> None:
    """Sophie Bernard left 45 days ago: blocked, never deleted; she tried once since."""
    member = ctx.objects["megadiags:sbernard"]
    admin = ctx.objects["megadiags:dcollet"].user
    with audit.backdated(ctx.days_ago(45)):
        services.block_member(member, actor=admin)
    with audit.backdated(ctx.days_ago(3)):
        services.record_failed_login("sbernard", member.user, "refused")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", type=int, default=0, help="Members to add.")


def generate(ctx: DemoContext, options: dict[str, Any]) -> str:
    """Bulk-insert members (no e-mail is sent), then one audit entry for the batch."""
    count = options.get("members") or 0
    if count <= 0:
        return ""
    org: Organization = ctx.objects["org"]
    start = Membership.objects.filter(organization=org).count()
    roles = [Role.TECHNICIAN_ALL, Role.TECHNICIAN_OWN, Role.BACKOFFICE, Role.TECHNICIAN_STATION]
    users = User.objects.bulk_create(
        [
            User(
                login=f"{org.slug}-{start + index}",
                full_name=f"Membre {start + index}",
                email=f"membre{start + index}@{org.slug}.example",
                password="!",
            )
            for index in range(count)
        ],
        batch_size=500,
    )
    Membership.objects.bulk_create(
        [
            Membership(
                organization=org,
                user=user,
                role=roles[index % len(roles)],
                display_name=f"Membre {start + index:05d}",
                initials="MB",
                performs_diagnostics=index % 2 == 0,
                listed_on_calendar=index % 2 == 0,
            )
            for index, user in enumerate(users)
        ],
        batch_size=500,
    )
    audit.record(
        "member.generate",
        organization=org,
        actor=None,
        object_type="membership",
        object_repr=f"{count} membres générés",
        after={"count": count},
    )
    return f"{count} members"
