"""`settings push|pull --sections a,b`: the station's settings bundle, one JSON file per section.

Files live in `<data>/Parametres/<section>.json`. A pulled section replaces the
local file (the previous one goes to the trash), except `dropdowns`, which is
MERGED: the field software's drop-down lists carry descriptions the web does not
have, and importing them must never lose one (the seed's warning).

`dropdowns.json` shape: `{"<list key>": {"label": "…", "items": [{"key": "…",
"label": "…", "description": "…", …}]}}`. See `merge_dropdowns` for the rule.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.parse
from datetime import date
from pathlib import Path
from typing import Any

from comptoir_agent.client import HubClient
from comptoir_agent.files import move_to_trash, write_json

SECTION_NAME = re.compile(r"^[a-z0-9_-]{1,50}\Z")
DROPDOWNS = "dropdowns"


class SettingsError(Exception):
    pass


def parse_sections(text: str) -> list[str]:
    sections = [s.strip() for s in text.split(",") if s.strip()]
    if not sections:
        raise SettingsError("--sections : indiquez au moins une section (ex. company,dropdowns)")
    for section in sections:
        if not SECTION_NAME.match(section):
            raise SettingsError(f"Nom de section invalide : {section!r}")
    return list(dict.fromkeys(sections))


def read_section(folder: Path, section: str) -> dict[str, Any]:
    path = folder / f"{section}.json"
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError(f"Fichier introuvable : {path}") from exc
    except (OSError, ValueError) as exc:
        raise SettingsError(f"{path} illisible : {exc}") from exc
    except RecursionError as exc:
        raise SettingsError(f"{path} illisible : JSON trop imbriqué") from exc
    if not isinstance(value, dict):
        raise SettingsError(f"{path} doit contenir un objet JSON")
    return value


def push(client: HubClient, folder: Path, sections: list[str]) -> str:
    bundle = {section: read_section(folder, section) for section in sections}
    if DROPDOWNS in bundle:
        problem = dropdowns_problem(bundle[DROPDOWNS])
        if problem:
            raise SettingsError(f"{DROPDOWNS}.json : {problem}")
    answer = client.post(client.org_path("sync/settings"), {"sections": bundle})
    return str(answer.get("version")) if isinstance(answer, dict) else "?"


def pull(
    client: HubClient, folder: Path, trash: Path, sections: list[str], today: date
) -> tuple[str, list[str], list[str]]:
    """Write the hub's sections; returns (version, written sections, sections the hub lacks)."""
    query = urllib.parse.quote(",".join(sections), safe=",")
    answer = client.get(client.org_path(f"sync/settings?sections={query}"))
    if not isinstance(answer, dict) or not isinstance(answer.get("sections"), dict):
        raise SettingsError("Réponse du cloud illisible pour les paramètres")
    received: dict[str, Any] = answer["sections"]
    written: list[str] = []
    missing: list[str] = []
    prepared: dict[str, dict[str, Any]] = {}
    for section in sections:
        value = received.get(section)
        if not isinstance(value, dict):
            missing.append(section)
            continue
        prepared[section] = _prepare(folder, section, value)
    folder.mkdir(parents=True, exist_ok=True)
    for section, value in prepared.items():
        target = folder / f"{section}.json"
        if target.exists() and section != DROPDOWNS:
            existing = target.read_bytes()
            if json.loads(existing) == value:
                continue
            move_to_trash(target, trash, f"Parametres/{section}.json", today)
        write_json(target, value)
        written.append(section)
    return str(answer.get("version", "?")), written, missing


def _prepare(folder: Path, section: str, value: dict[str, Any]) -> dict[str, Any]:
    if section != DROPDOWNS:
        return value
    problem = dropdowns_problem(value)
    if problem:
        raise SettingsError(f"Menus déroulants reçus illisibles, rien n'est importé : {problem}")
    target = folder / f"{DROPDOWNS}.json"
    if not target.exists():
        return value
    local = read_section(folder, DROPDOWNS)
    problem = dropdowns_problem(local)
    if problem:
        raise SettingsError(
            f"{target} ne peut pas être fusionné ({problem}) : corrigez-le, rien n'est importé"
        )
    return merge_dropdowns(local, value)


def dropdowns_problem(value: Any) -> str | None:
    """Why `value` is not a drop-down bundle the merge understands, or None."""
    if not isinstance(value, dict):
        return "un objet est attendu"
    for key, entry in value.items():
        if not isinstance(entry, dict):
            return f"la liste {key!r} doit être un objet"
        items = entry.get("items") or []
        if not isinstance(items, list):
            return f"la liste {key!r} : « items » doit être un tableau"
        if not all(isinstance(item, dict) for item in items):
            return f"la liste {key!r} : chaque élément doit être un objet"
    return None


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _local_item(item: dict[str, Any]) -> dict[str, Any]:
    kept = copy.deepcopy(item)
    for field in ("key", "label", "description"):
        kept[field] = _text(item.get(field))
    return kept


def _merge_items(
    local: list[dict[str, Any]], incoming: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    merged = [_local_item(item) for item in local]
    by_key: dict[str, dict[str, Any]] = {}
    for item in merged:
        by_key.setdefault(item["key"], item)
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
            continue
        for field in ("label", "description"):
            if not _blank(news.get(field)):
                found[field] = news[field]
    return merged


def merge_dropdowns(local: dict[str, Any], remote: dict[str, Any]) -> dict[str, Any]:
    """Merge the hub's drop-down lists into the local ones; a new dict (inputs untouched).

    The same rule as the hub's `comptoir.bundles.merge` (a test keeps them in step):
    every local list and item is kept in its order; new lists and items are appended
    in the hub's order; a non-blank incoming label or description replaces the local
    one, a blank one never does (a description is never emptied); other members of a
    local item are kept, other members of an incoming item are ignored.
    """
    merged: dict[str, Any] = {}
    for key, mine in local.items():
        merged[key] = {
            **copy.deepcopy(mine),
            "label": _text(mine.get("label")),
            "items": _merge_items(list(mine.get("items") or []), []),
        }
    for key, theirs in remote.items():
        items = list(theirs.get("items") or [])
        if key not in merged:
            merged[key] = {"label": _text(theirs.get("label")), "items": _merge_items([], items)}
            continue
        if not _blank(theirs.get("label")):
            merged[key]["label"] = theirs["label"]
        merged[key]["items"] = _merge_items(merged[key]["items"], items)
    return merged
