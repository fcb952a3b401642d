"""The drop-down merge rule (comptoir.bundles.merge), which the station agent reimplements.

Examples first, then properties over generated lists: no item is ever lost, a
description is never emptied, merging twice is merging once, the inputs are not
touched.
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from comptoir.bundles import merge
from comptoir.bundles.merge import is_blank, merge_dropdowns

LOCAL = {
    "pieces": {
        "label": "Pièces",
        "items": [
            {"key": "cuisine", "label": "Cuisine", "description": "Faïence murale, sol carrelé"},
            {"key": "entree", "label": "Entrée", "description": "Parquet chêne"},
        ],
    }
}


def test_the_seed_case_an_incoming_list_without_descriptions_erases_nothing():
    """The web's lists are shorter than a station's: importing them must lose nothing."""
    incoming = {
        "pieces": {
            "label": "Pièces",
            "items": [
                {"key": "cuisine", "label": "Cuisine", "description": ""},
                {"key": "sejour", "label": "Séjour", "description": ""},
            ],
        }
    }
    assert merge_dropdowns(LOCAL, incoming) == {
        "pieces": {
            "label": "Pièces",
            "items": [
                {
                    "key": "cuisine",
                    "label": "Cuisine",
                    "description": "Faïence murale, sol carrelé",
                },
                {"key": "entree", "label": "Entrée", "description": "Parquet chêne"},
                {"key": "sejour", "label": "Séjour", "description": ""},
            ],
        }
    }


def test_labels_and_non_blank_descriptions_are_updated():
    incoming = {
        "pieces": {
            "label": "Pièces du logement",
            "items": [
                {"key": "entree", "label": "Hall d'entrée", "description": "Carrelage"},
                {"key": "cuisine", "label": "  ", "description": "   "},
            ],
        }
    }
    merged = merge_dropdowns(LOCAL, incoming)
    assert merged["pieces"]["label"] == "Pièces du logement"
    assert merged["pieces"]["items"] == [
        {"key": "cuisine", "label": "Cuisine", "description": "Faïence murale, sol carrelé"},
        {"key": "entree", "label": "Hall d'entrée", "description": "Carrelage"},
    ]


def test_new_lists_are_added_after_the_local_ones_and_blank_labels_keep_the_local_one():
    incoming = {
        "materiaux": {"label": "Matériaux", "items": [{"key": "placo", "label": "Placo"}]},
        "pieces": {"label": "", "items": []},
    }
    merged = merge_dropdowns(LOCAL, incoming)
    assert list(merged) == ["pieces", "materiaux"]
    assert merged["pieces"] == LOCAL["pieces"]
    assert merged["materiaux"]["items"] == [{"key": "placo", "label": "Placo", "description": ""}]


def test_other_members_of_local_items_are_kept_incoming_ones_ignored():
    local = {"l": {"label": "L", "items": [{"key": "a", "label": "A", "order": 3}]}}
    incoming = {"l": {"items": [{"key": "a", "description": "D", "colour": "red"}]}}
    assert merge_dropdowns(local, incoming)["l"]["items"] == [
        {"key": "a", "label": "A", "description": "D", "order": 3}
    ]


def test_duplicate_incoming_keys_apply_in_order():
    incoming = {
        "pieces": {
            "items": [
                {"key": "sejour", "label": "Séjour", "description": "Premier"},
                {"key": "sejour", "label": "", "description": "Second"},
            ]
        }
    }
    items = merge_dropdowns(LOCAL, incoming)["pieces"]["items"]
    assert items[-1] == {"key": "sejour", "label": "Séjour", "description": "Second"}
    assert len(items) == 3


def test_the_module_imports_no_django():
    """The station agent reimplements it: it must stand alone."""
    tree = ast.parse(Path(merge.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "copy", "collections", "typing"}, imported


# --- properties ---------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "d", "e", "f"])
TEXT = st.sampled_from(["", " ", "x", "y", "Carrelage", "  Parquet  "])
ITEM = st.fixed_dictionaries({"key": KEYS}, optional={"label": TEXT, "description": TEXT})
LIST = st.fixed_dictionaries({"items": st.lists(ITEM, max_size=6)}, optional={"label": TEXT})
LISTS = st.dictionaries(st.sampled_from(["pieces", "materiaux", "etat", "x"]), LIST, max_size=3)


def _unique_keys(lists: dict[str, Any]) -> dict[str, Any]:
    """Local lists as a station or the web stores them: an item key once per list."""
    result = {}
    for key, found in lists.items():
        seen, items = set(), []
        for item in found["items"]:
            if item["key"] not in seen:
                seen.add(item["key"])
                items.append(item)
        result[key] = {**found, "items": items}
    return result


@settings(max_examples=300)
@given(LISTS, LISTS)
def test_no_item_is_ever_lost(local, incoming):
    local = _unique_keys(local)
    merged = merge_dropdowns(local, incoming)
    for side in (local, incoming):
        for key, found in side.items():
            assert key in merged
            merged_keys = {item["key"] for item in merged[key]["items"]}
            assert {item["key"] for item in found["items"]} <= merged_keys


@settings(max_examples=300)
@given(LISTS, LISTS)
def test_a_description_is_never_emptied(local, incoming):
    local = _unique_keys(local)
    merged = merge_dropdowns(local, incoming)
    for key, found in local.items():
        by_key = {item["key"]: item for item in merged[key]["items"]}
        for item in found["items"]:
            if not is_blank(item.get("description")):
                assert not is_blank(by_key[item["key"]]["description"])
            if not is_blank(item.get("label")):
                assert not is_blank(by_key[item["key"]]["label"])


@settings(max_examples=300)
@given(LISTS, LISTS)
def test_merging_twice_is_merging_once(local, incoming):
    local = _unique_keys(local)
    once = merge_dropdowns(local, incoming)
    assert merge_dropdowns(once, incoming) == once


@settings(max_examples=200)
@given(LISTS, LISTS)
def test_local_order_is_kept_and_inputs_are_untouched(local, incoming):
    local = _unique_keys(local)
    before_local, before_incoming = copy.deepcopy(local), copy.deepcopy(incoming)
    merged = merge_dropdowns(local, incoming)
    assert (local, incoming) == (before_local, before_incoming)
    assert list(merged)[: len(local)] == list(local)
    for key, found in local.items():
        local_keys = [item["key"] for item in found["items"]]
        assert [item["key"] for item in merged[key]["items"]][: len(local_keys)] == local_keys


@settings(max_examples=200)
@given(LISTS)
def test_merging_into_nothing_or_merging_nothing(lists):
    lists = _unique_keys(lists)
    assert merge_dropdowns(lists, {}) == merge_dropdowns({}, lists)
    assert merge_dropdowns(merge_dropdowns({}, lists), lists) == merge_dropdowns({}, lists)
