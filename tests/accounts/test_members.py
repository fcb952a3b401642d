"""Managing members: generated passwords, blocking, removing, the plan's limits."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from comptoir.accounts import services
from comptoir.accounts.models import ApiToken
from comptoir.core.errors import Conflict
from comptoir.core.models import AuditEntry, Membership
from tests.helpers import fr, shows

API = "/api/v1/orgs/acme"


def page(name: str, member=None) -> str:
    kwargs = {"org": "acme"}
    if member is not None:
        kwargs["member_id"] = str(member.public_id)
    return reverse(f"accounts:{name}", kwargs=kwargs)


def entries(org, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(organization=org, action=action).order_by("seq"))


# --- generated password -------------------------------------------------------

PASSWORD_SHOWN = re.compile(r'<code class="[^"]*user-select-all">([^<]+)</code>')


def test_generated_password_is_shown_once_and_works(people):
    admin, tech = people["admin"], people["tech_station"]
    client = admin.client()
    response = client.post(page("member-password", tech.member))
    assert response.url == page("member-edit", tech.member)
    shown_page = client.get(response.url)
    [password] = PASSWORD_SHOWN.findall(shown_page.content.decode())
    assert re.fullmatch(r"([A-HJ-NP-Za-km-z2-9]{4}-){3}[A-HJ-NP-Za-km-z2-9]{4}", password)
    tech.user.refresh_from_db()
    assert tech.user.check_password(password)
    # shown once: the next visit no longer has it
    assert PASSWORD_SHOWN.findall(client.get(response.url).content.decode()) == []
    # nor does another member's page
    assert "shown_password" not in client.session

    [entry] = entries(admin.org, "member.password_generated")
    assert (entry.actor_id, entry.object_id) == (admin.user.pk, str(tech.member.public_id))
    assert (entry.before, entry.after) == (None, None)
    stored = json.dumps([entry.object_repr, entry.actor_label, entry.before, entry.after])
    assert password not in stored


def test_generated_password_lets_a_web_member_log_in(people):
    admin, tech = people["admin"], people["tech_own"]
    client = admin.client()
    client.post(page("member-password", tech.member))
    [password] = PASSWORD_SHOWN.findall(
        client.get(page("member-edit", tech.member)).content.decode()
    )
    guest = Client()
    response = guest.post(
        reverse("accounts:login"), {"identifier": "tech_own-acme", "password": password}
    )
    assert response.status_code == 302
    assert int(guest.session["_auth_user_id"]) == tech.user.pk


def test_no_password_for_a_blocked_member(people):
    admin, blocked = people["admin"], people["blocked"]
    old_hash = blocked.user.password
    response = admin.client().post(page("member-password", blocked.member), follow=True)
    assert [str(m) for m in response.context["messages"]] == [fr("This member is blocked.")]
    blocked.user.refresh_from_db()
    assert blocked.user.password == old_hash


# --- blocking -------------------------------------------------------------------


def test_blocking_revokes_tokens_and_is_audited(people):
    admin, tech = people["admin"], people["tech_all"]
    assert tech.api().get("/api/v1/me").status_code == 200
    response = admin.api().post(f"{API}/members/{tech.member.public_id}/block")
    assert response.status_code == 200
    assert response.json()["is_blocked"] is True
    me = tech.api().get("/api/v1/me")
    assert me.status_code == 401
    assert me.json()["code"] == "unauthenticated"
    assert ApiToken.objects.filter(membership=tech.member, revoked_at__isnull=True).count() == 0
    [entry] = entries(admin.org, "member.block")[-1:]
    assert entry.object_id == str(tech.member.public_id)
    assert entry.actor_id == admin.user.pk
    assert entry.before == {"is_blocked": False}
    assert entry.after == {"is_blocked": True, "tokens_revoked": 1}
    [revoke] = entries(admin.org, "token.revoke")
    assert revoke.after == {"reason": "member blocked"}
    # the web session goes too: the member's pages answer 404
    assert tech.client().get(reverse("core:dashboard", kwargs={"org": "acme"})).status_code == 404


def test_block_and_unblock_from_the_page(people):
    admin, tech = people["admin"], people["tech_own"]
    client = admin.client()
    response = client.post(page("member-block", tech.member))
    assert response.url == page("member-edit", tech.member)
    tech.member.refresh_from_db()
    assert tech.member.is_blocked is True
    assert tech.member.blocked_at is not None
    client.post(page("member-unblock", tech.member))
    tech.member.refresh_from_db()
    assert (tech.member.is_blocked, tech.member.blocked_at) == (False, None)
    [entry] = entries(admin.org, "member.unblock")
    assert (entry.before, entry.after) == ({"is_blocked": True}, {"is_blocked": False})


def test_cannot_block_yourself(people, assert_nothing_changes):
    admin = people["admin"]
    with assert_nothing_changes():
        response = admin.api().post(f"{API}/members/{admin.member.public_id}/block")
    assert response.status_code == 409
    assert response.json() == {
        "code": "self_block",
        "message": fr("You cannot block yourself."),
        "details": {},
    }
    with assert_nothing_changes():
        page_answer = admin.client().post(page("member-block", admin.member), follow=True)
    assert [str(m) for m in page_answer.context["messages"]] == [fr("You cannot block yourself.")]


LAST_ADMIN = "The organisation must keep at least one active administrator."


def test_last_admin_cannot_be_demoted(people, assert_nothing_changes):
    admin = people["admin"]
    with assert_nothing_changes():
        response = admin.api().patch(
            f"{API}/members/{admin.member.public_id}",
            {"role": "backoffice"},
            content_type="application/json",
        )
    assert response.status_code == 409
    assert response.json() == {"code": "last_admin", "message": fr(LAST_ADMIN), "details": {}}


def test_last_admin_cannot_be_blocked(people, assert_nothing_changes):
    admin = people["admin"]
    with assert_nothing_changes(), pytest.raises(Conflict) as refused:
        services.block_member(admin.member, actor=None)  # e.g. from the command line
    assert refused.value.code == "last_admin"


def test_a_second_admin_can_be_demoted_then_the_first_cannot(people):
    admin, backoffice = people["admin"], people["backoffice"]
    api = admin.api()
    url = f"{API}/members/{backoffice.member.public_id}"
    assert api.patch(url, {"role": "admin"}, content_type="application/json").json()["role"] == (
        "admin"
    )
    # two admins: the other one may block the first, who may not come back to demote
    assert backoffice.api().post(f"{API}/members/{admin.member.public_id}/block").status_code == (
        200
    )
    response = backoffice.api().patch(url, {"role": "backoffice"}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "last_admin"


# --- removing -----------------------------------------------------------------


def test_remove_is_refused_when_the_member_has_history(people, assert_nothing_changes):
    admin, tech = people["admin"], people["tech_all"]  # tech_all holds a token
    with assert_nothing_changes():
        response = admin.client().post(page("member-remove", tech.member), follow=True)
    message = fr(
        "%(name)s has a history in Comptoir and cannot be deleted: block them instead, "
        "so that their work stays attributed to them."
    ) % {"name": "Tech_All acme"}
    assert [str(m) for m in response.context["messages"]] == [message]
    with pytest.raises(Conflict) as refused:
        services.remove_member(tech.member, actor=admin.user)
    assert refused.value.code == "member_has_history"


def test_history_means_login_audit_token_or_certification(people):
    admin = people["admin"]
    fresh = services.add_member(
        admin.org, actor=admin.user, display_name="Paul Neuf", role="technician_all"
    ).membership
    assert services.has_history(fresh) is False
    services.save_certification(
        fresh, actor=admin.user, kind="dpe", number="A-1", body="B", expires_on="2030-01-01"
    )
    assert services.has_history(fresh) is True


def test_fresh_invitee_can_be_removed(people):
    admin = people["admin"]
    fresh = services.add_member(
        admin.org,
        actor=admin.user,
        display_name="Paul Neuf",
        role="technician_all",
        email="paul@acme.test",
    ).membership
    response = admin.client().post(page("member-remove", fresh))
    assert response.url == page("members")
    assert not Membership.objects.filter(pk=fresh.pk).exists()
    [entry] = entries(admin.org, "member.remove")
    assert entry.object_id == str(fresh.public_id)
    assert entry.before["display_name"] == "Paul Neuf"
    assert entry.before["email"] == "paul@acme.test"
    assert entry.after is None


# --- the plan's limit on web users --------------------------------------------


def fill_the_plan(org) -> int:
    """Set the plan's limit to the web users already there (admin, backoffice, 2 technicians)."""
    org.plan.max_web_users = 4
    org.plan.save()
    return 4


