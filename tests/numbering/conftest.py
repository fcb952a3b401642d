"""An organisation without people, for the numbering services (faster than `people`)."""

from __future__ import annotations

from typing import Any

import pytest

from comptoir.core.services import create_organization


@pytest.fixture
def org(db: Any) -> Any:
    return create_organization("Numérotation SARL", "numerotation", "business")


@pytest.fixture
def other_org(db: Any) -> Any:
    return create_organization("Autre SARL", "autre", "business")
