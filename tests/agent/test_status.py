"""`status`: the seed's colours, a readable table, ANSI only on a terminal, JSON for scripts."""

from __future__ import annotations

import json

from comptoir_agent.planner import RED, Action, Decision, Plan
from comptoir_agent.status import render_json, render_table, rows
from tests.agent.conftest import make_doc, write_dossier


def _plan() -> Plan:
    decisions = {
        "a": Decision("a", Action.NONE, "green", "Transféré"),
        "b": Decision("b", Action.NONE, "orange", "Conflit", conflict=True),
        "c": Decision("c", Action.PUSH, "blue", "Modifications à envoyer"),
        "d": Decision("d", Action.NONE, RED, "Quota dépassé"),
        "e": Decision("e", Action.NONE, "grey", "Antérieur au 01/01/2026"),
        "f": Decision("f", Action.NONE, None, "Absent"),
    }
    return Plan(decisions, [("2026/cassé", "dossier.json n'est pas du JSON valide")])


NUMBERS = {k: (f"2026-0000{i}", 2026, f"2026/2026-0000{i}") for i, k in enumerate("abcdef")}


def test_rows_and_counts():
    plan = _plan()
    table = rows(plan, NUMBERS)
    assert [r.colour for r in table] == ["green", "orange", "blue", "red", "grey", "red"]
    assert plan.counts() == {"green": 1, "orange": 1, "blue": 1, "red": 2, "grey": 1}


def test_table_without_terminal_has_no_ansi():
    plan = _plan()
    text = render_table(rows(plan, NUMBERS), plan.counts(), colour=False)
    assert "\x1b[" not in text
    assert "2026-00003" in text and "Quota dépassé" in text
    assert "6 dossiers : 1 transférés, 1 à vérifier, 1 à traiter" in text


def test_table_on_a_terminal_uses_the_seed_colours():
    plan = _plan()
    text = render_table(rows(plan, NUMBERS), plan.counts(), colour=True)
    assert "\x1b[32m●" in text  # green: transféré
    assert "\x1b[33m●" in text  # orange: à vérifier
    assert "\x1b[34m●" in text  # blue: à traiter
    assert "\x1b[31m●" in text  # red: quarantaine / erreur
    assert "\x1b[90m●" in text  # grey: non concerné


def test_json_output():
    plan = _plan()
    body = json.loads(render_json(rows(plan, NUMBERS), plan.counts(), None))
    assert body["counts"]["red"] == 2
    first = body["dossiers"][0]
    assert first == {
        "id": "a",
        "number": "2026-00000",
        "year": 2026,
        "path": "2026/2026-00000",
        "status": "green",
        "label": "Transféré",
        "reason": "Transféré",
        "conflict": False,
    }


def test_status_is_computed_offline(hub, station):
    synced = make_doc("2026-00001")
    write_dossier(station.root, synced)
    station("sync")
    hub.stop()  # no hub from now on
    changed = make_doc("2026-00002")
    write_dossier(station.root, changed)
    write_dossier(station.root, {**synced, "status": "done"})
    result = station("status", "--json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    assert {r["number"]: r["status"] for r in body["dossiers"]} == {
        "2026-00001": "blue",
        "2026-00002": "blue",
    }
    plain = station("status")
    assert "À traiter" in plain.out and "\x1b[" not in plain.out


def test_status_exit_code_4_on_errors(hub, station):
    bad = station.root / "2026" / "x"
    bad.mkdir(parents=True)
    (bad / "dossier.json").write_text("[]")
    assert station("status").code == 4
