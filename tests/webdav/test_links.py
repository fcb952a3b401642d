"""“Open in the desktop application” beside each document of the dossier page."""

from __future__ import annotations

from django.test import RequestFactory

from comptoir.core.models import Membership
from comptoir.dossiers.models import Document
from comptoir.webdav.links import desktop_link
from tests.helpers import fr


def test_the_dossier_page_links_each_listed_document_to_its_desktop_application(people, dossier_of):
    dossier = dossier_of(
        "tech_all",
        ("rapport.docx", b"PK word"),
        ("mesures.xlsx", b"PK excel"),
        ("plan.pdf", b"%PDF"),
    )
    page = people["tech_all"].client().get(f"/o/acme/dossiers/{dossier.public_id}/")
    assert page.status_code == 200
    content = page.content.decode()
    base = f"http://testserver/dav/acme/{dossier.year}/{dossier.number}"
    assert f'href="ms-word:ofe|u|{base}/rapport.docx"' in content
    assert f'href="ms-excel:ofe|u|{base}/mesures.xlsx"' in content
    assert f'href="{base}/plan.pdf"' in content
    assert fr("Open in %(application)s") % {"application": "Word"} in content


def test_a_removed_document_has_no_link(people, dossier_of):
    dossier = dossier_of("tech_all", ("rapport.docx", b"PK word"))
    Document.objects.filter(dossier=dossier).update(removed_at="2026-01-01T00:00Z")
    content = people["tech_all"].client().get(f"/o/acme/dossiers/{dossier.public_id}/").content
    assert b"ms-word:" not in content


def test_a_member_who_may_only_read_gets_the_read_only_mode(people, dossier_of):
    dossier = dossier_of("tech_all", ("rapport.docx", b"PK word"), ("note.odt", b"PK odt"))
    reader = Membership(organization=dossier.organization, role="technician_station")
    request = RequestFactory().get("/", secure=True)
    word, odt = (
        desktop_link(request, reader, Document.objects.get(dossier=dossier, name=name))
        for name in ("rapport.docx", "note.odt")
    )
    base = f"https://testserver/dav/acme/{dossier.year}/{dossier.number}"
    assert word.url == f"ms-word:ofv|u|{base}/rapport.docx"
    assert odt.url == f"vnd.libreoffice.command:ofv|u|{base}/note.odt"
