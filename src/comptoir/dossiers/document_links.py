"""Links other apps put beside each document on the dossier page.

The WebDAV app adds "open in the desktop application"; the dossier page does not
need to know which apps are installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest

from comptoir.core.models import Membership
from comptoir.dossiers.models import Document


@dataclass(frozen=True)
class DocumentLink:
    label: str
    url: str
    title: str = ""


LinkMaker = Callable[[HttpRequest, Membership, Document], DocumentLink | None]
LINK_MAKERS: list[LinkMaker] = []


def add_link_maker(maker: LinkMaker) -> None:
    if maker not in LINK_MAKERS:
        LINK_MAKERS.append(maker)


def links_for(request: HttpRequest, member: Membership, document: Document) -> list[DocumentLink]:
    """The links of a listed document (none for a document out of the list)."""
    if document.removed_at is not None:
        return []
    found = (maker(request, member, document) for maker in LINK_MAKERS)
    return [link for link in found if link is not None]
