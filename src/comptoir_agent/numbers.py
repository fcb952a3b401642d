"""`number next|reserve`: dossier and quote numbers, from the hub or from a reserved block.

Online, `next` asks the hub. Offline, it takes the next unused number of a
block reserved earlier with `number reserve` (kept in the journal; gaps are
allowed for these series). Invoice numbers are never given to stations.
"""

from __future__ import annotations

from dataclasses import dataclass

from comptoir_agent.client import HubClient, Unreachable
from comptoir_agent.journal import Journal

SERIES = ("dossier", "quote")
MAX_RESERVE = 500


class NumberError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Allocated:
    number: str
    offline: bool


def check_series(series: str) -> None:
    if series == "invoice":
        raise NumberError(
            "Les numéros de facture ne sont jamais donnés aux postes : le cloud les attribue.", 1
        )
    if series not in SERIES:
        raise NumberError(f"Série inconnue {series!r} : dossier ou quote.", 1)


def next_number(client: HubClient, journal: Journal, series: str, operator: str) -> Allocated:
    check_series(series)
    try:
        answer = client.post(
            client.org_path(f"numbering/{series}/next"), {"operator": operator or None}
        )
    except Unreachable as exc:
        number = journal.take_number(series, operator)
        if number is None:
            raise NumberError(
                f"Hub injoignable ({exc}) et aucun numéro réservé : "
                f"lancez « comptoir-agent number reserve {series} --count 20 » en ligne.",
                3,
            ) from exc
        return Allocated(number, offline=True)
    number = answer.get("number") if isinstance(answer, dict) else None
    if not isinstance(number, str) or not number:
        raise NumberError("Réponse du cloud sans numéro", 3)
    return Allocated(number, offline=False)


def reserve(
    client: HubClient, journal: Journal, series: str, count: int, operator: str
) -> list[str]:
    check_series(series)
    if not 1 <= count <= MAX_RESERVE:
        raise NumberError(f"--count doit être entre 1 et {MAX_RESERVE}", 1)
    answer = client.post(
        client.org_path(f"numbering/{series}/reserve"),
        {"count": count, "operator": operator or None},
    )
    raw = answer.get("numbers") if isinstance(answer, dict) else None
    numbers = [str(n) for n in raw] if isinstance(raw, list) else []
    if not numbers:
        raise NumberError("Le cloud n'a réservé aucun numéro", 3)
    journal.add_numbers(series, numbers, operator)
    return numbers
