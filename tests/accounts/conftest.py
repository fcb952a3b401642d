from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Login-failure counters live in the cache, which outlives a test's database."""
    cache.clear()
    yield
    cache.clear()
