"""`comptoir-agent run`: a pass every interval, inside the options' time window.

Network trouble never stops the daemon: it logs and retries with exponential
backoff and jitter (capped). A refused token stops it (exit 2): nothing will
work until the station is paired again. SIGTERM/SIGINT set an event; the
current pass stops at its next safe point and the daemon exits 0.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from comptoir_agent.config import local_now
from comptoir_agent.planner import Options, in_window, minutes_until_window


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
    stop: threading.Event | None = None
    now: Callable[[], datetime] = local_now
    rand: Callable[[], float] = random.random

    def run(self) -> int:
        stop = self.stop or threading.Event()
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
