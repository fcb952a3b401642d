"""Ends the session of a paired phone as soon as the device is revoked or its member blocked."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from comptoir.field import services

# The session key naming the paired device; set only on a phone's device session.
DEVICE_SESSION_KEY = "field_device"


class PairedDeviceMiddleware:
    """Install after AuthenticationMiddleware: a request on a revoked device's session is
    logged out before any view runs (it then meets the login page like any visitor)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        device_id = session.get(DEVICE_SESSION_KEY) if session is not None else None
        if (
            device_id
            and request.user.is_authenticated
            and not services.device_session_allowed(device_id, request.user.pk)
        ):
            logout(request)
        return self.get_response(request)
