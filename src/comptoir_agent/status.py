"""`comptoir-agent status`: each dossier's colour, computed offline.

The journal keeps the last remote head, conflict flag and options the hub
gave; a fresh local scan (hashing only what changed) and the same planner as
a pass give the colours of the field user guide (4. Etat de synchronisation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from comptoir_agent.planner import COLOURS, GREEN, GREY, ORANGE, RED, STATUS_LABELS, Options, Plan

ANSI = {GREEN: "32", ORANGE: "33", "blue": "34", RED: "31", GREY: "90"}
SUMMARY_LABELS = {
    GREEN: "transférés",
    ORANGE: "à vérifier",
    "blue": "à traiter",
    RED: "en erreur ou quarantaine",
    GREY: "non concernés",
}


@dataclass(frozen=True)
class Row:
    id: str | None
    number: str
    year: int | None
    path: str | None
    colour: str
    reason: str
    conflict: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "year": self.year,
            "path": self.path,
            "status": self.colour,
            "label": STATUS_LABELS[self.colour],
            "reason": self.reason,
            "conflict": self.conflict,
        }


def rows(
    the_plan: Plan, numbers: dict[str, tuple[str | None, int | None, str | None]]
) -> list[Row]:
    """One row per dossier shown (on the station or to fetch), sorted by year and number."""
    result: list[Row] = []
    for ident, decision in the_plan.decisions.items():
        if decision.colour is None:
            continue
        number, year, path = numbers.get(ident, (None, None, None))
        result.append(
            Row(
                ident,
                number or ident[:8],
                year,
                path,
                decision.colour,
                decision.reason,
                decision.conflict,
            )
        )
    for path, reason in the_plan.invalid:
        year_text = path.split("/", 1)[0]
        year = int(year_text) if year_text.isdigit() else None
        result.append(Row(None, path.rsplit("/", 1)[-1], year, path, RED, reason))
    result.sort(key=lambda r: (r.year or 0, r.number, r.path or ""))
    return result


def summary(counts: dict[str, int]) -> str:
    parts = [f"{counts.get(c, 0)} {SUMMARY_LABELS[c]}" for c in COLOURS]
    return ", ".join(parts)


def render_table(table: list[Row], counts: dict[str, int], colour: bool) -> str:
    lines = []
    width = max([len("Dossier")] + [len(r.number) for r in table])
    label_width = max(len(label) for label in STATUS_LABELS.values())
    lines.append(f"  {'Dossier'.ljust(width)}  {'Année':<5}  {'État'.ljust(label_width)}  Détail")
    for row in table:
        label = STATUS_LABELS[row.colour].ljust(label_width)
        dot = "●"
        if colour:
            dot = f"\x1b[{ANSI[row.colour]}m●\x1b[0m"
            label = f"\x1b[{ANSI[row.colour]}m{label}\x1b[0m"
        year = str(row.year) if row.year else ""
        detail = "" if row.reason == STATUS_LABELS[row.colour] else row.reason
        lines.append(f"{dot} {row.number.ljust(width)}  {year:<5}  {label}  {detail}".rstrip())
    lines.append("")
    lines.append(f"{len(table)} dossiers : {summary(counts)}.")
    return "\n".join(lines) + "\n"


def render_json(table: list[Row], counts: dict[str, int], options: Options | None) -> str:
    body = {
        "counts": counts,
        "dossiers": [row.as_json() for row in table],
        "options_known": options is not None,
    }
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
