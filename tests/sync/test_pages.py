"""The Comptoir Cloud pages: what the role matrix in tests/core/test_routes.py
does not reach (POST paths of GET pages, what the pages show and write)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from comptoir.core.models import AuditEntry
from comptoir.dossiers.models import Dossier, DossierRevision
from comptoir.sync import configure, services
from comptoir.sync.models import CloudCleanup, CloudOptions, Station
from tests.helpers import fr, shows
from tests.sync.conftest import document, item


def test_adding_a_station_shows_its_code_once(people):
    admin = people["admin"]
    response = admin.client().post(
        f"/o/{admin.org.slug}/parametres/postes/ajouter/",
        {"name": "PC bureau", "membership": people["tech_all"].member.pk},
    )
    assert response.status_code == 200
    assert b'data-testid="pairing-code"' in response.content
    assert Station.objects.get().name == "PC bureau"
    listing = admin.client().get(f"/o/{admin.org.slug}/parametres/postes/")
    assert b'data-testid="pairing-code"' not in listing.content


def test_a_duplicate_station_name_is_refused_on_the_form(people, station):
    admin = people["admin"]
    response = admin.client().post(
        f"/o/{admin.org.slug}/parametres/postes/ajouter/",
        {"name": "pc BUREAU", "membership": people["tech_all"].member.pk},
    )
    assert response.status_code == 200
    assert shows(response, fr("A station named “%(name)s” already exists.") % {"name": "pc BUREAU"})
    assert Station.objects.count() == 1


REREAD_HELP = (
    "The station will read the whole list of the cloud's dossiers again at its next "
    "synchronisation; no local file is deleted."
)
REREAD_DONE = (
    "The station “%(name)s” will read the whole list of the cloud's dossiers again "
    "at its next synchronisation."
)


def test_the_reread_button_raises_the_stations_counter(people, station):
    """“Relire depuis le début”: +1 (each press counts), an audit entry, a message, and
    the station reads it in `GET station`."""
    admin = people["admin"]
    page_url = f"/o/{admin.org.slug}/parametres/postes/{station.station_id}/"
    page = admin.client().get(page_url)
    assert b'data-testid="station-reread"' in page.content
    assert shows(page, REREAD_HELP)
    assert station.get("station").json()["reread"] == 0

    response = admin.client().post(page_url + "relire/", follow=True)
    assert response.redirect_chain == [(page_url, 302)]
    assert shows(response, fr(REREAD_DONE) % {"name": "PC bureau"})
    assert Station.objects.get().reread == 1
    entry = AuditEntry.objects.get(action="station.reread")
    assert (entry.actor, entry.object_id, entry.after) == (
        admin.user,
        station.station_id,
        {"reread": 1},
    )
    assert station.get("station").json()["reread"] == 1

    assert admin.client().post(page_url + "relire/").status_code == 302
    assert Station.objects.get().reread == 2
    assert AuditEntry.objects.filter(action="station.reread").count() == 2


def test_a_role_that_may_not_manage_stations_cannot_ask_for_a_reread(people, station):
    """Refused as on the station's other actions (403, same message)."""
    for key in ("backoffice", "tech_all"):
        someone = people[key]
        page_url = f"/o/{someone.org.slug}/parametres/postes/{station.station_id}/"
        revoke = someone.client().post(page_url + "revoquer/")
        refused = someone.client().post(page_url + "relire/")
        assert (refused.status_code, revoke.status_code) == (403, 403)
        assert shows(refused, "Your role does not allow this action.")
    assert Station.objects.get().reread == 0
    assert not AuditEntry.objects.filter(action="station.reread").exists()


def test_another_organisations_or_a_revoked_station_cannot_be_asked_to_reread(people, station):
    admin, outsider = people["admin"], people["outsider"]
    theirs, _code = services.add_station(
        outsider.org, "PC Globex", member=outsider.member, actor=outsider.user
    )
    for slug in (admin.org.slug, outsider.org.slug):
        url = f"/o/{slug}/parametres/postes/{theirs.public_id}/relire/"
        assert admin.client().post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.reread == 0
    services.revoke_station(Station.objects.get(pk=station_pk(station)), actor=admin.user)
    url = f"/o/{admin.org.slug}/parametres/postes/{station.station_id}/relire/"
    assert admin.client().post(url).status_code == 404
    assert Station.objects.get(pk=station_pk(station)).reread == 0
    assert not AuditEntry.objects.filter(action="station.reread").exists()


def test_opening_the_reread_address_changes_nothing(people, station):
    admin = people["admin"]
    url = f"/o/{admin.org.slug}/parametres/postes/{station.station_id}/relire/"
    assert admin.client().get(url).status_code == 405
    assert Station.objects.get().reread == 0
    assert not AuditEntry.objects.filter(action="station.reread").exists()


def station_pk(station) -> int:
    return int(Station.objects.get(public_id=station.station_id).pk)


