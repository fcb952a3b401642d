"""The seeded simulation of the sync (docs/sync/simulation.md).

`COMPTOIR_SIM_SEEDS=N` runs seeds 0…N-1 (the default is sized for `make test`: a
seed costs 1 to 1.5 s of CPU, so 30 of them and the tests below keep this file at
about a minute on one core; CI's SQLite leg runs 300); `COMPTOIR_SIM_SEED=1234`
replays one seed.
`make bench` runs thousands through benchmarks/sync_simulation.py.

The last tests plant a bug in the hub, in the agent or in the stored bytes and
check that the invariants catch it: a checker that cannot fail proves nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from comptoir.dossiers import blobs
from comptoir.dossiers.models import Blob, DossierRevision
from comptoir_agent import planner
from tests.sim.harness import SimResult, World, run_seed

DEFAULT_SEEDS = 30


def _seeds() -> list[int]:
    one = os.environ.get("COMPTOIR_SIM_SEED")
    if one:
        return [int(one)]
    return list(range(int(os.environ.get("COMPTOIR_SIM_SEEDS", DEFAULT_SEEDS))))


def _fail(result: SimResult, tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    trace.write_text("\n".join(result.trace), encoding="utf-8")
    pytest.fail(f"{result.explain()}\nfull trace: {trace}", pytrace=False)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", _seeds())
def test_seed_converges_and_loses_nothing(seed: int, tmp_path: Path) -> None:
    result = run_seed(seed, tmp_path)
    if not result.ok:
        _fail(result, tmp_path)


@pytest.mark.django_db
def test_a_seed_replays_identically(tmp_path: Path) -> None:
    first = run_seed(3, tmp_path / "first")
    again = run_seed(3, tmp_path / "again")
    assert first.ok, first.explain()
    assert first.trace == again.trace
    assert first.faults == again.faults and sum(first.faults.values()) > 0


def _first_caught(
    tmp_path: Path, seeds: range, **options: Any
) -> tuple[SimResult, list[SimResult]]:
    runs = []
    for seed in seeds:
        result = run_seed(seed, tmp_path / str(seed), **options)
        runs.append(result)
        if not result.ok:
            return result, runs
    pytest.fail(f"no seed of {seeds} caught the planted bug: {[r.stats for r in runs]}")


@pytest.mark.django_db
def test_the_checker_sees_a_blob_whose_bytes_changed(tmp_path: Path) -> None:
    def corrupt(world: World) -> None:
        blob = Blob.objects.filter(organization=world.org).order_by("sha256").first()
        assert blob is not None
        path = Path(blobs.default_storage.path(blobs.blob_path(world.org, blob.sha256)))
        path.write_bytes(b"bit rot" + path.read_bytes()[7:])

    result, _runs = _first_caught(tmp_path, range(3), before_check=corrupt)
    assert any("its bytes do not match" in v for v in result.violations), result.explain()


@pytest.mark.django_db
def test_the_checker_sees_a_hub_that_drops_conflict_revisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create = DossierRevision.objects.create

    def forgetful(**fields: Any) -> DossierRevision:
        if fields.get("is_conflict"):
            return DossierRevision(**fields)  # answered "conflict", never saved
        return create(**fields)

    monkeypatch.setattr(DossierRevision.objects, "create", forgetful)
    result, _runs = _first_caught(tmp_path, range(12))
    assert any(v.startswith("lost: revision") for v in result.violations), result.explain()


@pytest.mark.django_db
def test_the_checker_sees_an_agent_that_overwrites_local_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_change = planner._local_change

    def careless(ident: str, local: Any, base: Any, remote_moved: bool, *args: Any) -> Any:
        if remote_moved:  # changed on both sides: takes the cloud's, drops the station's
            return planner.Decision(ident, planner.Action.APPLY, planner.BLUE, "planted bug")
        return local_change(ident, local, base, remote_moved, *args)

    monkeypatch.setattr(planner, "_local_change", careless)
    result, _runs = _first_caught(tmp_path, range(12))
    lost = [v for v in result.violations if "replaced on the station" in v]
    assert lost, result.explain()


@pytest.mark.django_db
def test_the_checker_sees_a_quota_that_drifts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from comptoir.sync import services

    reserve = services.reserve_storage

    def one_byte_too_many(org: Any, size: int) -> None:
        reserve(org, size + 1 if size else 0)

    monkeypatch.setattr(services, "reserve_storage", one_byte_too_many)
    result, _runs = _first_caught(tmp_path, range(3))
    assert any("quota counts" in v for v in result.violations), result.explain()
