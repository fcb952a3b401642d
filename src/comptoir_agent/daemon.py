"""`comptoir-agent run`: a pass every interval, inside the options' time window.

Network trouble never stops the daemon: it logs and retries with exponential
backoff and jitter (capped). A refused token stops it (exit 2): nothing will
work until the station is paired again. SIGTERM/SIGINT set a `StopSignal`; the
current pass stops at its next safe point and the daemon exits 0.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from comptoir_agent.config import local_now
from comptoir_agent.planner import Options, in_window, minutes_until_window


class Stop(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, seconds: float) -> bool: ...


class StopSignal:
    """A stop request that a signal handler may set.

    `threading.Event.set()` from a handler can deadlock: the handler runs in the main
    thread between two bytecodes, possibly inside that thread's own `Event.wait()`
    while it holds the event's lock, which `set()` then waits for forever (a daemon
    that never stops on SIGTERM). Here `set()` takes no lock: a flag, and a byte
    written to a pipe that `wait()` watches with `select`. Other threads only read
    `is_set()`.
    """

    def __init__(self) -> None:
        self._flag = False
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        self._flag = True
        with contextlib.suppress(BlockingIOError):  # the pipe is full: already woken
            os.write(self._write, b"\0")

    def clear(self) -> None:
        self._flag = False
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 4096):
                pass

    def wait(self, seconds: float | None = None) -> bool:
        """True once set; False after `seconds` without a stop."""
        if not self._flag:
            select.select([self._read], [], [], seconds)
        return self._flag

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)


@dataclass(frozen=True)
class Backoff:
    base: float = 5.0
    cap: float = 900.0

    def delay(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Exponential (base·2^(n-1), capped) with jitter in [50 %, 100 %]."""
        raw = min(self.cap, self.base * 2 ** max(failures - 1, 0))
        return float(raw * (0.5 + rand() / 2))


class Outcome:
    """What one attempt tells the loop."""

    OK = "ok"  # a pass ran (whatever its colours)
    RETRY = "retry"  # the hub or the disk failed: back off
    STOP = "stop"  # the token was refused: give up


@dataclass
class Daemon:
    attempt: Callable[[], str]  # runs one pass, returns an Outcome value
    options: Callable[[], Options | None]  # the last known options (from the journal)
    log: Callable[[str], None]
    interval: float = 60.0
    backoff: Backoff = Backoff()
    stop: Stop | None = None
    now: Callable[[], datetime] = local_now
    rand: Callable[[], float] = random.random

    def run(self) -> int:
        stop = self.stop or StopSignal()
        failures = 0
        while not stop.is_set():
            wait = self._outside_window()
            if wait:
                self.log(f"Hors de la plage horaire de synchronisation : reprise dans {wait:.0f} s")
                stop.wait(wait)
                continue
            outcome = self.attempt()
            if outcome == Outcome.STOP:
                return 2
            if outcome == Outcome.RETRY:
                failures += 1
                delay = self.backoff.delay(failures, self.rand)
                self.log(f"Nouvelle tentative dans {delay:.0f} s")
            else:
                failures = 0
                delay = self.interval
            stop.wait(delay)
        self.log("Arrêt demandé : agent arrêté proprement.")
        return 0

    def _outside_window(self) -> float:
        options = self.options()
        if options is None or not options.enabled:
            return 0.0
        moment = self.now()
        minutes = minutes_until_window(
            moment.hour, moment.minute, options.window_start, options.window_end
        )
        if minutes == 0 or in_window(
            moment.hour, moment.minute, options.window_start, options.window_end
        ):
            return 0.0
        return float(minutes * 60 - moment.second)
