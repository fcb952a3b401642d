"""The pure heart of a sync pass: three trees in, one decision per dossier out.

`plan(local, base, remote, options, context)` compares what is on disk now
(`local`), what was last synced (`base`, the merge base) and what the hub last
said (`remote`, from the change feed). It does no I/O, reads no clock and
returns the same plan for the same inputs, so a simulation harness can drive
it with seeded random states. Each decision carries the status colour the
station shows (green, orange, blue, red, grey; see STATUS_LABELS).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from typing import Any

from comptoir_agent.protocol import rev_digest

GREEN, ORANGE, BLUE, RED, GREY = "green", "orange", "blue", "red", "grey"
COLOURS = (GREEN, ORANGE, BLUE, RED, GREY)
STATUS_LABELS = {
    GREEN: "Transféré",
    ORANGE: "À vérifier",
    BLUE: "À traiter",
    RED: "Quarantaine / erreur",
    GREY: "Non concerné",
}


class Action(Enum):
    NONE = "none"
    PUSH = "push"  # send the local document (a conflict when the remote moved too)
    APPLY = "apply"  # write the remote head on disk
    ADOPT = "adopt"  # both sides hold the same content: record it as the base
    TRASH = "trash"  # tombstone: move the local folder to the trash
    FORGET = "forget"  # drop the journal row (tombstone of a dossier not on the station)


@dataclass(frozen=True)
class Local:
    id: str
    path: str
    digest: str | None
    number: str | None = None
    year: int | None = None
    created_at: str | None = None
    error: str | None = None
    partial_apply: bool = False  # an interrupted APPLY left a mix of base and target files


@dataclass(frozen=True)
class Base:
    rev: str | None
    digest: str | None
    pushed_digest: str | None = None  # content already sent as a conflict revision
    applying_rev: str | None = None
    error: str | None = None  # what went wrong last time
    held: bool = True  # the journal last saw it on this station


@dataclass(frozen=True)
class Remote:
    rev: str | None
    deleted: bool = False
    conflict: bool = False
    quarantined_until: str | None = None
    planned: str | None = None
    number: str | None = None
    year: int | None = None


@dataclass(frozen=True)
class Options:
    """The station's effective options (protocol.md, "Station")."""

    enabled: bool = True
    send_after: date | None = None
    fetch_missing: bool = False
    fetch_after: date | None = None
    fetch_horizon_days: int = -1
    update_present: bool = True
    fetch_statistics: bool = False
    window_start: int | None = None
    window_end: int | None = None
    not_systematic: bool = False
    refresh_icon: bool = True
    warn_newer: bool = True
    import_invoicing: bool = True
    may_send_invoices: bool = False

    @classmethod
    def of_station(cls, info: Any) -> Options:
        """The options in the hub's answer to `sync/station` (the defaults, whatever
        else it holds)."""
        raw = info.get("options") if isinstance(info, dict) else None
        return cls.from_json(raw if isinstance(raw, dict) else {})

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Options:
        raw = raw or {}
        defaults = cls()

        def flag(name: str) -> bool:
            value = raw.get(name)
            return value if isinstance(value, bool) else bool(getattr(defaults, name))

        def hour(name: str) -> int | None:
            value = raw.get(name)
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 23
            return value if ok else None

        horizon = raw.get("fetch_horizon_days")
        return cls(
            enabled=flag("enabled"),
            send_after=parse_date(raw.get("send_after")),
            fetch_missing=flag("fetch_missing"),
            fetch_after=parse_date(raw.get("fetch_after")),
            fetch_horizon_days=horizon
            if isinstance(horizon, int) and not isinstance(horizon, bool)
            else -1,
            update_present=flag("update_present"),
            fetch_statistics=flag("fetch_statistics"),
            window_start=hour("window_start"),
            window_end=hour("window_end"),
            not_systematic=flag("not_systematic"),
            refresh_icon=flag("refresh_icon"),
            warn_newer=flag("warn_newer"),
            import_invoicing=flag("import_invoicing"),
            may_send_invoices=flag("may_send_invoices"),
        )


@dataclass(frozen=True)
class DeleteLimit:
    """How many tombstones one pass may apply before it asks for confirmation.

    The default refuses more than 50, or more than 10 % of the dossiers on the
    station once there are more than 5. `--max-delete N` or `--max-delete P%`
    replaces both rules by one.
    """

    count: int | None = 50
    percent: float | None = 10.0
    floor: int = 5

    @classmethod
    def parse(cls, text: str | None) -> DeleteLimit:
        if text is None:
            return cls()
        text = text.strip()
        if text.endswith("%"):
            value = float(text[:-1].replace(",", "."))
            if not 0 <= value <= 100:
                raise ValueError(text)
            return cls(count=None, percent=value, floor=0)
        number = int(text)
        if number < 0:
            raise ValueError(text)
        return cls(count=number, percent=None, floor=0)

    def exceeded(self, deletes: int, held: int) -> bool:
        if self.count is not None and deletes > self.count:
            return True
        if self.percent is not None and deletes > self.floor:
            return deletes > math.floor(held * self.percent / 100)
        return False


