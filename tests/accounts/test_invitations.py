"""Invitation and password-reset links: one e-mail, single use, expiry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from comptoir.accounts.models import SetupLink, User
from comptoir.core.models import AuditEntry, Membership
from tests.helpers import fr, shows

NEW_PASSWORD = "un-mot-de-passe-solide-42"
LINK = re.compile(r"(https?://[^/\s\"]+)(/compte/lien/[A-Za-z0-9_-]+/)")


def link_in(message) -> str:
    """The set-up link in an e-mail (the same in the text and the HTML part)."""
    found = LINK.findall(message.body)
    assert len(found) == 1, message.body
    base, path = found[0]
    assert base == settings.BASE_URL
    html = message.alternatives[0][0]
    assert f"{base}{path}" in html
    return path


def invite(people, django_capture_on_commit_callbacks, email="nina@acme.test"):
    admin = people["admin"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.client().post(
            reverse("accounts:member-add", kwargs={"org": "acme"}),
            {
                "role": "backoffice",
                "display_name": "Nina Nouvelle",
                "email": email,
                "agenda_color": "#2e9afe",
            },
        )
    new = Membership.objects.get(organization=admin.org, user__email=email)
    assert response.status_code == 302
    assert response.url == reverse(
        "accounts:member-edit", kwargs={"org": "acme", "member_id": new.public_id}
    )
    return new


def test_adding_a_member_sends_one_invitation(people, django_capture_on_commit_callbacks):
    new = invite(people, django_capture_on_commit_callbacks)
    assert (new.role, new.display_name, new.initials, new.user.login) == (
        "backoffice",
        "Nina Nouvelle",
        "NN",
        "nnouvelle",
    )
    assert not new.user.has_usable_password()
    [message] = mail.outbox
    assert message.to == ["nina@acme.test"]
    assert message.subject == fr("Your Comptoir access for %(org)s") % {"org": "Acme Diagnostics"}
    assert "nnouvelle" in message.body
    link_in(message)
    actions = list(
        AuditEntry.objects.filter(organization=new.organization, object_id=str(new.public_id))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["member.create", "member.invite"]


def test_invitation_link_sets_the_password_and_logs_in(people, django_capture_on_commit_callbacks):
    new = invite(people, django_capture_on_commit_callbacks)
    path = link_in(mail.outbox[0])
    guest = Client()
    form = guest.get(path)
    assert form.status_code == 200
    assert "nnouvelle" in form.content.decode()
    assert list(form.context["form"].fields) == ["password", "confirm"]

    response = guest.post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("core:org-picker")
    assert int(guest.session["_auth_user_id"]) == new.user_id
    new.user.refresh_from_db()
    assert new.user.check_password(NEW_PASSWORD)
    assert guest.get(reverse("core:dashboard", kwargs={"org": "acme"})).status_code == 200
    assert (
        AuditEntry.objects.filter(
            organization=new.organization, actor=new.user, action="auth.password_set.invitation"
        ).count()
        == 1
    )
    # the password works for a normal login too
    again = Client()
    again.post(
        reverse("accounts:login"), {"identifier": "nina@acme.test", "password": NEW_PASSWORD}
    )
    assert int(again.session["_auth_user_id"]) == new.user_id


def test_invitation_link_is_single_use(people, django_capture_on_commit_callbacks):
    new = invite(people, django_capture_on_commit_callbacks)
    path = link_in(mail.outbox[0])
    Client().post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    second = Client()
    for response in (
        second.get(path),
        second.post(path, {"password": "autre-mot-de-passe-9", "confirm": "autre-mot-de-passe-9"}),
    ):
        assert response.status_code == 410
        assert shows(response, "Link no longer valid")
    new.user.refresh_from_db()
    assert new.user.check_password(NEW_PASSWORD)
    assert "_auth_user_id" not in second.session


def test_invitation_link_expires(people, django_capture_on_commit_callbacks):
    new = invite(people, django_capture_on_commit_callbacks)
    path = link_in(mail.outbox[0])
    link = SetupLink.objects.get(user=new.user)
    lifetime = timedelta(hours=settings.COMPTOIR_SETUP_LINK_HOURS)
    assert abs(link.expires_at - link.created_at - lifetime) < timedelta(seconds=1)
    SetupLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 410
    new.user.refresh_from_db()
    assert not new.user.has_usable_password()


def test_weak_or_mismatched_password_is_refused(people, django_capture_on_commit_callbacks):
    new = invite(people, django_capture_on_commit_callbacks)
    path = link_in(mail.outbox[0])
    guest = Client()
    response = guest.post(path, {"password": "12345", "confirm": "12345"})
    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    response = guest.post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert response.context["form"].errors == {"confirm": [fr("The two passwords differ.")]}
    new.user.refresh_from_db()
    assert not new.user.has_usable_password()
    assert SetupLink.objects.get(user=new.user).used_at is None  # still usable


def test_unknown_link_is_gone(db):
    assert Client().get("/compte/lien/not-a-real-secret/").status_code == 410


def test_removed_invitee_link_stops_working(people, django_capture_on_commit_callbacks):
    new = invite(people, django_capture_on_commit_callbacks)
    path = link_in(mail.outbox[0])
    people["admin"].client().post(
        reverse("accounts:member-remove", kwargs={"org": "acme", "member_id": new.public_id})
    )
    assert not Membership.objects.filter(pk=new.pk).exists()
    assert Client().get(path).status_code == 410


@pytest.mark.parametrize("identifier", ["tech_all@acme.test", "tech_all-acme", " TECH_ALL-ACME "])
def test_password_reset_sends_one_mail(people, django_capture_on_commit_callbacks, identifier):
    user = people["tech_all"].user
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(reverse("accounts:password-reset"), {"identifier": identifier})
    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    [message] = mail.outbox
    assert message.to == ["tech_all@acme.test"]
    assert message.subject == fr("Choose a new Comptoir password")
    path = link_in(message)
    link = SetupLink.objects.get(user=user, purpose="reset")
    assert link.organization_id is None
    assert abs(link.expires_at - link.created_at - timedelta(hours=2)) < timedelta(seconds=1)
    guest = Client()
    guest.post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert int(guest.session["_auth_user_id"]) == user.pk


def test_password_reset_for_unknown_address_says_the_same(
    people, django_capture_on_commit_callbacks
):
    answers = []
    for identifier in ("nobody@nowhere.test", "tech_all@acme.test"):
        client = Client()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("accounts:password-reset"), {"identifier": identifier}, follow=True
            )
        answers.append(
            (response.redirect_chain, [str(message) for message in response.context["messages"]])
        )
    assert answers[0] == answers[1]
    assert [message.to for message in mail.outbox] == [["tech_all@acme.test"]]
    assert SetupLink.objects.filter(purpose="reset").count() == 1


@pytest.mark.parametrize("key", ["blocked", "tech_station"])
def test_no_reset_mail_for_people_without_web_access(
    people, django_capture_on_commit_callbacks, key
):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(reverse("accounts:password-reset"), {"identifier": people[key].user.email})
    assert mail.outbox == []


def test_user_is_never_deleted(people):
    from django.core.exceptions import ValidationError

    user = people["tech_all"].user
    with pytest.raises(ValidationError):
        user.delete()
    with pytest.raises(ValidationError):
        people["tech_all"].member.delete()
    assert User.objects.filter(pk=user.pk).exists()
    assert Membership.objects.filter(pk=people["tech_all"].member.pk).exists()
