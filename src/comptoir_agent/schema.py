"""A small validator for exactly the JSON Schema keywords dossier.schema.json uses.

The schema ships inside the package (a copy of docs/sync/dossier.schema.json,
kept identical by a test). Supported keywords: type (one or a list), const,
enum, required, properties, additionalProperties (bool or schema), minLength,
maxLength, pattern (search semantics, as JSON Schema), minimum, maximum,
items, uniqueItems, format (uuid, date-time). Anything else in the schema is
a descriptive annotation.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("dossier.schema.json")

_TYPE_NAMES = {
    "object": "un objet",
    "array": "un tableau",
    "string": "une chaîne",
    "integer": "un entier",
    "number": "un nombre",
    "boolean": "un booléen",
    "null": "null",
}


@functools.cache
def dossier_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _regex(pattern: str) -> re.Pattern[str]:
    r"""A schema's pattern (ECMA-262, as JSON Schema says) as a Python pattern: there `$`
    is the end of the text, where Python's `$` also matches before a final line break
    ("2026-00042\n" would pass `^[^/]+$`). So `$` outside a class becomes `\Z`."""
    return re.compile(_ecma_ends(pattern))


def _ecma_ends(pattern: str) -> str:
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append("\\Z")
            continue
        out.append(char)
    return "".join(out)


def validate_dossier(doc: Any) -> list[str]:
    """Every violation of dossier.schema.json in `doc`, as French sentences; [] when valid."""
    if _dossier_check()(doc):
        return []  # the compiled check accepts exactly what the full walk accepts
    errors: list[str] = []
    _check(doc, dossier_schema(), "", errors)
    return errors


@functools.cache
def _dossier_check() -> Check:
    return compile_check(dossier_schema())


def validate(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """Validate against any schema written with the supported keywords."""
    errors: list[str] = []
    _check(value, schema, "", errors)
    return errors


# --- the compiled check -------------------------------------------------------------------
#
# Thousands of dossiers go through the validator in one pass. Walking the schema for each
# (looking up every keyword, building every location string) costs more than reading the
# files; the schema is turned once into nested closures that answer only "valid or not",
# with every keyword looked up in advance. The walk below still writes the messages, and
# runs only for a document the closures refuse. Both follow the same rules: a test feeds
# them the same documents and mutations.

Check = Callable[[Any], bool]


def _accept(_value: Any) -> bool:
    return True


def _refuse(_value: Any) -> bool:
    return False


def _type_check(names: list[str]) -> Check:
    if names == ["string"]:
        return lambda v: isinstance(v, str)
    if names == ["object"]:
        return lambda v: isinstance(v, dict)
    if names == ["array"]:
        return lambda v: isinstance(v, list)
    if names == ["integer"]:  # a file's size, for each of thousands
        return lambda v: (
            (isinstance(v, int) and not isinstance(v, bool))
            or (isinstance(v, float) and v.is_integer())
        )
    if len(names) == 1:
        name = names[0]
        return lambda v: _is_type(v, name)

    def check(v: Any) -> bool:
        for name in names:  # noqa: SIM110 (a loop: no generator made for each value)
            if _is_type(v, name):
                return True
        return False

    return check


def compile_check(schema: Mapping[str, Any]) -> Check:
    """A function telling whether a value satisfies `schema` (the keywords `validate` knows).

    True is final; False sends the value to the walk, which writes the messages (and has
    the last word on a schema it cannot read, such as a `minimum` that is not a number).
    """
    steps: list[Check] = []
    expected = schema.get("type")
    names = [expected] if isinstance(expected, str) else list(expected or [])
    if (expected is not None and not names) or any(
        key in schema and not _is_type(schema[key], "number")
        for key in ("minLength", "maxLength", "minimum", "maximum")
    ):
        return _refuse  # what the walk refuses or cannot read: it has the last word
    if "const" in schema:
        const = schema["const"]
        steps.append(lambda v: _same(v, const))
    if "enum" in schema:
        options = list(schema["enum"])
        if all(isinstance(option, str) for option in options):
            allowed = frozenset(options)
            steps.append(lambda v: isinstance(v, str) and v in allowed)
        else:
            steps.append(lambda v: any(_same(v, option) for option in options))
    string = _string_check(schema)
    number = _number_check(schema)
    array = _array_check(schema)
    obj = _object_check(schema)
    # The common shapes get one closure each: a call per value, no loop over steps.
    if not steps and names == ["string"]:
        return lambda v: isinstance(v, str) and string(v)
    if not steps and names == ["object"]:
        return lambda v: isinstance(v, dict) and obj(v)
    if not steps and names == ["array"]:
        return lambda v: isinstance(v, list) and array(v)

    def by_kind(v: Any) -> bool:
        if isinstance(v, str):
            return string(v)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return number(v)
        if isinstance(v, list):
            return array(v)
        if isinstance(v, dict):
            return obj(v)
        return True

    if names:
        steps.insert(0, _type_check(names))
    steps.append(by_kind)
    if len(steps) == 1:
        return by_kind

    def check(v: Any) -> bool:
        for step in steps:  # noqa: SIM110 (a loop: no generator made for each value)
            if not step(v):
                return False
        return True

    return check


def _string_check(schema: Mapping[str, Any]) -> Check:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    search = _regex(schema["pattern"]).search if "pattern" in schema else None
    form = schema.get("format")
    uuid = _regex(UUID_PATTERN).match
    if not low and high is None and search is None and form not in ("date-time", "uuid"):
        return _accept

    def check(v: str) -> bool:
        if len(v) < low or (high is not None and len(v) > high):
            return False
        if search is not None and not search(v):
            return False
        if form == "date-time" and not _is_datetime(v):
            return False
        return not (form == "uuid" and not uuid(v))

    return check


def _number_check(schema: Mapping[str, Any]) -> Check:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is None and high is None:
        return _accept
    return lambda v: (low is None or v >= low) and (high is None or v <= high)


def _unique(value: list[Any]) -> bool:
    if all(isinstance(item, str) for item in value):
        return len(set(value)) == len(value)
    keys = [json.dumps(item, sort_keys=True) for item in value]
    return len(set(keys)) == len(keys)


def _array_check(schema: Mapping[str, Any]) -> Check:
    items = schema.get("items")
    each = compile_check(items) if isinstance(items, Mapping) else None
    unique = bool(schema.get("uniqueItems"))
    if each is None and not unique:
        return _accept

    def check(v: list[Any]) -> bool:
        if each is not None:
            for item in v:
                if not each(item):
                    return False
        return not unique or _unique(v)

    return check


def _object_check(schema: Mapping[str, Any]) -> Check:
    properties = {name: compile_check(sub) for name, sub in schema.get("properties", {}).items()}
    required = list(schema.get("required", []))
    extra = schema.get("additionalProperties", True)
    other: Check | None = compile_check(extra) if isinstance(extra, Mapping) else None
    closed = extra is False

    def check(v: dict[str, Any]) -> bool:
        for name in required:
            if name not in v:
                return False
        for name, item in v.items():
            known = properties.get(name)
            if known is not None:
                if not known(item):
                    return False
            elif closed or (other is not None and not other(item)):
                return False
        return True

    return check


# --- the walk that writes the messages ------------------------------------------------------

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, int | float)
    raise ValueError(f"unsupported type {name}")


def _where(loc: str) -> str:
    return loc or "(document)"


def _check(value: Any, schema: Mapping[str, Any], loc: str, errors: list[str]) -> None:
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_is_type(value, name) for name in names):
            wanted = " ou ".join(_TYPE_NAMES[name] for name in names)
            errors.append(f"{_where(loc)} : {wanted} est attendu")
            return
    if "const" in schema and not _same(value, schema["const"]):
        errors.append(f"{_where(loc)} : la valeur doit être {json.dumps(schema['const'])}")
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        allowed = ", ".join(json.dumps(option, ensure_ascii=False) for option in schema["enum"])
        errors.append(f"{_where(loc)} : valeur {_show(value)} hors de la liste ({allowed})")
    if isinstance(value, str):
        _check_string(value, schema, loc, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(value, schema, loc, errors)
    elif isinstance(value, list):
        _check_array(value, schema, loc, errors)
    elif isinstance(value, dict):
        _check_object(value, schema, loc, errors)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: `true` is not `1`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "…"


def _check_string(value: str, schema: Mapping[str, Any], loc: str, errors: list[str]) -> None:
    where = _where(loc)
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{where} : au moins {schema['minLength']} caractère(s)")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{where} : au plus {schema['maxLength']} caractères")
    if "pattern" in schema and not _regex(schema["pattern"]).search(value):
        errors.append(f"{where} : valeur {_show(value)} au format incorrect")
    if schema.get("format") == "date-time" and not _is_datetime(value):
        errors.append(f"{where} : date et heure ISO 8601 attendues, pas {_show(value)}")
    if schema.get("format") == "uuid" and not _regex(UUID_PATTERN).match(value):
        errors.append(f"{where} : UUID attendu, pas {_show(value)}")


def _is_datetime(value: str) -> bool:
    if "T" not in value and "t" not in value and " " not in value:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def _check_number(value: float, schema: Mapping[str, Any], loc: str, errors: list[str]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{_where(loc)} : au moins {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{_where(loc)} : au plus {schema['maximum']}")


def _check_array(value: list[Any], schema: Mapping[str, Any], loc: str, errors: list[str]) -> None:
    items = schema.get("items")
    if isinstance(items, Mapping):
        for index, item in enumerate(value):
            _check(item, items, f"{loc}[{index}]", errors)
    if schema.get("uniqueItems"):
        seen: list[str] = []
        for item in value:
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                errors.append(f"{_where(loc)} : l'élément {_show(item)} est en double")
                break
            seen.append(key)


def _check_object(
    value: dict[str, Any], schema: Mapping[str, Any], loc: str, errors: list[str]
) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            errors.append(f"{_join(loc, name)} : champ obligatoire manquant")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            _check(item, properties[name], _join(loc, name), errors)
        elif extra is False:
            errors.append(f"{_join(loc, name)} : champ inconnu")
        elif isinstance(extra, Mapping):
            _check(item, extra, _join(loc, name), errors)


def _join(loc: str, name: str) -> str:
    return f"{loc}.{name}" if loc else name
