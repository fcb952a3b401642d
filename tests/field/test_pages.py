"""The field app's pages: today and tomorrow in order with one-tap directions, a dossier
(missions, contacts, notes), a new dossier, a new appointment, a receipt from the camera;
each for the roles that may, refused (and nothing written) for the others."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from comptoir.agenda.geocoding import address_key
from comptoir.agenda.models import Appointment, GeocodedAddress
from comptoir.contacts.services import create_contact
from comptoir.core.models import AuditEntry
from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Dossier, Note
from comptoir.expenses import services as expense_services
from comptoir.expenses.models import Receipt
from tests.agenda.factories import a_dossier, book, list_everyone, paris, tomorrow
from tests.conftest import nothing_changes
from tests.expenses.conftest import JPEG, upload
from tests.field.conftest import DOSSIER_FORM, Phone, pair_phone, receipt_form
from tests.helpers import assert_outsider_gets_404, fr, shows

HOME = "/o/acme/terrain/"


@pytest.fixture
def team(people):
    list_everyone(people)
    return people


def cards(response) -> list[str]:
    """The appointment cards of the home page, in page order."""
    return re.findall(
        r'<article class="card field-stop[^"]*" data-testid="appointment">(.*?)</article>',
        response.content.decode(),
        re.S,
    )


def hrefs(fragment: str) -> dict[str, str]:
    """The three direction links of a card, unescaped as the browser reads them."""
    return {
        app: html.unescape(url)
        for url, app in re.findall(r'href="([^"]+)" data-app="(\w+)"', fragment)
    }


def sections(response) -> list[str]:
    return re.findall(r"<section class=\"mb-4\"(.*?)</section>", response.content.decode(), re.S)


def phone_post(phone: Phone, url: str, data: dict[str, Any]) -> Any:
    """A POST from the paired phone, with the CSRF token its pages hand out: the phone's
    client checks it, as a browser does."""
    form = phone.client.get("/o/acme/terrain/rendez-vous/nouveau/")
    assert form.status_code == 200
    return phone.client.post(url, {**data, "csrfmiddlewaretoken": form.context["csrf_token"]})


# --- today and tomorrow ---------------------------------------------------------------


def test_home_lists_today_and_tomorrow_in_order_with_dossier_missions_and_address(team):
    tech = team["tech_all"]
    today = timezone.localdate()
    agency = create_contact(tech.org, actor=None, kind="company", company_name="Agence Nord")
    dossier = a_dossier(team, tech.member, ordering_party=agency)
    book(team, tech.member, paris(tomorrow(), 9), dossier=dossier)
    book(
        team,
        tech.member,
        paris(today, 15),
        title="Étalonnage",
        address="3 rue de la Monnaie, Lille",
    )
    book(team, tech.member, paris(today, 8, 30), dossier=dossier)
    book(team, tech.member, paris(tomorrow() + timedelta(days=1), 9), title="Après-demain")
    book(team, tech.member, paris(today - timedelta(days=1), 9), title="Hier")
    book(team, team["tech_own"].member, paris(today, 10), title="Pas le mien")
    cancelled = book(team, tech.member, paris(today, 11), title="Annulé")
    Appointment.objects.filter(pk=cancelled.pk).update(status=Appointment.Status.CANCELLED)

    response = tech.client().get(HOME)

    assert response.status_code == 200
    today_part, tomorrow_part = sections(response)
    assert html.escape(fr("Today")) in today_part
    assert html.escape(fr("Tomorrow")) in tomorrow_part
    today_cards, tomorrow_cards = cards_of(today_part), cards_of(tomorrow_part)
    assert [time_of(card) for card in today_cards] == ["08:30", "15:00"]
    assert [time_of(card) for card in tomorrow_cards] == ["09:00"]
    first = today_cards[0]
    assert f"Dossier {dossier.number}" in first
    assert f"/o/acme/terrain/dossiers/{dossier.public_id}/" in first
    assert "DPE" in first and "Amiante" in first
    assert "12 rue Esquermoise, 59000 Lille" in first
    assert "Étalonnage" in today_cards[1] and "3 rue de la Monnaie, Lille" in today_cards[1]
    page = response.content.decode()
    for absent in ("Après-demain", "Hier", "Pas le mien", "Annulé"):
        assert absent not in page, absent


def cards_of(fragment: str) -> list[str]:
    return re.findall(r'data-testid="appointment">(.*?)</article>', fragment, re.S)


def time_of(card: str) -> str:
    found = re.search(r'<p class="field-time[^"]*"><time[^>]*>(\d\d:\d\d)</time>', card)
    assert found, card
    return found.group(1)


def test_an_appointment_across_midnight_is_on_both_days_in_paris_time(team):
    tech = team["tech_all"]
    today = timezone.localdate()
    book(team, tech.member, paris(today, 23, 30), 90, title="Inventaire de nuit")
    today_part, tomorrow_part = sections(tech.client().get(HOME))
    assert [time_of(card) for card in cards_of(today_part)] == ["23:30"]
    assert [time_of(card) for card in cards_of(tomorrow_part)] == ["23:30"]


def test_directions_use_the_address_when_it_is_not_geocoded(team):
    tech = team["tech_all"]
    book(
        team,
        tech.member,
        paris(timezone.localdate(), 9),
        title="Visite",
        address="12 bis, rue de l'Église & Fils, 59000 Lille",
    )
    links = hrefs(cards(tech.client().get(HOME))[0])
    encoded = "12%20bis%2C%20rue%20de%20l%27%C3%89glise%20%26%20Fils%2C%2059000%20Lille"
    assert links == {
        "apple": f"https://maps.apple.com/?daddr={encoded}",
        "google": f"https://www.google.com/maps/dir/?api=1&destination={encoded}",
        "waze": f"https://waze.com/ul?q={encoded}&navigate=yes",
    }


def test_directions_use_the_coordinates_of_the_geocoding_cache(team):
    tech = team["tech_all"]
    dossier = a_dossier(team, tech.member)
    GeocodedAddress.objects.create(
        key=address_key(dossier.address),
        outcome=GeocodedAddress.Outcome.FOUND,
        latitude=50.6386,
        longitude=3.0614,
        label="12 Rue Esquermoise 59000 Lille",
    )
    book(team, tech.member, paris(tomorrow(), 9), dossier=dossier)
    links = hrefs(cards(tech.client().get(HOME))[0])
    assert links == {
        "apple": "https://maps.apple.com/?daddr=50.638600,3.061400",
        "google": "https://www.google.com/maps/dir/?api=1&destination=50.638600,3.061400",
        "waze": "https://waze.com/ul?ll=50.638600,3.061400&navigate=yes",
    }


def test_home_reads_a_fixed_number_of_queries(team, django_assert_max_num_queries):
    tech = team["tech_all"]
    client = tech.client()
    for hour in range(8, 18):
        book(team, tech.member, paris(timezone.localdate(), hour), dossier=a_dossier(team))
    with django_assert_max_num_queries(16):
        response = client.get(HOME)
    assert len(cards(response)) == 10


def test_an_own_agenda_technician_cannot_look_at_someone_else(team):
    own = team["tech_own"]
    book(team, team["tech_all"].member, paris(timezone.localdate(), 9), title="Chez Tech_All")
    response = own.client().get(HOME, {"technicien": str(team["tech_all"].member.public_id)})
    assert response.status_code == 200
    assert "Chez Tech_All" not in response.content.decode()
    assert 'name="technicien"' not in response.content.decode()


def test_the_office_may_look_at_a_technicians_day(team):
    book(team, team["tech_all"].member, paris(timezone.localdate(), 9), title="Chez Tech_All")
    client = team["backoffice"].client()
    assert "Chez Tech_All" not in client.get(HOME).content.decode()
    response = client.get(HOME, {"technicien": str(team["tech_all"].member.public_id)})
    assert "Chez Tech_All" in response.content.decode()


def test_the_home_links_to_the_back_office_and_is_light(team):
    response = team["tech_all"].client().get(HOME)
    page = response.content.decode()
    assert '<a class="btn btn-light btn-sm field-backoffice" href="/o/acme/"' in page
    assert '<link rel="manifest" href="/o/acme/terrain/manifest.webmanifest">' in page
    assert len(response.content) < 15_000
    sources = re.findall(r'(?:src|href)="(https?:[^"]+)"', page)
    assert sources == [], "no CDN: every file is served by Comptoir"
    assert "bootstrap.bundle" not in page and "htmx" not in page, "no script needed"


def test_tabs_follow_the_role(team):
    technician = team["tech_own"].client().get(HOME).content.decode()
    office = team["backoffice"].client().get(HOME).content.decode()
    assert 'data-testid="receipt-tab"' not in technician
    assert 'data-testid="receipt-tab"' in office
    assert "/o/acme/terrain/rendez-vous/nouveau/" in technician


def test_outsider_and_blocked_member_get_404(team):
    assert_outsider_gets_404(team["outsider"].client(), "GET", HOME)
    assert team["blocked"].client().get(HOME).status_code == 404


def test_station_only_technician_is_refused(team):
    assert team["tech_station"].client().get(HOME).status_code == 403


def test_a_visitor_is_sent_to_the_login_page(client, team):
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == "/compte/connexion/?next=/o/acme/terrain/"


# --- dossiers --------------------------------------------------------------------------


def dossier_url(dossier: Dossier) -> str:
    return f"/o/acme/terrain/dossiers/{dossier.public_id}/"


def test_the_dossier_page_shows_missions_contacts_appointments_and_notes(team):
    tech = team["tech_all"]
    owner = create_contact(
        tech.org,
        actor=None,
        first_name="Paul",
        last_name="Martin",
        phone="06 11 22 33 44",
        email="paul.martin@example.fr",
    )
    dossier = a_dossier(team, tech.member, owner=owner)
    book(team, tech.member, paris(tomorrow(), 9), dossier=dossier)
    Note.objects.create(dossier=dossier, author=team["admin"].user, text="Chien méchant")
    response = tech.client().get(dossier_url(dossier))
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Dossier {dossier.number}" in page
    assert "DPE" in page and "Amiante" in page
    assert "Paul" in page and 'href="tel:0611223344"' in page
    assert 'href="mailto:paul.martin@example.fr"' in page
    assert "Chien méchant" in page
    assert f"{paris(tomorrow(), 9):%d/%m/%Y} 09:00" in page
    assert f'href="/o/acme/dossiers/{dossier.public_id}/"' in page, "the back-office page"
    assert f"/o/acme/terrain/rendez-vous/nouveau/?dossier={dossier.public_id}" in page
    assert "https://maps.apple.com/?daddr=12%20rue%20Esquermoise" in page


def test_an_own_dossier_technician_sees_only_their_dossiers(team):
    own = team["tech_own"]
    theirs = a_dossier(team, team["tech_all"].member)
    mine = a_dossier(team, own.member)
    client = own.client()
    assert client.get(dossier_url(mine)).status_code == 200
    assert client.get(dossier_url(theirs)).status_code == 404
    listing = client.get("/o/acme/terrain/dossiers/", {"q": "Esquermoise"}).content.decode()
    assert mine.number in listing and theirs.number not in listing


def test_the_dossier_list_shows_my_dossiers_then_searches_them_all(team):
    tech = team["tech_all"]
    mine = a_dossier(team, tech.member)
    other = a_dossier(team, team["tech_own"].member, property_city="Roubaix")
    client = tech.client()
    default = client.get("/o/acme/terrain/dossiers/").content.decode()
    assert mine.number in default and other.number not in default
    found = client.get("/o/acme/terrain/dossiers/", {"q": "roubaix"}).content.decode()
    assert other.number in found and mine.number not in found


def test_add_a_note(team):
    tech = team["tech_own"]
    dossier = a_dossier(team, tech.member)
    response = tech.client().post(f"{dossier_url(dossier)}notes/", {"text": " Digicode 4521 "})
    assert response.status_code == 302
    assert response["Location"] == f"{dossier_url(dossier)}#notes"
    note = Note.objects.get(dossier=dossier)
    assert (note.text, note.author) == ("Digicode 4521", tech.user)
    entry = AuditEntry.objects.get(action="dossier.note", object_id=str(dossier.public_id))
    assert entry.after == {"note": "Digicode 4521"}


def test_a_note_on_someone_elses_dossier_is_refused_and_writes_nothing(team):
    dossier = a_dossier(team, team["tech_all"].member)
    with nothing_changes():
        response = team["tech_own"].client().post(f"{dossier_url(dossier)}notes/", {"text": "x"})
    assert response.status_code == 404
    assert_outsider_gets_404(
        team["outsider"].client(), "POST", f"{dossier_url(dossier)}notes/", {"text": "x"}
    )


def test_a_note_on_another_organisations_dossier_is_refused_and_writes_nothing(team):
    """A member of acme who sees all its dossiers, on their paired phone, names a dossier of
    globex in acme's page: the same 404 as an unknown one."""
    theirs = a_dossier({"admin": team["outsider"]})
    phone = pair_phone(team["tech_all"])
    with nothing_changes():
        response = phone_post(phone, f"{dossier_url(theirs)}notes/", {"text": "x"})
    assert response.status_code == 404
    assert not Note.objects.exists()
    assert not AuditEntry.objects.filter(action="dossier.note").exists()


