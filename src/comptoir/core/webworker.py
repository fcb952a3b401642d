"""The web processes' worker: Gunicorn's threaded worker, leaving new connections to idle
siblings.

Every web process waits on the same listening socket and the first awake takes a new
connection, busy or not: a station's two uploads, or two pushes, often landed in the same
process while the other sat idle, and shared one processor (one interpreter lock).
Here a process already running a request waits BUSY_ACCEPT_DELAY before taking a
connection: an idle sibling takes it first. When every process is busy, one of them takes
it after the delay, as before.
"""

from __future__ import annotations

import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

# Long enough for an idle sibling to wake up and accept even when other work keeps the
# processors busy (1 ms was not always), short enough not to matter when every process
# is busy.
BUSY_ACCEPT_DELAY = 0.003


class FairThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no types
    """ThreadWorker counting the requests it runs; all of this runs on its main thread
    (requests are queued and finished there), so the count needs no lock."""

    busy = 0

    def enqueue_req(self, conn: Any) -> None:
        self.busy += 1
        super().enqueue_req(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        self.busy -= 1
        super().finish_request(conn, fs)

    def accept(self, listener: Any) -> None:
        if self.busy:
            time.sleep(BUSY_ACCEPT_DELAY)
        super().accept(listener)  # a sibling may have taken it meanwhile: EAGAIN, ignored
