"""The `comptoir` command: provisioning, tokens, demo and generated data, help."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from comptoir.accounts.models import ApiToken, SetupLink
from comptoir.cli import main
from comptoir.core.models import AuditEntry, Membership, Organization
from tests.helpers import fr


def test_createorg_provisions_an_organisation_and_its_admin(
    db, capsys, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "createorg",
            "Diag Sud",
            slug="diag-sud",
            kind="business",
            admin_email="boss@diag-sud.fr",
        )
    org = Organization.objects.get(slug="diag-sud")
    assert (org.name, org.kind, org.plan.code) == ("Diag Sud", "business", "standard")
    admin = Membership.objects.select_related("user").get(organization=org)
    assert (admin.role, admin.user.email, admin.user.login) == ("admin", "boss@diag-sud.fr", "boss")
    assert not admin.user.has_usable_password()

    out = capsys.readouterr().out
    printed = re.search(r"Set-up link \(also e-mailed\): (\S+)", out)
    assert printed is not None, out
    url = printed.group(1)
    assert url.startswith(f"{settings.BASE_URL}/compte/lien/")
    assert "Organisation “Diag Sud” created (diag-sud)." in out
    assert "Administrator: boss@diag-sud.fr (login boss)" in out

    [message] = mail.outbox
    assert message.to == ["boss@diag-sud.fr"]
    assert url in message.body
    assert SetupLink.objects.get(user=admin.user).purpose == "invitation"
    # the link works: the administrator chooses a password and is in
    client = Client()
    path = url.removeprefix(settings.BASE_URL)
    client.post(path, {"password": "patron-diag-sud-2026", "confirm": "patron-diag-sud-2026"})
    assert client.get("/o/diag-sud/").status_code == 200
    actions = set(AuditEntry.objects.filter(organization=org).values_list("action", flat=True))
    assert {"organization.create", "member.create", "member.invite"} <= actions
    cli_entry = AuditEntry.objects.get(organization=org, action="organization.create")
    assert (cli_entry.request_id, cli_entry.actor_id) == ("cli", None)


def test_createorg_refuses_a_taken_slug(db):
    call_command(
        "createorg", "Diag Sud", slug="diag-sud", kind="business", admin_email="boss@diag-sud.fr"
    )
    with pytest.raises(CommandError) as refused:
        call_command(
            "createorg", "Autre Diag", slug="diag-sud", kind="business", admin_email="autre@diag.fr"
        )
    assert str(refused.value) == fr("The short name “%(slug)s” is already taken.") % {
        "slug": "diag-sud"
    }
    assert Organization.objects.filter(slug="diag-sud").count() == 1
    assert not Membership.objects.filter(user__email="autre@diag.fr").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"slug": "Diag Sud", "admin_email": "a@b.fr"},
            "“%(slug)s” is not a valid short name: use lowercase letters, digits and hyphens.",
        ),
        (
            {"slug": "diag", "admin_email": "pas-une-adresse"},
            "“%(email)s” is not a valid e-mail address.",
        ),
    ],
)
def test_createorg_refuses_bad_input(db, options, message):
    with pytest.raises(CommandError) as refused:
        call_command("createorg", "Diag", kind="business", **options)
    assert str(refused.value) == fr(message) % {
        "slug": options["slug"],
        "email": options["admin_email"],
    }
    assert Organization.objects.count() == 0


def test_token_create_prints_a_working_token(people, capsys):
    call_command(
        "token",
        "create",
        "--org",
        "acme",
        "--member",
        "Admin@Acme.test",
        "--name",
        "script de sauvegarde",
    )
    secret = capsys.readouterr().out.strip()
    assert re.fullmatch(r"cpt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", secret)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["login"] == "admin-acme"
    token = ApiToken.objects.get(name="script de sauvegarde")
    assert (token.membership_id, token.scope, token.kind) == (
        people["admin"].member.pk,
        "write",
        "personal",
    )


def test_token_create_read_only_and_errors(people, capsys):
    call_command(
        "token",
        "create",
        "--org",
        "acme",
        "--member",
        "tech_all-acme",
        "--name",
        "lecture",
        "--read-only",
    )
    secret = capsys.readouterr().out.strip()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    refused = client.post(
        "/api/v1/orgs/acme/tokens", {"name": "x"}, content_type="application/json"
    )
    assert refused.json()["code"] == "read_only_token"
    with pytest.raises(CommandError) as unknown:
        call_command(
            "token", "create", "--org", "globex", "--member", "tech_all-acme", "--name", "x"
        )
    assert str(unknown.value) == "No member 'tech_all-acme' in organisation 'globex'."
    with pytest.raises(CommandError) as blocked:
        call_command("token", "create", "--org", "acme", "--member", "blocked-acme", "--name", "x")
    assert str(blocked.value) == fr("A blocked member cannot receive a token.")


def test_help_lists_the_commands(capsys):
    main(["comptoir", "--help"])
    out = capsys.readouterr().out
    commands = set(re.findall(r"^ {2}([a-z_]+)\b", out, flags=re.MULTILINE))
    assert {"serve", "demo", "worker", "migrate", "createorg", "token", "audit"} <= commands
    main(["comptoir"])
    assert capsys.readouterr().out == out


def test_demo_loads_once(db, capsys):
    call_command("demo")
    first = capsys.readouterr().out
    assert "Demo loaded." in first
    assert set(Organization.objects.values_list("slug", flat=True)) >= {
        "megadiags",
        "cote-opale",
        "cabinet-lemoine",
    }
    assert "dcollet" in first
    counts = (Organization.objects.count(), Membership.objects.count(), AuditEntry.objects.count())
    call_command("demo")
    second = capsys.readouterr().out
    assert "The demo is already loaded; nothing to do." in second
    assert "Demo loaded." not in second
    assert (
        Organization.objects.count(),
        Membership.objects.count(),
        AuditEntry.objects.count(),
    ) == counts
    # the demo's people can log in with the printed password
    client = Client()
    client.post("/compte/connexion/", {"identifier": "dcollet", "password": "demo-comptoir-2026"})
    assert client.session.get("_auth_user_id") is not None
    call_command("audit", "verify")
    assert "TAMPERED" not in capsys.readouterr().out


def test_generate_makes_members(db, capsys):
    call_command("generate", "--org", "bench", "--members", "30")
    out = capsys.readouterr().out
    assert "Created organisation bench." in out
    org = Organization.objects.get(slug="bench")
    assert Membership.objects.filter(organization=org).count() == 30
    assert org.plan.max_web_users is None
    entry = AuditEntry.objects.get(organization=org, action="member.generate")
    assert entry.after == {"count": 30}
    call_command("generate", "--org", "bench", "--members", "5")
    assert Membership.objects.filter(organization=org).count() == 35
    assert "Created organisation" not in capsys.readouterr().out