@dataclass(frozen=True)
class Context:
    today: date
    send: bool = True  # pushing allowed (False: `not_systematic` without --send)
    confirm_deletes: bool = False
    delete_limit: DeleteLimit = field(default_factory=DeleteLimit)
    # Dossiers to bring here whatever the fetch options say: the exchange zone (`agenda`).
    wanted: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    id: str
    action: Action
    colour: str | None  # None: not shown (a dossier that is not on this station)
    reason: str
    conflict: bool = False


@dataclass
class Plan:
    decisions: dict[str, Decision]
    invalid: list[tuple[str, str]]  # (path, reason) of folders without a usable id
    stop: str | None = None  # a safety stop: nothing must be done at all
    deletes_held: int = 0

    def ids(self, action: Action) -> list[str]:
        return [i for i, d in self.decisions.items() if d.action is action]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(COLOURS, 0)
        for decision in self.decisions.values():
            if decision.colour:
                counts[decision.colour] += 1
        counts[RED] += len(self.invalid)
        return counts


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def in_window(hour: int, minute: int, start: int | None, end: int | None) -> bool:
    """Whether hh:mm falls in [start:00, end:00); the window may cross midnight (22→7)."""
    if start is None or end is None or start == end:
        return True
    now = hour * 60 + minute
    if start < end:
        return start * 60 <= now < end * 60
    return now >= start * 60 or now < end * 60


def minutes_until_window(hour: int, minute: int, start: int | None, end: int | None) -> int:
    """0 inside the window, else the minutes until it opens."""
    if in_window(hour, minute, start, end) or start is None:
        return 0
    return (start * 60 - (hour * 60 + minute)) % (24 * 60)


def is_concerned(local: Local, options: Options) -> bool:
    """`send_after`: a dossier created before that date is never sent (grey)."""
    if options.send_after is None:
        return True
    created = parse_date(local.created_at)
    if created is None:
        if local.year is None:
            return True
        created = date(local.year, 12, 31)
    return created >= options.send_after


def wants_fetch(remote: Remote, options: Options, today: date) -> bool:
    """Whether a dossier not on the station is to be fetched (fetch_missing and its dates)."""
    if not options.fetch_missing:
        return False
    planned = parse_date(remote.planned)
    if options.fetch_after is not None:
        if planned is None:
            if remote.year is not None and remote.year < options.fetch_after.year:
                return False
        elif planned < options.fetch_after:
            return False
    if options.fetch_horizon_days >= 0 and planned is not None:
        return planned <= today + timedelta(days=options.fetch_horizon_days)
    return True


def plan(
    local: Mapping[str, Local],
    base: Mapping[str, Base],
    remote: Mapping[str, Remote],
    options: Options,
    context: Context,
    invalid: list[tuple[str, str]] | None = None,
) -> Plan:
    """One decision per dossier id found in any of the three trees."""
    invalid = list(invalid or [])
    result = Plan({}, invalid)
    held = [i for i, b in base.items() if b.rev and b.held]
    if not local and not invalid and held:
        result.stop = (
            "Le dossier de données ne contient aucun dossier alors que le journal en connaît "
            f"{len(held)} : disque non monté ou dossier vidé ? Synchronisation refusée."
        )
        return result
    for ident in sorted(set(local) | set(base) | set(remote)):
        result.decisions[ident] = decide(
            ident, local.get(ident), base.get(ident), remote.get(ident), options, context
        )
    _hold_deletes(result, local, context)
    return result


def _hold_deletes(result: Plan, local: Mapping[str, Local], context: Context) -> None:
    trash = result.ids(Action.TRASH)
    held = sum(1 for item in local.values() if item.error is None)
    if context.confirm_deletes or not context.delete_limit.exceeded(len(trash), held):
        return
    for ident in trash:
        result.decisions[ident] = Decision(
            ident,
            Action.NONE,
            RED,
            "Supprimé sur le cloud : suppression locale en attente de confirmation "
            "(comptoir-agent sync --confirm-deletes)",
        )
    result.deletes_held = len(trash)
    result.stop = (
        f"{len(trash)} dossiers supprimés sur le cloud : c'est plus que la limite de sécurité. "
        "Vérifiez sur le cloud puis relancez « comptoir-agent sync --confirm-deletes »."
    )


def decide(
    ident: str,
    local: Local | None,
    base: Base | None,
    remote: Remote | None,
    options: Options,
    context: Context,
) -> Decision:
    """The decision for one dossier (see the table in docs/agent.md)."""
    if not options.enabled:
        colour = GREY if local else None
        return Decision(ident, Action.NONE, colour, "Synchronisation désactivée pour ce poste")
    if local is not None and local.error:
        return Decision(ident, Action.NONE, RED, local.error)
    if local is not None and not is_concerned(local, options):
        when = options.send_after.strftime("%d/%m/%Y") if options.send_after else ""
        return Decision(ident, Action.NONE, GREY, f"Antérieur au {when} : non synchronisé")
    if remote is not None and remote.deleted:
        return _deleted(ident, local, base)
    if remote is not None and remote.quarantined_until:
        colour = RED if local else None
        when = _french_date(remote.quarantined_until)
        return Decision(ident, Action.NONE, colour, f"Quarantaine pour suppression jusqu'au {when}")
    if local is None:
        return _absent(ident, base, remote, options, context)
    return _present(ident, local, base, remote, options, context)


