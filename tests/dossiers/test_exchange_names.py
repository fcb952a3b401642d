"""The quick check of a pushed file name says what `safe_file_name` says."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from comptoir.dossiers.exchange import SHORT_SAFE_NAME, _validate_files, safe_file_name

NAMES = st.text(
    alphabet=st.one_of(st.sampled_from("./\\\x00\x01\x1f\x7f \n"), st.characters(codec="utf-8")),
    max_size=80,
)


@given(NAMES)
@example(".")
@example("..")
@example("...")
@example("a" * 63)
@example("a" * 64)
@example("é" * 63)
@example("\U0001f3e0" * 63)
@example("rapport.pdf\n")
@example("a\ud800")
def test_the_quick_name_check_never_accepts_what_the_full_one_refuses(name):
    if SHORT_SAFE_NAME.match(name):
        assert safe_file_name(name)
    elif len(name) <= 63:
        assert not safe_file_name(name)  # and refuses nothing short it would accept


@given(st.lists(NAMES, max_size=6))
def test_the_files_check_refuses_exactly_the_unsafe_or_repeated_names(names):
    files = [{"name": name, "sha256": "a" * 64, "size": 1} for name in names]
    errors: list[tuple[list[object], str]] = []
    _validate_files(files, lambda loc, msg: errors.append((loc, msg)))
    expected = []
    seen: set[str] = set()
    for index, name in enumerate(names):
        if not safe_file_name(name) or name.casefold() in seen:
            expected.append(["files", index, "name"])
        else:
            seen.add(name.casefold())
    assert [loc for loc, _msg in errors] == expected
