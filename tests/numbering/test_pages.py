"""Paramètres › Numérotation: the series, the last numbers, editing masks and next numbers."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from comptoir.numbering import services
from comptoir.numbering.models import NumberSeries
from tests.conftest import nothing_changes
from tests.helpers import assert_outsider_gets_404, fr, shows

YEAR = timezone.localdate().year


def url(name, **kwargs):
    return reverse(f"numbering:{name}", kwargs={"org": "acme", **kwargs})


def test_the_tab_shows_each_series_and_its_last_numbers(people):
    admin = people["admin"]
    services.reserve_block(admin.org, "dossier", 2, operator="DUJ", source="PC terrain Jean")
    services.allocate(admin.org, "dossier")
    response = admin.client().get(url("settings"))
    assert response.status_code == 200
    content = response.content.decode()
    for text in (
        "Numbering",
        "Dossiers",
        "Quotes",
        "Invoices",
        "Last numbers given",
        "reserved block",
    ):
        assert shows(response, text), text
    for number in (f"{YEAR}-00001", f"{YEAR}-00002", f"{YEAR}-00003", f"{YEAR}-00004"):
        assert number in content  # three given, the fourth is the next one
    assert "PC terrain Jean" in content and "DUJ" in content
    assert f"F{YEAR}-00001" in content and f"D{YEAR}-00001" in content
    for code in ("%AAAA%", "%AA%", "%MM%", "%JJ%", "%OPE%", "%N%"):  # the help
        assert code in content
    assert shows(
        response, "the operator's initials: the dossier's technician, or those a station sends"
    )
    assert url("series-edit", kind="invoice") in content
    assert url("next-edit", kind="invoice") in content
    # the tab is in the settings menu
    assert reverse("numbering:settings", kwargs={"org": "acme"}) in content


def test_viewing_writes_nothing(people):
    with nothing_changes():
        assert people["admin"].client().get(url("settings")).status_code == 200
        assert people["admin"].client().get(url("next-edit", kind="invoice")).status_code == 200
        assert people["admin"].client().get(url("series-edit", kind="quote")).status_code == 200


def test_edit_a_mask(people):
    admin = people["admin"]
    form = {"mask": "DV%AA%%MM%-%N%", "width": "3", "reset": "monthly", "offset": "0"}
    response = admin.client().post(url("series-edit", kind="quote"), form, follow=True)
    assert response.redirect_chain[-1][0] == url("settings")
    today = timezone.localdate()
    expected = f"DV{today.year % 100:02d}{today.month:02d}-001"
    assert (
        fr("%(series)s: numbering saved, next number %(number)s.")
        % {
            "series": fr("Quotes"),
            "number": expected,
        }
        in response.content.decode()
    )
    series = NumberSeries.objects.get(organization=admin.org, kind="quote")
    assert (series.mask, series.width, series.reset) == ("DV%AA%%MM%-%N%", 3, "monthly")


def test_a_mask_that_would_repeat_is_refused_with_its_reason(people):
    admin = people["admin"]
    form = {"mask": "DV-%N%", "width": "5", "reset": "yearly", "offset": "0"}
    with nothing_changes():
        response = admin.client().post(url("series-edit", kind="quote"), form)
    assert response.status_code == 200
    message = fr(
        "The counter restarts every year: the mask must hold the year "
        "(%(year)s or %(short)s), otherwise numbers would repeat."
    ) % {"year": "%AAAA%", "short": "%AA%"}
    assert shows(response, message)
    assert "is-invalid" in response.content.decode()


def test_set_the_next_number(people):
    admin = people["admin"]
    response = admin.client().post(url("next-edit", kind="invoice"), {"next_value": "287"})
    assert response.status_code == 302
    assert services.overview(admin.org)[2].next_number == f"F{YEAR}-00287"


def test_invoice_next_number_never_goes_back(people):
    admin = people["admin"]
    services.set_next(admin.org, "invoice", 287, actor=admin.user)
    page = admin.client().get(url("next-edit", kind="invoice"))
    assert shows(
        page,
        "Invoice numbers only move forward. Skipping numbers leaves a gap in the invoice "
        "series: only do it to carry on the numbering of your previous software.",
    )
    with nothing_changes():
        response = admin.client().post(url("next-edit", kind="invoice"), {"next_value": "12"})
    assert response.status_code == 200
    message = fr("Invoice numbers only move forward: the next number must be %(next)s or more.") % {
        "next": 287
    }
    assert shows(response, message)


def test_dossier_numbers_may_go_back(people):
    admin = people["admin"]
    services.allocate(admin.org, "dossier")
    services.allocate(admin.org, "dossier")
    response = admin.client().post(url("next-edit", kind="dossier"), {"next_value": "1"})
    assert response.status_code == 302
    assert services.allocate(admin.org, "dossier") == f"{YEAR}-00003"  # 1 and 2 were given


def test_form_errors(people):
    admin = people["admin"]
    with nothing_changes():
        bad_next = admin.client().post(url("next-edit", kind="quote"), {"next_value": "0"})
        bad_width = admin.client().post(
            url("series-edit", kind="quote"),
            {"mask": "D%AAAA%-%N%", "width": "40", "reset": "yearly", "offset": "0"},
        )
    assert bad_next.status_code == bad_width.status_code == 200


def test_unknown_series_is_404(people):
    admin = people["admin"]
    assert admin.client().get(url("series-edit", kind="receipt")).status_code == 404
    assert (
        admin.client().post(url("next-edit", kind="receipt"), {"next_value": "3"}).status_code
        == 404
    )


def test_other_roles_are_refused(people):
    for key in ("backoffice", "tech_all", "tech_own", "tech_station"):
        with nothing_changes():
            response = (
                people[key].client().post(url("next-edit", kind="quote"), {"next_value": "9"})
            )
        assert response.status_code == 403, key
        assert people[key].client().get(url("settings")).status_code == 403


def test_outsider_gets_404(people):
    outsider = people["outsider"].client()
    assert_outsider_gets_404(outsider, "GET", url("settings"))
    assert_outsider_gets_404(outsider, "POST", url("next-edit", kind="quote"), {"next_value": "9"})
    assert_outsider_gets_404(
        outsider,
        "POST",
        url("series-edit", kind="quote"),
        {"mask": "D%AAAA%-%N%", "width": "5", "reset": "yearly", "offset": "0"},
    )
