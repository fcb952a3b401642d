"""The audit log page: filters, XLSX export, and the same log on the API."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from comptoir.core import audit
from tests.helpers import fr

PARIS = ZoneInfo("Europe/Paris")
AUDIT = reverse("core:audit", kwargs={"org": "acme"})
EXPORT = reverse("core:audit-export", kwargs={"org": "acme"})


@pytest.fixture
def history(people):
    """Three known entries at known dates, on top of the personas' own history."""
    org = people["admin"].org
    made = {}
    with (
        audit.request_context("198.51.100.7", "req-issue"),
        audit.backdated(datetime(2025, 1, 10, 9, 30, tzinfo=PARIS)),
    ):
        made["issue"] = audit.record(
            "invoice.issue",
            organization=org,
            actor=people["admin"].user,
            object_type="invoice",
            object_id="F-1",
            object_repr="Facture F-2025-001",
            after={"total": "120.00", "client": "Agence Dupont"},
        )
    with audit.backdated(datetime(2025, 3, 15, 14, 0, tzinfo=PARIS)):
        made["cancel"] = audit.record(
            "invoice.cancel",
            organization=org,
            actor=people["backoffice"].user,
            object_type="invoice",
            object_id="F-1",
            object_repr="Facture F-2025-001",
            before={"status": "issued"},
            after={"status": "cancelled"},
        )
    with audit.backdated(datetime(2025, 3, 20, 23, 30, tzinfo=PARIS)):
        made["contact"] = audit.record(
            "contact.create",
            organization=org,
            actor=people["tech_all"].user,
            object_type="contact",
            object_repr="Agence Martin",
        )
    audit.record(
        "invoice.issue",
        organization=people["outsider"].org,
        actor=people["outsider"].user,
        object_repr="Facture de Globex",
    )
    return made


def listed(client, **filters) -> list[str]:
    response = client.get(AUDIT, filters)
    assert response.status_code == 200
    return [entry.action for entry in response.context["page"].object_list]


def test_filter_by_action_prefix(people, history):
    assert listed(people["admin"].client(), action="invoice.") == [
        "invoice.cancel",
        "invoice.issue",
    ]
    assert listed(people["admin"].client(), action="invoice.issue") == ["invoice.issue"]


def test_filter_by_actor(people, history):
    actor = people["backoffice"].user.public_id
    # the back-office persona also created its API token when the fixture was built (now),
    # which is newer than the backdated history: the page lists by date, newest first
    assert listed(people["admin"].client(), actor=actor) == ["token.create", "invoice.cancel"]


def test_filter_by_date_range_in_local_time(people, history):
    client = people["admin"].client()
    assert listed(client, start="2025-03-01", end="2025-03-31") == [
        "contact.create",
        "invoice.cancel",
    ]
    # 23:30 in Paris on the 20th is the 20th, although it is the 20th 22:30 UTC
    assert listed(client, start="2025-03-20", end="2025-03-20") == ["contact.create"]
    assert listed(client, end="2025-01-31") == ["invoice.issue"]


def test_search_in_object_and_actor(people, history):
    client = people["admin"].client()
    assert listed(client, q="f-2025") == ["invoice.cancel", "invoice.issue"]
    assert listed(client, q="martin") == ["contact.create"]
    assert listed(client, q="Globex") == []  # another organisation's entry never shows


def test_filters_combine(people, history):
    client = people["admin"].client()
    assert listed(client, action="invoice.", start="2025-02-01") == ["invoice.cancel"]


def test_invalid_filter_shows_nothing_rather_than_everything(people, history):
    response = people["admin"].client().get(AUDIT, {"actor": "not-a-uuid"})
    assert list(response.context["page"].object_list) == []
    assert "actor" in response.context["form"].errors


def test_page_shows_the_entries(people, history):
    response = people["admin"].client().get(AUDIT, {"action": "invoice."})
    content = response.content.decode()
    assert "Facture F-2025-001" in content
    assert "Agence Martin" not in content


def test_xlsx_export(people, history):
    response = people["admin"].client().get(EXPORT, {"action": "invoice."})
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stamp = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (f'attachment; filename="journal-acme-{stamp}.xlsx"')
    book = load_workbook(BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames == [fr("Audit log")]
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == tuple(
        fr(title)
        for title in (
            "No.",
            "Date",
            "Who",
            "IP address",
            "Action",
            "Object type",
            "Object",
            "Before",
            "After",
        )
    )
    assert len(rows) == 3  # the header, then the two invoice entries, oldest first
    issue = history["issue"]
    assert rows[1] == (
        issue.seq,
        datetime(2025, 1, 10, 9, 30),
        "Admin acme",
        "198.51.100.7",
        "invoice.issue",
        "invoice",
        "Facture F-2025-001",
        None,
        '{"total": "120.00", "client": "Agence Dupont"}',
    )
    assert rows[2][4:] == (
        "invoice.cancel",
        "invoice",
        "Facture F-2025-001",
        '{"status": "issued"}',
        '{"status": "cancelled"}',
    )


def test_api_audit_log_filters_and_pages(people, history):
    api = people["admin"].api()
    first = api.get("/api/v1/orgs/acme/audit", {"action": "invoice.", "limit": 1}).json()
    cancel = history["cancel"]
    assert [item["action"] for item in first["items"]] == ["invoice.cancel"]
    assert first["next_before"] == cancel.seq
    item = first["items"][0]
    assert item["actor"] == str(people["backoffice"].user.public_id)
    assert (item["before"], item["after"], item["hash"]) == (
        {"status": "issued"},
        {"status": "cancelled"},
        cancel.hash,
    )
    second = api.get(
        "/api/v1/orgs/acme/audit",
        {"action": "invoice.", "limit": 1, "before": first["next_before"]},
    ).json()
    assert [item["action"] for item in second["items"]] == ["invoice.issue"]
    assert second["items"][0]["ip"] == "198.51.100.7"
    assert second["next_before"] is None
