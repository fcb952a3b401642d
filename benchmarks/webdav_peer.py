"""The peer of benchmarks/webdav.py: WsgiDAV's own FilesystemProvider serving a folder.

A WSGI application for Gunicorn, configured like Comptoir's endpoint (the shared
`comptoir.webdav.config`, the same middleware shape: errors, Basic authentication,
request resolver) with WsgiDAV's standard lock and property managers (in memory).

    BENCH_PEER_ROOT=/path BENCH_PEER_USER=u BENCH_PEER_PASSWORD=p \
        python -m gunicorn benchmarks.webdav_peer:application
"""

from __future__ import annotations

import os

from wsgidav.error_printer import ErrorPrinter
from wsgidav.http_authenticator import HTTPAuthenticator
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from comptoir.webdav.config import common_config

application = WsgiDAVApp(
    {
        **common_config(),
        "provider_mapping": {"/": os.environ["BENCH_PEER_ROOT"]},
        "lock_storage": True,
        "property_manager": True,
        "http_authenticator": {
            "domain_controller": None,  # SimpleDomainController(simple_dc.user_mapping)
            "accept_basic": True,
            "accept_digest": False,
            "default_to_digest": False,
        },
        "simple_dc": {
            "user_mapping": {
                "*": {
                    os.environ["BENCH_PEER_USER"]: {"password": os.environ["BENCH_PEER_PASSWORD"]}
                }
            }
        },
        "middleware_stack": [ErrorPrinter, HTTPAuthenticator, RequestResolver],
    }
)
