"""Records: one bytes object per cached entry, split and spliced by slicing."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcache_ls.cache.record import Record, RecordError, encode_json, encode_record, pack

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_objects = st.dictionaries(st.text(max_size=10), _json, max_size=6)


@given(_objects, _objects)
def test_a_record_is_one_json_document_and_splits_back(meta: dict, body: dict) -> None:
    data = encode_record(meta, body)
    n, decoded_meta, decoded_body = json.loads(data)  # valid JSON on disk: [N, meta, body]
    assert (decoded_meta, decoded_body) == (meta, body)
    record = Record(data)
    assert record.meta() == meta and record.body() == body
    assert n == record.meta_end - record.meta_start


@given(_objects)
def test_splice_puts_the_head_in_front_of_the_body_without_re_encoding(body: dict) -> None:
    body = {k: v for k, v in body.items() if k not in ("uri", "source")}
    record = Record(encode_record({"mtime_ns": 1}, body))
    reply = record.splice({"uri": "file:///a.py", "source": "memory"})
    assert json.loads(reply) == {"uri": "file:///a.py", "source": "memory", **body}
    if body:  # the body's bytes are in the reply exactly as cached
        encoded = orjson.dumps(body)
        assert reply.endswith(encoded[1:])


def test_splice_of_an_empty_body_or_head() -> None:
    assert Record(pack(b'{"a":1}', b"{}")).splice({"uri": "u"}) == b'{"uri":"u"}'
    assert Record(pack(b'{"a":1}', b'{"x":2}')).splice({}) == b'{"x":2}'


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b'{"text":"old cache entry"}',  # an older cache's plain value
        b"[3,{},{}]",  # the length does not match
        b"[x,{},{}]",
        b'[2,{},{"a":1}',  # truncated
        b"[2,{}.{}]",
        b"[2,[],{}]",
        b"[99999999999999999999999,{},{}]",
    ],
)
def test_anything_else_is_not_a_record(data: bytes) -> None:
    with pytest.raises(RecordError):
        record = Record(data)
        record.meta()
        record.body()


def test_meta_that_is_not_json_is_refused_when_read() -> None:
    record = Record(b"[4,{no},{}]")
    with pytest.raises(RecordError):
        record.meta()


def test_text_orjson_refuses_is_still_encoded() -> None:
    lone = "\ud800 half a pair"  # what an editor's buffer may hold
    data = encode_json({"text": lone})
    assert json.loads(data) == {"text": lone}
