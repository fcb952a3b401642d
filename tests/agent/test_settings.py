"""Settings bundles: push and pull, and the drop-down merge that never loses a description."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comptoir_agent.settings import dropdowns_problem, merge_dropdowns, parse_sections

LOCAL = {
    "pieces": {
        "label": "Pièces",
        "items": [
            {"key": "cuisine", "label": "Cuisine", "description": "Carrelage au sol, faïence"},
            {"key": "sejour", "label": "Séjour", "description": "Parquet flottant", "ordre": 2},
        ],
    },
    "materiaux": {"label": "Matériaux", "items": [{"key": "ba13", "label": "BA13"}]},
}
WEB = {
    "pieces": {
        "label": "Pièces du logement",
        "items": [
            {"key": "cuisine", "label": "Cuisine équipée", "description": ""},
            {"key": "sejour", "label": "", "description": "Parquet chêne"},
            {"key": "sdb", "label": "Salle de bains", "description": "Douche"},
        ],
    },
    "etages": {"label": "Étages", "items": [{"key": "rdc", "label": "RDC"}]},
}


def test_merge_keeps_local_lists_items_and_descriptions():
    merged = merge_dropdowns(LOCAL, WEB)
    assert list(merged) == ["pieces", "materiaux", "etages"]
    pieces = merged["pieces"]
    assert pieces["label"] == "Pièces du logement"
    assert [i["key"] for i in pieces["items"]] == ["cuisine", "sejour", "sdb"]
    cuisine, sejour, sdb = pieces["items"]
    assert cuisine == {
        "key": "cuisine",
        "label": "Cuisine équipée",
        "description": "Carrelage au sol, faïence",
    }
    assert sejour["label"] == "Séjour" and sejour["description"] == "Parquet chêne"
    assert sejour["ordre"] == 2
    assert sdb["description"] == "Douche"
    assert merged["materiaux"]["items"][0]["key"] == "ba13"
    assert LOCAL["pieces"]["items"][0]["label"] == "Cuisine"  # inputs untouched


text = st.one_of(st.just(""), st.just("  "), st.text(max_size=5))
item = st.fixed_dictionaries(
    {"key": st.sampled_from(["a", "b", "c", "d"])},
    optional={"label": text, "description": text},
)
lists = st.dictionaries(
    st.sampled_from(["l1", "l2", "l3"]),
    st.fixed_dictionaries({"items": st.lists(item, max_size=5)}, optional={"label": text}),
    max_size=3,
)


def _items(bundle):
    return {(k, i["key"]) for k, v in bundle.items() for i in v.get("items", [])}


@settings(max_examples=300, deadline=None)
@given(lists, lists)
def test_merge_properties(local, web):
    before = copy.deepcopy(local)
    merged = merge_dropdowns(local, web)
    assert local == before
    assert _items(local) | _items(web) <= _items(merged)  # never loses an item
    for key, found in local.items():
        # local items keep their place, in their order
        for old, new in zip(found.get("items", []), merged[key]["items"], strict=False):
            assert new["key"] == old["key"]
            description = old.get("description")
            if isinstance(description, str) and description.strip():
                assert new["description"].strip()  # never emptied
    assert merge_dropdowns(merged, web) == merged  # idempotent
    assert dropdowns_problem(merged) is None


@settings(max_examples=200, deadline=None)
@given(lists, lists)
def test_same_rule_as_the_hub(local, web):
    hub_merge = pytest.importorskip("comptoir.bundles.merge")
    assert merge_dropdowns(local, web) == hub_merge.merge_dropdowns(local, web)


def test_section_names():
    assert parse_sections("company, dropdowns,company") == ["company", "dropdowns"]
    with pytest.raises(Exception, match="invalide"):
        parse_sections("../etc")
    with pytest.raises(Exception, match="au moins une"):
        parse_sections(" , ")


def test_push_and_pull(hub, station, other):
    folder = station.root / "Parametres"
    folder.mkdir()
    (folder / "company.json").write_text(json.dumps({"name": "Acme"}))
    (folder / "dropdowns.json").write_text(json.dumps(WEB))
    result = station("settings", "push", "--sections", "company,dropdowns")
    assert result.code == 0, result.err
    assert hub.settings["sections"]["company"] == {"name": "Acme"}

    target = other.root / "Parametres"
    target.mkdir()
    (target / "dropdowns.json").write_text(json.dumps(LOCAL))
    (target / "company.json").write_text(json.dumps({"name": "Ancien"}))
    result = other("settings", "pull", "--sections", "company,dropdowns,tariffs")
    assert result.code == 4  # tariffs is not on the cloud
    assert "tariffs" in result.err
    assert json.loads((target / "dropdowns.json").read_text()) == merge_dropdowns(LOCAL, WEB)
    assert json.loads((target / "company.json").read_text()) == {"name": "Acme"}
    [old] = list((other.root / ".comptoir" / "trash").rglob("company.json"))
    assert json.loads(old.read_text()) == {"name": "Ancien"}
    assert other("settings", "pull", "--sections", "company,dropdowns").code == 0


def test_pull_never_overwrites_an_unmergeable_local_file(hub, station):
    hub.settings["sections"]["dropdowns"] = WEB
    folder = station.root / "Parametres"
    folder.mkdir()
    (folder / "dropdowns.json").write_text('{"pieces": "pas une liste"}')
    result = station("settings", "pull", "--sections", "dropdowns")
    assert result.code == 1 and "rien n'est importé" in result.err
    assert (folder / "dropdowns.json").read_text() == '{"pieces": "pas une liste"}'


def test_push_of_a_missing_file_is_a_usage_error(station):
    result = station("settings", "push", "--sections", "company")
    assert result.code == 1 and "introuvable" in result.err


def test_a_settings_file_nested_too_deep_is_a_clear_error(station):
    folder = station.root / "Parametres"
    folder.mkdir()
    (folder / "company.json").write_text("[" * 100_000 + "]" * 100_000)
    result = station("settings", "push", "--sections", "company")
    assert result.code == 1, result.err
    assert "company.json illisible : JSON trop imbriqué" in result.err
    assert "Traceback" not in result.err
