"""Bank and accounting details of the company profile: IBAN and BIC checked with
python-stdnum, journal codes and the customer account prefix; shown and edited on the
company page."""

from __future__ import annotations

import html

import pytest

from comptoir.company import services
from comptoir.company.models import CompanyProfile
from comptoir.core.models import AuditEntry
from tests.conftest import nothing_changes
from tests.helpers import fr

IBAN = "FR7630006000011234567890189"
URL = "/o/acme/parametres/entreprise/"


def test_defaults_are_the_usual_french_codes(people):
    profile = services.get_profile(people["admin"].org)
    assert (profile.sales_journal, profile.bank_journal, profile.customer_account_prefix) == (
        "VE",
        "BQ",
        "411",
    )
    assert (profile.iban, profile.vat_regime, profile.iban_display) == ("", "", "")


def test_details_are_cleaned_and_audited(people):
    admin = people["admin"]
    profile = services.update_profile(
        admin.org,
        actor=admin.user,
        iban="fr76 3000 6000 0112 3456 7890 189",
        bic="bnpa fr pp",
        bank_name="BNP Paribas",
        sales_journal="vt ",
        bank_journal="bq1",
        customer_account_prefix="411 ",
        vat_regime="receipts",
    )
    assert (profile.iban, profile.bic, profile.sales_journal, profile.bank_journal) == (
        IBAN,
        "BNPAFRPP",
        "VT",
        "BQ1",
    )
    assert profile.iban_display == "FR76 3000 6000 0112 3456 7890 189"
    entry = AuditEntry.objects.get(organization=admin.org, action="company.profile.create")
    assert entry.after["iban"] == IBAN and entry.after["vat_regime"] == "receipts"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "iban",
            "FR7630006000011234567890188",
            "“%(value)s” is not a valid IBAN: check the country code, the two-digit key and the "
            "length (27 characters for France).",
        ),
        (
            "bic",
            "BNPA1RPP",
            "“%(value)s” is not a valid BIC: 8 or 11 letters and digits (bank, country, place, "
            "branch), such as BNPAFRPPXXX.",
        ),
        (
            "sales_journal",
            "VENTES",
            None,
        ),
        (
            "bank_journal",
            "B-Q",
            "“%(value)s” is not a journal code: 1 to 6 letters or digits, such as VE.",
        ),
        (
            "customer_account_prefix",
            "411/C",
            "“%(value)s” is not an account prefix: 1 to 10 letters or digits, such as 411.",
        ),
    ],
)
def test_wrong_details_are_refused_and_nothing_is_written(people, field, value, message):
    admin = people["admin"]
    if message is None:  # 6 letters is a valid journal code
        assert services.update_profile(admin.org, actor=admin.user, **{field: value})
        return
    with nothing_changes(), pytest.raises(services.FieldErrors) as refused:
        services.update_profile(admin.org, actor=admin.user, **{field: value})
    assert refused.value.details["errors"] == {field: fr(message) % {"value": value}}


def test_check_profile_changes_cleans_without_writing(people):
    with nothing_changes():
        cleaned = services.check_profile_changes({"iban": IBAN.lower(), "website": "acme.fr"})
        assert cleaned == {"iban": IBAN, "website": "https://acme.fr"}
        with pytest.raises(services.FieldErrors) as refused:
            services.check_profile_changes({"vat_regime": "flat", "postcode": "1" * 11})
    assert set(refused.value.details["errors"]) == {"vat_regime", "postcode"}


def test_the_company_page_shows_and_saves_the_bank_details(people):
    admin = people["admin"]
    client = admin.client()
    page = html.unescape(client.get(URL).content.decode())
    assert fr("Accounting and bank details") in page
    assert 'name="sales_journal" value="VE"' in page
    response = client.post(
        URL,
        {
            "legal_name": "Acme Diagnostics SAS",
            "postcode": "59000",
            "iban": "FR76 3000 6000 0112 3456 7890 189",
            "bic": "BNPAFRPPXXX",
            "bank_name": "BNP Paribas Lille",
            "vat_regime": "debits",
            "sales_journal": "VE",
            "bank_journal": "BQ",
            "customer_account_prefix": "411",
        },
    )
    assert response.status_code == 302
    profile = CompanyProfile.objects.get(organization=admin.org)
    assert (profile.iban, profile.vat_regime) == (IBAN, "debits")
    page = html.unescape(client.get(URL).content.decode())
    assert "IBAN FR76 3000 6000 0112 3456 7890 189 · BIC BNPAFRPPXXX" in page
    assert 'value="FR76 3000 6000 0112 3456 7890 189"' in page


def test_a_wrong_iban_is_shown_next_to_the_field(people):
    client = people["admin"].client()
    with nothing_changes():
        response = client.post(URL, {"iban": "FR76 0000", "postcode": "59000"})
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert (
        fr(
            "“%(value)s” is not a valid IBAN: check the country code, the two-digit key and the "
            "length (27 characters for France)."
        )
        % {"value": "FR76 0000"}
        in page
    )
