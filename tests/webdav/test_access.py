"""Who reaches what under /dav/: each persona, the outsider, the blocked member,
read-only and revoked tokens — and a refused request writes nothing."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from comptoir.accounts import tokens
from comptoir.accounts.models import ApiToken
from comptoir.core.models import Membership
from comptoir.dossiers.models import Document
from tests.conftest import nothing_changes
from tests.helpers import fr
from tests.webdav.conftest import Dav, basic, body, dav_path

SEES_ALL = ("admin", "backoffice", "tech_all")
WRITERS = ("admin", "backoffice", "tech_all", "tech_own")


def hrefs(response) -> list[str]:
    return re.findall(r"<ns0:href>([^<]*)</ns0:href>", body(response).decode())


def message(response) -> str:
    return html.unescape(body(response).decode())


@pytest.fixture
def dossiers(people, dossier_of):
    """One dossier of the own-dossiers technician, one of the all-dossiers technician."""
    return {
        "own": dossier_of("tech_own", ("rapport.pdf", b"%PDF-1.4 own")),
        "other": dossier_of("tech_all", ("plan.pdf", b"%PDF-1.4 other")),
    }


@pytest.mark.parametrize("key", [*SEES_ALL, "tech_own"])
def test_each_persona_lists_the_dossiers_their_role_shows(people, dossiers, key):
    year = dossiers["own"].year
    response = Dav.of(people[key]).propfind(f"/dav/acme/{year}/")
    assert response.status_code == 207
    numbers = {dossiers[name].number for name in ("own", "other")}
    expected = numbers if key in SEES_ALL else {dossiers["own"].number}
    assert hrefs(response) == [
        f"/dav/acme/{year}/",
        *sorted(f"/dav/acme/{year}/{number}/" for number in expected),
    ]


def test_the_root_lists_the_token_organisation_its_years_and_the_space(people, dossiers):
    dav = Dav.of(people["admin"])
    assert hrefs(dav.propfind("/dav/")) == ["/dav/", "/dav/acme/"]
    year = dossiers["own"].year
    assert hrefs(dav.propfind("/dav/acme/")) == [
        "/dav/acme/",
        f"/dav/acme/{year}/",
        "/dav/acme/Espace/",
    ]


@pytest.mark.parametrize("key", WRITERS)
def test_each_persona_reads_a_file_of_a_dossier_they_see(people, dossiers, key):
    response = Dav.of(people[key]).get(dav_path(dossiers["own"], "rapport.pdf"))
    assert response.status_code == 200
    assert body(response) == b"%PDF-1.4 own"


def test_the_own_dossiers_technician_gets_404_for_someone_elses_dossier(people, dossiers):
    dav = Dav.of(people["tech_own"])
    other = dossiers["other"]
    with nothing_changes():
        assert dav.get(dav_path(other, "plan.pdf")).status_code == 404
        assert dav.propfind(dav_path(other)).status_code == 404
        assert dav.put(dav_path(other, "x.pdf"), b"data").status_code == 404
        assert dav.delete(dav_path(other, "plan.pdf")).status_code == 404


@pytest.mark.parametrize("key", WRITERS)
def test_each_writer_adds_and_removes_a_file(people, dossiers, key):
    dossier = dossiers["own"]
    dav = Dav.of(people[key])
    created = dav.put(dav_path(dossier, "photo.jpg"), b"\xff\xd8 jpeg")
    assert created.status_code == 201
    document = Document.objects.get(dossier=dossier, name="photo.jpg")
    assert (document.size, document.uploaded_by, document.removed_at) == (
        7,
        people[key].user,
        None,
    )
    assert dav.delete(dav_path(dossier, "photo.jpg")).status_code == 204
    document.refresh_from_db()
    assert document.removed_at is not None, "removed from the list, kept"
    assert dav.get(dav_path(dossier, "photo.jpg")).status_code == 404


def test_the_station_technician_is_refused_everywhere(people, dossiers):
    dav = Dav.of(people["tech_station"])
    with nothing_changes():
        for response in (
            dav.propfind("/dav/"),
            dav.get(dav_path(dossiers["own"], "rapport.pdf")),
            dav.put(dav_path(dossiers["own"], "x.pdf"), b"data"),
        ):
            assert response.status_code == 403
            assert body(response).decode() == fr("Your role does not allow this action.")


def test_the_outsider_gets_404_for_every_path_and_method_of_acme(people, dossiers):
    dav = Dav.of(people["outsider"])
    own = dossiers["own"]
    with nothing_changes():
        for response in (
            dav.propfind("/dav/acme/"),
            dav.propfind(dav_path(own)),
            dav.get(dav_path(own, "rapport.pdf")),
            dav.put(dav_path(own, "x.pdf"), b"data"),
            dav.delete(dav_path(own, "rapport.pdf")),
            dav.mkcol("/dav/acme/Espace/x"),
            dav.request("LOCK", dav_path(own, "rapport.pdf")),
            dav.move(dav_path(own, "rapport.pdf"), dav_path(own, "r.pdf")),
        ):
            assert response.status_code == 404
    assert hrefs(dav.propfind("/dav/")) == ["/dav/", "/dav/globex/"]


UNAUTHENTICATED_CASES = {
    "no header": None,
    "not basic": "Bearer whatever",
    "not base64": "Basic %%%",
    "no colon": "Basic " + "bm9jb2xvbg==",
    "unknown token": basic("admin@acme.test", "cpt_000000000000_nope"),
}


@pytest.mark.parametrize(
    "authorization", UNAUTHENTICATED_CASES.values(), ids=list(UNAUTHENTICATED_CASES)
)
def test_bad_credentials_get_the_same_401_whatever_the_path(people, dossiers, authorization):
    dav = Dav(authorization)
    answers = set()
    with nothing_changes():
        for path in ("/dav/acme/", dav_path(dossiers["own"]), "/dav/nowhere/2026/none/"):
            response = dav.propfind(path)
            assert response.status_code == 401
            assert response["WWW-Authenticate"] == 'Basic realm="Comptoir", charset="UTF-8"'
            answers.add(body(response))
    assert len(answers) == 1, "the answer tells nothing about what exists"


def test_a_token_is_only_good_with_its_members_email_or_login(people, dossiers):
    admin, tech = people["admin"], people["tech_all"]
    assert Dav(basic(tech.user.email, admin.token)).propfind("/dav/").status_code == 401
    assert Dav(basic(admin.user.login, admin.token)).propfind("/dav/").status_code == 207
    shouted = admin.user.email.upper()
    assert Dav(basic(shouted, admin.token)).propfind("/dav/").status_code == 207


def test_a_session_does_not_authenticate_dav(people, dossiers):
    client = people["admin"].client()  # logged in, no Basic credentials
    response = client.generic("PROPFIND", "/dav/acme/", HTTP_DEPTH="1")
    assert response.status_code == 401
    put = client.generic("PUT", dav_path(dossiers["own"], "x.pdf"), b"data")
    assert put.status_code == 401
    assert not Document.objects.filter(name="x.pdf").exists()


def test_a_revoked_token_and_a_blocked_member_get_401(people, dossiers):
    admin, tech = people["admin"], people["tech_all"]
    token = ApiToken.objects.get(membership=tech.member)
    tokens.revoke_token(token, actor=admin.user)
    assert Dav.of(tech).propfind("/dav/").status_code == 401
    _new, secret = tokens.create_token(tech.member, "dav", actor=tech.user)
    Membership.objects.filter(pk=tech.member.pk).update(is_blocked=True)  # token left active
    with nothing_changes():
        assert Dav.of(tech, secret).propfind("/dav/").status_code == 401
        assert Dav.of(tech, secret).put(dav_path(dossiers["other"], "x"), b"1").status_code == 401


def test_a_station_token_does_not_open_dav(people, dossiers):
    admin = people["admin"]
    _token, secret = tokens.create_token(
        admin.member, "poste", actor=admin.user, kind=ApiToken.Kind.STATION
    )
    assert Dav.of(admin, secret).propfind("/dav/").status_code == 401


READ_ONLY = "This token is read-only: create a read-and-write token to change files."


def test_a_read_only_token_reads_and_is_refused_every_write(people, dossiers):
    admin = people["admin"]
    _token, secret = tokens.create_token(
        admin.member, "lecture", actor=admin.user, scope=ApiToken.Scope.READ
    )
    dav = Dav.of(admin, secret)
    own = dossiers["own"]
    assert dav.get(dav_path(own, "rapport.pdf")).status_code == 200
    assert dav.propfind(dav_path(own)).status_code == 207
    lock = (
        '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
        "</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"
    )
    proppatch = (
        '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x">'
        "<D:set><D:prop><Z:colour>red</Z:colour></D:prop></D:set></D:propertyupdate>"
    )
    with nothing_changes():
        for response in (
            dav.put(dav_path(own, "rapport.pdf"), b"new"),
            dav.put(dav_path(own, "new.pdf"), b"new"),
            dav.delete(dav_path(own, "rapport.pdf")),
            dav.mkcol("/dav/acme/Espace/dossier"),
            dav.put("/dav/acme/Espace/note.txt", b"new"),
            dav.move(dav_path(own, "rapport.pdf"), dav_path(own, "r.pdf")),
            dav.copy(dav_path(own, "rapport.pdf"), dav_path(own, "r.pdf")),
            dav.request("LOCK", dav_path(own, "rapport.pdf"), lock, content_type="text/xml"),
            dav.request("LOCK", dav_path(own, "new.pdf"), lock, content_type="text/xml"),
            dav.request("PROPPATCH", dav_path(own, "rapport.pdf"), proppatch),
        ):
            assert response.status_code == 403
            assert fr(READ_ONLY) in message(response)


def test_an_administrator_held_to_two_factor_login_works_with_a_token(people, dossiers):
    admin = people["admin"]
    admin.org.require_admin_2fa = True
    admin.org.save(update_fields=["require_admin_2fa"])
    dav = Dav.of(admin)
    assert dav.propfind("/dav/acme/").status_code == 207
    assert dav.put(dav_path(dossiers["own"], "2fa.pdf"), b"ok").status_code == 201
    assert people["admin"].client().get("/o/acme/dossiers/").status_code == 302  # pages ask 2FA


def test_csrf_does_not_apply_to_dav(people, dossiers):
    client = Client(
        enforce_csrf_checks=True, HTTP_AUTHORIZATION=Dav.of(people["admin"]).authorization
    )
    response = client.generic("PUT", dav_path(dossiers["own"], "csrf.pdf"), b"data")
    assert response.status_code == 201
