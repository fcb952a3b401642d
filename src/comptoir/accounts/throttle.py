"""Login throttling: after N failures for one identifier or one address, wait.

Counters live in the cache (the database cache by default, Redis at scale),
so every web process sees the same count.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(identifier: str, ip: str | None) -> list[str]:
    keys = ["login-fail:id:" + hashlib.sha256(identifier.strip().lower().encode()).hexdigest()]
    if ip:
        keys.append(f"login-fail:ip:{ip}")
    return keys


def is_locked(identifier: str, ip: str | None) -> bool:
    limit = settings.COMPTOIR_LOGIN_MAX_FAILURES
    counts = cache.get_many(_keys(identifier, ip))
    # An address gets more room than an account: an office shares one address.
    return any(count >= (limit * 4 if ":ip:" in key else limit) for key, count in counts.items())


def note_failure(identifier: str, ip: str | None) -> None:
    timeout = settings.COMPTOIR_LOGIN_LOCKOUT_SECONDS
    for key in _keys(identifier, ip):
        if cache.add(key, 1, timeout):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout)


def clear(identifier: str) -> None:
    cache.delete(_keys(identifier, None)[0])
