"""Every number the API accepts is bounded in the published schema.

Found by the fuzzer: a station report carrying a checkpoint beyond what a
BIGINT holds was a 500 when saved. Each integer of a request (body, query,
path) must declare a `maximum` (and a `minimum`) that the database can store,
so that such input is a 422 and the schema tells clients the limits; the
constraints must be standard JSON Schema keywords, never pydantic's `ge`/`le`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from comptoir.api import api
from comptoir.core.api_base import BIGINT_MAX

SCHEMA = api.get_openapi_schema()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return dict(SCHEMA["components"]["schemas"][name])
    return node


def _integers(
    node: Any, where: str, seen: frozenset[str] = frozenset()
) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _integers(item, f"{where}[{index}]", seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if ref:
        if ref in seen:
            return
        yield from _integers(_resolve(node), where, seen | {ref})
        return
    if node.get("type") == "integer":
        yield where, node
    for key in ("properties",):
        for name, child in (node.get(key) or {}).items():
            yield from _integers(child, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _integers(node[key], f"{where}.{key}", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        yield from _integers(node.get(key) or [], where, seen)


def _inputs() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in SCHEMA["paths"].items():
        for method, operation in operations.items():
            here = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield from _integers(parameter.get("schema", {}), f"{here} {parameter['name']}")
            for media, content in (operation.get("requestBody") or {}).get("content", {}).items():
                yield from _integers(content.get("schema", {}), f"{here} body({media})")


def test_there_are_integer_inputs_to_check() -> None:
    assert len(list(_inputs())) >= 10


def test_every_integer_input_is_bounded_for_the_database() -> None:
    unbounded = [
        where
        for where, node in _inputs()
        if not (
            isinstance(node.get("maximum"), int)
            and node["maximum"] <= BIGINT_MAX
            and isinstance(node.get("minimum"), int)
            and node["minimum"] >= -BIGINT_MAX - 1
        )
    ]
    assert not unbounded, "integers without a minimum and a maximum:\n" + "\n".join(unbounded)


def test_constraints_are_json_schema_keywords() -> None:
    raw = [where for where, node in _inputs() if {"ge", "le", "gt", "lt"} & set(node)]
    assert not raw, "pydantic keywords leaked into the schema:\n" + "\n".join(raw)
