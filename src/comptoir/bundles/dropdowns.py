"""The web's drop-down lists: edited on their settings page, merged into by imports.

Every write is transactional and audited. An import merges (`merge_dropdowns`): it
adds lists and items and updates labels and descriptions, never removes anything and
never empties a description. Only an administrator editing a list on its page may
remove one of its items.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from comptoir.bundles.merge import merge_dropdowns
from comptoir.bundles.models import DropdownList
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import Organization

KEY_LENGTH = 60
ITEM_KEY_LENGTH = 100
LABEL_LENGTH = 200
DESCRIPTION_LENGTH = 5000
MAX_LISTS = 200
MAX_ITEMS = 2000


class InvalidList(DomainError):
    """A list or an item the page cannot take; `details["field"]` names the field."""

    code = "invalid_input"


def lists_state(org: Organization) -> dict[str, dict[str, Any]]:
    """The organisation's lists in the bundle's shape: {key: {label, items}}."""
    return {
        found.key: {"label": found.label, "items": [dict(item) for item in found.items]}
        for found in DropdownList.objects.filter(organization=org).order_by("key")
    }


def _state(found: DropdownList) -> dict[str, Any]:
    return {"key": found.key, "label": found.label, "items": found.items}


def _clean_key(raw: str, label: str, limit: int, field: str) -> str:
    key = (raw or "").strip() or slugify(label)[:limit]
    if not key or len(key) > limit:
        raise InvalidList(
            _("Enter a key of 1 to %(count)d characters.") % {"count": limit},
            details={"field": field},
        )
    return key


def _clean_label(raw: str, field: str) -> str:
    label = (raw or "").strip()
    if not label or len(label) > LABEL_LENGTH:
        raise InvalidList(
            _("Enter a label of at most %(count)d characters.") % {"count": LABEL_LENGTH},
            details={"field": field},
        )
    return label


def clean_items(items: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Items as typed on the page: keys made from the label when left empty, and unique."""
    result: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, item in enumerate(items, start=1):
        label = _clean_label(str(item.get("label") or ""), f"items.{index}.label")
        key = _clean_key(str(item.get("key") or ""), label, ITEM_KEY_LENGTH, f"items.{index}.key")
        base, number = key, 2
        while key in seen:  # two new items with the same label: cuisine, cuisine-2
            key = f"{base[: ITEM_KEY_LENGTH - 4]}-{number}"
            number += 1
        seen.add(key)
        description = str(item.get("description") or "").strip()
        if len(description) > DESCRIPTION_LENGTH:
            raise InvalidList(
                _("A description has at most %(count)d characters.")
                % {"count": DESCRIPTION_LENGTH},
                details={"field": f"items.{index}.description"},
            )
        result.append({"key": key, "label": label, "description": description})
    if len(result) > MAX_ITEMS:
        raise InvalidList(
            _("A list has at most %(count)d items.") % {"count": MAX_ITEMS},
            details={"field": "items"},
        )
    return result


@transaction.atomic
def create_list(
    org: Organization,
    *,
    actor: Any,
    label: str,
    key: str = "",
    items: Sequence[Mapping[str, Any]] | None = None,
) -> DropdownList:
    label = _clean_label(label, "label")
    key = _clean_key(key, label, KEY_LENGTH, "key")
    cleaned = clean_items(items or [])
    if DropdownList.objects.filter(organization=org, key=key).exists():
        raise Conflict(
            _("A list with the key “%(key)s” already exists.") % {"key": key},
            details={"field": "key"},
        )
    try:
        with transaction.atomic():
            found = DropdownList.objects.create(
                organization=org, key=key, label=label, items=cleaned
            )
    except IntegrityError:
        raise Conflict(
            _("A list with the key “%(key)s” already exists.") % {"key": key},
            details={"field": "key"},
        ) from None
    audit.record(
        "dropdown_list.create", organization=org, actor=actor, target=found, after=_state(found)
    )
    return found


@transaction.atomic
def update_list(
    found: DropdownList,
    *,
    actor: Any,
    label: str,
    items: Sequence[Mapping[str, Any]],
    seen: Collection[str] | None = None,
) -> DropdownList:
    """Change a list's label and items as the page shows them (the key stays).

    `seen`: the keys of the items the page showed. An item added since (an import
    that ran while the page was open) is kept, after the others.
    """
    found = DropdownList.objects.select_for_update().get(pk=found.pk)
    before = _state(found)
    found.label = _clean_label(label, "label")
    cleaned = clean_items(items)
    if seen is not None:
        taken = {item["key"] for item in cleaned}
        cleaned += [
            dict(item)
            for item in found.items
            if item.get("key") not in seen and item.get("key") not in taken
        ]
    found.items = cleaned
    found.save()
    audit.record_change(
        "dropdown_list.update",
        organization=found.organization,
        actor=actor,
        target=found,
        before=before,
        after=_state(found),
    )
    return found


@transaction.atomic
def merge_into(
    org: Organization, incoming: Mapping[str, Mapping[str, Any]], *, actor: Any
) -> dict[str, Any]:
    """Merge lists received in a bundle into the web's (never removes, never empties)."""
    existing = {
        found.key: found
        for found in DropdownList.objects.select_for_update().filter(organization=org)
    }
    current = {key: {"label": found.label, "items": found.items} for key, found in existing.items()}
    merged = merge_dropdowns(current, incoming)
    lists_added = items_added = lists_changed = 0
    for key, data in merged.items():
        found = existing.get(key)
        if found is None:
            found = DropdownList.objects.create(
                organization=org, key=key, label=data["label"] or key, items=data["items"]
            )
            audit.record(
                "dropdown_list.create",
                organization=org,
                actor=actor,
                target=found,
                after=_state(found),
            )
            lists_added += 1
            items_added += len(data["items"])
            continue
        before = _state(found)
        label = data["label"] or found.label
        if (label, data["items"]) == (found.label, found.items):
            continue
        items_added += len(data["items"]) - len(found.items)
        found.label, found.items = label, data["items"]
        found.save()
        audit.record_change(
            "dropdown_list.merge",
            organization=org,
            actor=actor,
            target=found,
            before=before,
            after=_state(found),
        )
        lists_changed += 1
    return {"lists_added": lists_added, "lists_changed": lists_changed, "items_added": items_added}
