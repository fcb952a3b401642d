"""HTTP to the hub over one persistent connection (comptoir_agent.http, keep-alive).

Error answers become exceptions: `HubError` (code, message, details from the
protocol's error shape), `Unauthorized` for 401, `Unreachable` when the hub
cannot be reached or keeps answering 429/503/5xx. A request that fails because
the kept-alive connection was closed under it is retried once on a fresh one.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from comptoir_agent import __version__
from comptoir_agent.http import Connection, ProtocolError, RemoteDisconnected, Response
from comptoir_agent.protocol import API_PREFIX, BATCH_CONTENT_TYPE

if TYPE_CHECKING:
    import queue

R = TypeVar("R")

CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 300.0
BUSY_RETRIES = 3
# Answers worth retrying later; 507 (quota) and other errors are final for this request.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0


class HubError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message or code or f"HTTP {status}")
        self.status = status
        self.code = code
        self.message = message or code or f"HTTP {status}"
        self.details: dict[str, Any] = details if isinstance(details, dict) else {}


class Unauthorized(HubError):
    """401: the token was revoked or is unknown."""


class Unreachable(Exception):
    """The hub cannot be reached, or is overloaded / failing (retry later)."""


Sleeper = Callable[[float], None]


class HubClient:
    def __init__(
        self,
        hub: str,
        token: str | None = None,
        org: str | None = None,
        sleep: Sleeper = time.sleep,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        parsed = urllib.parse.urlsplit(hub)
        if parsed.scheme not in {"http", "https"} or not parsed.hostname:
            raise ValueError(f"adresse de hub invalide : {hub!r}")
        self.scheme = parsed.scheme
        self.host = parsed.hostname
        self.port = parsed.port
        self.prefix = parsed.path.rstrip("/") + API_PREFIX
        self.token = token
        self.org = org
        self.sleep = sleep
        self.read_timeout = read_timeout
        self.conn: Connection | None = None
        self.requests = 0  # how many requests this client sent (tests and benchmarks read it)

    # connection ---------------------------------------------------------------

    def _connect(self) -> Connection:
        if self.conn is None:
            context = None
            if self.scheme == "https":
                import ssl  # only for a hub over https: its import is not free

                context = ssl.create_default_context()
            self.conn = Connection(
                self.host, self.port, CONNECT_TIMEOUT, context, read_timeout=self.read_timeout
            )
            self.conn.connect()
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def clone(self) -> HubClient:
        """Another client for the same hub and token, with its own connection.

        A client is one connection, used by one thread at a time: a second request in
        flight (transfer.upload) needs a second client.
        """
        twin = copy.copy(self)
        twin.conn = None
        twin.requests = 0
        return twin

    def org_path(self, path: str) -> str:
        if not self.org:
            raise ValueError("organisation inconnue")
        return f"orgs/{urllib.parse.quote(self.org, safe='')}/{path}"

    # requests -----------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request and return the response with a 2xx status, body unread.

        The caller must read the whole body before the next request.
        """
        all_headers = {
            "User-Agent": f"comptoir-agent/{__version__}",
            "Accept": "application/json",
            **(headers or {}),
        }
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        url = self.prefix + path
        for busy in range(BUSY_RETRIES + 1):
            response = self._send_once(method, url, body, all_headers)
            if response.status in RETRY_STATUSES:
                wait = _retry_after(response, busy)
                response.read()
                if busy < BUSY_RETRIES:
                    self.sleep(wait)
                    continue
                raise Unreachable(f"le hub est occupé ou en erreur (HTTP {response.status})")
            if response.status >= 400:
                raise _error(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> Response:
        for attempt in range(2):
            try:
                conn = self._connect()
                conn.request(method, url, body=body, headers=headers)
                response = conn.getresponse()
                self.requests += 1
                return response
            except (RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt == 1:
                    raise Unreachable(f"connexion au hub perdue : {exc}") from exc
            except (OSError, ProtocolError) as exc:
                self.close()
                raise Unreachable(f"hub injoignable : {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        """A JSON request; returns the decoded answer (None for 204)."""
        if payload is None:
            return read_json(self.send(method, path, None, {}))
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return self.post_encoded(path, body, method)

    def post_encoded(self, path: str, body: bytes, method: str = "POST") -> Any:
        """A request whose JSON body is already encoded; returns the decoded answer."""
        response = self.send(method, path, body, {"Content-Type": "application/json"})
        return read_json(response)

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, payload: Any) -> Any:
        return self.call("POST", path, payload)

    def post_batch(self, path: str, body: bytes) -> Any:
        response = self.send("POST", path, body, {"Content-Type": BATCH_CONTENT_TYPE})
        return read_json(response)


def read_json(response: Response) -> Any:
    try:
        raw = response.read()
    except (OSError, ProtocolError) as exc:
        raise Unreachable(f"réponse du hub interrompue : {exc}") from exc
    if response.status == 204 or not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise HubError(response.status, "bad_response", "réponse du hub illisible") from exc


def _retry_after(response: Response, attempt: int) -> float:
    header = response.getheader("Retry-After")
    try:
        wait = float(header) if header else 0.0
    except ValueError:
        wait = 0.0
    return min(MAX_RETRY_AFTER, wait or float(2**attempt))


def _error(response: Response) -> HubError:
    try:
        raw = response.read()
        body = json.loads(raw) if raw else {}
    except (ValueError, OSError, ProtocolError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code") or "")
    message = str(body.get("message") or body.get("detail") or "")
    details = body.get("details")
    if response.status == 401:
        return Unauthorized(401, code or "unauthorized", message or "jeton refusé", details)
    return HubError(response.status, code, message, details)


class Lender:
    """Clients lent to threads: a client is one connection, for one request at a time,
    so a job runs with a client no other job holds meanwhile."""

    def __init__(self, clients: Iterable[HubClient]) -> None:
        import queue  # only for passes with requests in flight together

        self._idle: queue.SimpleQueue[HubClient] = queue.SimpleQueue()
        for each in clients:
            self._idle.put(each)

    def run(self, job: Callable[[HubClient], R]) -> R:
        own = self._idle.get()
        try:
            return job(own)
        finally:
            self._idle.put(own)
