"""The demo loader: lists imported from "PC bureau", a publication, a bundle waiting."""

from __future__ import annotations

from comptoir.bundles import demo, services
from comptoir.bundles.models import DropdownList, SettingsBundle
from comptoir.company import demo as company_demo
from comptoir.core.demo_registry import DemoContext


def test_demo_loader(people, technician):
    admin = people["admin"]
    ctx = DemoContext(write=lambda line: None)
    ctx.objects.update(
        {
            "megadiags": admin.org,
            "megadiags:dcollet": admin.member,
            "megadiags:jdurant": people["tech_all"].member,
        }
    )
    company_demo.load(ctx)
    demo.load(ctx)

    lists = {found.key: found for found in DropdownList.objects.filter(organization=admin.org)}
    assert set(lists) == {"pieces", "materiaux", "etat"}
    bundles = list(SettingsBundle.objects.filter(organization=admin.org).order_by("version"))
    assert [(bundle.direction, bundle.source) for bundle in bundles] == [
        ("from_station", "PC bureau"),
        ("to_stations", "web"),
        ("from_station", "PC bureau"),
    ]
    assert bundles[0].imported_sections == ["dropdowns"]
    waiting = bundles[-1]
    assert waiting.imported_at is None
    changes = {preview.name: preview for preview in services.preview(waiting)}
    assert all(not preview.error for preview in changes.values())
    assert {(change.kind, change.row) for change in changes["tariffs"].changes} == {
        ("changed", "DPE"),
        ("added", "TERM"),
    }
    assert [
        change.row for change in changes["operators"].changes if change.kind == "not_matched"
    ] == ["AVD"]
    assert {(change.kind, change.row) for change in changes["dropdowns"].changes} == {
        ("changed", "pieces › chambre"),
        ("added", "pieces › cave"),
    }
    assert {change.field for change in changes["company"].changes} == {
        "phone",
        "policy_expires_on",
    }
    assert {change.field for change in changes["devices"].changes} == {"expires_on", "notes"}
    assert {change.field for change in changes["accounting"].changes} == {
        "iban",
        "bic",
        "bank_name",
        "vat_regime",
    }
