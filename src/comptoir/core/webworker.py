"""The web processes' worker: Gunicorn's threaded worker, leaving new connections to idle
siblings.

Every web process waits on the same listening socket and the first awake takes a new
connection, busy or not: a station's two uploads, or two pushes, often landed in the same
process while the other sat idle, and shared one processor (one interpreter lock).
Here a process already running a request waits BUSY_ACCEPT_DELAY before taking a
connection: an idle sibling takes it first. When every process is busy, one of them takes
it after the delay, as before.

`direct_body` reads a big request body (an upload's chunk) from the connection straight
into the reader's buffer, without Gunicorn's intermediate copies.
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


class DirectBody:
    """The rest of a request body of known length, received from the connection straight
    into the caller's buffer (`readinto`).

    Gunicorn's own body reader copies each byte through two in-memory buffers, and
    slices them, on its way to the application: for the 16 MiB chunks of a big file's
    upload, these copies cost the hub as much processor time as hashing the bytes.
    Here the bytes Gunicorn read ahead with the headers come first, then the socket;
    Gunicorn's count of what is left of the body goes down as they are taken, so that it
    reads the next request of the connection where it starts.
    """

    def __init__(self, body: Any, reader: Any, unreader: Any, sock: Any) -> None:
        self.body = body
        self.reader = reader
        self.unreader = unreader
        self.sock = sock

    def read(self, size: int = -1) -> bytes:
        """`size` bytes (the rest of the body with -1), fewer only when the body ends
        first: what a WSGI input's `read` gives, however the socket delivers them."""
        left: int = self.reader.length
        buffer = bytearray(left if size is None or size < 0 else min(size, left))
        filled = 0
        with memoryview(buffer) as view:
            while filled < len(buffer) and (count := self.readinto(view[filled:])):
                filled += count
            return bytes(view[:filled])

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want: int = min(len(view), self.reader.length)
        if want <= 0:
            return 0
        try:
            held = self.unreader.take_buffered()
            got: int
            if held:
                got = min(len(held), want)
                view[:got] = held[:got]
                if got < len(held):  # the next request, sent right behind this body
                    self.unreader.unread(held[got:])
            else:
                got = int(self.sock.recv_into(view[:want]))
        except Exception:
            self.body.failed = True  # where the next request starts is unknown now
            raise
        self.reader.length -= got
        return got


def direct_body(environ: dict[str, Any]) -> DirectBody | None:
    """A `DirectBody` for this request when Gunicorn serves it over a plain socket and
    nothing of its body was read yet; None otherwise (the caller reads as usual)."""
    sock = environ.get("gunicorn.socket")
    body = environ.get("wsgi.input")
    if sock is None or body is None:
        return None
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader

    reader: Any = getattr(body, "reader", None)
    unreader: Any = getattr(reader, "unreader", None)
    if (
        type(body) is not Body
        or type(reader) is not LengthReader
        or type(unreader) is not SocketUnreader
        or unreader.sock is not sock
        or body.buf.tell()  # Gunicorn's reader holds some already: let it give them
        or not hasattr(unreader, "take_buffered")
        or not hasattr(sock, "recv_into")
    ):
        return None
    return DirectBody(body, reader, unreader, sock)
