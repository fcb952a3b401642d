"""The French catalog is complete, compiled, and actually used by the pages.

Regenerate after changing strings (from src/comptoir):
    django-admin makemessages -l fr --settings comptoir.settings --pythonpath .. \
        -e html,txt,py,subject -i "static/*" -i "*/static/*" -i "*/migrations/*"
    django-admin compilemessages -l fr --settings comptoir.settings --pythonpath ..
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "comptoir"
MESSAGES = PACKAGE / "locale" / "fr" / "LC_MESSAGES"
PO_FILE = MESSAGES / "django.po"
MO_FILE = MESSAGES / "django.mo"
TEMPLATE_SUFFIXES = {".html", ".txt", ".subject"}


# --- a tiny .po reader ------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> str:
        """The key under which gettext stores the entry (context joined by EOT)."""
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: _ESCAPES[m.group(1)], text[1:-1])


def read_po(path: Path) -> list[Entry]:
    """Entries of a .po file as gettext's tools write it: one block per entry."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry, current = Entry(), None
        for line in block.strip().splitlines():
            line = line.strip()
            if line.startswith("#~"):
                entry.obsolete = True
            elif line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            elif line.startswith("#"):
                continue
            elif match := re.match(
                r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$', line
            ):
                keyword, index, value = match.group(1), int(match.group(2) or 0), match.group(3)
                current = (keyword, index)
                if keyword == "msgstr":
                    entry.msgstr[index] = _unquote(value)
                else:
                    setattr(entry, keyword, _unquote(value))
            else:
                assert current is not None and line.startswith('"'), f"unexpected: {line!r}"
                keyword, index = current
                if keyword == "msgstr":
                    entry.msgstr[index] += _unquote(line)
                else:
                    setattr(entry, keyword, getattr(entry, keyword) + _unquote(line))
        if current is not None or entry.obsolete:
            entries.append(entry)
    return entries


def catalog_entries() -> list[Entry]:
    return [entry for entry in read_po(PO_FILE) if entry.msgid and not entry.obsolete]


def header() -> str:
    return next(entry for entry in read_po(PO_FILE) if entry.msgid == "").msgstr[0]


def compiled_catalog(path: Path = MO_FILE) -> dict[object, str]:
    with path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


# --- (a) the catalog is complete ----------------------------------------------


def test_catalog_header_declares_french_plurals():
    text = header()
    assert "Language: fr\n" in text
    assert "Plural-Forms: nplurals=2; plural=(n > 1);" in text
    assert "charset=UTF-8" in text


def test_every_entry_is_translated_and_none_is_fuzzy():
    entries = catalog_entries()
    assert len(entries) > 100
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]
    empty = [
        entry.msgid
        for entry in entries
        if not entry.msgstr or any(not text.strip() for text in entry.msgstr.values())
    ]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not empty, f"untranslated entries: {empty}"
    assert "fuzzy" not in next(e for e in read_po(PO_FILE) if e.msgid == "").flags


def test_plural_entries_have_both_french_forms():
    for entry in catalog_entries():
        if entry.msgid_plural is not None:
            assert sorted(entry.msgstr) == [0, 1], entry.msgid


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
HTML_TAG = re.compile(r"</?(?:a|b|br|code|em|i|p|span|strong)\b[^>]*>")


def test_translations_keep_placeholders_and_html_tags():
    for entry in catalog_entries():
        sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
        expected = sorted(set(PLACEHOLDER.findall(" ".join(sources))))
        for text in entry.msgstr.values():
            assert sorted(set(PLACEHOLDER.findall(text))) == expected, (entry.msgid, text)
            assert sorted(HTML_TAG.findall(text)) == sorted(HTML_TAG.findall(entry.msgid)), (
                entry.msgid
            )


# --- (b) the compiled catalog matches the .po -----------------------------------


