"""The storage quota: one conditional UPDATE, never below zero nor above the quota."""

from __future__ import annotations

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir.core.errors import DomainError, LimitExceeded
from comptoir.core.models import Organization, Plan
from comptoir.core.services import create_organization, release_storage, reserve_storage

QUOTA = 1000


@pytest.fixture
def org(db) -> Organization:
    plan = Plan.objects.create(code="small", name="Petit", storage_quota_bytes=QUOTA)
    return create_organization("Petite Boîte", "petite", "business", plan=plan)


def stored_usage(org: Organization) -> int:
    return Organization.objects.values_list("storage_used_bytes", flat=True).get(pk=org.pk)


def test_reserve_counts_bytes_up_to_the_quota(org):
    reserve_storage(org, 600)
    assert (org.storage_used_bytes, stored_usage(org)) == (600, 600)
    reserve_storage(org, 400)
    assert stored_usage(org) == QUOTA


def test_reserve_beyond_the_quota_is_refused_and_changes_nothing(org):
    reserve_storage(org, 600)
    with pytest.raises(LimitExceeded) as refused, translation.override("en"):
        reserve_storage(org, 401)
    assert refused.value.code == "quota_exceeded"
    assert refused.value.status == 409
    assert refused.value.details == {"used": 600, "quota": QUOTA, "requested": 401}
    assert refused.value.message == (
        "Storage quota exceeded: 600\xa0bytes used of 1000\xa0bytes, 401\xa0bytes more refused. "
        "Free space or raise the quota."
    )
    assert stored_usage(org) == 600
    assert org.storage_used_bytes == 600


def test_negative_sizes_are_refused(org):
    with pytest.raises(DomainError):
        reserve_storage(org, -1)
    assert stored_usage(org) == 0


def test_release_gives_bytes_back_but_never_below_zero(org):
    reserve_storage(org, 300)
    release_storage(org, 200)
    assert stored_usage(org) == 100
    release_storage(org, 500)  # more than used: refused, usage kept
    assert stored_usage(org) == 100


def test_a_stale_copy_cannot_squeeze_past_the_quota(org):
    """Two processes holding the same row: the database decides, not the copy."""
    other = Organization.objects.select_related("plan").get(pk=org.pk)
    reserve_storage(org, 700)
    with pytest.raises(LimitExceeded):
        reserve_storage(other, 700)  # `other` still believes 0 bytes are used
    assert stored_usage(org) == 700


operations = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "release"]), st.integers(min_value=0, max_value=QUOTA * 2)
    ),
    max_size=30,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
def test_usage_stays_between_zero_and_quota(org, steps):
    Organization.objects.filter(pk=org.pk).update(storage_used_bytes=0)
    org.refresh_from_db()
    expected = 0
    for verb, size in steps:
        if verb == "reserve":
            try:
                reserve_storage(org, size)
            except LimitExceeded:
                assert expected + size > QUOTA
            else:
                expected += size
        else:
            release_storage(org, size)
            if size <= expected:
                expected -= size
        used = stored_usage(org)
        assert used == expected
        assert 0 <= used <= QUOTA
