"""A small HTTP/1.1 client: one persistent connection, what the agent asks of the hub.

The standard library's http.client costs a fifth of a quiet pass just to import (it
brings the email package, and ssl even for plain http). This one speaks the part of
HTTP/1.1 the agent needs: a request with a body of bytes, an answer framed by
Content-Length, chunked transfer coding or the end of the connection, 1xx answers
skipped, keep-alive unless either side says `Connection: close`, TLS when asked.
Its answers read like http.client's: `read(amt)` comes back short only at the end
of the body (with a Content-Length, empty when the connection ended early), and a
chunked body cut short, or `read()` of any body cut short, raises IncompleteRead.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

MAX_LINE = 65536
MAX_HEADERS = 100
_NO_BODY_STATUSES = frozenset({204, 304})


_HEX = frozenset(b"0123456789abcdefABCDEF")


def _digits(text: str, count: int | None = None) -> bool:
    """Plain ASCII digits (int() would also take "1_0", "+3" or "²"), `count` of them."""
    return bool(text) and text.isascii() and text.isdigit() and count in (None, len(text))


class ProtocolError(Exception):
    """The answer does not follow HTTP/1.1 (http.client's HTTPException)."""


class IncompleteRead(ProtocolError):
    def __init__(self, partial: bytes, expected: int | None = None) -> None:
        self.partial = partial
        self.expected = expected
        more = f", {expected} more expected" if expected is not None else ""
        super().__init__(f"IncompleteRead({len(partial)} bytes read{more})")


class RemoteDisconnected(ConnectionResetError, ProtocolError):
    """The server closed the connection without answering (a kept-alive connection it
    had already dropped, typically: the request may be sent again on a new one)."""


class Connection:
    """One connection to `host:port`, used by one thread at a time; each answer must be
    read to its end (or closed) before the next request."""

    def __init__(
        self,
        host: str,
        port: int | None,
        timeout: float,
        context: ssl.SSLContext | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self.host = host
        self.port = port or (443 if context is not None else 80)
        self.timeout = timeout  # to connect
        self.read_timeout = timeout if read_timeout is None else read_timeout
        self.context = context
        self.sock: socket.socket | None = None
        self._file: Any = None
        self._response: Response | None = None
        default = 443 if context is not None else 80
        name = f"[{host}]" if ":" in host else host
        self._host_header = name if self.port == default else f"{name}:{self.port}"

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(self.read_timeout)  # (also when it reconnects by itself)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self._file = sock.makefile("rb")

    def close(self) -> None:
        self._response = None
        file, sock = self._file, self.sock
        self._file = self.sock = None
        if file is not None:
            file.close()
        if sock is not None:
            sock.close()

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not method.isascii() or not method.isalpha():
            raise ValueError(f"méthode HTTP invalide : {method!r}")
        if not url.isascii() or not url.isprintable() or " " in url:
            raise ValueError(f"adresse HTTP invalide : {url[:80]!r}")
        if self._response is not None and not self._response.done:
            raise ProtocolError("la réponse précédente n'a pas été lue jusqu'au bout")
        self._response = None
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        lines = [f"{method} {url} HTTP/1.1", f"Host: {self._host_header}"]
        given = {name.lower() for name in (headers or {})}
        if "accept-encoding" not in given:
            lines.append("Accept-Encoding: identity")
        for name, value in (headers or {}).items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"en-tête HTTP invalide : {name!r}")
            lines.append(f"{name}: {value}")
        if body is not None or method in {"POST", "PUT", "PATCH"}:
            lines.append(f"Content-Length: {len(body or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if body and len(body) <= 65536:
            self.sock.sendall(head + body)  # one segment for a small request
        else:
            self.sock.sendall(head)
            if body:
                self.sock.sendall(body)
        self._method = method

    def getresponse(self) -> Response:
        if self._file is None:
            raise ProtocolError("aucune requête en cours")
        try:
            while True:
                status, reason, version, headers = _read_head(self._file)
                if not 100 <= status < 200 or status == 101:
                    break  # 1xx answers (100 Continue…) come before the real one
            response = Response(self, status, reason, version, headers, self._method)
        except BaseException:
            self.close()  # out of step with the server: never reused
            raise
        self._response = response
        return response

    def _release(self, response: Response) -> None:
        """The answer was read to its end (or given up): close when it must not be reused."""
        if response.will_close or not response.done:
            self.close()


def _read_head(file: Any) -> tuple[int, str, str, dict[str, str]]:
    line = file.readline(MAX_LINE + 1)
    if not line:
        raise RemoteDisconnected("le serveur a fermé la connexion sans répondre")
    if len(line) > MAX_LINE:
        raise ProtocolError("ligne de statut trop longue")
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not _digits(parts[1], 3):
        raise ProtocolError(f"ligne de statut invalide : {line[:80]!r}")
    version, status = parts[0], int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers: dict[str, str] = {}
    last = ""
    for _ in range(MAX_HEADERS + 1):
        raw = file.readline(MAX_LINE + 1)
        if len(raw) > MAX_LINE:
            raise ProtocolError("en-tête trop long")
        if raw in (b"\r\n", b"\n", b""):
            if not raw:
                raise IncompleteRead(b"")  # the connection ended inside the headers
            return status, reason, version, headers
        if not raw.endswith(b"\n"):
            raise IncompleteRead(b"")  # the connection ended inside a header
        text = raw.decode("latin-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and last:  # an obsolete folded line continues the last
            headers[last] += " " + text.strip()
            continue
        name, colon, value = text.partition(":")
        if not colon:
            raise ProtocolError(f"en-tête invalide : {raw[:80]!r}")
        last = name.strip().lower()
        value = value.strip()
        headers[last] = f"{headers[last]}, {value}" if last in headers else value
    raise ProtocolError("trop d'en-têtes")


class Response:
    """One answer; its body is read with `read` / `readline` (see the module docstring)."""

    def __init__(
        self,
        conn: Connection,
        status: int,
        reason: str,
        version: str,
        headers: dict[str, str],
        method: str,
    ) -> None:
        self._conn = conn
        self._file = conn._file
        self.status = status
        self.reason = reason
        self.headers = headers
        connection = headers.get("connection", "").lower()
        self.will_close = "close" in connection or (
            version == "HTTP/1.0" and "keep-alive" not in connection
        )
        self.chunked = False
        self.length: int | None = None  # what is left of a Content-Length body
        self._chunk_left = 0  # what is left of the current chunk (chunked)
        self._pending = b""  # read ahead by readline
        if method == "HEAD" or status in _NO_BODY_STATUSES or 100 <= status < 200:
            self.length = 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self.chunked = True
        elif "content-length" in headers:
            value = headers["content-length"].split(",")[0].strip()
            if not _digits(value):
                raise ProtocolError(f"Content-Length invalide : {value[:20]!r}")
            self.length = int(value)
        else:
            self.will_close = True  # the body ends with the connection
        self.done = self.length == 0
        if self.done:
            conn._release(self)

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def close(self) -> None:
        """Give up the rest of the body: the connection cannot serve another request."""
        if not self.done:
            self.done = True
            self._conn.close()

    # reading -----------------------------------------------------------------------------

    def read(self, amt: int | None = None) -> bytes:
        if amt is not None and amt < 0:
            amt = None
        if amt is None:
            parts = [self._pending]
            self._pending = b""
            while not self.done:
                piece = self._raw(1 << 20, whole=True, so_far=parts)
                if not piece:
                    break
                parts.append(piece)
            return b"".join(parts)
        if amt == 0:
            return b""
        if self._pending:
            data, self._pending = self._pending[:amt], self._pending[amt:]
            if len(data) == amt or self.done:
                return data
            more = self._raw(amt - len(data), whole=False)
            return data + more
        return self._raw(amt, whole=False)

    def readline(self, limit: int = -1) -> bytes:
        """Up to and including the next newline (or `limit` bytes, or the end)."""
        buffer = self._pending
        while True:
            end = buffer.find(b"\n")
            if end >= 0 and (limit < 0 or end < limit):
                line, self._pending = buffer[: end + 1], buffer[end + 1 :]
                return line
            if 0 <= limit <= len(buffer):
                line, self._pending = buffer[:limit], buffer[limit:]
                return line
            piece = self._raw(65536, whole=False) if not self.done else b""
            if not piece:
                self._pending = b""
                return buffer
            buffer += piece

    def _raw(self, amt: int, whole: bool, so_far: list[bytes] | None = None) -> bytes:
        """At most `amt` bytes of the body from the connection (b"" at its end). A body
        cut short: `whole` (read()) raises IncompleteRead; else b"" and the connection
        is closed, as http.client does."""
        if self.done:
            return b""
        try:
            if self.chunked:
                data = self._read_chunked(amt)
            elif self.length is not None:
                data = self._file.read(min(amt, self.length))
                self.length -= len(data)
                if not data:
                    raise IncompleteRead(b"", self.length)
                if self.length == 0:
                    self._finish()
            else:
                data = self._file.read(amt)
                if len(data) < amt:  # the connection ended: so does the body
                    self._finish()
            return data
        except ProtocolError as exc:
            if not isinstance(exc, IncompleteRead):
                self.done = True
                self._conn.close()
                raise
            self.done = True
            self._conn.close()
            if whole or self.chunked:  # (chunked: http.client raises there too)
                partial = b"".join(so_far or []) + exc.partial
                raise IncompleteRead(partial, exc.expected) from None
            return exc.partial

    def _read_chunked(self, amt: int) -> bytes:
        """Up to `amt` bytes across chunks: short only at the end of the body."""
        parts: list[bytes] = []
        got = 0
        while got < amt:
            try:
                if self._chunk_left == 0 and not self._next_chunk():
                    break  # the last chunk: the body is complete
            except IncompleteRead:  # cut between chunks: what came is kept
                raise IncompleteRead(b"".join(parts)) from None
            want = min(amt - got, self._chunk_left)
            data = self._file.read(want)
            self._chunk_left -= len(data)
            parts.append(data)
            got += len(data)
            if len(data) < want:
                raise IncompleteRead(b"".join(parts))
            if self._chunk_left == 0 and self._file.readline(MAX_LINE + 1) not in (
                b"\r\n",
                b"\n",
            ):
                raise IncompleteRead(b"".join(parts))
        return b"".join(parts)

    def _next_chunk(self) -> bool:
        """Read the next chunk's size line; False (and the trailers read) at the last."""
        line = self._file.readline(MAX_LINE + 1)
        if not line.endswith(b"\n"):
            raise IncompleteRead(b"")
        text = line.split(b";", 1)[0].strip()
        if not text or len(text) > 16 or not all(c in _HEX for c in text):
            raise ProtocolError(f"taille de bloc invalide : {line[:40]!r}")
        size = int(text, 16)
        if size:
            self._chunk_left = size
            return True
        while True:  # trailers, up to the blank line
            trailer = self._file.readline(MAX_LINE + 1)
            if not trailer:
                raise IncompleteRead(b"")
            if trailer in (b"\r\n", b"\n"):
                break
        self._finish()
        return False

    def _finish(self) -> None:
        self.done = True
        self._conn._release(self)
