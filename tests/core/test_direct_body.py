"""A request body read straight from the connection (comptoir.core.webworker.DirectBody):
the same bytes Gunicorn's reader gives, and the connection's next request intact."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser

from comptoir.core.webworker import direct_body
from comptoir.dossiers import blobs


def request(body: bytes, path: str = "/chunk") -> bytes:
    head = f"PUT {path} HTTP/1.1\r\nHost: hub\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


@pytest.fixture
def connection():
    """(server socket, client socket): a real socket pair, as Gunicorn gets them."""
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def send(client: socket.socket, data: bytes) -> threading.Thread:
    """Send in the background (bigger than the socket's buffer: the reader must go on)."""
    sender = threading.Thread(target=client.sendall, args=(data,))
    sender.start()
    return sender


def environ(req, server: socket.socket) -> dict:
    return {"wsgi.input": req.body, "gunicorn.socket": server}


@pytest.mark.parametrize("size", [0, 1, 5000, 3 * 1024 * 1024 + 7])
def test_the_body_then_the_next_request_on_the_same_connection(connection, size):
    server, client = connection
    body = os.urandom(size)
    sender = send(client, request(body) + request(b"next!", "/after"))
    parser = RequestParser(Config(), server, ("127.0.0.1", 1))
    first = next(parser)
    direct = direct_body(environ(first, server))
    assert direct is not None
    received = bytearray()
    buffer = bytearray(64 * 1024)
    while count := direct.readinto(buffer):
        received += buffer[:count]
    assert bytes(received) == body
    assert direct.readinto(buffer) == 0  # never past the body
    second = next(parser)  # Gunicorn finds the next request where it starts
    assert second.path == "/after"
    assert second.body.read() == b"next!"
    sender.join()


def test_read_gives_every_byte_asked_for_as_a_wsgi_input_does(connection):
    """`read(n)` returns n bytes unless the body ends first, however the socket delivers
    them (what a storage other than local files reads a chunk with, in one call)."""
    server, client = connection
    body = os.urandom(50_000)

    def trickle() -> None:
        data = request(body)
        for start in range(0, len(data), 1000):
            client.sendall(data[start : start + 1000])
            time.sleep(0.0005)

    sender = threading.Thread(target=trickle)
    sender.start()
    req = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
    direct = direct_body(environ(req, server))
    assert direct is not None
    assert direct.read(30_000) == body[:30_000]
    assert direct.read() == body[30_000:]  # the rest of the body, no more
    assert direct.read(10) == b""
    sender.join()


def test_read_gives_what_readinto_gives(connection):
    server, client = connection
    body = os.urandom(200_000)
    sender = send(client, request(body))
    req = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
    direct = direct_body(environ(req, server))
    assert direct is not None
    received = b""
    while piece := direct.read(70_000):
        assert len(piece) == min(70_000, len(body) - len(received))
        received += piece
    assert received == body
    sender.join()


def test_a_body_partly_read_by_gunicorn_is_left_to_it(connection):
    server, client = connection
    sender = send(client, request(b"0123456789"))
    req = next(RequestParser(Config(), server, ("127.0.0.1", 1)))
    assert req.body.read(3) == b"012"
    # its own buffer holds the rest it read ahead: only it can go on
    assert direct_body(environ(req, server)) is None
    assert req.body.read() == b"3456789"
    sender.join()


def test_no_direct_reading_outside_gunicorn():
    assert direct_body({}) is None
    assert direct_body({"wsgi.input": object(), "gunicorn.socket": object()}) is None


class Trickle:
    """A stream that can `readinto`, giving at most `step` bytes a call, and may end early."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step = data, step

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.step, len(self.data))
        memoryview(buffer)[:count] = self.data[:count]
        self.data = self.data[count:]
        return count


@pytest.mark.parametrize("step", [1 << 30, 1000, 1])
def test_pieces_fill_each_buffer_and_stop_at_the_length(monkeypatch, step):
    monkeypatch.setattr(blobs, "CHUNK", 4096)
    data = os.urandom(10_000)
    stream = Trickle(data + b"beyond", step)
    pieces = [bytes(piece) for piece in blobs._pieces(stream, len(data))]
    assert b"".join(pieces) == data
    assert [len(p) for p in pieces] == [4096, 4096, 1808]  # full pieces, whatever the step
    assert stream.data == b"beyond"


def test_pieces_end_with_an_empty_one_when_the_stream_is_short():
    stream = Trickle(b"only this", 4)
    pieces = [bytes(piece) for piece in blobs._pieces(stream, 100)]
    assert pieces == [b"only this", b""]


def test_a_part_file_takes_a_stream_that_reads_into_its_buffer(tmp_path):
    """A chunk read into one buffer is written and hashed as one read by pieces; a stream
    that ends early leaves the file as it was before the chunk."""
    path = str(tmp_path / "upload.part")
    data = os.urandom(3 * 1024 * 1024 + 5)
    with blobs.PartFile(path, create=True) as part:
        assert part.write(0, Trickle(data, 100_000), len(data))
        assert part.digest(len(data)) == hashlib.sha256(data).hexdigest()
    with blobs.PartFile(path, create=False) as part:
        assert not part.write(len(data), Trickle(b"cut", 2), 10)
    with open(path, "rb") as handle:
        assert handle.read() == data


def _read(stream: Any, length: int) -> bytes:
    with blobs.read_body(stream, length) as body:
        return bytes(body)


@pytest.mark.parametrize("size", [5000, 2 * 1024 * 1024])  # a buffer of its own; one kept
@pytest.mark.parametrize("step", [1 << 30, 99_999])
def test_a_body_is_read_into_one_buffer_or_stops_where_the_stream_ends(step, size):
    data = os.urandom(size)
    assert _read(Trickle(data + b"more", step), size) == data
    assert _read(Trickle(data, step), size + 1000) == data  # short: what there is
    only_read = SimpleNamespace(read=io.BytesIO(data).read)  # no readinto: one read
    assert _read(only_read, 3000) == data[:3000]


def test_a_kept_buffer_serves_the_next_body_and_shows_only_its_bytes():
    first, second = os.urandom(2 * 1024 * 1024), os.urandom(1024 * 1024 + 300 * 1024)
    with blobs.read_body(Trickle(first, 1 << 30), len(first)) as body:
        assert bytes(body) == first
        buffer = body.obj
    with blobs.read_body(Trickle(second, 1 << 30), len(second)) as body:
        assert body.obj is buffer  # the same megabytes, not new ones
        assert bytes(body) == second
    busy = [blobs.read_body(Trickle(first, 1 << 30), len(first)) for _ in range(3)]
    views = [reading.__enter__() for reading in busy]  # three requests at once
    assert len({id(view.obj) for view in views}) == 3
    assert all(bytes(view) == first for view in views)
    for reading in busy:
        reading.__exit__(None, None, None)
    assert len(blobs._scratch) == blobs.SCRATCH_KEPT  # no more than that are kept


def test_a_batch_read_straight_from_the_connection(connection):
    """What `store_batch` reads, as the hub's batch endpoint gives it the body."""
    server, client = connection
    body = os.urandom(2 * 1024 * 1024 + 11)
    sender = send(client, request(body) + request(b"", "/after"))
    parser = RequestParser(Config(), server, ("127.0.0.1", 1))
    direct = direct_body(environ(next(parser), server))
    assert direct is not None
    assert _read(direct, len(body)) == body
    assert next(parser).path == "/after"
    sender.join()