def test_an_empty_note_is_refused(team):
    tech = team["tech_all"]
    dossier = a_dossier(team, tech.member)
    response = tech.client().post(f"{dossier_url(dossier)}notes/", {"text": "  "}, follow=True)
    assert shows(response, "The note is empty.")
    assert not Note.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * 5001, "A note holds at most %(max)s characters."),
        ("code\x00 4521", "The note contains a null character."),
    ],
)
def test_a_note_too_long_or_with_a_null_is_refused_and_writes_nothing(team, text, message):
    tech = team["tech_all"]
    dossier = a_dossier(team, tech.member)
    with nothing_changes():
        response = tech.client().post(f"{dossier_url(dossier)}notes/", {"text": text}, follow=True)
    assert shows(response, fr(message) % {"max": 5000} if "%" in message else message)


def test_a_search_with_a_null_character_is_answered(team):
    response = team["tech_all"].client().get("/o/acme/terrain/dossiers/", {"q": "rue\x00"})
    assert response.status_code == 200


def test_create_a_dossier_from_the_phone(team):
    own = team["tech_own"]
    response = own.client().post("/o/acme/terrain/dossiers/nouveau/", DOSSIER_FORM)
    dossier = Dossier.objects.get(property_street="3 rue de la Monnaie")
    assert response.status_code == 302
    assert response["Location"] == dossier_url(dossier)
    assert dossier.technician == own.member, "an own-dossier technician keeps what they create"
    assert sorted(dossier.missions.values_list("mission_type__code", flat=True)) == ["dpe", "gaz"]
    assert AuditEntry.objects.filter(action="dossier.create", actor=own.user).count() == 1


