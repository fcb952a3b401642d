"""Pairing a phone by QR code: a single-use link valid 5 minutes, stored as a hash; a
device session on the phone; the member's list of phones; revocation and blocking end
the phone's session at once; the second factor carries over."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from comptoir.accounts import services as account_services
from comptoir.accounts.tokens import digest
from comptoir.core.models import AuditEntry, Organization
from comptoir.field import services
from comptoir.field.middleware import DEVICE_SESSION_KEY
from comptoir.field.models import PairedDevice, PairingLink
from tests.conftest import nothing_changes
from tests.field.conftest import IPHONE, pair_phone, pairing_url
from tests.helpers import assert_outsider_gets_404, fr, shows

PHONE_PAGE = "/o/acme/mon-telephone/"
HOME = "/o/acme/terrain/"


def link_on(response) -> str:
    found = re.search(r'data-testid="pairing-link">([^<]+)</code>', response.content.decode())
    assert found, "the page shows the link"
    return found.group(1)


def test_the_user_menu_leads_to_my_phone(people):
    page = people["tech_all"].client().get("/o/acme/").content.decode()
    assert f'href="{PHONE_PAGE}"' in page


def test_connect_a_phone_shows_a_qr_code_and_a_link_stored_only_as_a_hash(people):
    me = people["tech_all"]
    response = me.client().post(f"{PHONE_PAGE}connecter/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    url = link_on(response)
    assert url.startswith("http://testserver/terrain/connexion/")
    secret = url.rstrip("/").rsplit("/", 1)[1]
    assert len(secret) >= 40
    page = response.content.decode()
    assert "<svg" in page, "the QR code"
    link = PairingLink.objects.get()
    assert link.token_hash == digest(secret) and secret not in link.token_hash
    assert link.member == me.member
    assert link.expires_at - link.created_at == timedelta(minutes=5)
    entry = AuditEntry.objects.get(action="device.link")
    assert (entry.actor, entry.object_id) == (me.user, str(me.member.public_id))


def test_a_new_code_voids_the_one_before(people):
    me = people["tech_all"]
    first = pairing_url(me)
    second = pairing_url(me)
    assert Client().get(first).status_code == 410
    assert Client().post(first).status_code == 410
    assert Client().post(second).status_code == 302


def test_opening_the_link_connects_the_phone_with_a_long_session(people):
    me = people["tech_all"]
    before = timezone.now()
    phone = pair_phone(me)
    assert phone.response.status_code == 302
    assert phone.response["Location"] == HOME
    assert phone.response["Cache-Control"].startswith("max-age=0")
    device = phone.device
    assert (device.name, device.member, device.revoked_at) == ("iPhone · Safari", me.member, None)
    assert device.user_agent == IPHONE
    session = Session.objects.get(session_key=device.session_key)
    assert session.get_decoded()[DEVICE_SESSION_KEY] == str(device.public_id)
    assert session.expire_date - before >= timedelta(days=89)
    cookie = phone.client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value == device.session_key
    assert int(cookie["max-age"]) == 90 * 24 * 3600
    home = phone.client.get(HOME)
    assert home.status_code == 200
    message = fr("This phone is connected as %(name)s. Add Comptoir Terrain to your home screen.")
    assert html.escape(message % {"name": me.member.display_name}) in home.content.decode()
    assert (
        f'<span data-testid="member-name">{me.member.display_name}</span>' in home.content.decode()
    )
    entry = AuditEntry.objects.get(action="device.pair")
    assert entry.actor == me.user and entry.object_id == str(device.public_id)
    assert entry.after["name"] == "iPhone · Safari"


def test_the_link_works_once(people):
    url = pairing_url(people["tech_all"])
    assert Client().post(url).status_code == 302
    with nothing_changes():
        again = Client().get(url)
        assert Client().post(url).status_code == 410
    assert again.status_code == 410
    assert shows(again, "This link has already been used: it works only once.")
    assert PairedDevice.objects.count() == 1
    assert '<html lang="fr">' in again.content.decode()


def test_an_expired_link_connects_nothing(people):
    url = pairing_url(people["tech_all"])
    visitor = Client()
    with freeze_time(timezone.now() + timedelta(minutes=5, seconds=1)), nothing_changes():
        response = visitor.get(url)
    assert response.status_code == 410
    assert shows(response, "This link has expired: it is valid for 5 minutes.")
    assert settings.SESSION_COOKIE_NAME not in visitor.cookies
    assert visitor.get(HOME).status_code == 302, "still a visitor"


def test_an_unknown_link_is_refused(db):
    with nothing_changes():
        response = Client().get("/terrain/connexion/not-a-real-secret/")
    assert response.status_code == 410
    assert shows(response, "This link is not valid.")


def test_opening_the_link_only_asks_to_confirm(people):
    """A GET (a messaging app's preview of the link, a mail scanner) or a HEAD neither
    spends the link nor connects anyone: the phone's owner confirms with a POST."""
    me = people["tech_all"]
    url = pairing_url(me)
    preview = Client()
    with nothing_changes():
        asked = preview.get(url)
        assert preview.head(url).status_code in {200, 405}
    assert asked.status_code == 200
    assert asked["Referrer-Policy"] == "same-origin"
    page = asked.content.decode()
    assert html.escape(me.member.display_name) in page and 'method="post"' in page
    assert preview.get(HOME).status_code == 302, "the preview is still a visitor"
    assert Client().post(url).status_code == 302


def test_a_link_of_a_member_blocked_since_connects_nothing(people):
    url = pairing_url(people["tech_all"])
    account_services.block_member(people["tech_all"].member, actor=people["admin"].user)
    with nothing_changes():
        response = Client().get(url)
    assert response.status_code == 410
    assert shows(response, "This account can no longer connect a phone.")


def test_the_member_sees_their_phones_and_only_theirs(people):
    mine = pair_phone(people["tech_all"]).device
    pair_phone(people["tech_own"])
    page = people["tech_all"].client().get(PHONE_PAGE)
    rows = re.findall(r'<tr data-testid="device">(.*?)</tr>', page.content.decode(), re.S)
    assert len(rows) == 1
    assert "iPhone · Safari" in rows[0]
    assert timezone.localtime(mine.created_at).strftime("%d/%m/%Y %H:%M") in rows[0]
    assert fr("Connected") in rows[0]


def test_a_phone_whose_session_expired_shows_logged_out(people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    me = people["tech_all"]
    client = me.client()

    def session_queries() -> int:
        with CaptureQueriesContext(connection) as asked:
            client.get(PHONE_PAGE)
        return sum("django_session" in query["sql"] for query in asked)

    stale, fresh = pair_phone(me).device, pair_phone(me).device
    Session.objects.filter(session_key=stale.session_key).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    page = client.get(PHONE_PAGE).content.decode()
    rows = re.findall(r'<tr data-testid="device">(.*?)</tr>', page, re.S)
    assert sorted(fr("Connected") in row for row in rows) == [False, True]
    assert fresh.session_key != stale.session_key
    two = session_queries()
    pair_phone(me), pair_phone(me)
    assert session_queries() == two, "the phones' sessions are read together"


def test_revoking_a_phone_ends_its_session_at_once(people):
    me = people["tech_all"]
    phone = pair_phone(me)
    assert phone.client.get(HOME).status_code == 200
    response = me.client().post(f"{PHONE_PAGE}{phone.device.public_id}/deconnecter/")
    assert response.status_code == 302 and response["Location"] == PHONE_PAGE
    phone.device.refresh_from_db()
    assert phone.device.revoked_at is not None and phone.device.revoked_by == me.user
    after = phone.client.get(HOME)
    assert after.status_code == 302
    assert after["Location"].startswith("/compte/connexion/")
    assert phone.client.get(HOME).status_code == 302, "the session is gone for good"
    entry = AuditEntry.objects.get(action="device.revoke")
    assert (entry.actor, entry.after) == (me.user, {"revoked": True})


def test_revocation_deletes_the_session_after_commit(people, django_capture_on_commit_callbacks):
    me = people["tech_all"]
    phone = pair_phone(me)
    assert Session.objects.filter(session_key=phone.device.session_key).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.revoke_device(phone.device, actor=me.user) is True
    assert not Session.objects.filter(session_key=phone.device.session_key).exists()
    assert services.revoke_device(phone.device, actor=me.user) is False, "once"
    assert AuditEntry.objects.filter(action="device.revoke").count() == 1


def test_another_members_phone_cannot_be_revoked(people):
    theirs = pair_phone(people["tech_own"]).device
    url = f"{PHONE_PAGE}{theirs.public_id}/deconnecter/"
    with nothing_changes():
        assert people["admin"].client().post(url).status_code == 404
    assert_outsider_gets_404(people["outsider"].client(), "POST", url)


def test_a_blocked_members_phone_stops_working_in_every_organisation(people):
    """The technician also works for "globex", where nobody blocked them: the phone paired
    in "acme" is still disconnected, there too."""
    me = people["tech_all"]
    globex = Organization.objects.get(slug="globex")
    account_services.add_member(
        globex, actor=None, display_name="Tech", role="technician_all", email=me.user.email
    )
    phone = pair_phone(me)
    assert phone.client.get("/o/globex/terrain/").status_code == 200
    account_services.block_member(me.member, actor=people["admin"].user)
    response = phone.client.get("/o/globex/terrain/")
    assert response.status_code == 302 and response["Location"].startswith("/compte/connexion/")
    phone.device.refresh_from_db()
    assert phone.device.revoked_at is not None
    entry = AuditEntry.objects.get(action="device.revoke")
    assert (entry.actor, entry.after) == (None, {"revoked": True, "reason": "member blocked"})
    assert phone.client.get(HOME).status_code == 302


def test_the_phone_session_counts_as_verified_by_the_second_factor(people):
    """An organisation requiring 2FA of its administrators: the admin paired the phone from
    a verified session, so the phone is not sent to the two-factor page."""
    admin = people["admin"]
    Organization.objects.filter(slug="acme").update(require_admin_2fa=True)
    totp = TOTPDevice.objects.create(user=admin.user, name="app", confirmed=True)
    desktop = admin.client()
    assert desktop.get(PHONE_PAGE)["Location"] == "/compte/securite/", "not verified yet"
    session = desktop.session
    session[DEVICE_ID_SESSION_KEY] = totp.persistent_id
    session.save()
    url = link_on(desktop.post(f"{PHONE_PAGE}connecter/"))
    phone = Client()
    assert phone.post(url).status_code == 302
    assert phone.get(HOME).status_code == 200
    assert phone.session[DEVICE_ID_SESSION_KEY] == totp.persistent_id


def test_without_the_second_factor_the_phone_is_not_verified(people):
    """The same administrator, whose authenticator was removed after the link was made."""
    admin = people["admin"]
    totp = TOTPDevice.objects.create(user=admin.user, name="app", confirmed=True)
    desktop = admin.client()
    session = desktop.session
    session[DEVICE_ID_SESSION_KEY] = totp.persistent_id
    session.save()
    url = link_on(desktop.post(f"{PHONE_PAGE}connecter/"))
    totp.delete()
    Organization.objects.filter(slug="acme").update(require_admin_2fa=True)
    phone = Client()
    assert phone.post(url).status_code == 302
    assert phone.get(HOME)["Location"] == "/compte/securite/"


def test_device_names_read_from_the_user_agent():
    pixel = (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36"
    )
    reduced = pixel.replace("Android 14; Pixel 8", "Android 10; K")
    samsung = pixel.replace("Chrome/131.0.0.0", "SamsungBrowser/26.0 Chrome/122.0.0.0")
    firefox_ios = IPHONE.replace("Version/18.1", "FxiOS/132.0")
    assert services.device_name(IPHONE) == "iPhone · Safari"
    assert services.device_name(pixel) == "Android (Pixel 8) · Chrome"
    assert services.device_name(reduced) == "Android · Chrome"
    assert services.device_name(samsung) == "Android (Pixel 8) · Samsung Internet"
    assert services.device_name(firefox_ios) == "iPhone · Firefox"
    assert services.device_name("") == fr("Phone")
