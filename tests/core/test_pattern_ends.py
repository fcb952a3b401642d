"""Input patterns end at the end of the text: Python's `$` also matches before a final
line break, so "…\\n" would pass a check written `^…$` (`\\Z` is used instead)."""

from __future__ import annotations

import re

import pytest

from comptoir.accounts.services import LOGIN_PATTERN
from comptoir.agenda.feeds import TOKEN_RE
from comptoir.company.identifiers import ACCOUNT_PATTERN, JOURNAL_PATTERN, NAF_PATTERN
from comptoir.company.outgoing import HOST_PATTERN
from comptoir.company.services import TARIFF_CODE
from comptoir.contacts.uploads import _UPLOAD_ID
from comptoir.dossiers.exchange import HASH_RE, MISSION_RE, SURFACE_RE, UUID_RE
from comptoir.expenses.listing import MONTH
from comptoir.numbering.masks import LITERAL_PATTERN
from comptoir.sync.api import RANGE
from comptoir.sync.services import CONTENT_RANGE, REV_RE
from comptoir.sync.services import HASH_RE as SYNC_HASH_RE
from comptoir.webdav.space_resources import MEMBER_SEGMENT
from comptoir_agent.settings import SECTION_NAME

CASES = [
    (LOGIN_PATTERN, "marie.dupont"),
    (TOKEN_RE, "ab" * 32),
    (ACCOUNT_PATTERN, "411000"),
    (JOURNAL_PATTERN, "VT"),
    (NAF_PATTERN, "71.20B"),
    (HOST_PATTERN, "smtp.example.fr"),
    (HOST_PATTERN, "[::1]"),
    (TARIFF_CODE, "DPE-T3"),
    (_UPLOAD_ID, "a" * 24),
    (HASH_RE, "a" * 64),
    (SYNC_HASH_RE, "a" * 64),
    (MISSION_RE, "dpe"),
    (SURFACE_RE, "48.50"),
    (UUID_RE, "3f2b8c1e-7a4d-4e9b-9c55-0d1e2f3a4b5c"),
    (MONTH, "2026-11"),
    (LITERAL_PATTERN, "DEV-"),
    (RANGE, "bytes=0-99"),
    (CONTENT_RANGE, "bytes 0-99/100"),
    (REV_RE, "3-" + "a" * 32),
    (MEMBER_SEGMENT, "b" * 32),
    (SECTION_NAME, "company"),
]


@pytest.mark.parametrize(("pattern", "valid"), CASES, ids=[p.pattern[:24] for p, _ in CASES])
def test_a_pattern_refuses_its_valid_value_followed_by_a_line_break(
    pattern: re.Pattern[str], valid: str
):
    assert pattern.match(valid)
    assert not pattern.match(valid + "\n")
