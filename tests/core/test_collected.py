"""`comptoir serve` collects the static files only when their sources changed."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.test import override_settings

from comptoir.core import collected


@pytest.fixture
def static(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "site.css").write_text("body { color: #123; }")
    root = tmp_path / "data" / "static"
    with override_settings(STATIC_ROOT=str(root), STATICFILES_DIRS=[str(sources)]):
        yield sources, root


def test_a_second_start_with_the_same_sources_collects_nothing(static, monkeypatch):
    _sources, root = static
    assert collected.collect_static()
    assert (root / "site.css").read_text() == "body { color: #123; }"
    assert (root / "comptoir").is_dir()  # the apps' files too
    assert not any(path.name.endswith(".collected") for path in root.rglob("*"))

    def refuse(*args, **kwargs):
        raise AssertionError("collected again")

    monkeypatch.setattr(collected, "call_command", refuse)
    assert not collected.collect_static()


def test_a_changed_or_new_source_is_collected_again(static):
    sources, root = static
    assert collected.collect_static()
    (sources / "site.css").write_text("body { color: #456; }")
    stat = os.stat(sources / "site.css")
    os.utime(sources / "site.css", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert collected.collect_static()
    assert (root / "site.css").read_text() == "body { color: #456; }"
    (sources / "new.js").write_text("let x = 1;")
    assert collected.collect_static()
    assert (root / "new.js").is_file()
    assert not collected.collect_static()


def test_a_collected_file_gone_since_is_collected_again(static):
    _sources, root = static
    assert collected.collect_static()
    (root / "staticfiles.json").write_text(json.dumps({"paths": {"site.css": "site.css"}}))
    assert not collected.collect_static()
    (root / "site.css").unlink()
    assert collected.collect_static()
    assert (root / "site.css").is_file()


def test_a_collection_cut_short_is_done_again(static, monkeypatch):
    sources, root = static
    assert collected.collect_static()
    (sources / "site.css").write_text("changed")
    os.utime(sources / "site.css", ns=(0, time.time_ns() + 10**10))

    def cut(*args, **kwargs):
        raise KeyboardInterrupt

    real = collected.call_command
    monkeypatch.setattr(collected, "call_command", cut)
    with pytest.raises(KeyboardInterrupt):
        collected.collect_static()
    monkeypatch.setattr(collected, "call_command", real)
    assert collected.collect_static()  # not taken for done
    assert (root / "site.css").read_text() == "changed"