def test_the_dossier_form_has_no_contact_picker_and_a_numeric_postcode(team):
    page = team["tech_all"].client().get("/o/acme/terrain/dossiers/nouveau/").content.decode()
    assert 'name="ordering_party"' not in page and 'name="appointment_at"' not in page
    assert 'inputmode="numeric"' in page
    assert 'name="technician"' in page
    own = team["tech_own"].client().get("/o/acme/terrain/dossiers/nouveau/").content.decode()
    assert 'name="technician"' not in own


def test_a_wrong_postcode_is_shown_on_its_field_and_creates_nothing(team):
    dossier_services.mission_types(team["admin"].org)  # made on first use, by any page
    with nothing_changes():
        response = (
            team["tech_all"]
            .client()
            .post("/o/acme/terrain/dossiers/nouveau/", {**DOSSIER_FORM, "property_postcode": "590"})
        )
    assert response.status_code == 200
    assert shows(response, "5 digits, e.g. 59000.")


# --- a new appointment --------------------------------------------------------------------


def appointment_form(technician, **extra) -> dict[str, str]:
    return {
        "technician": str(technician.public_id),
        "day": tomorrow().isoformat(),
        "start": "14:00",
        "end": "15:30",
        "title": "",
        "dossier": "",
        **extra,
    }


