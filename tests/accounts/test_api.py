"""The JSON API: who am I, members, tokens, and the one error shape."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from comptoir.accounts import services, tokens
from comptoir.accounts.models import ApiToken, User
from comptoir.core.models import AuditEntry, Membership
from tests.helpers import fr

API = "/api/v1/orgs/acme"
JSON = "application/json"


def error(code: str, message: str, details=None) -> dict:
    return {"code": code, "message": message, "details": {} if details is None else details}


def same_instant(text: str, moment) -> bool:
    """The API writes times to the millisecond."""
    return abs(parse_datetime(text) - moment) < timedelta(milliseconds=1)


# --- /me ----------------------------------------------------------------------


def test_me(people):
    admin = people["admin"]
    response = admin.api().get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "id": str(admin.user.public_id),
        "login": "admin-acme",
        "email": "admin@acme.test",
        "name": "Admin acme",
        "memberships": [
            {
                "organization": "acme",
                "organization_name": "Acme Diagnostics",
                "kind": "business",
                "role": "admin",
            }
        ],
    }


def test_me_through_the_web_session(people):
    response = people["backoffice"].client().get("/api/v1/me")
    assert response.json()["login"] == "backoffice-acme"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer nonsense", "Bearer cpt_abc_def", "Token cpt_x_y"]
)
def test_unauthenticated_calls_get_401(people, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = Client(**headers).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == error(
        "unauthenticated", fr("Authentication required: send “Authorization: Bearer <token>”.")
    )


def test_revoked_token_gets_401(people):
    admin = people["admin"]
    token = ApiToken.objects.get(membership=admin.member)
    tokens.revoke_token(token, actor=admin.user)
    assert admin.api().get("/api/v1/me").status_code == 401


def test_a_wrong_secret_with_a_real_prefix_gets_401(people):
    prefix = people["admin"].token.split("_")[1]
    response = Client(HTTP_AUTHORIZATION=f"Bearer cpt_{prefix}_forged").get("/api/v1/me")
    assert response.status_code == 401


def test_token_last_used_at_is_set_at_most_once_a_minute(people):
    admin = people["admin"]
    token = ApiToken.objects.get(membership=admin.member)
    assert token.last_used_at is None
    before = timezone.now()
    admin.api().get("/api/v1/me")
    token.refresh_from_db()
    first = token.last_used_at
    assert before <= first <= timezone.now()
    admin.api().get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    admin.api().get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at > first


# --- members ------------------------------------------------------------------


def test_members_list(people):
    response = people["admin"].api().get(f"{API}/members")
    assert response.status_code == 200
    rows = response.json()
    assert [(row["display_name"], row["role"], row["is_blocked"]) for row in rows] == [
        ("Admin acme", "admin", False),
        ("Backoffice acme", "backoffice", False),
        ("Blocked acme", "technician_all", True),
        ("Tech_All acme", "technician_all", False),
        ("Tech_Own acme", "technician_own", False),
        ("Tech_Station acme", "technician_station", False),
    ]
    tech = people["tech_own"].member
    row = rows[4]
    assert same_instant(row.pop("created_at"), tech.created_at)
    assert row == {
        "id": str(tech.public_id),
        "login": "tech_own-acme",
        "email": "tech_own@acme.test",
        "display_name": "Tech_Own acme",
        "initials": "TA",
        "role": "technician_own",
        "phone": "",
        "performs_diagnostics": False,
        "listed_on_calendar": False,
        "agenda_color": "#2e9afe",
        "is_blocked": False,
    }


def test_members_list_filters_blocked(people):
    api = people["admin"].api()
    blocked = api.get(f"{API}/members", {"blocked": "true"}).json()
    assert [row["login"] for row in blocked] == ["blocked-acme"]
    active = api.get(f"{API}/members", {"blocked": "false"}).json()
    assert len(active) == 5


def test_member_detail_with_certifications(people):
    admin, tech = people["admin"], people["tech_all"]
    cert = services.save_certification(
        tech.member,
        actor=admin.user,
        kind="dpe",
        number="CPDI-4512",
        body="Bureau Veritas",
        expires_on=date(2030, 6, 30),
    )
    services.update_member(
        tech.member, actor=admin.user, address_city="Roubaix", address_postcode="59100"
    )
    response = admin.api().get(f"{API}/members/{tech.member.public_id}")
    assert response.status_code == 200
    body = response.json()
    body.pop("created_at")
    assert body == {
        "id": str(tech.member.public_id),
        "login": "tech_all-acme",
        "email": "tech_all@acme.test",
        "display_name": "Tech_All acme",
        "initials": "TA",
        "role": "technician_all",
        "phone": "",
        "performs_diagnostics": False,
        "listed_on_calendar": False,
        "agenda_color": "#2e9afe",
        "is_blocked": False,
        "address_street": "",
        "address_postcode": "59100",
        "address_city": "Roubaix",
        "certifications": [
            {
                "id": str(cert.public_id),
                "kind": "dpe",
                "number": "CPDI-4512",
                "body": "Bureau Veritas",
                "expires_on": "2030-06-30",
            }
        ],
    }


def test_member_of_another_org_is_404(people, assert_nothing_changes):
    admin, foreign = people["admin"], people["outsider"]
    for url in (f"{API}/members/{foreign.member.public_id}", f"{API}/members/not-a-uuid"):
        response = admin.api().get(url)
        assert response.status_code == 404
        assert response.json() == error("not_found", fr("Not found."))
    with assert_nothing_changes():
        response = admin.api().post(f"{API}/members/{foreign.member.public_id}/block")
    assert response.status_code == 404
    # a token only opens its own organisation, even for a member of both
    response = admin.api().get("/api/v1/orgs/globex/members")
    assert response.json() == error("not_found", fr("Organisation not found."))


def test_add_member_with_email_sends_an_invitation(people, django_capture_on_commit_callbacks):
    admin = people["admin"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.api().post(
            f"{API}/members",
            {
                "display_name": "Jean Durant",
                "role": "technician_all",
                "email": "Jean.Durant@Acme.test",
                "phone": "06 12 34 56 78",
                "performs_diagnostics": True,
                "listed_on_calendar": True,
                "agenda_color": "#f39c12",
            },
            content_type=JSON,
        )
    assert response.status_code == 201
    body = response.json()
    member = Membership.objects.get(organization=admin.org, user__login="jdurant")
    assert same_instant(body["member"].pop("created_at"), member.created_at)
    assert body == {
        "invitation_sent": True,
        "member": {
            "id": str(member.public_id),
            "login": "jdurant",
            "email": "jean.durant@acme.test",
            "display_name": "Jean Durant",
            "initials": "JD",
            "role": "technician_all",
            "phone": "06 12 34 56 78",
            "performs_diagnostics": True,
            "listed_on_calendar": True,
            "agenda_color": "#f39c12",
            "is_blocked": False,
        },
    }
    assert [message.to for message in mail.outbox] == [["jean.durant@acme.test"]]
    entry = AuditEntry.objects.get(
        organization=admin.org, action="member.create", object_id=str(member.public_id)
    )
    assert entry.actor_id == admin.user.pk
    assert entry.after["role"] == "technician_all"


def test_add_member_without_email_sends_nothing(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = (
            people["admin"]
            .api()
            .post(
                f"{API}/members",
                {"display_name": "Marcel Guyot", "role": "technician_station", "login": "MGuyot"},
                content_type=JSON,
            )
        )
    assert response.status_code == 201
    assert response.json()["invitation_sent"] is False
    assert response.json()["member"]["login"] == "mguyot"
    assert response.json()["member"]["email"] is None
    assert mail.outbox == []


def test_add_existing_member_is_409(people, assert_nothing_changes):
    with assert_nothing_changes():
        response = (
            people["admin"]
            .api()
            .post(
                f"{API}/members",
                {"display_name": "Encore", "role": "backoffice", "email": "tech_all@acme.test"},
                content_type=JSON,
            )
        )
    assert response.status_code == 409
    assert response.json() == error(
        "already_member",
        fr("%(email)s is already a member.") % {"email": "tech_all@acme.test"},
        {"field": "email"},
    )


def test_taken_login_is_refused(people, assert_nothing_changes):
    with assert_nothing_changes():
        response = (
            people["admin"]
            .api()
            .post(
                f"{API}/members",
                {"display_name": "Homonyme", "role": "backoffice", "login": "tech_all-acme"},
                content_type=JSON,
            )
        )
    assert response.status_code == 409
    assert response.json() == error(
        "login_taken",
        fr("The login “%(login)s” is already taken.") % {"login": "tech_all-acme"},
        {"field": "login"},
    )


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"display_name": "Sans Rôle"}, "role"),
        ({"display_name": "", "role": "backoffice"}, "display_name"),
        ({"display_name": "X", "role": "backoffice", "agenda_color": "rouge"}, "agenda_color"),
        ({"display_name": "Chef", "role": "boss"}, "role"),
        ({"display_name": "X", "role": "backoffice", "email": "pas-une-adresse"}, "email"),
    ],
)
def test_invalid_input_is_422_naming_the_field(people, assert_nothing_changes, payload, where):
    with assert_nothing_changes():
        response = people["admin"].api().post(f"{API}/members", payload, content_type=JSON)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert where in body["message"]
    assert [item["where"] for item in body["details"]] == [f"body.payload.{where}"]
    assert body["details"][0]["problem"]


def test_patch_member(people):
    admin, tech = people["admin"], people["tech_all"]
    response = admin.api().patch(
        f"{API}/members/{tech.member.public_id}",
        {"role": "technician_own", "phone": "06 11 22 33 44", "login": "TECH.ALL"},
        content_type=JSON,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["role"], body["phone"], body["login"]) == (
        "technician_own",
        "06 11 22 33 44",
        "tech.all",
    )
    tech.member.refresh_from_db()
    assert tech.member.role == "technician_own"
    entry = AuditEntry.objects.filter(organization=admin.org, action="member.role_change").get()
    assert entry.before == {"role": "technician_all", "phone": "", "login": "tech_all-acme"}
    assert entry.after == {"role": "technician_own", "phone": "06 11 22 33 44", "login": "tech.all"}


def test_patch_without_change_writes_no_audit_entry(people):
    admin, tech = people["admin"], people["tech_all"]
    count = AuditEntry.objects.count()
    response = admin.api().patch(
        f"{API}/members/{tech.member.public_id}", {"phone": ""}, content_type=JSON
    )
    assert response.status_code == 200
    assert AuditEntry.objects.count() == count


def test_block_and_unblock(people):
    admin, tech = people["admin"], people["tech_own"]
    url = f"{API}/members/{tech.member.public_id}"
    blocked = admin.api().post(f"{url}/block")
    assert blocked.status_code == 200
    assert (blocked.json()["id"], blocked.json()["is_blocked"]) == (
        str(tech.member.public_id),
        True,
    )
    again = admin.api().post(f"{url}/block")  # idempotent: no second entry
    assert again.json()["is_blocked"] is True
    assert (
        AuditEntry.objects.filter(
            organization=admin.org, action="member.block", object_id=str(tech.member.public_id)
        ).count()
        == 1
    )
    unblocked = admin.api().post(f"{url}/unblock")
    assert unblocked.json()["is_blocked"] is False
    tech.member.refresh_from_db()
    assert tech.member.is_blocked is False


def test_role_without_the_right_gets_403(people, assert_nothing_changes):
    backoffice = people["backoffice"]
    with assert_nothing_changes():
        response = backoffice.api().post(
            f"{API}/members", {"display_name": "X", "role": "backoffice"}, content_type=JSON
        )
    assert response.status_code == 403
    assert response.json() == error("forbidden", fr("Your role does not allow this action."))


def test_read_only_token_may_read_but_not_write(people, assert_nothing_changes):
    admin = people["admin"]
    _token, secret = tokens.create_token(admin.member, "lecture", actor=admin.user, scope="read")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get(f"{API}/members").status_code == 200
    target = people["tech_all"].member.public_id
    attempts = [
        ("post", f"{API}/members", {"display_name": "X", "role": "backoffice"}),
        ("patch", f"{API}/members/{target}", {"phone": "01"}),
        ("post", f"{API}/members/{target}/block", {}),
        ("post", f"{API}/tokens", {"name": "plus de droits"}),
    ]
    for verb, url, data in attempts:
        with assert_nothing_changes():
            response = getattr(client, verb)(url, data, content_type=JSON)
        assert response.status_code == 403, url
        assert response.json() == error("read_only_token", fr("This token is read-only."))


# --- tokens -------------------------------------------------------------------


def test_token_lifecycle(people):
    tech = people["tech_own"]
    created = tech.api().post(
        f"{API}/tokens", {"name": "WebDAV bureau", "scope": "read"}, content_type=JSON
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["kind"], body["scope"], body["revoked_at"]) == (
        "WebDAV bureau",
        "personal",
        "read",
        None,
    )
    secret = body["token"]
    assert secret.startswith("cpt_")
    new_client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert new_client.get("/api/v1/me").json()["login"] == "tech_own-acme"
    listed = tech.api().get(f"{API}/tokens").json()
    assert sorted(row["name"] for row in listed) == ["WebDAV bureau", "tests"]
    assert all("token" not in row for row in listed)
    revoked = tech.api().delete(f"{API}/tokens/{body['id']}")
    assert revoked.status_code == 200
    assert parse_datetime(revoked.json()["revoked_at"]) is not None
    assert new_client.get("/api/v1/me").status_code == 401
    token = ApiToken.objects.get(public_id=body["id"])
    assert token.secret_hash == tokens.digest(secret.split("_", 2)[2])


def test_cannot_revoke_a_colleagues_token(people, assert_nothing_changes):
    colleague = ApiToken.objects.get(membership=people["tech_all"].member)
    with assert_nothing_changes():
        response = people["admin"].api().delete(f"{API}/tokens/{colleague.public_id}")
    assert response.status_code == 404


# --- query budgets ------------------------------------------------------------


def add_members(org, count: int) -> None:
    users = User.objects.bulk_create(
        [
            User(
                login=f"bulk-{index}",
                email=f"bulk{index}@acme.test",
                full_name=f"Bulk {index}",
                password="!",
            )
            for index in range(count)
        ]
    )
    Membership.objects.bulk_create(
        [
            Membership(
                organization=org,
                user=user,
                role="technician_all",
                display_name=f"Bulk {index:03d}",
                initials="BK",
            )
            for index, user in enumerate(users)
        ]
    )


def query_count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("kind", ["api", "page"])
def test_members_list_queries_do_not_grow_with_members(people, kind):
    admin = people["admin"]
    if kind == "api":
        client, url = admin.api(), f"{API}/members"
    else:
        client, url = admin.client(), reverse("accounts:members", kwargs={"org": "acme"})
    query_count(client, url)  # warm: session, token use stamp
    few = query_count(client, url)
    assert Membership.objects.filter(organization=admin.org).count() == 6
    add_members(admin.org, 44)
    many = query_count(client, url)
    assert many == few, f"{few} queries for 6 members, {many} for 50"
    assert few <= 12
