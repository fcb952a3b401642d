"""`comptoir-agent agenda` against the in-memory hub: the exchange zone listed, and its
dossiers brought onto the station through the fetch path of a pass."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket

from tests.agent.conftest import make_doc, write_dossier
from tests.agent.fakehub import FakeHub


def _zone(hub: FakeHub) -> tuple[dict, dict, dict]:
    """Three dossiers on the web: one booked today, one sent by hand, one outside the zone."""
    today = make_doc("2026-00101", client={"name": "Agence du Beffroi"})
    by_hand = make_doc("2026-00102")
    outside = make_doc("2026-00103")
    hub.web_create(today, {"rapport.pdf": b"%PDF-1.4 today"}, planned="2026-11-25")
    hub.web_create(by_hand, {"plan.pdf": b"%PDF-1.4 plan"}, planned="2026-12-09")
    hub.web_create(outside, {"x.pdf": b"%PDF-1.4 x"})
    hub.web_zone(
        today["id"],
        appointment="0b8a8f2e-5d0b-4f3e-9a43-2f5a6f0b6c01",
        starts_at="2026-11-25T08:00:00Z",
        ends_at="2026-11-25T09:30:00Z",
    )
    hub.web_zone(
        by_hand["id"],
        manual=True,
        starts_at="2026-12-09T13:00:00Z",
        technician="Louise Lefebvre",
        mine=False,
        address="3 rue de la Monnaie, 59000 Lille",
    )
    return today, by_hand, outside


def _no_fetch_missing(hub: FakeHub) -> None:
    hub.station("PC bureau").options["fetch_missing"] = False


def test_agenda_lists_the_zone_and_brings_its_dossiers(hub, station):
    _no_fetch_missing(hub)
    today, by_hand, outside = _zone(hub)
    result = station("agenda")
    assert result.code == 0, result.err
    assert station.read(today) == hub.head(today["id"])
    assert station.read(by_hand) == hub.head(by_hand["id"])
    assert (station.folder(today) / "rapport.pdf").read_bytes() == b"%PDF-1.4 today"
    assert (station.folder(by_hand) / "plan.pdf").read_bytes() == b"%PDF-1.4 plan"
    assert not station.folder(outside).exists()
    lines = result.out.splitlines()
    assert lines[0] == "Zone d'échange : aujourd'hui 25/11/2026, demain 26/11/2026"
    assert lines[2].split() == [
        "Jour",
        "Heure",
        "Dossier",
        "Adresse",
        "Diagnostiqueur",
        "Origine",
        "Sur",
        "ce",
        "poste",
    ]
    assert "2026-00101" in lines[3] and "agenda" in lines[3] and lines[3].endswith("récupéré")
    assert "2026-00102" in lines[4] and "à la main" in lines[4] and "Louise Lefebvre" in lines[4]
    assert lines[-1] == "2 dossiers dans la zone, 2 sur ce poste dont 2 récupérés."
    # the hub now counts them as held: a pass keeps them green and leaves the other one
    result = station("sync")
    assert result.code == 0, result.err
    assert "2 transférés" in result.out
    assert not station.folder(outside).exists()
    status = json.loads(station("status", "--json").out)
    assert sorted(d["number"] for d in status["dossiers"]) == ["2026-00101", "2026-00102"]


def test_agenda_twice_fetches_nothing_the_second_time(hub, station):
    _no_fetch_missing(hub)
    _zone(hub)
    assert station("agenda").code == 0
    hub.requests.clear()
    result = station("agenda")
    assert result.code == 0, result.err
    assert hub.count("POST", "dossiers/fetch") == 0
    assert hub.count("POST", "blobs") == 0
    assert result.out.splitlines()[-1] == "2 dossiers dans la zone, 2 sur ce poste."
    assert "Transféré" in result.out


def test_list_only_writes_nothing(hub, station):
    today, by_hand, _outside = _zone(hub)
    hub.requests.clear()
    result = station("agenda", "--list-only")
    assert result.code == 0, result.err
    assert not station.folder(today).exists() and not station.folder(by_hand).exists()
    assert hub.requests == [("GET", "/api/v1/orgs/acme/sync/exchange-zone")]
    assert result.out.splitlines()[3].endswith("absent")
    assert result.out.splitlines()[-1] == "2 dossiers dans la zone, 0 sur ce poste."


def test_json_and_mine(hub, station):
    _no_fetch_missing(hub)
    today, by_hand, _outside = _zone(hub)
    result = station("agenda", "--json", "--mine")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    assert (body["today"], body["tomorrow"], body["everyone"]) == ("2026-11-25", "2026-11-26", True)
    assert body["fetched"] == [today["id"]]
    [entry] = body["entries"]
    assert entry["dossier"]["id"] == today["id"]
    assert entry["dossier"]["number"] == "2026-00101"
    assert entry["starts_at"] == "2026-11-25T08:00:00Z"
    assert entry["station"] == {
        "present": True,
        "fetched": True,
        "status": "green",
        "label": "récupéré",
    }
    assert not station.folder(by_hand).exists()  # not mine: not fetched
    listed = json.loads(station("agenda", "--json", "--list-only").out)
    assert [e["station"]["present"] for e in listed["entries"]] == [True, False]
    assert listed["fetched"] == []


def test_a_dossier_changed_here_is_never_overwritten(hub, station):
    _no_fetch_missing(hub)
    doc = make_doc("2026-00042")
    write_dossier(station.root, doc, {"rapport.pdf": b"version du poste"})
    assert station("sync").code == 0
    hub.web_edit(doc["id"], {"status": "done"}, {"rapport.pdf": b"version du web"})
    write_dossier(station.root, {**station.read(doc), "status": "report_sent"})
    hub.web_zone(doc["id"], manual=True)
    hub.requests.clear()
    result = station("agenda")
    assert result.code == 4, result.err  # in conflict: to verify
    assert "À vérifier" in result.out
    assert station.read(doc)["status"] == "report_sent"
    assert (station.folder(doc) / "rapport.pdf").read_bytes() == b"version du poste"
    assert hub.count("POST", "dossiers/push") == 0  # sending waits for `sync`


def test_a_zone_dossier_removed_here_comes_back(hub, station):
    _no_fetch_missing(hub)
    doc = make_doc("2026-00007")
    hub.web_create(doc, {"a.pdf": b"%PDF a"})
    hub.web_zone(doc["id"], manual=True)
    assert station("agenda").code == 0
    folder = station.folder(doc)
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    other = make_doc("2026-00008")
    write_dossier(station.root, other)  # a station with no dossier at all would be a safety stop
    result = station("agenda")
    assert result.code == 0, result.err
    assert station.read(doc) == hub.head(doc["id"])


def test_a_failed_download_is_red_and_exits_4(hub, station):
    _no_fetch_missing(hub)
    today, by_hand, _outside = _zone(hub)
    del hub.blobs[hashlib.sha256(b"%PDF-1.4 today").hexdigest()]  # lost on the hub
    result = station("agenda")
    assert result.code == 4
    line = next(line for line in result.out.splitlines() if "2026-00101" in line)
    assert line.endswith(
        "Quarantaine / erreur : Téléchargement impossible : document absent du cloud"
    )
    assert not station.folder(today).exists()
    assert station.read(by_hand) == hub.head(by_hand["id"])
    assert result.out.splitlines()[-1] == "2 dossiers dans la zone, 1 sur ce poste dont 1 récupéré."


def test_hub_unreachable_shows_the_last_zone_and_exits_3(hub, station):
    _no_fetch_missing(hub)
    _zone(hub)
    sentinel = station.root / ".comptoir" / "station.json"
    info = json.loads(sentinel.read_text())
    good = info["hub"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    info["hub"] = closed
    sentinel.write_text(json.dumps(info))
    result = station("agenda")
    assert result.code == 3 and "Hub injoignable" in result.err
    assert result.out == ""  # nothing known yet
    info["hub"] = good
    sentinel.write_text(json.dumps(info))
    assert station("agenda", "--list-only").code == 0
    info["hub"] = closed
    sentinel.write_text(json.dumps(info))
    result = station("agenda")
    assert result.code == 3
    assert "Dernière zone d'échange connue" in result.err
    assert "2026-00101" in result.out and "2026-00102" in result.out


def test_revoked_token_or_no_pairing_exits_2(hub, station, tmp_path):
    hub.station("PC bureau").token = "revoked"
    result = station("agenda")
    assert result.code == 2 and "appairez-le à nouveau" in result.err.lower()
    from tests.agent.conftest import Station

    lonely = Station(tmp_path / "jamais")
    lonely.root.mkdir()
    assert lonely("agenda").code == 2


def test_an_empty_zone(hub, station):
    result = station("agenda")
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == "Aucun dossier dans la zone d'échange."


def test_an_emptied_data_folder_is_a_safety_stop(hub, station):
    _no_fetch_missing(hub)
    today, by_hand, _outside = _zone(hub)
    assert station("agenda").code == 0
    for doc in (today, by_hand):
        shutil.rmtree(station.folder(doc))
    hub.requests.clear()
    result = station("agenda")
    assert result.code == 5
    assert "aucun dossier" in result.err
    assert hub.count("POST", "dossiers/fetch") == 0
    assert not station.folder(today).exists()