def test_make_an_appointment_for_a_dossier(team):
    tech = team["tech_all"]
    dossier = a_dossier(team, tech.member)
    page = tech.client().get(f"/o/acme/terrain/rendez-vous/nouveau/?dossier={dossier.public_id}")
    assert f'<option value="{dossier.public_id}" selected>' in page.content.decode()
    response = tech.client().post(
        "/o/acme/terrain/rendez-vous/nouveau/",
        appointment_form(tech.member, dossier=str(dossier.public_id)),
    )
    assert response.status_code == 302 and response["Location"] == HOME
    made = Appointment.objects.get(dossier=dossier)
    assert timezone.localtime(made.starts_at) == paris(tomorrow(), 14)
    assert made.technician == tech.member and made.created_by == tech.user
    dossier.refresh_from_db()
    assert dossier.appointment_at == made.starts_at, "the agenda's service did its part"
    assert "14:00" in sections(tech.client().get(HOME))[1]


@pytest.mark.parametrize("whose", ["colleague", "other_organisation"])
def test_an_appointment_on_a_dossier_out_of_reach_is_refused_and_writes_nothing(team, whose):
    """From the phone, an own-dossiers technician names a colleague's dossier, or a member
    who sees all of acme's dossiers names one of globex: 404, as for an unknown dossier, and
    neither the form (GET) nor the booking (POST) goes further."""
    if whose == "colleague":
        me, theirs = team["tech_own"], a_dossier(team, team["tech_all"].member)
    else:
        me, theirs = team["tech_all"], a_dossier({"admin": team["outsider"]})
    phone = pair_phone(me)
    url = "/o/acme/terrain/rendez-vous/nouveau/"
    with nothing_changes():
        asked = phone.client.get(url, {"dossier": str(theirs.public_id)})
        response = phone_post(
            phone, url, appointment_form(me.member, dossier=str(theirs.public_id))
        )
    assert asked.status_code == 404
    assert response.status_code == 404
    assert not Appointment.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="appointment.").exists()
    theirs.refresh_from_db()
    assert theirs.appointment_at is None


