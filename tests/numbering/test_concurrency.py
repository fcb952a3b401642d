"""The proof: parallel clients never get the same number, and invoices never leave a gap.

Each client is a thread with its own database connection and its own
transactions, on the database the suite runs on (SQLite by default;
DATABASE_URL=postgres://… for PostgreSQL).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from comptoir.core.services import create_organization
from comptoir.numbering import services
from comptoir.numbering.models import IssuedNumber, NumberCounter

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 20
ROUNDS = 5


class Abandoned(Exception):
    """An invoice whose validation failed after its number was drawn."""


def in_parallel(work: Callable[[int], Any]) -> list[BaseException]:
    """Run `work(index)` in CLIENTS threads started together; their errors."""
    start = threading.Barrier(CLIENTS)
    errors: list[BaseException] = []

    def client(index: int) -> None:
        try:
            start.wait()
            work(index)
        except BaseException as exc:  # noqa: BLE001  (reported to the test below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a client is stuck"
    return errors


def counters(numbers: list[str]) -> list[int]:
    return sorted(int(number.rsplit("-", 1)[1]) for number in numbers)


def test_parallel_invoice_numbers_have_no_duplicate_and_no_gap():
    org = create_organization("Parallèle SAS", "parallele", "business")
    given: list[str] = []
    lock = threading.Lock()

    def validate(index: int, round_: int) -> None:
        number = services.allocate_invoice_number(
            org, when=timezone.now(), source=f"client {index}"
        )
        if (index + round_) % 4 == 0:
            raise Abandoned(number)  # rolled back: the number must come back
        with lock:
            given.append(number)

    def client(index: int) -> None:
        for round_ in range(ROUNDS):
            with contextlib.suppress(Abandoned):
                services.run_atomic(lambda: validate(index, round_))  # noqa: B023

    errors = in_parallel(client)
    assert not errors, errors
    expected = sum(1 for i in range(CLIENTS) for r in range(ROUNDS) if (i + r) % 4)
    assert len(given) == expected == 75
    assert len(set(given)) == len(given), "a number was given twice"
    assert counters(given) == list(range(1, expected + 1)), "a gap in the invoice numbers"
    year = timezone.localdate().year
    assert sorted(given) == [f"F{year}-{n:05d}" for n in range(1, expected + 1)]
    stored = IssuedNumber.objects.filter(organization=org, kind="invoice")
    assert sorted(stored.values_list("number", flat=True)) == sorted(given)
    assert sorted(stored.values_list("counter", flat=True)) == list(range(1, expected + 1))
    assert NumberCounter.objects.get(series__organization=org, series__kind="invoice").last == (
        expected
    )


def test_parallel_dossier_numbers_and_blocks_never_overlap():
    org = create_organization("Parallèle SAS", "parallele", "business")
    given: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        for round_ in range(3):
            if (index + round_) % 3 == 0:
                numbers = services.reserve_block(
                    org, "dossier", 4, operator=None, source=f"station {index}"
                )
            else:
                numbers = [services.allocate(org, "dossier", source=f"station {index}")]
            with lock:
                given.extend(numbers)

    errors = in_parallel(client)
    assert not errors, errors
    assert len(set(given)) == len(given), "a number was given twice"
    # nothing was rolled back here, so the numbers even follow each other
    assert counters(given) == list(range(1, len(given) + 1))
    assert IssuedNumber.objects.filter(organization=org).count() == len(given)


def test_invoice_numbers_need_the_validating_transaction():
    org = create_organization("Parallèle SAS", "parallele", "business")
    with pytest.raises(TransactionManagementError):
        services.allocate_invoice_number(org, when=timezone.now())
    with transaction.atomic():
        assert services.allocate_invoice_number(org, when=timezone.now()).endswith("-00001")
    assert IssuedNumber.objects.filter(organization=org).count() == 1
