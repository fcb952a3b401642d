"""The stdlib validator of dossier.json against exactly the schema's constraints."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from comptoir_agent.schema import SCHEMA_PATH, validate, validate_dossier

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sync"
EXAMPLE = json.loads((DOCS / "dossier.example.json").read_text(encoding="utf-8"))


def test_the_packaged_schema_is_the_documented_one():
    assert json.loads(SCHEMA_PATH.read_text()) == json.loads(
        (DOCS / "dossier.schema.json").read_text()
    )


def test_the_example_is_valid():
    assert validate_dossier(EXAMPLE) == []


def test_minimal_document_is_valid():
    doc = {k: EXAMPLE[k] for k in ("schema", "id", "number", "year", "status", "missions")}
    assert validate_dossier(doc) == []


def changed(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE)
    *parents, last = path.split(".")
    target = doc
    for part in parents:
        target = target[part]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return doc


DELETE = object()
FILE = {"name": "rapport.pdf", "sha256": "a" * 64, "size": 3}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("schema", 2, "schema : la valeur doit être 1"),
        ("schema", True, "schema : la valeur doit être 1"),
        ("id", "not-a-uuid", "id : valeur"),
        ("id", "3F2B8C1E-7A4D-4E9B-9C55-0D1E2F3A4B5C", "id : valeur"),
        ("id", DELETE, "id : champ obligatoire manquant"),
        ("number", "", "number : au moins 1"),
        ("number", "a/b", "number : valeur"),
        ("number", "x" * 31, "number : au plus 30"),
        ("number", "2026\x01", "number : valeur"),
        ("year", 1989, "year : au moins 1990"),
        ("year", "2026", "year : un entier est attendu"),
        ("year", True, "year : un entier est attendu"),
        ("status", "lost", "status : valeur"),
        ("created_at", "hier", "created_at : date et heure"),
        ("created_at", "2026-11-18", "created_at : date et heure"),
        ("missions", ["dpe", "dpe"], "missions : l'élément"),
        ("missions", ["DPE"], "missions[0] : valeur"),
        ("missions", "dpe", "missions : un tableau est attendu"),
        ("client", {"email": "a@b.c"}, "client.name : champ obligatoire manquant"),
        ("client.name", "", "client.name : au moins 1"),
        ("client.postcode", "1" * 11, "client.postcode : au plus 10"),
        ("client.fax", "x", "client.fax : champ inconnu"),
        ("property.type", "castle", "property.type : valeur"),
        ("property.surface", "48,5", "property.surface : valeur"),
        ("property.year_built", 999, "property.year_built : au moins 1000"),
        ("operator", "x" * 11, "operator : au plus 10"),
        ("custom_fields", {"a": [1]}, "custom_fields.a : une chaîne ou un nombre"),
        ("extra", 1, "extra : champ inconnu"),
        ("files", [dict(FILE, name="../x")], "files[0].name : valeur"),
        ("files", [dict(FILE, name="..")], "files[0].name : valeur"),
        ("files", [dict(FILE, name="a\\b")], "files[0].name : valeur"),
        ("files", [dict(FILE, sha256="A" * 64)], "files[0].sha256 : valeur"),
        ("files", [dict(FILE, size=-1)], "files[0].size : au moins 0"),
        ("files", [{"name": "a", "size": 1}], "files[0].sha256 : champ obligatoire manquant"),
    ],
)
def test_invalid_documents(path, value, message):
    errors = validate_dossier(changed(path, value))
    assert any(e.startswith(message) for e in errors), errors


def test_valid_variants():
    assert validate_dossier(changed("client", None)) == []
    assert validate_dossier(changed("created_at", None)) == []
    assert validate_dossier(changed("created_at", "2026-11-18T14:05:00Z")) == []
    assert validate_dossier(changed("property.surface", None)) == []
    assert validate_dossier(changed("files", [FILE])) == []
    assert validate_dossier(changed("custom_fields", {"n": 1.5, "b": False, "z": None})) == []


def test_not_an_object():
    assert validate_dossier([]) == ["(document) : un objet est attendu"]


def test_integer_accepts_integral_floats_only():
    assert validate(3.0, {"type": "integer"}) == []
    assert validate(3.5, {"type": "integer"}) != []


ODD_VALUES = [
    None, True, False, 0, 1, -1, 1.5, 3.0, 1989, 2200, 2201, "", "x", "x" * 300, "a/b",
    "DPE", "dpe", "../x", "..", "2026-11-18", "2026-11-18T14:05:00Z", "a" * 64, "A" * 64,
    "3F2B8C1E-7A4D-4E9B-9C55-0D1E2F3A4B5C", "3f2b8c1e-7a4d-4e9b-9c55-0d1e2f3a4b5c",
    "48.5", "48,5", "house", "castle", [], ["dpe", "dpe"], ["dpe", "amiante"], [1, 1.0],
    [True, 1], {}, {"name": "x"}, {"a": [1]}, [dict(FILE)], [dict(FILE, size=-1)],
]  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutations():
    for path in _paths(EXAMPLE):
        for value in [DELETE, *ODD_VALUES]:
            doc = copy.deepcopy(EXAMPLE)
            target = doc
            for part in path[:-1]:
                target = target[part]
            if value is DELETE:
                del target[path[-1]]
            else:
                target[path[-1]] = copy.deepcopy(value)
            yield path, value, doc
    for value in ODD_VALUES:
        doc = copy.deepcopy(EXAMPLE)
        doc["unknown"] = value
        yield ("unknown",), value, doc
        yield (), value, value


def test_the_compiled_check_accepts_exactly_what_the_walk_accepts():
    """validate_dossier answers from the compiled closures when they accept: they must
    accept no document the message-writing walk refuses, and refuse none it accepts."""
    from comptoir_agent.schema import compile_check, dossier_schema

    schema = dossier_schema()
    check = compile_check(schema)
    count = refused = 0
    for path, value, doc in _mutations():
        walked = validate(doc, schema)
        assert check(doc) == (walked == []), (path, value, walked)
        assert validate_dossier(doc) == walked
        count += 1
        refused += bool(walked)
    assert count > 1000 and 0 < refused < count  # both outcomes were exercised


@pytest.mark.parametrize(
    "schema",
    [
        {"type": []},
        {"minLength": None},
        {"maxLength": "3"},
        {"minimum": None},
        {"maximum": True},
        {"properties": {"a": {"type": [], "minimum": None}}},
    ],
)
def test_the_compiled_check_never_accepts_what_the_walk_refuses_or_cannot_read(schema):
    """Odd schemas (none ships): the compiled check refuses, and the walk has the last word."""
    from comptoir_agent.schema import compile_check

    check = compile_check(schema)
    for value in [*ODD_VALUES, {"a": 1}, float("nan")]:
        if check(value):
            assert validate(value, schema) == []


ENDED = ["2026-00042\n", "a" * 64 + "\n", "3f2b8c1e-7a4d-4e9b-9c55-0d1e2f3a4b5c\n", "dpe\n"]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("number", "2026-00042\n"),
        ("id", "3f2b8c1e-7a4d-4e9b-9c55-0d1e2f3a4b5c\n"),
        ("missions", ["dpe\n"]),
        ("property.surface", "48.50\n"),
        ("files", [dict(FILE, sha256="a" * 64 + "\n")]),
        ("files", [dict(FILE, name="rapport.pdf\n")]),
    ],
)
def test_a_value_ending_in_a_line_break_does_not_match_a_pattern(path, value):
    """In a schema's pattern (ECMA-262), `$` is the end of the text: Python's `$` would
    also match before a final line break."""
    assert validate_dossier(changed(path, value)) != []


def test_an_independent_validator_agrees_on_every_mutation():
    """jsonschema-rs (another implementation of JSON Schema) accepts and refuses the same
    documents, trailing line breaks included."""
    import jsonschema_rs

    from comptoir_agent.schema import dossier_schema

    independent = jsonschema_rs.validator_for(dossier_schema(), validate_formats=True)
    count = 0
    mutations = list(_mutations())
    for path in _paths(EXAMPLE):
        for value in ENDED:
            doc = copy.deepcopy(EXAMPLE)
            target = doc
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
            mutations.append((path, value, doc))
    for path, value, doc in mutations:
        assert (validate_dossier(doc) == []) == independent.is_valid(doc), (path, value)
        count += 1
    assert count > 1000
