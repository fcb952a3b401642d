"""`comptoir-agent agenda`: the hub's exchange zone, listed and brought onto the station.

The zone (docs/sync/protocol.md, “Exchange zone”) holds the dossiers of today's and
tomorrow's appointments and those sent there by hand on the web. The last answer is
kept in the journal, so the list can still be shown when the hub cannot be reached.
Bringing the dossiers here is `engine.SyncPass.bring`: the fetch path of a pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from comptoir_agent.client import HubClient, HubError
from comptoir_agent.journal import Journal, Record
from comptoir_agent.planner import STATUS_LABELS, Decision

ZONE_PATH = "sync/exchange-zone"
CACHE_KEY = "exchange_zone"
WEEKDAYS = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")


@dataclass
class Zone:
    """The hub's answer: today and tomorrow (Paris days) and the entries, in time order."""

    today: str
    tomorrow: str
    everyone: bool
    entries: list[dict[str, Any]]
    received_at: str = ""
    cached: bool = False

    def only_mine(self) -> Zone:
        mine = [entry for entry in self.entries if entry.get("mine")]
        return Zone(self.today, self.tomorrow, self.everyone, mine, self.received_at, self.cached)

    def dossiers(self) -> list[dict[str, Any]]:
        """Each dossier once, as the change feed describes it."""
        seen: dict[str, dict[str, Any]] = {}
        for entry in self.entries:
            seen.setdefault(str(entry["dossier"]["id"]), entry["dossier"])
        return list(seen.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "today": self.today,
            "tomorrow": self.tomorrow,
            "everyone": self.everyone,
            "received_at": self.received_at,
            "entries": self.entries,
        }


def parse(answer: Any, received_at: str) -> Zone:
    """The hub's answer, checked: entries without a usable dossier are left out."""
    if not isinstance(answer, dict) or not isinstance(answer.get("entries"), list):
        raise HubError(200, "bad_response", "réponse de la zone d'échange illisible")
    entries = [
        entry
        for entry in answer["entries"]
        if isinstance(entry, dict)
        and isinstance(entry.get("dossier"), dict)
        and isinstance(entry["dossier"].get("id"), str)
        and isinstance(entry["dossier"].get("number"), str)
    ]
    return Zone(
        today=str(answer.get("today") or ""),
        tomorrow=str(answer.get("tomorrow") or ""),
        everyone=bool(answer.get("everyone")),
        entries=entries,
        received_at=received_at,
    )


def fetch(client: HubClient, now: datetime) -> Zone:
    return parse(client.get(client.org_path(ZONE_PATH)), now.isoformat(timespec="seconds"))


def remember(journal: Journal, zone: Zone) -> None:
    with journal.transaction():
        journal.set_meta(CACHE_KEY, json.dumps(zone.as_json(), ensure_ascii=False))


def recall(journal: Journal) -> Zone | None:
    raw = journal.get_meta(CACHE_KEY)
    if raw is None:
        return None
    try:
        zone = parse(json.loads(raw), "")
        zone.received_at = str(json.loads(raw).get("received_at") or "")
    except (ValueError, HubError):
        return None
    zone.cached = True
    return zone


# --- what each entry shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class OnStation:
    """Where a zone dossier stands on this station."""

    present: bool
    fetched: bool = False
    colour: str | None = None
    reason: str | None = None

    @property
    def label(self) -> str:
        if self.fetched:
            return "récupéré"
        if self.colour is not None:
            label = STATUS_LABELS[self.colour]
            return label if self.reason in (None, label) else f"{label} : {self.reason}"
        return "présent" if self.present else "absent"

    def as_json(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "fetched": self.fetched,
            "status": self.colour,
            "label": self.label,
        }


@dataclass
class Outcome:
    """The zone's dossiers on this station: those here, and what `bring` decided and did."""

    present: set[str]
    decisions: dict[str, Decision] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    @classmethod
    def from_journal(cls, records: dict[str, Record]) -> Outcome:
        """Without a scan: where the last pass saw the dossiers."""
        return cls({ident for ident, record in records.items() if record.path is not None})

    def of(self, ident: str) -> OnStation:
        present = ident in self.present
        decision = self.decisions.get(ident)
        if decision is None:
            return OnStation(present)
        return OnStation(present, ident in self.fetched, decision.colour, decision.reason)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).astimezone()
    except ValueError:
        return None


def _day(start: datetime | None, zone: Zone) -> str:
    if start is None:
        return "—"
    day = start.date().isoformat()
    if day == zone.today:
        return "aujourd'hui"
    if day == zone.tomorrow:
        return "demain"
    return f"{WEEKDAYS[start.weekday()]} {start:%d/%m/%Y}"


def _hours(entry: dict[str, Any]) -> str:
    start, end = _moment(entry.get("starts_at")), _moment(entry.get("ends_at"))
    if start is None:
        return ""
    return f"{start:%H:%M}–{end:%H:%M}" if end is not None else f"{start:%H:%M}"


def _why(entry: dict[str, Any]) -> str:
    parts = []
    if entry.get("appointment"):
        parts.append("agenda")
    if entry.get("manual"):
        parts.append("à la main")
    return " + ".join(parts)


def _french_date(value: str) -> str:
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def render_table(zone: Zone, outcome: Outcome) -> str:
    header = ("Jour", "Heure", "Dossier", "Adresse", "Diagnostiqueur", "Origine", "Sur ce poste")
    table = [header]
    for entry in zone.entries:
        dossier = entry["dossier"]
        table.append(
            (
                _day(_moment(entry.get("starts_at")), zone),
                _hours(entry),
                str(dossier["number"]),
                str(entry.get("address") or "—"),
                str(entry.get("technician") or "—"),
                _why(entry),
                outcome.of(str(dossier["id"])).label,
            )
        )
    widths = [max(len(row[column]) for row in table) for column in range(len(header) - 1)]
    lines = [
        f"Zone d'échange : aujourd'hui {_french_date(zone.today)}, "
        f"demain {_french_date(zone.tomorrow)}"
        + ("" if zone.everyone else " (vos rendez-vous et vos dossiers)"),
        "",
    ]
    if len(table) == 1:
        lines.append("Aucun dossier dans la zone d'échange.")
        return "\n".join(lines) + "\n"
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    dossiers = zone.dossiers()
    count = len(dossiers)
    present = sum(1 for d in dossiers if outcome.of(str(d["id"])).present)
    lines.append("")
    summary = f"{count} dossier{'s' if count > 1 else ''} dans la zone, {present} sur ce poste"
    if outcome.fetched:
        summary += f" dont {len(outcome.fetched)} récupéré{'s' if len(outcome.fetched) > 1 else ''}"
    lines.append(summary + ".")
    return "\n".join(lines) + "\n"


def render_json(zone: Zone, outcome: Outcome) -> str:
    body = {
        **zone.as_json(),
        "cached": zone.cached,
        "entries": [
            {**entry, "station": outcome.of(str(entry["dossier"]["id"])).as_json()}
            for entry in zone.entries
        ],
        "fetched": outcome.fetched,
    }
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