def test_company_options_need_the_admin_password_once_set(people):
    admin = people["admin"]
    url = f"/o/{admin.org.slug}/parametres/postes/options/"
    base = {"enable_all": "on", "common-fetch_horizon_days": "-1"}
    assert admin.client().post(url, {**base, "new_admin_password": "s3cret"}).status_code == 302
    assert CloudOptions.objects.get().admin_password
    refused = admin.client().post(url, {**base, "use_common": "on"})
    assert refused.status_code == 200
    assert not CloudOptions.objects.get().use_common
    accepted = admin.client().post(url, {**base, "use_common": "on", "admin_password": "s3cret"})
    assert accepted.status_code == 302
    assert CloudOptions.objects.get().use_common


def test_backoffice_cannot_change_the_options(people):
    backoffice = people["backoffice"]
    response = backoffice.client().post(
        f"/o/{backoffice.org.slug}/parametres/postes/options/", {"enable_all": "on"}
    )
    assert response.status_code == 403
    assert not CloudOptions.objects.exists()


def test_volume_page_previews_then_quarantines(people, station):
    admin = people["admin"]
    station.push(item(document()))
    day = timezone.localdate(Dossier.objects.get().created_at)
    url = f"/o/{admin.org.slug}/parametres/volume/"
    dates = {"date_from": day.isoformat(), "date_to": day.isoformat()}
    preview = admin.client().post(url, dates)
    assert b'data-testid="cleanup-plan"' in preview.content
    assert not CloudCleanup.objects.exists()
    # the station still sends that range: confirming without saying so is refused
    refused = admin.client().post(url, {**dates, "confirm": "1"})
    assert refused.status_code == 200 and not CloudCleanup.objects.exists()
    done = admin.client().post(url, {**dates, "confirm": "1", "confirm_senders": "on"})
    assert done.status_code == 302
    assert Dossier.objects.get().quarantined_until > timezone.now() + timedelta(days=29)


def test_conflict_is_resolved_from_the_web(people, station, other_station):
    admin = people["admin"]
    doc = document()
    first = station.push(item(doc)).json()["results"][0]
    station.push(item({**doc, "status": "done"}, first["rev"]))
    other_station.push(item({**doc, "property": {**doc["property"], "floor": "4"}}, first["rev"]))
    dossier = Dossier.objects.get()
    assert dossier.in_conflict
    url = f"/o/{admin.org.slug}/dossiers/{dossier.public_id}/conflits/"
    page = admin.client().get(url)
    assert page.status_code == 200
    conflict = DossierRevision.objects.get(is_conflict=True)
    response = admin.client().post(url, {"keep": conflict.rev, "head_rev": dossier.revision})
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert not dossier.in_conflict and dossier.floor == "4"
    assert DossierRevision.objects.filter(dossier=dossier).count() == 4


def test_own_dossiers_technician_cannot_open_someone_elses_conflicts(people, station):
    doc = document()
    station.push(item(doc))
    tech = people["tech_own"]
    response = tech.client().get(f"/o/{tech.org.slug}/dossiers/{doc['id']}/conflits/")
    assert response.status_code == 404


def test_station_options_refuse_a_bad_window(people):
    admin = people["admin"]
    station, _code = services.add_station(
        admin.org, "Tablette", member=people["tech_all"].member, actor=admin.user
    )
    configure.cloud_options(admin.org)
    url = f"/o/{admin.org.slug}/parametres/postes/{station.public_id}/options/"
    response = admin.client().post(url, {"window_start": "25", "fetch_horizon_days": "-1"})
    assert response.status_code == 200
    station.refresh_from_db()
    assert station.options == {}


def test_the_conflict_page_compares_the_versions_field_by_field(people, station, other_station):
    """Labelled values side by side, differing fields first: no JSON to read."""
    admin = people["admin"]
    doc = document()
    first = station.push(item(doc)).json()["results"][0]
    station.push(item({**doc, "status": "done"}, first["rev"]))
    other_station.push(item({**doc, "property": {**doc["property"], "floor": "4"}}, first["rev"]))
    dossier = Dossier.objects.get()
    page = admin.client().get(f"/o/{admin.org.slug}/dossiers/{dossier.public_id}/conflits/")
    html = page.content.decode()
    row = r'<tr class="table-warning"><th scope="row">([^<]*)</th>(.*?)</tr>'
    differing = re.findall(row, html)
    labels = [label for label, _cells in differing]
    assert labels == [fr("status").capitalize(), fr("floor").capitalize()], labels
    status_cells = re.findall(r"<td[^>]*>([^<]*)</td>", differing[0][1])
    assert status_cells == [fr("Done"), fr("Scheduled")]
    assert "{" not in re.sub(r"<script.*?</script>", "", html, flags=re.S).split("<main", 1)[-1]
    assert shows(page, "Keep this version")
    same = re.search(r'<tbody class="collapse" id="same-fields">(.*?)</tbody>', html, re.S)
    assert same and fr("documents").capitalize() in same.group(1)
