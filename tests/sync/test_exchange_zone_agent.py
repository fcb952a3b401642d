"""End to end: `comptoir-agent agenda` against the real hub (pytest-django's live server).

The agent talks HTTP to the hub as it does in the field; the dossiers of the zone
(an appointment of today or tomorrow, a dossier sent by hand) arrive on the
station with their documents, the others do not.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from comptoir.dossiers import services as dossier_services
from comptoir.sync import services, zone
from tests.agenda.factories import a_dossier, book, list_everyone
from tests.agent.conftest import Station
from tests.conftest import make_org

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_agent_brings_the_zone_from_the_hub(live_server, tmp_path):
    people = make_org("acme", "Acme Diagnostics")
    list_everyone(people)
    admin, tech = people["admin"], people["tech_own"]
    booked = a_dossier(people, tech.member)
    dossier_services.add_document(
        booked,
        SimpleUploadedFile("rapport.pdf", b"%PDF-1.4 rapport", content_type="application/pdf"),
        kind="report",
        actor=admin.user,
    )
    book(people, tech.member, timezone.now() + timedelta(minutes=30), dossier=booked)
    by_hand = a_dossier(people, tech.member, appointment_at=timezone.now() + timedelta(days=9))
    zone.add(admin.member, by_hand, actor=admin.user)
    someone_elses = a_dossier(people, people["tech_all"].member)
    zone.add(admin.member, someone_elses, actor=admin.user)
    outside = a_dossier(people, tech.member)
    _station, code = services.add_station(
        admin.org, "Tablette", member=tech.member, actor=admin.user
    )

    agent = Station(tmp_path / "poste")
    assert agent("pair", live_server.url, code).code == 0
    listed = agent("agenda", "--list-only", "--json")
    assert listed.code == 0, listed.err
    body = json.loads(listed.out)
    assert body["everyone"] is False  # a technician "own dossiers": their zone only
    assert [e["dossier"]["number"] for e in body["entries"]] == [booked.number, by_hand.number]
    assert [e["station"]["present"] for e in body["entries"]] == [False, False]

    result = agent("agenda")
    assert result.code == 0, result.err
    year = str(booked.year)
    for dossier in (booked, by_hand):
        document = json.loads((agent.root / year / dossier.number / "dossier.json").read_text())
        assert document["id"] == str(dossier.public_id)
    assert (agent.root / year / booked.number / "rapport.pdf").read_bytes() == b"%PDF-1.4 rapport"
    assert not (agent.root / year / outside.number).exists()
    assert not (agent.root / year / someone_elses.number).exists()
    assert (
        result.out.splitlines()[-1] == "2 dossiers dans la zone, 2 sur ce poste dont 2 récupérés."
    )

    # taken out of the zone on the web: the station keeps its copy, the list says so
    zone.remove(admin.member, by_hand, actor=admin.user)
    result = agent("agenda", "--json")
    assert result.code == 0, result.err
    assert [e["dossier"]["number"] for e in json.loads(result.out)["entries"]] == [booked.number]
    assert (agent.root / year / by_hand.number / "dossier.json").exists()
    sync = agent("sync")
    assert sync.code == 0, sync.err
    assert "2 transférés" in sync.out