def _french_date(value: str) -> str:
    parsed = parse_date(value)
    return parsed.strftime("%d/%m/%Y") if parsed else value


def _deleted(ident: str, local: Local | None, base: Base | None) -> Decision:
    if local is None:
        return Decision(ident, Action.FORGET, None, "Supprimé sur le cloud")
    if base is None or base.digest != local.digest:
        return Decision(
            ident,
            Action.NONE,
            ORANGE,
            "Supprimé sur le cloud mais modifié sur ce poste : copie locale conservée",
            conflict=True,
        )
    return Decision(ident, Action.TRASH, BLUE, "Supprimé sur le cloud : mis à la corbeille")


def _absent(
    ident: str, base: Base | None, remote: Remote | None, options: Options, context: Context
) -> Decision:
    if remote is None or not remote.rev:
        return Decision(ident, Action.NONE, None, "Absent de ce poste")
    if base is not None and base.applying_rev == remote.rev:
        # Resumed; red with the reason when the last attempt failed (not a mere kill).
        return _with_error(
            Decision(ident, Action.APPLY, BLUE, "Téléchargement interrompu : reprise"), base
        )
    if ident in context.wanted:
        return _with_error(
            Decision(ident, Action.APPLY, BLUE, "Dans la zone d'échange : à récupérer"), base
        )
    remote_moved = base is None or base.rev != remote.rev
    if remote_moved and wants_fetch(remote, options, context.today):
        return _with_error(Decision(ident, Action.APPLY, BLUE, "À récupérer depuis le cloud"), base)
    return Decision(ident, Action.NONE, None, "Non récupéré (paramétrage du poste)")


def _present(
    ident: str,
    local: Local,
    base: Base | None,
    remote: Remote | None,
    options: Options,
    context: Context,
) -> Decision:
    base_rev = base.rev if base else None
    remote_rev = remote.rev if remote else None
    remote_moved = bool(remote_rev) and remote_rev != base_rev
    local_moved = base is None or base_rev is None or base.digest != local.digest
    cloud_conflict = bool(remote and remote.conflict)
    if remote_rev and rev_digest(remote_rev) == local.digest:
        action = Action.ADOPT if remote_moved else Action.NONE
        if cloud_conflict:
            return Decision(ident, action, ORANGE, "Conflit signalé par le cloud", conflict=True)
        return Decision(ident, action, GREEN, "Transféré")
    if local.partial_apply and base is not None and base.applying_rev == remote_rev:
        return Decision(ident, Action.APPLY, BLUE, "Mise à jour interrompue : reprise")
    if local_moved:
        return _local_change(ident, local, base, remote_moved, cloud_conflict, context)
    if remote_moved:
        if options.update_present:
            return _with_error(
                Decision(ident, Action.APPLY, BLUE, "Mise à jour depuis le cloud"), base
            )
        if options.warn_newer:
            return Decision(ident, Action.NONE, ORANGE, "Version plus récente sur le cloud")
        return Decision(
            ident, Action.NONE, GREY, "Version plus récente sur le cloud (mise à jour désactivée)"
        )
    if cloud_conflict:
        return Decision(ident, Action.NONE, ORANGE, "Conflit signalé par le cloud", conflict=True)
    return Decision(ident, Action.NONE, GREEN, "Transféré")


def _local_change(
    ident: str,
    local: Local,
    base: Base | None,
    remote_moved: bool,
    cloud_conflict: bool,
    context: Context,
) -> Decision:
    if base is not None and base.pushed_digest == local.digest:
        if remote_moved and not cloud_conflict:
            # Resolved on the web: this station's version is kept there as a resolved
            # conflict revision; take the result (replaced files go to the trash).
            return Decision(ident, Action.APPLY, BLUE, "Conflit résolu sur le cloud : mise à jour")
        return Decision(
            ident,
            Action.NONE,
            ORANGE,
            "Conflit : la version de ce poste est gardée sur le cloud, à vérifier",
            conflict=True,
        )
    action = Action.PUSH if context.send else Action.NONE
    if remote_moved or cloud_conflict:
        return _with_error(
            Decision(
                ident,
                action,
                ORANGE,
                "Conflit : modifié sur ce poste et sur le cloud",
                conflict=True,
            ),
            base,
        )
    reason = "Modifications à envoyer" if context.send else "Modifications à envoyer (--send)"
    return _with_error(Decision(ident, action, BLUE, reason), base)


def _with_error(decision: Decision, base: Base | None) -> Decision:
    """A dossier whose last attempt failed shows red with that reason until it succeeds."""
    if base is None or not base.error:
        return decision
    return Decision(decision.id, decision.action, RED, base.error, decision.conflict)