def plan_full_message(limit: int) -> str:
    return fr(
        "Your plan “%(plan)s” allows %(limit)d web users and all are in use: block a "
        "member who has left or change plan."
    ) % {"plan": "Test", "limit": limit}


def test_plan_limit_refuses_a_web_member_on_the_page(people, assert_nothing_changes):
    admin = people["admin"]
    limit = fill_the_plan(admin.org)
    with assert_nothing_changes():
        response = admin.client().post(
            page("member-add"),
            {"role": "backoffice", "display_name": "Une De Trop", "agenda_color": "#2e9afe"},
        )
    assert response.status_code == 200
    assert shows(response, plan_full_message(limit))


def test_plan_limit_refuses_a_web_member_on_the_api(people, assert_nothing_changes):
    admin = people["admin"]
    limit = fill_the_plan(admin.org)
    with assert_nothing_changes():
        response = admin.api().post(
            f"{API}/members",
            {"display_name": "Une De Trop", "role": "technician_own"},
            content_type="application/json",
        )
    assert response.status_code == 409
    assert response.json() == {
        "code": "plan_limit_exceeded",
        "message": plan_full_message(limit),
        "details": {"limit": 4},
    }
    # unblocking is adding back a web user
    with assert_nothing_changes():
        response = admin.api().post(f"{API}/members/{people['blocked'].member.public_id}/unblock")
    assert response.json()["code"] == "plan_limit_exceeded"


def test_plan_limit_allows_a_station_technician(people):
    admin = people["admin"]
    fill_the_plan(admin.org)
    response = admin.api().post(
        f"{API}/members",
        {"display_name": "Poste Atelier", "role": "technician_station"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["member"]["role"] == "technician_station"


def test_promoting_a_station_technician_counts_against_the_plan(people):
    admin, station = people["admin"], people["tech_station"]
    fill_the_plan(admin.org)
    response = admin.api().patch(
        f"{API}/members/{station.member.public_id}",
        {"role": "technician_all"},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "plan_limit_exceeded"


def test_model_refusals_name_the_field_by_its_label(people, assert_nothing_changes):
    import pytest

    from comptoir.accounts import services as member_services
    from comptoir.core.errors import DomainError
    from tests.helpers import fr

    target = people["tech_all"].member
    with assert_nothing_changes(), pytest.raises(DomainError) as raised:
        member_services.update_member(target, actor=people["admin"].user, agenda_color="bleu")
    assert raised.value.details["field"] == "agenda_color"
    assert raised.value.message.startswith(fr("agenda colour") + ":")
