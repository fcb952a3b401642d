"""WsgiDAV settings shared by Comptoir's endpoint and the benchmark's peer
(benchmarks/webdav_peer.py), so that the two differ only by what is measured.
Imports nothing from Django."""

from __future__ import annotations

from typing import Any

# Bytes per read when serving a file. WsgiDAV's default (8 KiB) costs a Python
# round trip per 8 KiB (through Django's streaming response, for Comptoir).
BLOCK_SIZE = 256 * 1024


def common_config() -> dict[str, Any]:
    return {
        "verbose": 1,
        "logging": {"enable": False},
        "block_size": BLOCK_SIZE,
        "suppress_version_info": True,
        "add_header_MS_Author_Via": True,
        "dir_browser": {"enable": False},
    }
