"""WebDAV compliance: the `litmus` suite against Comptoir's /dav/ endpoint.

A real server (`comptoir serve`, Gunicorn with two workers, so locks must hold
across processes) over a fresh SQLite file; a personal token of the organisation's
administrator; litmus's basic, copymove, props and locks groups. Litmus works in a
collection it creates (MKCOL), with sub-collections it copies and moves: it runs in
the member's own space, /dav/<org>/Espace/, the part of the tree that holds folders
(a dossier's folder holds files only; tests/webdav covers those).

Skipped when litmus is not installed (Debian: `apt-get install litmus`), unless
COMPTOIR_REQUIRE_PEERS=1 (CI).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.agent.realhub import RealHub

pytestmark = pytest.mark.peer

GROUPS = ("basic", "copymove", "props", "locks")
SUMMARY = re.compile(
    r"<- summary for `(?P<group>\w+)': of (?P<run>\d+) tests run: "
    r"(?P<passed>\d+) passed, (?P<failed>\d+) failed"
)


def litmus_or_skip() -> str:
    found = shutil.which("litmus")
    if found is None:
        if os.environ.get("COMPTOIR_REQUIRE_PEERS") == "1":
            pytest.fail("litmus is not installed (COMPTOIR_REQUIRE_PEERS=1)", pytrace=False)
        pytest.skip("litmus is not installed (Debian: apt-get install litmus)")
    return found


def summaries(output: str) -> dict[str, dict[str, int]]:
    return {
        match["group"]: {key: int(match[key]) for key in ("run", "passed", "failed")}
        for match in SUMMARY.finditer(output)
    }


def test_summary_parser_reads_litmus_output():
    output = (
        "-> running `basic':\n 0. init.................. pass\n"
        "<- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%\n"
        "<- summary for `locks': of 41 tests run: 40 passed, 1 failed. 97.6%\n"
    )
    assert summaries(output) == {
        "basic": {"run": 16, "passed": 16, "failed": 0},
        "locks": {"run": 41, "passed": 40, "failed": 1},
    }


def test_litmus_passes_basic_copymove_props_and_locks(tmp_path: Path):
    litmus = litmus_or_skip()
    hub = RealHub(tmp_path)
    token = hub.comptoir(
        "token", "create", "--org", hub.org, "--member", f"admin@{hub.org}.test", "--name", "litmus"
    )
    assert token.startswith("cpt_")
    hub.start(workers=2)
    try:
        done = subprocess.run(
            [litmus, f"{hub.url}/dav/{hub.org}/Espace/", f"admin@{hub.org}.test", token],
            env={**os.environ, "TESTS": " ".join(GROUPS)},
            cwd=tmp_path,  # litmus writes its debug.log here
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        hub.stop()
    output = done.stdout + done.stderr
    found = summaries(output)
    failures = [line.strip() for line in output.splitlines() if "FAIL" in line]
    assert set(found) == set(GROUPS), output
    for group in GROUPS:
        result = found[group]
        assert result["failed"] == 0, f"litmus {group}: {failures}"
        assert result["passed"] == result["run"] > 0, output
    assert done.returncode == 0, output
