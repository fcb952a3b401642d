"""Receiving, publishing and importing bundles: versions, all-or-nothing imports, audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from comptoir.bundles import services
from comptoir.bundles.models import DropdownList, SettingsBundle
from comptoir.company.models import CompanyProfile, Tariff
from comptoir.core.errors import DomainError
from comptoir.core.models import AuditEntry
from tests.bundles.factories import (
    a_published_bundle,
    a_received_bundle,
    company_payload,
    contacts_payload,
    dropdowns_payload,
    tariffs_payload,
)
from tests.conftest import nothing_changes


def entries(org, action):
    return list(AuditEntry.objects.filter(organization=org, action=action).order_by("seq"))


def test_versions_count_up_per_organisation_whatever_the_direction(people):
    admin, outsider = people["admin"], people["outsider"]
    first = a_received_bundle(people["tech_all"])
    second = a_published_bundle(admin, "tariffs")
    third = a_received_bundle(admin)
    elsewhere = a_received_bundle(outsider)
    assert [first.version, second.version, third.version, elsewhere.version] == [1, 2, 3, 1]
    assert (first.direction, second.direction) == ("from_station", "to_stations")
    assert (first.source, second.source) == ("PC bureau", "web")
    assert first.created_by == people["tech_all"].member
    assert first.size == services.encoded_size(first.sections)
    [received] = entries(admin.org, "settings_bundle.receive")[:1]
    assert received.after["version"] == 1 and received.after["source"] == "PC bureau"
    assert received.actor == people["tech_all"].user


def test_a_bundle_is_kept_normalised_and_never_deleted(people):
    bundle = a_received_bundle(
        people["tech_all"], tariffs=[{"code": "dpe", "label": " DPE ", "price_excl_vat": 150}]
    )
    assert bundle.sections["tariffs"][0] == {
        "code": "DPE",
        "label": "DPE",
        "mission_type": None,
        "price_excl_vat": "150.00",
        "vat_rate": "20.00",
        "is_active": True,
    }
    with pytest.raises(ValidationError):
        bundle.delete()
    assert SettingsBundle.objects.filter(pk=bundle.pk).exists()


def test_a_bad_section_refuses_the_whole_bundle(people):
    with nothing_changes(), pytest.raises(services.InvalidBundle) as caught:
        a_received_bundle(
            people["tech_all"],
            dropdowns=dropdowns_payload(),
            company=company_payload(siret="73282932000075"),
        )
    assert caught.value.details["section"] == "company"


def test_unknown_sections_are_refused_with_the_valid_ones(people):
    with nothing_changes(), pytest.raises(services.UnknownSection) as caught:
        a_received_bundle(people["tech_all"], tarifs=[], menus={})
    assert caught.value.status == 422
    assert caught.value.details == {
        "unknown": ["menus", "tarifs"],
        "valid": services.SECTIONS.names,
    }
    with pytest.raises(DomainError):
        services.receive_bundle(people["admin"].org, {}, actor=None, member=None, source="x")


def test_a_bundle_over_5_mb_is_refused(people, monkeypatch):
    monkeypatch.setattr(services, "MAX_BUNDLE_BYTES", 2000)
    rows = [{"last_name": f"Contact {index}", "notes": "x" * 50} for index in range(40)]
    with nothing_changes(), pytest.raises(services.BundleTooLarge) as caught:
        a_received_bundle(people["tech_all"], contacts=rows)
    assert caught.value.status == 413 and caught.value.details["limit"] == 2000


def test_publishing_exports_the_web_and_the_latest_publication_wins(people):
    admin = people["admin"]
    with pytest.raises(services.NothingPublished):
        services.latest_published(admin.org)
    a_published_bundle(admin, "tariffs")
    latest = a_published_bundle(admin, "company", "dropdowns")
    assert services.latest_published(admin.org) == latest
    assert latest.sections["company"]["legal_name"] == "Acme Diagnostics"
    assert latest.sections["dropdowns"] == {}
    assert services.published_sections(latest, ["dropdowns", "tariffs"]) == {"dropdowns": {}}
    with pytest.raises(services.UnknownSection):
        services.published_sections(latest, ["menus"])
    with pytest.raises(DomainError):
        services.publish_bundle(admin.org, [], actor=admin.user, member=admin.member)
    assert entries(admin.org, "settings_bundle.publish")[-1].after["sections"] == [
        "company",
        "dropdowns",
    ]


def test_importing_applies_only_the_chosen_sections(people):
    admin = people["admin"]
    bundle = a_received_bundle(people["tech_all"])
    summaries = services.import_bundle(bundle, ["tariffs"], actor=admin.user, member=admin.member)
    assert summaries == {"tariffs": {"added": 2, "updated": 0, "deactivated": 0}}
    assert Tariff.objects.filter(organization=admin.org).count() == 2
    assert not DropdownList.objects.filter(organization=admin.org).exists()
    bundle.refresh_from_db()
    assert bundle.imported_sections == ["tariffs"] and bundle.imported_by == admin.member
    assert bundle.imported_at is not None

    services.import_bundle(bundle, ["dropdowns"], actor=admin.user, member=admin.member)
    bundle.refresh_from_db()
    assert bundle.imported_sections == ["tariffs", "dropdowns"]
    assert DropdownList.objects.filter(organization=admin.org).count() == 2
    last = entries(admin.org, "settings_bundle.import")[-1]
    assert last.after["sections"] == ["dropdowns"] and last.actor == admin.user


def test_an_import_is_all_or_nothing(people):
    admin = people["admin"]
    services.import_bundle(
        a_received_bundle(admin, company=company_payload()),
        ["company"],
        actor=admin.user,
        member=admin.member,
    )
    bundle = a_received_bundle(
        people["tech_all"],
        tariffs=tariffs_payload(),
        contacts=contacts_payload(),
        company={"siren": "552100554"},  # not the SIRET's: refused when applied
    )
    with nothing_changes(), pytest.raises(services.InvalidBundle) as caught:
        services.import_bundle(
            bundle, ["tariffs", "contacts", "company"], actor=admin.user, member=admin.member
        )
    assert caught.value.details["section"] == "company"
    assert CompanyProfile.objects.get(organization=admin.org).siren == "732829320"


def test_what_cannot_be_imported(people):
    admin = people["admin"]
    published = a_published_bundle(admin, "tariffs")
    with pytest.raises(DomainError) as caught:
        services.import_bundle(published, ["tariffs"], actor=admin.user, member=admin.member)
    assert caught.value.code == "not_importable"
    received = a_received_bundle(people["tech_all"])
    for names in ([], ["company"]):
        with nothing_changes(), pytest.raises(DomainError):
            services.import_bundle(received, names, actor=admin.user, member=admin.member)
    with pytest.raises(services.UnknownSection):
        services.import_bundle(received, ["menus"], actor=admin.user, member=admin.member)


def test_the_preview_shows_each_section_or_why_it_cannot_be_imported(people):
    admin = people["admin"]
    bundle = a_received_bundle(people["tech_all"])
    shown = services.preview(bundle)
    assert [(section.name, section.error) for section in shown] == [
        ("tariffs", ""),
        ("dropdowns", ""),
    ]
    assert shown[0].kinds == {"added": 2}
    assert shown[1].kinds == {"added": 2}
    # A bundle kept before a rule tightened: its section shows the refusal, not a crash.
    SettingsBundle.objects.filter(pk=bundle.pk).update(
        sections={"tariffs": [{"code": "?", "label": "x", "price_excl_vat": "1"}]}
    )
    bundle.refresh_from_db()
    [section] = services.preview(bundle)
    assert "tariffs" in section.error and section.changes == []
    services.import_bundle(
        a_received_bundle(admin), ["tariffs"], actor=admin.user, member=admin.member
    )
