"""comptoir_agent.http against real sockets on loopback.

A raw-socket server written here answers each request with scripted bytes, so every
framing the client must understand (Content-Length, chunked, the end of the connection,
no body, 1xx, answers cut short or malformed) is exercised byte for byte, and the server
records what it received (the raw requests, how many TCP connections it accepted).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest

from comptoir_agent.client import HubClient
from comptoir_agent.http import (
    Connection,
    IncompleteRead,
    ProtocolError,
    RemoteDisconnected,
    Response,
)

TIMEOUT = 5.0
NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"


# the scripted server ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What the server does for one request: read it, send `answer`, maybe close."""

    answer: bytes
    close: bool = False


@dataclass
class Seen:
    """One TCP connection the server accepted, as the server saw it."""

    sock: socket.socket
    received: bytearray = field(default_factory=bytearray)
    requests: list[bytes] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)


class RawServer:
    """Accepts connections on 127.0.0.1; the n-th connection follows the n-th script.

    Once its script is done, a connection waits for the client to close it (a request
    arriving then is recorded, and the connection closed without an answer).
    """

    def __init__(self, scripts: list[list[Step]], tls: ssl.SSLContext | None = None) -> None:
        self.scripts = scripts
        self.tls = tls
        self.connections: list[Seen] = []
        self.clients: list[Connection] = []
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port: int = self.listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @property
    def accepted(self) -> int:
        return len(self.connections)

    @property
    def requests(self) -> list[bytes]:
        return [request for seen in self.connections for request in seen.requests]

    def client(self, context: ssl.SSLContext | None = None) -> Connection:
        conn = Connection("127.0.0.1", self.port, TIMEOUT, context)
        self.clients.append(conn)
        return conn

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            if self._stopping:
                sock.close()
                return
            sock.settimeout(TIMEOUT)
            index = len(self.connections)
            seen = Seen(sock)
            self.connections.append(seen)
            script = self.scripts[index] if index < len(self.scripts) else []
            thread = threading.Thread(target=self._serve, args=(seen, script), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, seen: Seen, script: list[Step]) -> None:
        buffer = bytearray()
        try:
            if self.tls is not None:
                seen.sock = self.tls.wrap_socket(seen.sock, server_side=True)
            for step in script:
                request = _read_request(seen, buffer)
                if request is None:
                    return
                seen.requests.append(request)
                if step.answer:
                    seen.sock.sendall(step.answer)
                if step.close:
                    return
            request = _read_request(seen, buffer)
            if request is not None:
                seen.requests.append(request)
        except OSError:
            pass
        finally:
            seen.sock.close()
            seen.closed.set()

    def stop(self) -> None:
        for conn in self.clients:
            conn.close()
        if self._stopping:
            return
        self._stopping = True
        with socket.create_connection(("127.0.0.1", self.port), TIMEOUT):
            pass  # wakes the acceptor up
        self._acceptor.join(TIMEOUT)
        self.listener.close()
        for seen in self.connections:
            with contextlib.suppress(OSError):  # the base class's: an SSLSocket's drops its state
                socket.socket.shutdown(seen.sock, socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(TIMEOUT)
        assert not self._acceptor.is_alive()
        assert not any(thread.is_alive() for thread in self._threads)


def _read_request(seen: Seen, buffer: bytearray) -> bytes | None:
    """One request (head and Content-Length body) from the connection; None at its end."""

    def fill() -> bool:
        data = seen.sock.recv(65536)
        seen.received += data
        buffer.extend(data)
        return bool(data)

    while b"\r\n\r\n" not in buffer:
        if not fill():
            return None
    end = buffer.index(b"\r\n\r\n") + 4
    length = 0
    for line in bytes(buffer[:end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(buffer) < end + length:
        if not fill():
            return None
    request = bytes(buffer[: end + length])
    del buffer[: end + length]
    return request


class Serve(Protocol):
    def __call__(self, *scripts: list[Step], tls: ssl.SSLContext | None = None) -> RawServer: ...


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[RawServer] = []

    def start(*scripts: list[Step], tls: ssl.SSLContext | None = None) -> RawServer:
        server = RawServer(list(scripts), tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# answers ----------------------------------------------------------------------------


def ok(body: bytes, *headers: str, status: str = "200 OK", version: str = "HTTP/1.1") -> bytes:
    lines = [f"{version} {status}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked_head(*headers: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", *headers, "Transfer-Encoding: chunked"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunks(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def ask(
    conn: Connection,
    url: str = "/",
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    conn.request(method, url, body, headers)
    return conn.getresponse()


# 1. the request's bytes -------------------------------------------------------------


def test_a_get_is_sent_with_its_line_host_port_identity_encoding_and_headers(
    serve: Serve,
) -> None:
    server = serve([Step(NO_CONTENT)])
    conn = server.client()

    response = ask(conn, "/api/v1/ping?q=1", headers={"X-Token": "abc", "Accept": "*/*"})

    assert response.status == 204
    assert server.requests == [
        b"GET /api/v1/ping?q=1 HTTP/1.1\r\n"
        + f"Host: 127.0.0.1:{server.port}\r\n".encode()
        + b"Accept-Encoding: identity\r\n"
        b"X-Token: abc\r\n"
        b"Accept: */*\r\n"
        b"\r\n"
    ]


def test_a_body_gets_a_content_length_and_so_do_post_and_put_without_one(serve: Serve) -> None:
    server = serve([Step(NO_CONTENT)] * 4)
    conn = server.client()
    host = f"Host: 127.0.0.1:{server.port}\r\n".encode()

    ask(conn, "/up", "POST", b"hello", {"Content-Type": "text/plain"})
    ask(conn, "/p", "POST")
    ask(conn, "/u", "PUT")
    ask(conn, "/g", "GET", b"")

    assert server.requests == [
        b"POST /up HTTP/1.1\r\n"
        + host
        + b"Accept-Encoding: identity\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 5\r\n\r\nhello",
        b"POST /p HTTP/1.1\r\n" + host + b"Accept-Encoding: identity\r\nContent-Length: 0\r\n\r\n",
        b"PUT /u HTTP/1.1\r\n" + host + b"Accept-Encoding: identity\r\nContent-Length: 0\r\n\r\n",
        b"GET /g HTTP/1.1\r\n" + host + b"Accept-Encoding: identity\r\nContent-Length: 0\r\n\r\n",
    ]
    assert server.accepted == 1


def test_an_accept_encoding_given_by_the_caller_replaces_identity(serve: Serve) -> None:
    server = serve([Step(NO_CONTENT)])
    conn = server.client()

    ask(conn, headers={"accept-encoding": "gzip"})

    (request,) = server.requests
    assert b"identity" not in request
    assert request.count(b"ccept-encoding") == 1
    assert b"\r\naccept-encoding: gzip\r\n" in request


def test_the_host_header_names_the_port_only_when_it_is_not_the_default() -> None:
    tls = ssl.create_default_context()

    assert Connection("hub.example", 80, TIMEOUT)._host_header == "hub.example"
    assert Connection("hub.example", None, TIMEOUT)._host_header == "hub.example"
    assert Connection("hub.example", None, TIMEOUT).port == 80
    assert Connection("hub.example", 8080, TIMEOUT)._host_header == "hub.example:8080"
    assert Connection("hub.example", 443, TIMEOUT, tls)._host_header == "hub.example"
    assert Connection("hub.example", None, TIMEOUT, tls).port == 443
    assert Connection("hub.example", 80, TIMEOUT, tls)._host_header == "hub.example:80"
    assert Connection("::1", 8080, TIMEOUT)._host_header == "[::1]:8080"
    assert Connection("::1", 80, TIMEOUT)._host_header == "[::1]"
    assert Connection("fe80::1", 443, TIMEOUT, tls)._host_header == "[fe80::1]"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "one\r\nX-Injected: 1"},
        {"X-A": "one\nX-Injected: 1"},
        {"X-A": "one\rX-Injected: 1"},
        {"X-A\r\nX-Injected": "1"},
    ],
)
def test_a_header_with_cr_or_lf_is_refused_and_nothing_is_sent(
    serve: Serve, headers: dict[str, str]
) -> None:
    server = serve([Step(ok(b"first")), Step(ok(b"second"))])
    conn = server.client()
    assert ask(conn, "/first").read() == b"first"

    with pytest.raises(ValueError, match="en-tête"):
        conn.request("GET", "/bad", None, headers)
    assert ask(conn, "/second").read() == b"second"

    first, second = server.requests
    assert first.startswith(b"GET /first ")
    assert second.startswith(b"GET /second ")
    assert bytes(server.connections[0].received) == first + second
    assert server.accepted == 1


def test_a_url_with_cr_or_lf_is_refused_and_nothing_is_sent(serve: Serve) -> None:
    server = serve([Step(NO_CONTENT)])
    conn = server.client()

    with pytest.raises((ValueError, ProtocolError)):
        conn.request("GET", "/a HTTP/1.1\r\nHost: elsewhere\r\n\r\nGET /b")
    assert ask(conn, "/ok").status == 204

    (request,) = server.requests
    assert request.startswith(b"GET /ok HTTP/1.1\r\n")
    assert bytes(server.connections[0].received) == request


def test_getresponse_without_a_request_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        Connection("127.0.0.1", 1, TIMEOUT).getresponse()


# 2. Content-Length bodies -------------------------------------------------------------


def test_a_content_length_body_is_read_whole_and_the_connection_kept_alive(
    serve: Serve,
) -> None:
    server = serve([Step(ok(b"0123456789", "Content-Type: text/plain")), Step(ok(b"again"))])
    conn = server.client()

    first = ask(conn, "/1")
    assert (first.status, first.reason) == (200, "OK")
    assert first.getheader("content-type") == "text/plain"
    done_before = first.done
    assert first.read() == b"0123456789"
    assert (done_before, first.done) == (False, True)
    assert not first.will_close
    assert first.read() == b""
    sock = conn.sock
    assert sock is not None

    assert ask(conn, "/2").read() == b"again"
    assert conn.sock is sock
    assert server.accepted == 1
    assert [request.split(b" ")[1] for request in server.requests] == [b"/1", b"/2"]


def test_read_amt_returns_exactly_amt_until_the_end_then_empty(serve: Serve) -> None:
    server = serve([Step(ok(b"0123456789")), Step(ok(b"next"))])
    conn = server.client()
    response = ask(conn)

    assert response.read(4) == b"0123"
    assert response.read(0) == b""
    assert response.read(4) == b"4567"
    done_before = response.done
    assert response.read(4) == b"89"
    assert (done_before, response.done) == (False, True)
    assert response.read(4) == b""
    assert ask(conn).read(100) == b"next"
    assert server.accepted == 1


def test_readline_with_a_limit_then_read_give_the_exact_body(serve: Serve) -> None:
    body = b"line one\nline two\nthe rest, without newline"
    server = serve([Step(ok(body)), Step(ok(b"after"))])
    conn = server.client()
    response = ask(conn)

    assert response.readline(4) == b"line"
    assert response.readline() == b" one\n"
    assert response.readline(9) == b"line two\n"
    assert response.read(3) == b"the"
    assert response.read() == b" rest, without newline"
    assert response.readline() == b""
    assert response.done
    assert ask(conn).read() == b"after"
    assert server.accepted == 1


# 3. chunked bodies ------------------------------------------------------------------


def test_a_chunked_body_with_extensions_and_trailers_is_read_whole(serve: Serve) -> None:
    body = (
        b"5;name=x\r\nHello\r\n"
        b"2\r\n, \r\n"
        b'6 ; a=1;b="2"\r\nworld!\r\n'
        b"0\r\n"
        b"X-Checksum: abc\r\n"
        b"X-Other: def\r\n"
        b"\r\n"
    )
    server = serve([Step(chunked_head() + body), Step(ok(b"reused"))])
    conn = server.client()

    response = ask(conn)
    assert response.chunked
    assert response.read() == b"Hello, world!"
    assert response.done
    assert ask(conn).read() == b"reused"
    assert server.accepted == 1


def test_read_amt_on_a_chunked_body_fills_across_chunk_boundaries(serve: Serve) -> None:
    server = serve([Step(chunked_head() + chunks(b"Hello", b", ", b"world!")), Step(NO_CONTENT)])
    conn = server.client()
    response = ask(conn)

    assert response.read(4) == b"Hell"
    assert response.read(4) == b"o, w"
    assert response.read(4) == b"orld"
    assert response.read(4) == b"!"
    assert response.done
    assert response.read(4) == b""
    assert ask(conn).status == 204
    assert server.accepted == 1


def test_readline_reads_across_a_chunk_boundary(serve: Serve) -> None:
    server = serve(
        [Step(chunked_head() + chunks(b"hel", b"lo\nwor", b"ld\n", b"end")), Step(NO_CONTENT)]
    )
    conn = server.client()
    response = ask(conn)

    assert response.readline() == b"hello\n"
    assert response.readline() == b"world\n"
    assert response.readline() == b"end"
    assert response.readline() == b""
    assert response.done
    assert ask(conn).status == 204
    assert server.accepted == 1


# 4. and 5. bodies ended by the connection, answers closing it -----------------------------


def test_a_body_ended_by_the_connection_is_read_to_eof_and_not_reused(serve: Serve) -> None:
    server = serve(
        [
            Step(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it, up to the end", True
            )
        ],
        [Step(ok(b"new"))],
    )
    conn = server.client()

    response = ask(conn)
    assert response.will_close
    assert response.read(6) == b"all of"
    assert response.read() == b" it, up to the end"
    assert response.done
    assert conn.sock is None
    assert ask(conn).read() == b"new"
    assert server.accepted == 2


@pytest.mark.parametrize(
    "answer",
    [
        ok(b"bye", "Connection: close"),
        ok(b"bye", "Connection: Keep-Alive, Close"),
        ok(b"bye", version="HTTP/1.0"),
    ],
    ids=["connection-close", "close-among-tokens", "http-1.0"],
)
def test_an_answer_that_closes_the_connection_closes_it_after_its_body(
    serve: Serve, answer: bytes
) -> None:
    # the server keeps the connection open: the client must close it by itself
    server = serve([Step(answer)], [Step(ok(b"again"))])
    conn = server.client()

    response = ask(conn)
    assert response.will_close
    assert response.read() == b"bye"
    assert conn.sock is None
    assert ask(conn).read() == b"again"
    assert server.accepted == 2
    assert server.connections[0].closed.wait(TIMEOUT)


def test_an_http_1_0_answer_with_keep_alive_keeps_the_connection(serve: Serve) -> None:
    server = serve([Step(ok(b"kept", "Connection: keep-alive", version="HTTP/1.0"))] * 2)
    conn = server.client()

    assert ask(conn).read() == b"kept"
    assert ask(conn).read() == b"kept"
    assert server.accepted == 1


def test_a_server_closing_after_a_content_length_answer_forces_a_reconnection(
    serve: Serve,
) -> None:
    server = serve([Step(ok(b"one", "Connection: close"), close=True)], [Step(ok(b"two"))])
    conn = server.client()

    assert ask(conn).read() == b"one"
    assert ask(conn).read() == b"two"
    assert server.accepted == 2


# 6. answers without a body, 1xx -------------------------------------------------------


def test_204_304_and_head_answers_have_no_body_and_keep_the_connection(serve: Serve) -> None:
    server = serve(
        [
            Step(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
            Step(NO_CONTENT),
            Step(b'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\nETag: "x"\r\n\r\n'),
            Step(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Step(ok(b"body")),
        ]
    )
    conn = server.client()

    head = ask(conn, method="HEAD")
    assert (head.status, head.getheader("Content-Length"), head.done) == (200, "100", True)
    assert head.read() == b""
    no_content = ask(conn)
    assert (no_content.status, no_content.done, no_content.read(10)) == (204, True, b"")
    not_modified = ask(conn)
    assert (not_modified.status, not_modified.done) == (304, True)
    assert not_modified.getheader("etag") == '"x"'
    assert not_modified.readline() == b""
    chunked_head_answer = ask(conn, method="HEAD")
    assert chunked_head_answer.done
    assert chunked_head_answer.read() == b""
    assert ask(conn).read() == b"body"
    assert server.accepted == 1


def test_interim_answers_before_the_real_one_are_skipped(serve: Serve) -> None:
    server = serve(
        [
            Step(
                b"HTTP/1.1 100 Continue\r\n\r\n"
                b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                + ok(b"done", "X-Real: yes", status="201 Created")
            ),
            Step(NO_CONTENT),
        ]
    )
    conn = server.client()

    response = ask(conn, method="POST", body=b"data")
    assert (response.status, response.reason) == (201, "Created")
    assert response.getheader("X-Real") == "yes"
    assert response.getheader("Link") is None
    assert response.read() == b"done"
    assert ask(conn).status == 204
    assert server.accepted == 1


# 7. answers cut short -----------------------------------------------------------------


def test_a_content_length_body_cut_short_raises_incomplete_read_with_the_partial_bytes(
    serve: Serve,
) -> None:
    server = serve(
        [Step(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcde", close=True)],
        [Step(ok(b"fresh"))],
    )
    conn = server.client()
    response = ask(conn)

    with pytest.raises(IncompleteRead) as caught:
        response.read()
    assert caught.value.partial == b"abcde"
    assert caught.value.expected == 5
    assert response.done
    assert conn.sock is None
    assert ask(conn).read() == b"fresh"
    assert server.accepted == 2


def test_read_amt_of_a_content_length_body_cut_short_returns_what_came_then_empty(
    serve: Serve,
) -> None:
    server = serve([Step(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcde", close=True)])
    conn = server.client()
    response = ask(conn)

    assert response.read(3) == b"abc"
    assert response.read(3) == b"de"
    assert response.read(3) == b""
    assert response.read(3) == b""
    assert response.done
    assert conn.sock is None


def test_read_of_a_chunked_body_cut_mid_chunk_raises_incomplete_read(serve: Serve) -> None:
    server = serve([Step(chunked_head() + b"5\r\nabcde\r\n8\r\nfgh", close=True)])
    conn = server.client()
    response = ask(conn)

    with pytest.raises(IncompleteRead) as caught:
        response.read()
    assert caught.value.partial == b"abcdefgh"
    assert response.done
    assert conn.sock is None


def test_read_amt_of_a_chunked_body_cut_mid_chunk_raises_incomplete_read(serve: Serve) -> None:
    server = serve([Step(chunked_head() + b"5\r\nabcde\r\n8\r\nfghij", close=True)])
    conn = server.client()
    response = ask(conn)

    assert response.read(4) == b"abcd"
    assert response.read(4) == b"efgh"
    with pytest.raises(IncompleteRead) as caught:
        response.read(4)
    assert caught.value.partial == b"ij"
    assert response.done
    assert conn.sock is None


@pytest.mark.parametrize("amt", [None, 10], ids=["read", "read-amt"])
def test_a_chunked_body_cut_between_chunks_keeps_the_bytes_received(
    serve: Serve, amt: int | None
) -> None:
    server = serve([Step(chunked_head() + b"5\r\nabcde\r\n", close=True)])
    response = ask(server.client())

    with pytest.raises(IncompleteRead) as caught:
        response.read(amt)
    assert caught.value.partial == b"abcde"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\n", id="after-the-status-line"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", id="after-a-header"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1", id="inside-a-value"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Le",
            id="inside-a-name",
        ),
    ],
)
def test_headers_cut_short_raise_incomplete_read(serve: Serve, answer: bytes) -> None:
    server = serve([Step(answer, close=True)])
    conn = server.client()
    conn.request("GET", "/")

    with pytest.raises(IncompleteRead) as caught:
        conn.getresponse()
    assert caught.value.partial == b""


def test_a_server_closing_without_answering_gives_remote_disconnected(serve: Serve) -> None:
    server = serve([Step(b"", close=True)])
    conn = server.client()
    conn.request("GET", "/")

    with pytest.raises(RemoteDisconnected) as caught:
        conn.getresponse()
    assert isinstance(caught.value, ConnectionResetError)
    assert isinstance(caught.value, ProtocolError)
    assert server.requests[0].startswith(b"GET / HTTP/1.1\r\n")


# 8. malformed answers -----------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"garbage\r\n\r\n", id="no-version"),
        pytest.param(b"HTTP/1.1\r\n\r\n", id="no-status"),
        pytest.param(b"HTTP/1.1 OK\r\n\r\n", id="no-code"),
        pytest.param(b"HTTP/1.1 2x0 OK\r\n\r\n", id="letter-in-code"),
        pytest.param(b"ICY 200 OK\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", id="header-without-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", id="negative-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", id="word-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1.5\r\n\r\n", id="decimal-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", id="empty-length"),
        pytest.param(
            b"HTTP/1.1 \xb200 OK\r\n\r\n",
            id="superscript-digit-in-code",
        ),
        pytest.param(
            b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
            id="two-digit-code",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1_0\r\n\r\n0123456789",
            id="underscore-in-length",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc",
            id="signed-length",
        ),
    ],
)
def test_a_malformed_answer_head_raises_protocol_error(serve: Serve, answer: bytes) -> None:
    server = serve([Step(answer)])
    conn = server.client()
    conn.request("GET", "/")

    with pytest.raises(ProtocolError) as caught:
        conn.getresponse()
    assert not isinstance(caught.value, IncompleteRead)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"zz\r\nabc\r\n0\r\n\r\n", id="not-hex"),
        pytest.param(b"-5\r\nabcde\r\n0\r\n\r\n", id="negative"),
        pytest.param(b"\r\nabcde\r\n0\r\n\r\n", id="empty"),
        pytest.param(b"5\r\nabcde\r\nnext\r\n", id="bad-second-size"),
        pytest.param(
            b"0x5\r\nabcde\r\n0\r\n\r\n",
            id="hex-prefix",
        ),
    ],
)
def test_an_invalid_chunk_size_raises_protocol_error(serve: Serve, body: bytes) -> None:
    server = serve([Step(chunked_head() + body)])
    conn = server.client()
    response = ask(conn)

    with pytest.raises(ProtocolError) as caught:
        response.read()
    assert not isinstance(caught.value, IncompleteRead)
    assert "taille de bloc" in str(caught.value)
    assert response.done
    assert conn.sock is None


def test_a_malformed_head_does_not_leave_the_connection_out_of_step(serve: Serve) -> None:
    server = serve(
        [Step(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n" + ok(b"stale")), Step(ok(b"x"))],
        [Step(ok(b"fresh"))],
    )
    conn = server.client()
    conn.request("GET", "/")
    with pytest.raises(ProtocolError):
        conn.getresponse()

    assert ask(conn).read() == b"fresh"


# 9. one answer at a time ----------------------------------------------------------------


def test_a_request_while_the_previous_answer_is_unread_is_refused(serve: Serve) -> None:
    server = serve([Step(ok(b"unread body")), Step(ok(b"second"))])
    conn = server.client()
    response = ask(conn, "/first")

    with pytest.raises(ProtocolError):
        conn.request("GET", "/second")
    assert response.read() == b"unread body"
    assert ask(conn, "/second").read() == b"second"
    assert [request.split(b" ")[1] for request in server.requests] == [b"/first", b"/second"]
    assert server.accepted == 1


def test_closing_an_unread_answer_closes_the_connection_and_the_next_request_reconnects(
    serve: Serve,
) -> None:
    server = serve([Step(ok(b"x" * 100_000))], [Step(ok(b"second"))])
    conn = server.client()
    response = ask(conn)
    assert response.read(10) == b"x" * 10

    response.close()
    assert response.done
    assert conn.sock is None
    assert response.read() == b""
    assert ask(conn).read() == b"second"
    assert server.accepted == 2


# 10. headers --------------------------------------------------------------------------


def test_headers_are_case_insensitive_repeated_ones_joined_and_folded_lines_continued(
    serve: Serve,
) -> None:
    server = serve(
        [
            Step(
                b"HTTP/1.1 200 Very OK Indeed\r\n"
                b"Content-Type: application/json\r\n"
                b"Set-Cookie: a=1\r\n"
                b"X-Long: first part\r\n"
                b"  second part\r\n"
                b"\tthird part\r\n"
                b"set-cookie: b=2\r\n"
                b"X-Empty:\r\n"
                b"X-Spaced :  padded  \r\n"
                b"Content-Length: 2\r\n"
                b"\r\n"
                b"{}"
            )
        ]
    )
    response = ask(server.client())

    assert response.reason == "Very OK Indeed"
    assert response.getheader("CONTENT-TYPE") == "application/json"
    assert response.getheader("content-type") == "application/json"
    assert response.getheader("Set-Cookie") == "a=1, b=2"
    assert response.getheader("x-long") == "first part second part third part"
    assert response.getheader("X-Empty") == ""
    assert response.getheader("X-Spaced") == "padded"
    assert response.getheader("X-Missing") is None
    assert response.getheader("X-Missing", "default") == "default"
    assert response.read() == b"{}"


# 11. TLS ------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not on PATH: no certificate for the TLS test")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return key, cert


def tls_server_context(key: Path, cert: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_a_tls_connection_checks_the_certificate_and_reads_the_body(
    serve: Serve, certificate: tuple[Path, Path]
) -> None:
    key, cert = certificate
    server = serve(
        [Step(chunked_head() + chunks(b"over ", b"tls")), Step(ok(b"again"))],
        tls=tls_server_context(key, cert),
    )
    conn = server.client(ssl.create_default_context(cafile=str(cert)))

    response = ask(conn, "/secure")
    assert isinstance(conn.sock, ssl.SSLSocket)
    assert response.read() == b"over tls"
    assert ask(conn).read() == b"again"
    assert server.accepted == 1
    assert server.requests[0].startswith(
        f"GET /secure HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode()
    )


def test_a_tls_connection_refuses_an_unknown_certificate(
    serve: Serve, certificate: tuple[Path, Path]
) -> None:
    key, cert = certificate
    server = serve([Step(ok(b"secret"))], tls=tls_server_context(key, cert))
    conn = server.client(ssl.create_default_context())  # the system's authorities only

    with pytest.raises(ssl.SSLCertVerificationError):
        conn.connect()
    assert conn.sock is None


# 12. through the agent's HubClient --------------------------------------------------------


def json_answer(payload: object, *headers: str, status: str = "200 OK") -> bytes:
    body = json.dumps(payload).encode()
    return ok(body, "Content-Type: application/json", *headers, status=status)


def test_the_hub_client_retries_once_when_the_server_closed_the_kept_alive_connection(
    serve: Serve,
) -> None:
    # the first answer does not say `Connection: close`, yet the server closes
    server = serve([Step(json_answer({"n": 1}), close=True)], [Step(json_answer({"n": 2}))])
    hub = HubClient(f"http://127.0.0.1:{server.port}", token="t", org="o", read_timeout=TIMEOUT)
    try:
        assert hub.get("ping") == {"n": 1}
        assert server.connections[0].closed.wait(TIMEOUT)
        assert hub.get("orgs/o/state") == {"n": 2}
    finally:
        hub.close()

    assert server.accepted == 2
    assert hub.requests == 2
    assert server.connections[0].requests[0].startswith(b"GET /api/v1/ping HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer t\r\n" in server.connections[0].requests[0]
    assert server.connections[1].requests[-1].startswith(b"GET /api/v1/orgs/o/state HTTP/1.1\r\n")


def test_the_hub_client_retries_a_503_with_retry_after(serve: Serve) -> None:
    busy = json_answer({"code": "busy"}, "Retry-After: 0", status="503 Service Unavailable")
    server = serve([Step(busy), Step(json_answer({"ok": True}))])
    waits: list[float] = []
    hub = HubClient(
        f"http://127.0.0.1:{server.port}",
        token="t",
        org="o",
        sleep=waits.append,
        read_timeout=TIMEOUT,
    )
    try:
        assert hub.get("ping") == {"ok": True}
    finally:
        hub.close()

    assert len(waits) == 1
    assert server.accepted == 1
    assert [request.split(b" ")[1] for request in server.requests] == [
        b"/api/v1/ping",
        b"/api/v1/ping",
    ]
