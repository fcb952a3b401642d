"""The merge rule of drop-down lists, shared with the station agent (no Django here).

Importing drop-down lists must never destroy what a station holds: the field
software's lists carry descriptions the technicians wrote for years, the web's
are shorter. So lists are never replaced, they are merged by key. The agent
implements the same function on the station side (docs/sync/settings.md says
it in words); keep the two in step.

Shape of both arguments and of the result::

    {"pieces": {"label": "Pièces", "items": [
        {"key": "cuisine", "label": "Cuisine", "description": "Carrelage au sol…"},
    ]}}

The rule, for `merge_dropdowns(local, incoming)`:

1. Every local list is kept; an incoming list whose key is not local is added
   (after the local ones, in incoming order).
2. A list's label becomes the incoming label when that one is not blank;
   otherwise the local label stays.
3. In a list, every local item is kept, in its local order; an incoming item
   whose key is not local is appended, in incoming order. Nothing is removed.
4. For an item on both sides: the label becomes the incoming label when that
   one is not blank; the description becomes the incoming description when
   that one is not blank. A blank incoming value never replaces anything: a
   description is never emptied by a merge.
5. "Blank" means empty or only whitespace. Keys are compared exactly.
6. An item is `{key, label, description}`; other members of a local item are
   kept unchanged, other members of an incoming item are ignored. A missing
   label or description counts as "".
7. Several incoming items with the same key are applied one after the other
   to the same item (so the last non-blank value wins).

Consequences the tests check with generated data: no local or incoming item is
lost, a non-blank description never becomes blank, and merging the same
incoming lists twice gives the same result as merging them once. The inputs
are not modified.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

DropdownLists = dict[str, dict[str, Any]]


def is_blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A local item: its own members kept, with key, label and description always set."""
    result = copy.deepcopy(dict(item))
    result["key"] = _text(item.get("key"))
    result["label"] = _text(item.get("label"))
    result["description"] = _text(item.get("description"))
    return result


def _merge_item(target: dict[str, Any], incoming: Mapping[str, Any]) -> None:
    label, description = incoming.get("label"), incoming.get("description")
    if not is_blank(label):
        target["label"] = label
    if not is_blank(description):
        target["description"] = description


def merge_items(
    local: Sequence[Mapping[str, Any]], incoming: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Rules 3, 4, 6 and 7 on one list's items."""
    merged = [_item(item) for item in local]
    by_key: dict[str, dict[str, Any]] = {}
    for item in merged:
        by_key.setdefault(item["key"], item)  # a duplicated local key: the first one takes news
    for news in incoming:
        key = _text(news.get("key"))
        found = by_key.get(key)
        if found is None:
            found = {
                "key": key,
                "label": _text(news.get("label")),
                "description": _text(news.get("description")),
            }
            merged.append(found)
            by_key[key] = found
        else:
            _merge_item(found, news)
    return merged


def merge_dropdowns(
    local: Mapping[str, Mapping[str, Any]], incoming: Mapping[str, Mapping[str, Any]]
) -> DropdownLists:
    """Merge `incoming` drop-down lists into `local` ones (the rule above); a new dict."""
    result: DropdownLists = {}
    for key, found in local.items():
        result[key] = {
            **copy.deepcopy(dict(found)),
            "label": _text(found.get("label")),
            "items": merge_items(list(found.get("items") or []), []),
        }
    for key, found in incoming.items():
        items = list(found.get("items") or [])
        if key not in result:
            result[key] = {"label": _text(found.get("label")), "items": merge_items([], items)}
            continue
        target = result[key]
        if not is_blank(found.get("label")):
            target["label"] = found["label"]
        target["items"] = merge_items(target["items"], items)
    return result
