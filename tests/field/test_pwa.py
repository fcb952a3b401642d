"""Installable: the web app manifest (JSON, its icons at their sizes), the service worker
(JavaScript, its scope covering the field app), the offline page."""

from __future__ import annotations

import json
import re

from django.contrib.staticfiles import finders
from django.test import Client
from PIL import Image

from comptoir.field import pwa

MANIFEST = "/o/acme/terrain/manifest.webmanifest"
WORKER = "/o/acme/terrain/sw.js"


def static_file(url: str) -> str:
    assert url.startswith("/static/"), url
    found = finders.find(url.removeprefix("/static/"))
    assert found, f"{url} is not a static file"
    return str(found)


def test_the_manifest_is_json_with_what_an_install_needs(db):
    response = Client().get(MANIFEST)  # browsers fetch it without cookies
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "Comptoir Terrain"
    assert manifest["start_url"] == "/o/acme/terrain/"
    assert manifest["scope"] == "/o/acme/terrain/"
    assert manifest["id"] == "/o/acme/terrain/"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "fr"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    assert manifest["short_name"]
    icons = {(icon["sizes"], icon["purpose"]): icon for icon in manifest["icons"]}
    assert set(icons) == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for (sizes, _purpose), icon in icons.items():
        assert icon["type"] == "image/png"
        with Image.open(static_file(icon["src"])) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == sizes


def test_the_maskable_icon_fills_its_square(db):
    """A maskable icon has no transparent corner (the launcher cuts its own shape)."""
    path = next(
        icon["src"] for icon in pwa.manifest_for("acme")["icons"] if icon["purpose"] == "maskable"
    )
    with Image.open(static_file(path)) as image:
        rgba = image.convert("RGBA")
        corners = [rgba.getpixel((x, y)) for x in (0, 511) for y in (0, 511)]
    assert all(pixel[3] == 255 for pixel in corners)


def test_the_apple_touch_icon_is_there(db):
    with Image.open(static_file("/static/field/icons/apple-touch-icon.png")) as image:
        assert image.size == (180, 180)


def test_the_service_worker_is_javascript_scoped_to_the_field_app(db):
    response = Client().get(WORKER)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "no-cache", "updates are picked up at once"
    body = response.content.decode()
    config = json.loads(re.search(r"const CONFIG = (\{.*?\});\n", body, re.S).group(1))
    assert config["offline"] == "/o/acme/terrain/hors-ligne/"
    assert config["cachePrefix"] == "comptoir-terrain-acme-"
    assert config["staticPrefix"] == "/static/"
    assert re.fullmatch(r"[0-9a-f]{12}", config["version"])
    shell = config["shell"]
    assert shell[0] == "/o/acme/terrain/hors-ligne/"
    assert "/static/comptoir/vendor/bootstrap/bootstrap.min.css" in shell
    for url in shell[1:]:
        static_file(url)
    assert 'request.mode === "navigate"' in body
    assert "<" not in body.replace("</", ""), "no HTML escaping slipped into the script"


def test_the_worker_changes_when_what_it_stores_changes(db, monkeypatch):
    before = Client().get(WORKER).content
    assert Client().get(WORKER).content == before, "stable: no needless update"
    monkeypatch.setattr(pwa, "WORKER_REVISION", "test")
    assert Client().get(WORKER).content != before


def test_the_pages_register_the_worker_for_their_scope(people):
    page = people["tech_all"].client().get("/o/acme/terrain/").content.decode()
    assert 'data-worker="/o/acme/terrain/sw.js"' in page
    assert 'data-scope="/o/acme/terrain/"' in page
    assert 'src="/static/field/field.js"' in page


def test_the_offline_page_holds_no_personal_data(people):
    response = Client().get("/o/acme/terrain/hors-ligne/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/o/acme/terrain/"' in page
    assert "Acme" not in page and 'class="field-tabs"' not in page
    assert "csrfmiddlewaretoken" not in page
