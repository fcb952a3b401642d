"""Masks: how a number is made, and which masks are refused (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from comptoir.core.errors import DomainError
from comptoir.numbering import masks

DAY = date(2026, 3, 7)


@pytest.mark.parametrize(
    ("mask", "width", "counter", "operator", "expected"),
    [
        ("%AAAA%-%N%", 5, 42, None, "2026-00042"),  # the dossier numbers Comptoir always gave
        ("D%AAAA%-%N%", 5, 7, None, "D2026-00007"),
        ("F%AAAA%-%N%", 5, 286, None, "F2026-00286"),
        ("%AA%%MM%%JJ%-%N%", 3, 9, None, "260307-009"),
        ("%AAAA%-%MM%-%N%", 4, 12345, None, "2026-03-12345"),  # grows past its width
        ("%AAAA%-%OPE%-%N%", 4, 3, "DUJ", "2026-DUJ-0003"),
        ("%AAAA%-%OPE%-%N%", 4, 3, None, "2026-%OPE%-0003"),  # a preview
        ("DOS.%N%_x", 1, 8, None, "DOS.8_x"),
    ],
)
def test_render(mask, width, counter, operator, expected):
    assert masks.render(mask, day=DAY, counter=counter, width=width, operator=operator) == expected


@pytest.mark.parametrize(
    ("reset", "day", "period"),
    [
        ("yearly", date(2026, 3, 7), "2026"),
        ("monthly", date(2026, 3, 7), "2026-03"),
        ("monthly", date(2026, 12, 31), "2026-12"),
        ("never", date(2026, 3, 7), ""),
    ],
)
def test_period_of(reset, day, period):
    assert masks.period_of(reset, day) == period


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("duj", "DUJ"), (" J.-D ", "JD"), ("Émile", "EMILE"), ("abcdefgh", "ABCDE"), ("", "")],
)
def test_operator_initials_are_cleaned(raw, clean):
    assert masks.clean_operator(raw) == clean


def test_operator_required_only_when_the_mask_uses_it():
    assert masks.check_operator("%AAAA%-%N%", None) == ""
    assert masks.check_operator("%AAAA%-%OPE%-%N%", "duj") == "DUJ"
    for missing in (None, "", " . "):
        with pytest.raises(DomainError) as refused:
            masks.check_operator("%AAAA%-%OPE%-%N%", missing)
        assert refused.value.code == "operator_required"
        assert refused.value.details == {"field": "operator"}


@pytest.mark.parametrize(
    ("kind", "mask", "width", "reset", "offset"),
    [
        ("dossier", "%AAAA%-%N%", 5, "yearly", 0),
        ("dossier", "%AA%%MM%-%N%", 3, "monthly", 0),
        ("quote", "DV-%OPE%-%AA%-%N%", 4, "yearly", 100),
        ("invoice", "F%N%", 6, "never", 0),
        ("invoice", "FA%AAAA%%MM%-%N%", 4, "monthly", 0),
    ],
)
def test_valid_series(kind, mask, width, reset, offset):
    masks.check_series(kind, mask, width, reset, offset)


@pytest.mark.parametrize(
    ("kind", "mask", "width", "reset", "offset", "code", "field"),
    [
        ("dossier", "", 5, "yearly", 0, "invalid_mask", "mask"),
        ("dossier", "%AAAA%-", 5, "yearly", 0, "invalid_mask", "mask"),  # no counter
        ("dossier", "%N%-%N%", 5, "never", 0, "invalid_mask", "mask"),  # two counters
        ("dossier", "%AAAA%-%X%-%N%", 5, "yearly", 0, "invalid_mask", "mask"),  # unknown code
        ("dossier", "%AAAA%-%N", 5, "yearly", 0, "invalid_mask", "mask"),  # stray %
        ("dossier", "%AAAA%/%N%", 5, "yearly", 0, "invalid_mask", "mask"),  # a folder name
        ("dossier", "É%AAAA%%N%", 5, "yearly", 0, "invalid_mask", "mask"),
        ("dossier", "D-%N%", 5, "yearly", 0, "invalid_mask", "mask"),  # yearly, no year
        ("dossier", "%AAAA%-%N%", 5, "monthly", 0, "invalid_mask", "mask"),  # monthly, no month
        ("dossier", "%MM%-%N%", 5, "monthly", 0, "invalid_mask", "mask"),  # monthly, no year
        ("invoice", "F%AAAA%-%OPE%-%N%", 5, "yearly", 0, "invalid_mask", "mask"),
        ("dossier", "%AAAA%-ABCDEFGHIJKLMNOP-%N%", 12, "yearly", 0, "invalid_mask", "mask"),
        ("dossier", "%AAAA%-%N%", 0, "yearly", 0, "invalid_width", "width"),
        ("dossier", "%AAAA%-%N%", 13, "yearly", 0, "invalid_width", "width"),
        ("dossier", "%AAAA%-%N%", 5, "weekly", 0, "invalid_reset", "reset"),
        ("dossier", "%AAAA%-%N%", 5, "yearly", -1, "invalid_offset", "offset"),
        ("dossier", "%AAAA%-%N%", 5, "yearly", 999_999_999, "invalid_offset", "offset"),
    ],
)
def test_invalid_series(kind, mask, width, reset, offset, code, field):
    with pytest.raises(DomainError) as refused:
        masks.check_series(kind, mask, width, reset, offset)
    assert (refused.value.code, refused.value.details) == (code, {"field": field})


def test_messages_explain_the_repeat(settings):
    with pytest.raises(DomainError) as refused:
        masks.check_series("dossier", "%AAAA%-%N%", 5, "monthly", 0)
    assert "%MM%" in refused.value.message and "%AAAA%" in refused.value.message
    with pytest.raises(DomainError) as refused:
        masks.check_series("invoice", "F%OPE%%AAAA%%N%", 5, "yearly", 0)
    assert "%OPE%" in refused.value.message


def test_defaults():
    assert {kind: (d.mask, d.width, d.reset) for kind, d in masks.DEFAULTS.items()} == {
        "dossier": ("%AAAA%-%N%", 5, "yearly"),
        "quote": ("D%AAAA%-%N%", 5, "yearly"),
        "invoice": ("F%AAAA%-%N%", 5, "yearly"),
    }
    for kind, defaults in masks.DEFAULTS.items():
        masks.check_series(kind, defaults.mask, defaults.width, defaults.reset, 0)
