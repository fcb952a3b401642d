"""“Open in the desktop application” beside each document of the dossier page.

Word, Excel and PowerPoint files get Office's own URI scheme
(`ms-word:ofe|u|https://…/dav/…`, "open for editing"; "ofv" when the member may
only read). OpenDocument files get LibreOffice's. Any other file gets its WebDAV
address, to open or to paste in a desktop client. The client signs in with the
member's e-mail address and a personal access token.
"""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest
from django.utils.translation import gettext as _

from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers.document_links import DocumentLink
from comptoir.dossiers.models import Document
from comptoir.webdav.app import MOUNT

OFFICE = {
    **dict.fromkeys(("doc", "docx", "docm", "dot", "dotx", "rtf"), ("word", "Word")),
    **dict.fromkeys(("xls", "xlsx", "xlsm", "xlsb", "xlt", "xltx"), ("excel", "Excel")),
    **dict.fromkeys(("ppt", "pptx", "pptm", "pps", "ppsx"), ("powerpoint", "PowerPoint")),
}
OPEN_DOCUMENT = frozenset({"odt", "ods", "odp", "odg"})


def dav_path(member: Membership, document: Document) -> str:
    dossier = document.dossier
    parts = (member.organization.slug, str(dossier.year), dossier.number, document.name)
    return MOUNT + "/" + "/".join(quote(part, safe="") for part in parts)


def desktop_link(request: HttpRequest, member: Membership, document: Document) -> DocumentLink:
    url = request.build_absolute_uri(dav_path(member, document))
    may_edit = member.can(Resource.DOSSIERS, Action.CHANGE, owner_id=document.dossier.technician_id)
    mode = "ofe" if may_edit else "ofv"
    title = _("Sign in with your e-mail address and a personal access token.")
    extension = document.name.rsplit(".", 1)[-1].lower() if "." in document.name else ""
    if extension in OFFICE:
        scheme, application = OFFICE[extension]
        label = _("Open in %(application)s") % {"application": application}
        return DocumentLink(label, f"ms-{scheme}:{mode}|u|{url}", title)
    if extension in OPEN_DOCUMENT:
        label = _("Open in %(application)s") % {"application": "LibreOffice"}
        return DocumentLink(label, f"vnd.libreoffice.command:{mode}|u|{url}", title)
    return DocumentLink(_("WebDAV address"), url, title)