def test_compiled_catalog_is_up_to_date(tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("GNU gettext's msgfmt is not installed")
    fresh = tmp_path / "django.mo"
    subprocess.run(
        [msgfmt, "--check-format", "-o", str(fresh), str(PO_FILE)], check=True, capture_output=True
    )
    assert compiled_catalog(MO_FILE) == compiled_catalog(fresh), (
        "django.mo is stale: run `django-admin compilemessages` (see this module's docstring)"
    )


# --- (c) the pages speak French by default, English on request ----------------


def test_login_page_is_french_by_default(client, db):
    response = client.get("/compte/connexion/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="fr"' in page
    assert "Connexion à Comptoir" in page
    assert "Mot de passe" in page
    assert "Password" not in page


def test_login_page_is_english_when_chosen(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/compte/connexion/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en"' in page
    assert "Log in to Comptoir" in page
    assert "Password" in page
    assert "Mot de passe" not in page


# --- (d) every string of the source is in the catalog -------------------------


def source_files(suffixes: set[str]) -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*")
        if path.is_file()
        and path.suffix in suffixes
        and not {"static", "migrations", "locale", "__pycache__"} & set(path.parts)
    )


STRING = r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
TRANSLATE = re.compile(
    rf"{{%\s*(?:translate|trans)\s+(?P<msg>{STRING})"
    rf"(?P<options>(?:\s+(?!%}})\S+)*)\s*%}}"
)
CONTEXT = re.compile(rf"\bcontext\s+(?P<ctx>{STRING})")
BLOCK = re.compile(
    r"{%\s*(?:blocktranslate|blocktrans)\b(?P<options>.*?)%}(?P<body>.*?)"
    r"{%\s*(?:endblocktranslate|endblocktrans)\s*%}",
    re.DOTALL,
)
PLURAL = re.compile(r"{%\s*plural\s*%}")
VARIABLE = re.compile(r"{{\s*(\w+)\s*}}")


def _literal(text: str) -> str:
    return ast.literal_eval(text)


def _trim(text: str) -> str:
    # What Django does for {% blocktranslate trimmed %}.
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def template_messages() -> set[object]:
    """Catalog keys of every {% translate %} and {% blocktranslate %} of the templates."""
    keys: set[object] = set()
    for path in source_files(TEMPLATE_SUFFIXES):
        source = path.read_text(encoding="utf-8")
        for match in TRANSLATE.finditer(source):
            options = match.group("options")
            if re.search(r"\bnoop\b", options):
                continue
            message = _literal(match.group("msg"))
            context = CONTEXT.search(options)
            prefix = "" if context is None else f"{_literal(context.group('ctx'))}\x04"
            keys.add(prefix + message)
        for match in BLOCK.finditer(source):
            options, body = match.group("options"), match.group("body")
            parts = PLURAL.split(body)
            if "trimmed" in options.split():
                parts = [_trim(part) for part in parts]
            # Django doubles a literal "%" and turns {{ name }} into %(name)s.
            parts = [VARIABLE.sub(r"%(\1)s", part.replace("%", "%%")) for part in parts]
            context = CONTEXT.search(options)
            prefix = "" if context is None else f"{_literal(context.group('ctx'))}\x04"
            keys.add(prefix + parts[0] if len(parts) == 1 else (prefix + parts[0], 0))
    return keys


GETTEXT_FUNCTIONS = {
    "_",
    "gettext",
    "gettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "npgettext",
    "npgettext_lazy",
}


def python_messages() -> set[object]:
    """Catalog keys of every gettext call with literal arguments in the Python sources."""
    keys: set[object] = set()
    for path in source_files({".py"}):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in GETTEXT_FUNCTIONS:
                continue
            with_context = name.startswith(("pgettext", "npgettext"))
            plural = name.startswith(("ngettext", "npgettext"))
            literals = [
                arg.value
                for arg in node.args[: 1 + with_context]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            ]
            if len(literals) < 1 + with_context:
                continue  # a variable: nothing to check statically
            message = f"{literals[0]}\x04{literals[1]}" if with_context else literals[0]
            keys.add((message, 0) if plural else message)
    return keys


def test_template_strings_are_all_in_the_catalog():
    messages = template_messages()
    assert "Log in to Comptoir" in messages
    assert len(messages) > 100
    catalog = compiled_catalog()
    missing = sorted(map(repr, messages - catalog.keys()))
    assert not missing, f"not in the catalog (run makemessages): {missing}"


def test_python_strings_are_all_in_the_catalog():
    messages = python_messages()
    assert "Password" in messages
    catalog = compiled_catalog()
    missing = sorted(map(repr, messages - catalog.keys()))
    assert not missing, f"not in the catalog (run makemessages): {missing}"
