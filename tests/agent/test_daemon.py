"""`run`: backoff with jitter, the time window, network loss, SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime

from comptoir_agent.daemon import Backoff, Daemon, Outcome, StopSignal
from comptoir_agent.planner import Options


class FakeEvent:
    def __init__(self, stop_after: int) -> None:
        self.waits: list[float] = []
        self.stop_after = stop_after

    def is_set(self) -> bool:
        return len(self.waits) >= self.stop_after

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.is_set()


def test_backoff_grows_is_capped_and_jittered():
    backoff = Backoff(base=5, cap=900)
    assert backoff.delay(1, lambda: 1.0) == 5
    assert backoff.delay(1, lambda: 0.0) == 2.5
    assert backoff.delay(4, lambda: 1.0) == 40
    assert backoff.delay(30, lambda: 1.0) == 900
    assert 450 <= backoff.delay(30) <= 900


def test_daemon_backs_off_on_failures_and_resets_after_success():
    outcomes = iter([Outcome.RETRY, Outcome.RETRY, Outcome.OK, Outcome.RETRY])
    event = FakeEvent(stop_after=4)
    logs: list[str] = []
    daemon = Daemon(
        lambda: next(outcomes), lambda: None, logs.append, interval=60, stop=event, rand=lambda: 1.0
    )  # type: ignore[arg-type]
    assert daemon.run() == 0
    assert event.waits == [5.0, 10.0, 60, 5.0]
    assert logs[-1] == "Arrêt demandé : agent arrêté proprement."


def test_daemon_stops_when_the_token_is_refused():
    daemon = Daemon(
        lambda: Outcome.STOP, lambda: None, lambda m: None, stop=FakeEvent(stop_after=10)
    )  # type: ignore[arg-type]
    assert daemon.run() == 2


def test_daemon_waits_for_the_window_across_midnight():
    calls: list[int] = []
    event = FakeEvent(stop_after=2)
    options = Options(window_start=22, window_end=7)

    def attempt() -> str:
        calls.append(1)
        return Outcome.OK

    noon = Daemon(
        attempt,
        lambda: options,
        lambda m: None,
        stop=event,  # type: ignore[arg-type]
        now=lambda: datetime(2026, 11, 20, 12, 0, 0),
    )
    noon.run()
    assert calls == [] and event.waits[0] == 10 * 3600
    night = FakeEvent(stop_after=1)
    Daemon(
        attempt,
        lambda: options,
        lambda m: None,
        stop=night,  # type: ignore[arg-type]
        now=lambda: datetime(2026, 11, 21, 2, 0, 0),
        interval=60,
    ).run()
    assert calls == [1] and night.waits == [60]


def test_stop_signal_wakes_a_wait_and_stays_set():
    stop = StopSignal()
    try:
        started = time.monotonic()
        assert stop.wait(0.05) is False and time.monotonic() - started >= 0.04
        stop.set()
        stop.set()  # twice: still one stop
        assert stop.is_set() and stop.wait(30) is True
        stop.clear()
        assert not stop.is_set() and stop.wait(0) is False
    finally:
        stop.close()


# A process waiting on its stop request in a loop while signals set it as fast as they
# come: `threading.Event.set()` in the handler deadlocks there within a second or so
# (the handler interrupts the main thread's own `wait()` while it holds the event's
# lock), which is how `comptoir-agent run` once ignored SIGTERM.
_SIGNALLED = """
import os, signal, sys, time
from comptoir_agent.daemon import StopSignal
stop = StopSignal()
signal.signal(signal.SIGUSR1, lambda signum, frame: stop.set())
print("ready", flush=True)
woken = 0
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    if stop.wait(0.0005):
        woken += 1
        stop.clear()
print(woken, flush=True)
"""


def test_stop_signal_set_by_a_signal_handler_never_deadlocks():
    seconds = 1.5
    process = subprocess.Popen(
        [sys.executable, "-c", _SIGNALLED, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        sent = 0
        deadline = time.monotonic() + seconds - 0.2
        while time.monotonic() < deadline:
            process.send_signal(signal.SIGUSR1)
            sent += 1
            time.sleep(0.0002)
        out, _err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert sent > 100 and int(out.strip()) > 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(process: subprocess.Popen, needle: str, timeout: float = 20) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} not seen in:\n{seen}")


def _daemon(root) -> subprocess.Popen:
    return subprocess.Popen(
        # -X faulthandler: a daemon that does not stop can be made to print every
        # thread's stack (SIGABRT) for the failure message (see `_stopped`).
        [
            sys.executable,
            "-X",
            "faulthandler",
            "-m",
            "comptoir_agent.cli",
            "--data",
            str(root),
            "run",
            "--interval",
            "1",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_run_syncs_and_stops_cleanly_on_sigterm(hub, station):
    from tests.agent.conftest import make_doc, write_dossier

    doc = make_doc("2026-00001")
    write_dossier(station.root, doc)
    process = _daemon(station.root)
    try:
        _wait_for(process, "Synchronisation terminée")
        assert doc["id"] in hub.dossiers
        process.send_signal(signal.SIGTERM)
        assert _stopped(process) == 0
        assert "arrêté proprement" in process.stderr.read()
    finally:
        process.kill()


def _stopped(process: subprocess.Popen, timeout: float = 20) -> int:
    """The daemon's exit code; if it has not stopped in time, fail with every thread's
    stack (faulthandler, on SIGABRT) and what it wrote."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        _out, err = process.communicate(timeout=10)
        raise AssertionError(f"the daemon did not stop within {timeout} s:\n{err}") from None


def test_run_survives_an_unreachable_hub(hub, station):
    sentinel = station.root / ".comptoir" / "station.json"
    info = json.loads(sentinel.read_text())
    info["hub"] = f"http://127.0.0.1:{_free_port()}"
    sentinel.write_text(json.dumps(info))
    process = _daemon(station.root)
    try:
        _wait_for(process, "Synchronisation impossible")
        _wait_for(process, "Nouvelle tentative dans")
        assert process.poll() is None  # still running
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
