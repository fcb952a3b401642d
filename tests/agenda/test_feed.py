"""Calendar feeds: the secret address, 304 on no change, the private option, and a feed
read the same by three independent parsers (icalendar, vobject, ical.js) across a
daylight-saving change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import icalendar
import pytest
import vobject
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from comptoir.accounts import services as accounts_services
from comptoir.agenda import feeds, ics, services
from comptoir.agenda.models import CalendarFeed
from comptoir.contacts.services import create_contact
from comptoir.core.models import AuditEntry
from tests.agenda.factories import a_dossier, book, paris, tomorrow
from tests.conftest import nothing_changes

HERE = Path(__file__).parent


def path_of(feed: CalendarFeed) -> str:
    return urlsplit(feeds.url_for(feed)).path


def fetch(feed_or_path, **headers):
    path = feed_or_path if isinstance(feed_or_path, str) else path_of(feed_or_path)
    return Client().get(
        path, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    )


def test_the_address_works_without_a_session_and_answers_304_until_a_change(
    team, django_capture_on_commit_callbacks
):
    tech = team["tech_all"]
    made = book(team, tech.member, paris(tomorrow(), 10), dossier=a_dossier(team))
    feed = feeds.regenerate(tech.member, actor=tech.user)
    assert path_of(feed).startswith("/agenda/ics/") and path_of(feed).endswith(".ics")
    assert feeds.webcal_url(feed).startswith("webcal://")

    first = fetch(feed)
    assert first.status_code == 200
    assert first["Content-Type"] == "text/calendar; charset=utf-8"
    assert f"UID:{made.public_id}@comptoir" in first.content.decode()
    etag = first["ETag"]

    with nothing_changes():
        again = fetch(feed, **{"If-None-Match": etag})
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)
    assert fetch(feed, **{"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
    assert fetch(feed).content == first.content, "the same data gives the same bytes"

    with django_capture_on_commit_callbacks(execute=True):  # the move forgets the validator
        services.move_appointment(
            team["admin"].member,
            made,
            starts_at=paris(tomorrow(), 15),
            ends_at=paris(tomorrow(), 16),
            version=1,
            actor=team["admin"].user,
        )
    changed = fetch(feed, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "SEQUENCE:1" in changed.content.decode()


def test_a_dossier_change_shows_once_the_validator_expires(team):
    """The agenda's own changes show at once; a dossier's within VALIDATOR_SECONDS."""
    from comptoir.dossiers import services as dossier_services

    tech = team["tech_all"]
    dossier = a_dossier(team)
    book(team, tech.member, paris(tomorrow(), 10), dossier=dossier)
    feed = feeds.regenerate(tech.member, actor=tech.user)
    etag = fetch(feed)["ETag"]
    dossier_services.update_dossier(
        team["admin"].member,
        dossier,
        dossier_services.DossierInput({"property_street": "3 rue de la Monnaie"}),
        actor=team["admin"].user,
    )
    assert fetch(feed, **{"If-None-Match": etag}).status_code == 304
    later = timezone.now() + timedelta(seconds=feeds.VALIDATOR_SECONDS + 1)
    with freeze_time(later):
        response = fetch(feed, **{"If-None-Match": etag})
    assert response.status_code == 200
    assert "LOCATION:3 rue de la Monnaie\\, 59000 Lille" in response.content.decode()


def test_regenerated_revoked_tampered_or_blocked_addresses_answer_404(team):
    tech, other = team["tech_all"], team["tech_own"]
    feed = feeds.regenerate(tech.member, actor=tech.user)
    old = path_of(feed)
    assert fetch(old).status_code == 200
    feed = feeds.regenerate(tech.member, actor=tech.user)
    assert fetch(old).status_code == 404
    assert fetch(feed).status_code == 200
    token = feeds.token_for(feed)
    theirs = feeds.regenerate(other.member, actor=other.user)
    for bad in (
        token[:-1] + ("0" if token[-1] != "0" else "1"),  # wrong MAC
        theirs.public_id.hex + token[32:],  # someone else's feed with my MAC
        token[:40],
        "../" + token,
        token.upper(),
    ):
        assert Client().get(f"/agenda/ics/{bad}.ics").status_code == 404, bad
    feeds.revoke(feed, actor=tech.user)
    assert fetch(feed).status_code == 404
    feed = feeds.regenerate(tech.member, actor=tech.user)
    assert fetch(feed).status_code == 200
    accounts_services.block_member(tech.member, actor=team["admin"].user)
    assert fetch(feed).status_code == 404
    assert fetch(theirs).status_code == 200
    accounts_services.update_member(
        other.member, actor=team["admin"].user, role="technician_station"
    )
    assert fetch(theirs).status_code == 404, "a role without the calendar right has no feed"
    entries = AuditEntry.objects.filter(action__startswith="agenda.feed").order_by("seq")
    assert [entry.action for entry in entries] == [
        "agenda.feed.create",
        "agenda.feed.regenerate",
        "agenda.feed.create",
        "agenda.feed.revoke",
        "agenda.feed.regenerate",
    ]
    assert "nonce" not in json.dumps([entry.after for entry in entries])


def test_the_address_survives_a_secret_key_rotation(team, settings):
    tech = team["tech_all"]
    feed = feeds.regenerate(tech.member, actor=tech.user)
    path = path_of(feed)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert fetch(path).status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    assert fetch(path).status_code == 404


def test_the_private_option_keeps_only_the_address_and_the_mission_types(team):
    tech = team["tech_all"]
    owner = create_contact(
        team["admin"].org,
        actor=None,
        kind="person",
        first_name="Jeanne",
        last_name="Martin",
        phone="06 11 22 33 44",
    )
    dossier = a_dossier(team, owner=owner)
    book(team, tech.member, paris(tomorrow(), 10), dossier=dossier, notes="Digicode 4521")
    book(team, tech.member, paris(tomorrow(), 14), title="Rendez-vous Mme Durand")
    feed = feeds.regenerate(tech.member, actor=tech.user)
    full = fetch(feed).content.decode()
    for text in ("Martin", "06 11 22 33 44", "Digicode 4521", dossier.number, "Mme Durand"):
        assert text in full

    feeds.set_private(feed, True, actor=tech.user)
    private = fetch(feed).content.decode()
    for text in ("Martin", "06 11 22 33 44", "Digicode", dossier.number, "Durand", "DESCRIPTION"):
        assert text not in private, text
    assert "SUMMARY:DPE\\, Amiante" in private
    assert "LOCATION:12 rue Esquermoise\\, 59000 Lille" in private
    assert tech.member.display_name not in private


def test_text_is_escaped_and_lines_folded_at_75_octets():
    assert ics.escape("a;b,c\\d\ne\r\nf\x07") == "a\\;b\\,c\\\\d\\ne\\nf"
    line = "DESCRIPTION:" + "Électricité, amiante; " * 10
    folded = ics.fold(line)
    pieces = folded.split("\r\n")
    assert all(len(piece.encode()) <= 75 for piece in pieces)
    assert all(piece.startswith(" ") for piece in pieces[1:])
    assert "".join([pieces[0], *(piece[1:] for piece in pieces[1:])]) == line


def next_dst_change(after: date) -> date:
    """The first day from `after` whose UTC offset in Paris differs from the day before."""
    day = after
    while True:
        before = paris(day, 12).utcoffset()
        day += timedelta(days=1)
        if paris(day, 12).utcoffset() != before:
            return day


def icalendar_events(body: bytes) -> list[dict]:
    calendar = icalendar.Calendar.from_ical(body)
    return [
        {
            "uid": str(event["UID"]),
            "sequence": int(event["SEQUENCE"]),
            "status": str(event["STATUS"]),
            "start": event.decoded("DTSTART").astimezone(UTC),
            "end": event.decoded("DTEND").astimezone(UTC),
            "tzid": event["DTSTART"].params["TZID"],
        }
        for event in calendar.walk("VEVENT")
    ]


def vobject_events(body: bytes) -> list[dict]:
    calendar = vobject.readOne(body.decode())
    return [
        {
            "uid": event.uid.value,
            "sequence": int(event.sequence.value),
            "status": event.status.value,
            "start": event.dtstart.value.astimezone(UTC),
            "end": event.dtend.value.astimezone(UTC),
            # vobject turns TZID into a tzinfo built from the VTIMEZONE and keeps the name here
            "tzid": event.dtstart.params["X-VOBJ-ORIGINAL-TZID"][0],
        }
        for event in calendar.vevent_list
    ]


def node() -> str:
    found = shutil.which("node")
    if found is None:
        reason = "node is not installed: apt-get install nodejs to check feeds with ical.js"
        if os.environ.get("COMPTOIR_REQUIRE_PEERS") == "1":
            pytest.fail(f"{reason} (COMPTOIR_REQUIRE_PEERS=1)", pytrace=False)
        pytest.skip(reason)
    return found


def icaljs_events(body: bytes, tmp_path: Path) -> list[dict]:
    path = tmp_path / "feed.ics"
    path.write_bytes(body)
    result = subprocess.run(
        [node(), str(HERE / "ical_dump.mjs"), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    parsed = json.loads(result.stdout)
    return [
        {
            "uid": event["uid"],
            "sequence": event["sequence"],
            "status": event["status"],
            "start": datetime.fromisoformat(event["start"].replace("Z", "+00:00")),
            "end": datetime.fromisoformat(event["end"].replace("Z", "+00:00")),
            "tzid": event["tzid"],
        }
        for event in parsed["events"]
    ]


def test_three_parsers_read_the_same_feed_across_a_daylight_saving_change(team, tmp_path):
    admin, tech = team["admin"], team["tech_all"]
    change = next_dst_change(tomorrow())
    before = book(
        team, tech.member, paris(change - timedelta(days=1), 10), 90, dossier=a_dossier(team)
    )
    after = book(
        team, tech.member, paris(change + timedelta(days=1), 10), 90, title="Après l'heure d'été"
    )
    across = book(team, tech.member, paris(change - timedelta(days=1), 22), 6 * 60, title="De nuit")
    moved = book(team, tech.member, paris(tomorrow(), 9), 60, title="Déplacé; deux fois, oui")
    cancelled = book(team, tech.member, paris(tomorrow(), 14), 60, title="Annulé")
    moved = services.move_appointment(
        admin.member,
        moved,
        starts_at=paris(tomorrow(), 11),
        ends_at=paris(tomorrow(), 12, 30),
        version=1,
        actor=admin.user,
    )
    services.cancel_appointment(admin.member, cancelled, actor=admin.user)
    body = feeds.build(feeds.regenerate(tech.member, actor=tech.user)).body

    assert b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    expected = sorted(
        [
            {
                "uid": f"{item.public_id}@comptoir",
                "sequence": sequence,
                "status": status,
                "start": item.starts_at.astimezone(UTC),
                "end": item.ends_at.astimezone(UTC),
                "tzid": "Europe/Paris",
            }
            for item, sequence, status in (
                (before, 0, "CONFIRMED"),
                (after, 0, "CONFIRMED"),
                (across, 0, "CONFIRMED"),
                (moved, 1, "CONFIRMED"),
                (cancelled, 1, "CANCELLED"),
            )
        ],
        key=lambda event: event["uid"],
    )
    # the offsets really differ on either side of the change
    assert before.starts_at.astimezone(UTC).hour != after.starts_at.astimezone(UTC).hour
    assert (across.ends_at - across.starts_at) == timedelta(hours=6)

    def by_uid(events):
        return sorted(events, key=lambda event: event["uid"])

    assert by_uid(icalendar_events(body)) == expected
    assert by_uid(vobject_events(body)) == expected
    assert by_uid(icaljs_events(body, tmp_path)) == expected


def test_support_prints_the_address_with_the_command(team):
    tech = team["tech_all"]
    out, err = StringIO(), StringIO()
    call_command(
        "agenda", "feed-url", "--org", "acme", "--member", tech.user.email, stdout=out, stderr=err
    )
    url = out.getvalue().strip()
    assert url.startswith("http") and "/agenda/ics/" in url
    assert fetch(urlsplit(url).path).status_code == 200
    again = StringIO()
    call_command(
        "agenda",
        "feed-url",
        "--org",
        "acme",
        "--member",
        tech.user.login,
        stdout=again,
        stderr=StringIO(),
    )
    assert again.getvalue().strip() == url, "printing does not change the address"
    fresh = StringIO()
    call_command(
        "agenda",
        "feed-url",
        "--org",
        "acme",
        "--member",
        tech.user.email,
        "--regenerate",
        stdout=fresh,
        stderr=StringIO(),
    )
    assert fresh.getvalue().strip() != url
    assert fetch(urlsplit(url).path).status_code == 404
    from django.core.management.base import CommandError

    for who in ("nobody@acme.test", team["blocked"].user.email, team["tech_station"].user.email):
        with pytest.raises(CommandError):
            call_command("agenda", "feed-url", "--org", "acme", "--member", who, stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("agenda", "feed-url", "--org", "nowhere", "--member", tech.user.email)


def test_the_feed_goes_back_90_days_and_leaves_out_other_people(team):
    tech = team["tech_all"]
    old = book(team, tech.member, timezone.now() - timedelta(days=120))
    recent = book(team, tech.member, timezone.now() - timedelta(days=30))
    theirs = book(team, team["tech_own"].member, paris(tomorrow(), 10))
    body = fetch(feeds.regenerate(tech.member, actor=tech.user)).content.decode()
    assert str(recent.public_id) in body
    assert str(old.public_id) not in body
    assert str(theirs.public_id) not in body
