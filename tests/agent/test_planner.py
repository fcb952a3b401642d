"""The pure planner: every case of the three-tree comparison, the options and the valves."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comptoir_agent.planner import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    RED,
    Action,
    Base,
    Context,
    DeleteLimit,
    Local,
    Options,
    Remote,
    decide,
    in_window,
    is_concerned,
    minutes_until_window,
    plan,
    wants_fetch,
)

TODAY = date(2026, 11, 20)
CTX = Context(today=TODAY)
D1, D2 = "a" * 32, "b" * 32


def local(digest: str = D1, **kw: object) -> Local:
    return Local(id="x", path="2026/2026-00001", digest=digest, year=2026, **kw)  # type: ignore[arg-type]


def one(
    loc: Local | None,
    base: Base | None,
    remote: Remote | None,
    options: Options | None = None,
    ctx: Context = CTX,
) -> tuple[Action, str | None, str]:
    d = decide("x", loc, base, remote, options or Options(), ctx)
    return d.action, d.colour, d.reason


def test_new_local_dossier_is_pushed():
    assert one(local(), None, None)[:2] == (Action.PUSH, BLUE)


def test_unchanged_dossier_is_green():
    assert one(local(), Base(f"1-{D1}", D1), Remote(f"1-{D1}"))[:2] == (Action.NONE, GREEN)


def test_local_change_is_pushed():
    assert one(local(D2), Base(f"1-{D1}", D1), Remote(f"1-{D1}"))[:2] == (Action.PUSH, BLUE)


def test_remote_change_is_applied():
    assert one(local(), Base(f"1-{D1}", D1), Remote(f"2-{D2}"))[:2] == (Action.APPLY, BLUE)


def test_both_changed_is_a_conflict_pushed_never_applied():
    action, colour, reason = one(local("c" * 32), Base(f"1-{D1}", D1), Remote(f"2-{D2}"))
    assert (action, colour) == (Action.PUSH, ORANGE)
    assert "Conflit" in reason


def test_same_content_on_both_sides_is_adopted():
    assert one(local(D2), Base(f"1-{D1}", D1), Remote(f"2-{D2}"))[:2] == (Action.ADOPT, GREEN)
    # journal lost: no base, the hub already has exactly this content
    assert one(local(D2), None, Remote(f"2-{D2}"))[:2] == (Action.ADOPT, GREEN)


def test_conflict_already_sent_waits_in_orange():
    base = Base(f"1-{D1}", D1, pushed_digest=D2)
    assert one(local(D2), base, Remote(f"2-{'c' * 32}", conflict=True))[:2] == (
        Action.NONE,
        ORANGE,
    )


def test_conflict_resolved_on_the_web_is_applied():
    base = Base(f"1-{D1}", D1, pushed_digest=D2)
    assert one(local(D2), base, Remote(f"3-{'c' * 32}", conflict=False))[:2] == (
        Action.APPLY,
        BLUE,
    )


def test_cloud_conflict_flag_shows_orange():
    d = decide("x", local(), Base(f"1-{D1}", D1), Remote(f"1-{D1}", conflict=True), Options(), CTX)
    assert (d.action, d.colour, d.conflict) == (Action.NONE, ORANGE, True)


def test_new_remote_dossier_is_fetched_when_asked():
    opts = Options(fetch_missing=True)
    assert one(None, None, Remote(f"1-{D1}"), opts)[:2] == (Action.APPLY, BLUE)
    assert one(None, None, Remote(f"1-{D1}"), Options(fetch_missing=False))[:2] == (
        Action.NONE,
        None,
    )


def test_locally_removed_dossier_is_not_fetched_back_until_the_cloud_changes():
    opts = Options(fetch_missing=True)
    assert one(None, Base(f"1-{D1}", D1), Remote(f"1-{D1}"), opts)[0] is Action.NONE
    assert one(None, Base(f"1-{D1}", D1), Remote(f"2-{D2}"), opts)[0] is Action.APPLY


def test_exchange_zone_dossiers_are_fetched_whatever_the_options():
    zone = Context(today=TODAY, wanted=frozenset({"x"}))
    off = Options(fetch_missing=False, fetch_after=date(2027, 1, 1), fetch_horizon_days=0)
    remote = Remote(f"1-{D1}", planned="2026-12-24")
    assert one(None, None, remote, off, zone) == (
        Action.APPLY,
        BLUE,
        "Dans la zone d'échange : à récupérer",
    )
    assert one(None, None, remote, off)[:2] == (Action.NONE, None)
    # removed here by hand: the zone brings it back, a pass does not
    removed = Base(f"1-{D1}", D1)
    assert one(None, removed, Remote(f"1-{D1}"), off, zone)[0] is Action.APPLY
    assert one(None, removed, Remote(f"1-{D1}"), Options(fetch_missing=True))[0] is Action.NONE
    # on the station already: the usual decisions (a local change is never overwritten)
    assert one(local(D2), Base(f"1-{D1}", D1), Remote(f"2-{D1}"), off, zone)[1] == ORANGE
    assert one(local(D1), Base(f"1-{D1}", D1), Remote(f"1-{D1}"), off, zone)[:2] == (
        Action.NONE,
        GREEN,
    )
    # the cloud deleted it or put it in quarantine meanwhile: not fetched
    assert one(None, None, Remote(f"1-{D1}", deleted=True), off, zone)[0] is Action.FORGET
    gone = Remote(f"1-{D1}", quarantined_until="2026-12-01")
    assert one(None, None, gone, off, zone)[0] is Action.NONE


def test_interrupted_first_download_resumes_whatever_the_options():
    base = Base(None, None, applying_rev=f"1-{D1}")
    assert one(None, base, Remote(f"1-{D1}"), Options(fetch_missing=False))[0] is Action.APPLY


def test_interrupted_update_resumes():
    base = Base(f"1-{D1}", D1, applying_rev=f"2-{D2}")
    loc = local("c" * 32, partial_apply=True)
    assert one(loc, base, Remote(f"2-{D2}"))[0] is Action.APPLY


def test_tombstone_trashes_unchanged_local_copy():
    assert one(local(), Base(f"1-{D1}", D1), Remote(f"2-{D2}", deleted=True))[0] is Action.TRASH


def test_tombstone_of_a_locally_changed_dossier_keeps_it():
    action, colour, _ = one(local(D2), Base(f"1-{D1}", D1), Remote(f"2-{D1}", deleted=True))
    assert (action, colour) == (Action.NONE, ORANGE)


def test_tombstone_of_an_absent_dossier_is_forgotten():
    assert one(None, Base(f"1-{D1}", D1), Remote(f"2-{D2}", deleted=True))[0] is Action.FORGET


def test_quarantine_is_red_and_nothing_moves():
    action, colour, reason = one(
        local(D2), Base(f"1-{D1}", D1), Remote(f"1-{D1}", quarantined_until="2026-12-01T00:00:00Z")
    )
    assert (action, colour) == (Action.NONE, RED)
    assert reason == "Quarantaine pour suppression jusqu'au 01/12/2026"


def test_invalid_local_dossier_is_red():
    assert one(local(None, error="dossier.json invalide"), None, None)[:2] == (Action.NONE, RED)


def test_last_error_shows_red_while_pending():
    base = Base(f"1-{D1}", D1, error="Quota dépassé")
    assert one(local(D2), base, Remote(f"1-{D1}")) == (Action.PUSH, RED, "Quota dépassé")


def test_disabled_makes_everything_grey():
    opts = Options(enabled=False)
    assert one(local(D2), Base(f"1-{D1}", D1), Remote(f"2-{D2}"), opts)[:2] == (Action.NONE, GREY)
    assert one(None, None, Remote(f"1-{D1}"), opts)[:2] == (Action.NONE, None)


def test_send_after_makes_old_dossiers_grey_both_ways():
    opts = Options(send_after=date(2026, 1, 1))
    old = local(D2, created_at="2025-06-01T10:00:00+02:00")
    assert one(old, None, None, opts)[:2] == (Action.NONE, GREY)
    assert one(old, Base(f"1-{D1}", D1), Remote("2-x", deleted=True), opts)[:2] == (
        Action.NONE,
        GREY,
    )
    recent = local(D2, created_at="2026-02-01T10:00:00+01:00")
    assert one(recent, None, None, opts)[0] is Action.PUSH


def test_send_after_without_created_at_uses_the_year():
    opts = Options(send_after=date(2026, 6, 1))
    assert is_concerned(Local("x", "p", D1, year=2026), opts)
    assert not is_concerned(Local("x", "p", D1, year=2025), opts)


def test_not_systematic_pushes_only_with_send():
    ctx = Context(today=TODAY, send=False)
    action, colour, reason = one(local(D2), Base(f"1-{D1}", D1), None, ctx=ctx)
    assert (action, colour) == (Action.NONE, BLUE)
    assert "--send" in reason


def test_update_present_false_warns_or_not():
    base, remote = Base(f"1-{D1}", D1), Remote(f"2-{D2}")
    assert one(local(), base, remote, Options(update_present=False))[:2] == (Action.NONE, ORANGE)
    quiet = Options(update_present=False, warn_newer=False)
    assert one(local(), base, remote, quiet)[:2] == (Action.NONE, GREY)


@pytest.mark.parametrize(
    ("planned", "year", "options", "expected"),
    [
        ("2026-11-25", 2026, Options(fetch_missing=True), True),
        ("2026-11-25", 2026, Options(fetch_missing=False), False),
        ("2024-01-15", 2024, Options(fetch_missing=True, fetch_after=date(2024, 2, 1)), False),
        ("2024-03-15", 2024, Options(fetch_missing=True, fetch_after=date(2024, 2, 1)), True),
        (None, 2023, Options(fetch_missing=True, fetch_after=date(2024, 2, 1)), False),
        (None, 2024, Options(fetch_missing=True, fetch_after=date(2024, 2, 1)), True),
        ("2026-12-20", 2026, Options(fetch_missing=True, fetch_horizon_days=10), False),
        ("2026-11-30", 2026, Options(fetch_missing=True, fetch_horizon_days=10), True),
        ("2027-06-01", 2027, Options(fetch_missing=True, fetch_horizon_days=-1), True),
    ],
)
def test_fetch_options(planned, year, options, expected):
    assert wants_fetch(Remote("1-x", planned=planned, year=year), options, TODAY) is expected


def test_empty_folder_with_known_dossiers_is_a_safety_stop():
    base = {"x": Base(f"1-{D1}", D1)}
    result = plan({}, base, {}, Options(), CTX)
    assert result.stop is not None and "aucun dossier" in result.stop
    assert result.decisions == {}


def test_empty_folder_is_fine_for_a_new_station_or_absent_dossiers():
    assert plan({}, {}, {}, Options(), CTX).stop is None
    assert plan({}, {"x": Base(f"1-{D1}", D1, held=False)}, {}, Options(), CTX).stop is None


def _tombstones(n: int, held: int) -> tuple[dict, dict, dict]:
    locs = {f"d{i}": Local(f"d{i}", f"2026/{i}", D1, year=2026) for i in range(held)}
    bases = {i: Base(f"1-{D1}", D1) for i in locs}
    remotes = {f"d{i}": Remote(f"2-{D2}", deleted=True) for i in range(n)}
    return locs, bases, remotes


def test_too_many_deletions_are_held_until_confirmed():
    locs, bases, remotes = _tombstones(60, 100)
    held = plan(locs, bases, remotes, Options(), CTX)
    assert held.deletes_held == 60 and held.stop
    assert held.ids(Action.TRASH) == []
    assert {held.decisions[f"d{i}"].colour for i in range(60)} == {RED}
    confirmed = plan(locs, bases, remotes, Options(), Context(TODAY, confirm_deletes=True))
    assert len(confirmed.ids(Action.TRASH)) == 60 and confirmed.stop is None


def test_ten_percent_rule_and_floor():
    locs, bases, remotes = _tombstones(11, 100)
    assert plan(locs, bases, remotes, Options(), CTX).deletes_held == 11
    locs, bases, remotes = _tombstones(10, 100)
    assert plan(locs, bases, remotes, Options(), CTX).deletes_held == 0
    locs, bases, remotes = _tombstones(5, 6)  # 5 deletions never trip the percentage
    assert plan(locs, bases, remotes, Options(), CTX).deletes_held == 0


def test_max_delete_argument():
    assert DeleteLimit.parse("3").exceeded(4, 1000)
    assert not DeleteLimit.parse("3").exceeded(3, 1000)
    assert DeleteLimit.parse("20%").exceeded(3, 10)
    assert not DeleteLimit.parse("20%").exceeded(2, 10)
    with pytest.raises(ValueError):
        DeleteLimit.parse("-1")
    with pytest.raises(ValueError):
        DeleteLimit.parse("abc")


@pytest.mark.parametrize(
    ("hour", "start", "end", "inside"),
    [
        (23, 22, 7, True),
        (2, 22, 7, True),
        (6, 22, 7, True),
        (7, 22, 7, False),
        (12, 22, 7, False),
        (21, 22, 7, False),
        (22, 22, 7, True),
        (9, 8, 18, True),
        (18, 8, 18, False),
        (7, 8, 18, False),
        (12, None, 7, True),
        (12, 5, 5, True),
    ],
)
def test_window_across_midnight(hour, start, end, inside):
    assert in_window(hour, 30, start, end) is inside


def test_minutes_until_window():
    assert minutes_until_window(12, 0, 22, 7) == 600
    assert minutes_until_window(23, 0, 22, 7) == 0
    assert minutes_until_window(7, 30, 8, 18) == 30


def test_options_from_json_defaults_and_bad_values():
    opts = Options.from_json(
        {
            "enabled": False,
            "send_after": "2026-01-01",
            "window_start": 25,
            "warn_newer": "yes",
            "fetch_horizon_days": 30,
        }
    )
    assert opts.enabled is False
    assert opts.send_after == date(2026, 1, 1)
    assert opts.window_start is None
    assert opts.warn_newer is True
    assert opts.fetch_horizon_days == 30
    assert Options.from_json(None) == Options()


digests = st.sampled_from([D1, D2, "c" * 32])


@st.composite
def trees(draw: st.DrawFn) -> tuple[dict, dict, dict]:
    ids = [f"d{i}" for i in range(draw(st.integers(0, 6)))]
    locs, bases, remotes = {}, {}, {}
    for ident in ids:
        if draw(st.booleans()):
            locs[ident] = Local(ident, f"2026/{ident}", draw(digests), year=2026)
        if draw(st.booleans()):
            d = draw(digests)
            bases[ident] = Base(f"1-{d}", d)
        if draw(st.booleans()):
            remotes[ident] = Remote(
                f"{draw(st.integers(1, 3))}-{draw(digests)}", deleted=draw(st.booleans())
            )
    return locs, bases, remotes


@settings(max_examples=300, deadline=None)
@given(trees(), st.booleans())
def test_plan_is_deterministic_and_never_overwrites_local_changes(state, fetch_missing):
    locs, bases, remotes = state
    opts = Options(fetch_missing=fetch_missing)
    first = plan(locs, bases, remotes, opts, CTX)
    assert first == plan(locs, bases, remotes, opts, CTX)
    for ident, decision in first.decisions.items():
        loc, base = locs.get(ident), bases.get(ident)
        changed = loc is not None and (base is None or base.digest != loc.digest)
        if changed and decision.action in (Action.APPLY, Action.TRASH):
            pytest.fail(f"{ident}: local changes would be overwritten ({decision})")
        if decision.action is Action.PUSH:
            assert loc is not None
