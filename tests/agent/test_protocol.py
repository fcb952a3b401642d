"""Canonical JSON, revision ids and the batch framing (pure functions)."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comptoir_agent.protocol import (
    FramingError,
    canonical_json,
    decode_batch,
    document_digest,
    encode_batch,
    encode_push,
    next_rev,
    parse_batch_header,
    rev_digest,
    rev_generation,
    tapered,
    with_manifest,
)


def test_canonical_json_sorts_keys_without_spaces_and_keeps_accents():
    doc = {"b": 1, "a": {"z": "Théâtre", "y": [1, 2]}}
    assert canonical_json(doc) == '{"a":{"y":[1,2],"z":"Théâtre"},"b":1}'.encode()


def test_digest_is_the_first_32_hex_of_sha256():
    doc = {"id": "x", "files": []}
    expected = hashlib.sha256(b'{"files":[],"id":"x"}').hexdigest()[:32]
    assert document_digest(doc) == expected
    assert len(expected) == 32


def test_revision_ids():
    assert next_rev(None, "ab" * 16) == "1-" + "ab" * 16
    assert next_rev("7-" + "0" * 32, "cd" * 16) == "8-" + "cd" * 16
    assert rev_generation("12-abc") == 12
    assert rev_generation(None) == 0
    assert rev_generation("bogus") == 0
    assert rev_digest("3-abc") == "abc"
    assert rev_digest(None) is None


def test_manifest_is_sorted_by_name_and_keeps_only_the_three_keys():
    doc = with_manifest(
        {"id": "x", "files": "ignored"},
        [
            {"name": "b.pdf", "sha256": "1" * 64, "size": 2, "mtime": 5},
            {"name": "a.pdf", "sha256": "2" * 64, "size": 1},
        ],
    )
    assert doc["files"] == [
        {"name": "a.pdf", "sha256": "2" * 64, "size": 1},
        {"name": "b.pdf", "sha256": "1" * 64, "size": 2},
    ]


def test_resending_the_same_document_gives_the_same_revision():
    doc = with_manifest({"id": "x", "number": "1"}, [])
    assert next_rev("1-a", document_digest(doc)) == next_rev("1-a", document_digest(dict(doc)))


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_batch_roundtrip(blobs):
    pairs = [(hashlib.sha256(b).hexdigest(), b) for b in blobs]
    assert decode_batch(encode_batch(pairs)) == pairs


def test_batch_header_is_one_json_line():
    body = encode_batch([(hashlib.sha256(b"abc").hexdigest(), b"abc")])
    header, _, rest = body.partition(b"\n")
    assert json.loads(header) == [{"sha256": hashlib.sha256(b"abc").hexdigest(), "size": 3}]
    assert rest == b"abc"


@pytest.mark.parametrize(
    "body",
    [
        b"no newline",
        b"{}\n",
        b'[{"sha256": "zz", "size": 1}]\nx',
        b'[{"sha256": "' + b"a" * 64 + b'", "size": -1}]\n',
        b'[{"sha256": "' + hashlib.sha256(b"abc").hexdigest().encode() + b'", "size": 3}]\nab',
        b'[{"sha256": "' + hashlib.sha256(b"abc").hexdigest().encode() + b'", "size": 3}]\nabd',
        b'[{"sha256": "' + hashlib.sha256(b"abc").hexdigest().encode() + b'", "size": 3}]\nabcX',
    ],
)
def test_bad_batches_are_refused(body):
    with pytest.raises(FramingError):
        decode_batch(body)


def test_header_parser_refuses_booleans_as_sizes():
    with pytest.raises(FramingError):
        parse_batch_header(b'[{"sha256": "' + b"a" * 64 + b'", "size": true}]')


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "base_rev": st.none() | st.text(),
                "rev": st.text(),
                "document": st.dictionaries(st.text(), _json, max_size=4),
            },
            optional={"sent": st.lists(st.text(), max_size=2)},
        ),
        max_size=4,
    )
)
def test_a_push_body_is_the_json_of_its_items_with_their_documents_as_given(items):
    """The documents go as their canonical bytes, not encoded again: the hub reads
    the same JSON as that of {"dossiers": items}."""
    items = [{"id": f"dossier-{index} é", **item} for index, item in enumerate(items)]
    documents = {item["id"]: canonical_json(item["document"]) for item in items}
    body = encode_push(items, documents)
    assert json.loads(body) == {"dossiers": items}


def test_tapered_slices_get_smaller_towards_the_end():
    def sizes(count: int) -> list[int]:
        return [len(part) for part in tapered(list(range(count)), 500, 100)]

    assert sizes(1000) == [500, 250, 125, 125]
    assert sizes(2000) == [500, 500, 500, 250, 125, 125]
    assert sizes(600) == [300, 150, 150]
    assert sizes(150) == [150]  # fewer than twice the least: one slice
    assert sizes(10) == [10]
    assert sizes(0) == []


@given(st.integers(0, 5000), st.integers(1, 600), st.integers(1, 600))
def test_tapered_keeps_every_item_once_in_order_within_bounds(count, size, least):
    items = list(range(count))
    parts = [list(part) for part in tapered(items, size, least)]
    assert [item for part in parts for item in part] == items
    assert all(0 < len(part) <= size for part in parts)
    # only the last slice may be under the least (when the least is over the size)
    assert all(len(part) >= min(least, size) for part in parts[:-1])