def test_double_booking_asks_for_confirmation(team):
    tech = team["tech_all"]
    book(team, tech.member, paris(tomorrow(), 14), title="Déjà pris")
    client = tech.client()
    with nothing_changes():
        warned = client.post("/o/acme/terrain/rendez-vous/nouveau/", appointment_form(tech.member))
    assert warned.status_code == 200
    assert 'name="confirm_overlap"' in warned.content.decode()
    booked = client.post(
        "/o/acme/terrain/rendez-vous/nouveau/",
        appointment_form(tech.member, confirm_overlap="on"),
    )
    assert booked.status_code == 302
    assert Appointment.objects.filter(technician=tech.member).count() == 2


def test_an_own_agenda_technician_books_only_themselves(team):
    own = team["tech_own"]
    with nothing_changes():
        response = own.client().post(
            "/o/acme/terrain/rendez-vous/nouveau/", appointment_form(team["tech_all"].member)
        )
    assert response.status_code == 200, "not a choice offered: the form refuses it"
    assert 'name="technician"' in response.content.decode()


# --- a receipt --------------------------------------------------------------------------


def test_the_receipt_form_opens_the_camera(team):
    page = team["backoffice"].client().get("/o/acme/terrain/justificatif/").content.decode()
    assert re.search(r'<input type="file" name="file"[^>]*accept="image/\*"', page)
    assert 'capture="environment"' in page
    assert 'enctype="multipart/form-data"' in page
    assert 'name="member"' not in page


def test_add_a_receipt_with_its_photo(team):
    office = team["backoffice"]
    dossier = a_dossier(team, team["tech_all"].member)
    form = {**receipt_form(), "amount_vat": "", "dossier": dossier.number}
    response = office.client().post("/o/acme/terrain/justificatif/", form)
    assert response.status_code == 302 and response["Location"] == HOME
    receipt = Receipt.objects.get()
    assert receipt.member == office.member, "the member's own receipt"
    assert (receipt.amount_ttc, receipt.amount_ht, receipt.amount_vat) == (
        Decimal("12.60"),
        Decimal("10.50"),
        Decimal("2.10"),
    )
    assert (receipt.content_type, receipt.file_name, receipt.dossier) == (
        "image/jpeg",
        "photo.jpg",
        dossier,
    )
    assert AuditEntry.objects.filter(action="receipt.create", actor=office.user).count() == 1


def test_a_receipt_that_is_not_a_photo_is_refused_and_nothing_is_stored(team, receipt_storage):
    expense_services.categories(team["admin"].org)  # made on first use, by any page
    with nothing_changes():
        response = (
            team["admin"]
            .client()
            .post(
                "/o/acme/terrain/justificatif/",
                {**receipt_form(), "file": upload(b"MZ\x90\x00 not a photo", "virus.exe")},
            )
        )
    assert response.status_code == 200
    message = fr("“%(name)s” is not a photo (JPEG, PNG, HEIC) or a PDF.") % {"name": "virus.exe"}
    assert html.escape(message) in response.content.decode()
    assert not receipt_storage.exists() or not any(receipt_storage.rglob("*"))


def test_a_receipt_on_another_organisations_dossier_is_refused_and_writes_nothing(team):
    """The receipt names its dossier by number, looked up among the member's dossiers only:
    globex's dossier is unknown here, refused on the field like any unknown number."""
    theirs = a_dossier({"admin": team["outsider"]})
    assert not Dossier.objects.filter(organization=team["admin"].org, number=theirs.number).exists()
    expense_services.categories(team["admin"].org)  # made on first use, by any page
    phone = pair_phone(team["backoffice"])
    with nothing_changes():
        response = phone_post(
            phone, "/o/acme/terrain/justificatif/", {**receipt_form(), "dossier": theirs.number}
        )
    assert response.status_code == 200
    message = fr("No dossier numbered “%(number)s”.") % {"number": theirs.number}
    assert html.escape(message) in response.content.decode()
    assert not Receipt.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="receipt.").exists()


@pytest.mark.parametrize("key", ["tech_all", "tech_own"])
def test_technicians_have_no_receipt_button_and_their_post_is_refused(team, key):
    me = team[key]
    dossier = a_dossier(team, me.member)
    page = me.client().get(dossier_url(dossier)).content.decode()
    assert "/o/acme/terrain/justificatif/" not in page
    with nothing_changes():
        response = me.client().post(
            "/o/acme/terrain/justificatif/", {**receipt_form(), "file": upload(JPEG, "a.jpg")}
        )
    assert response.status_code == 403
    assert not Receipt.objects.exists()
