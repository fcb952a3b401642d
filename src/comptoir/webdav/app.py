"""The WsgiDAV application behind /dav/: Comptoir's provider, token authentication,
locks and dead properties in the database. Built once per process."""

from __future__ import annotations

import logging
from functools import cache

from django.urls import get_script_prefix
from wsgidav import util
from wsgidav.error_printer import ErrorPrinter
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from comptoir.webdav.auth import TokenAuthenticator
from comptoir.webdav.config import common_config
from comptoir.webdav.locks import DatabaseLockManager, DatabaseLockStorage
from comptoir.webdav.properties import DatabasePropertyManager
from comptoir.webdav.provider import ComptoirProvider

MOUNT = "/dav"


@cache
def application(mount_path: str) -> WsgiDAVApp:
    util.public_wsgidav_info = "WsgiDAV"  # as WsgiDAV's own server does for suppress_version_info
    logging.getLogger("wsgidav").setLevel(logging.WARNING)  # not a line per request
    provider = ComptoirProvider()
    config = {
        **common_config(),
        "mount_path": mount_path,
        "provider_mapping": {"/": provider},
        "lock_storage": False,  # set below: WsgiDAV would build its own manager
        "property_manager": DatabasePropertyManager(),
        "http_authenticator": {"accept_basic": False, "accept_digest": False},
        "middleware_stack": [ErrorPrinter, TokenAuthenticator, RequestResolver],
        # Django has already decoded PATH_INFO (UTF-8) in request.META
        "hotfixes": {"re_encode_path_info": False},
    }
    app = WsgiDAVApp(config)
    app.lock_manager = DatabaseLockManager(DatabaseLockStorage())
    provider.set_lock_manager(app.lock_manager)
    return app


def current() -> WsgiDAVApp:
    return application(get_script_prefix().rstrip("/") + MOUNT)
