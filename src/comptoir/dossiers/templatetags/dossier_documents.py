"""`{% document_links doc as links %}`: the links other apps add to a document."""

from __future__ import annotations

from typing import Any

from django import template

from comptoir.dossiers.document_links import DocumentLink, links_for
from comptoir.dossiers.models import Document

register = template.Library()


@register.simple_tag(takes_context=True)
def document_links(context: Any, document: Document) -> list[DocumentLink]:
    request = context.get("request")
    member = getattr(request, "member", None)  # set by org_page
    if request is None or member is None:
        return []
    return links_for(request, member, document)
