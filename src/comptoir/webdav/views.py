"""/dav/…: hands the request to the WsgiDAV application and its answer back to Django.

A Django view (rather than a WSGI mount in wsgi.py) so that `comptoir serve`, the
test client and `live_server` all serve /dav/ the same way, inside Django's
middleware (request id and client IP for the audit log, language). The view is
CSRF-exempt and never looks at the session: only the Basic credentials count.

The WsgiDAV application runs inside the view until its first bytes are ready,
so database work, the audit context and the lock cache all happen here; only
the rest of a large file is streamed afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote, urlparse

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from comptoir.webdav import app, locks
from comptoir.webdav.base import LOCAL_FILE

logger = logging.getLogger(__name__)

BUFFERED = 256 * 1024  # answers up to this size are sent whole, not streamed
MAX_SEGMENT_BYTES = 255
MAX_PATH_BYTES = 4096
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade"}


def path_problem(path: str) -> str | None:
    """Why a path below /dav/ is refused before anything looks it up, or None."""
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return _("The path is too long.")
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        return _("A path may not contain control characters.")
    for segment in path.split("/"):
        if segment in (".", ".."):
            return _("A path may not contain “.” or “..” segments.")
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            return _("A name may not be longer than 255 bytes.")
    return None


def _destination_path(request: HttpRequest) -> str:
    raw = request.headers.get("Destination", "")
    return urlparse(unquote(raw), allow_fragments=False).path if raw else ""


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


@csrf_exempt
def dav(request: HttpRequest) -> HttpResponseBase:
    for path in (request.path_info, _destination_path(request)):
        problem = path_problem(path)
        if problem:
            return _bad_request(problem)
    environ = _environ(request)
    with locks.request_cache():
        return _run(app.current(), environ)


def _environ(request: HttpRequest) -> dict[str, Any]:
    """The WSGI environ WsgiDAV sees: SCRIPT_NAME ends with /dav, PATH_INFO is the rest."""
    environ = dict(request.META)
    environ.setdefault("HTTP_HOST", request.get_host())  # WsgiDAV compares it to Destination
    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + app.MOUNT
    environ["PATH_INFO"] = request.path_info[len(app.MOUNT) :] or "/"  # decoded by Django
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if not (chunked and not environ.get("CONTENT_LENGTH")):
        # Django's stream stops at Content-Length; a chunked body (macOS Finder) has
        # none and is read to its end from the server's own input.
        environ["wsgi.input"] = request
    return environ


def _run(application: Any, environ: dict[str, Any]) -> HttpResponseBase:
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started["status"], started["headers"] = status, headers
        return None

    body = iter(application(environ, start_response))
    first: list[bytes] = []
    size, finished = 0, True
    for chunk in body:
        first.append(chunk)
        size += len(chunk)
        if size >= BUFFERED:
            finished = False
            break
    status = int(started["status"].split(" ", 1)[0])
    if status >= 500:
        logger.error("WebDAV %s %s: %s", environ["REQUEST_METHOD"], environ["PATH_INFO"], status)
        _close(body)
        return HttpResponse(
            _("The server could not complete this request."),
            status=status,
            content_type="text/plain; charset=utf-8",
        )
    if finished:
        _close(body)
        response: HttpResponseBase = HttpResponse(b"".join(first), status=status)
    elif status == 200 and environ["REQUEST_METHOD"] == "GET" and LOCAL_FILE in environ:
        # A whole file from local storage: the server sends it (sendfile), not Python.
        _close(body)
        response = FileResponse(open(environ[LOCAL_FILE], "rb"))  # noqa: SIM115
        del response["Content-Disposition"]
    else:
        response = StreamingHttpResponse(_rest(first, body), status=status)
    for name, value in started["headers"]:
        if name.lower() not in HOP_BY_HOP:
            response[name] = value
    return response


def _rest(first: list[bytes], body: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from first
        yield from body
    finally:
        _close(body)


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()
