"""The JSON API at /api/v1/: every app's router, one error shape, OpenAPI docs."""

from __future__ import annotations

from ninja import NinjaAPI

from comptoir.accounts.api import BearerAuth, WebSessionAuth
from comptoir.accounts.api import router as accounts_router
from comptoir.agenda.api import router as agenda_router
from comptoir.bundles.api import router as bundles_router
from comptoir.contacts.api import router as contacts_router
from comptoir.core.api import router as core_router
from comptoir.core.api_base import StrictParser, install_error_handlers
from comptoir.dossiers.api import router as dossiers_router
from comptoir.expenses.api import router as expenses_router
from comptoir.numbering.api import router as numbering_router
from comptoir.sync.api import router as sync_router

api = NinjaAPI(
    title="Comptoir API",
    version="1",
    description=(
        "Authenticate with `Authorization: Bearer <token>` (a personal token from the web "
        "page “Jetons d'accès”, or `comptoir token create`). Every error is "
        '`{"code", "message", "details"}`. Another organisation\'s records answer 404. '
        "Text never holds the character U+0000: a request with one answers 422."
    ),
    auth=[BearerAuth(), WebSessionAuth()],
    urls_namespace="api",
    parser=StrictParser(),
)
install_error_handlers(api)
api.add_router("", accounts_router)
api.add_router("", core_router)
api.add_router("", contacts_router)
api.add_router("", dossiers_router)
api.add_router("", expenses_router)
api.add_router("", numbering_router)
api.add_router("", sync_router)
api.add_router("", agenda_router)
api.add_router("", bundles_router)
