"""The conflict page's comparison: every field of the versions side by side, labelled,
the ones that differ first — so that choosing a version never means reading JSON."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Dossier

LABELS: dict[str, Promise] = {
    "number": _("number"),
    "status": _("status"),
    "created_at": _("created on"),
    "missions": _("missions"),
    "client.name": _("client"),
    "client.email": _("client's e-mail"),
    "client.phone": _("client's phone"),
    "client.street": _("client's street"),
    "client.postcode": _("client's postcode"),
    "client.city": _("client's city"),
    "property.street": _("street"),
    "property.postcode": _("postcode"),
    "property.city": _("city"),
    "property.type": _("property type"),
    "property.surface": _("surface (m²)"),
    "property.year_built": _("year built"),
    "property.lots": _("lots"),
    "property.floor": _("floor"),
    "appointment": _("appointment"),
    "operator": _("technician"),
    "files": _("documents"),
}
HIDDEN = {"schema", "id", "year"}  # the same in every version of a dossier


def _flatten(document: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if key in HIDDEN:
            continue
        if isinstance(value, dict):
            for inner, item in value.items():
                flat[f"{key}.{inner}"] = item
        else:
            flat[key] = value
    return flat


def _size(size: Any) -> str:
    if not isinstance(size, int):
        return ""
    for unit in ("o", "Ko", "Mo"):
        if size < 1024:
            return f"{size} {unit}"
        size //= 1024
    return f"{size} Go"


def _shown(key: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if key == "status" and value in Status.values:
        return str(Status(value).label)
    if key == "property.type" and value in Dossier.PropertyType.values:
        return str(Dossier.PropertyType(value).label)
    if key == "files" and isinstance(value, list):
        return "\n".join(
            f"{item.get('name', '?')} ({_size(item.get('size'))})"
            for item in value
            if isinstance(item, dict)
        )
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return str(value)


def _label(key: str) -> str:
    if key in LABELS:
        return str(LABELS[key])
    return key.removeprefix("custom_fields.")  # a custom field is named by the organisation


def comparison(head: dict[str, Any], others: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows `{label, values, differs}`: the cloud's value then each other version's;
    differing fields first, each group in the dossier's order."""
    versions = [_flatten(head), *(_flatten(other) for other in others)]
    keys: list[str] = []
    for flat in versions:
        keys.extend(key for key in flat if key not in keys)
    rows = []
    for key in keys:
        values = [_shown(key, flat.get(key)) for flat in versions]
        rows.append({"label": _label(key), "values": values, "differs": len(set(values)) > 1})
    return sorted(rows, key=lambda row: not row["differs"])
