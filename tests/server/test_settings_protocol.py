from __future__ import annotations

import collections
from typing import Any

import pytest

from smartcache_ls import protocol
from smartcache_ls.settings import Settings, settings_to_wire


def test_settings_merge_typed_fields_and_report_the_rest() -> None:
    settings, problems = Settings().merged(
        {
            "maxMemoryMB": 64,
            "prefetch": {"enabled": False, "topK": 5, "threshold": "high"},
            "redisUrl": "redis://127.0.0.1:6379/0",
            "maxFileKB": True,
            "colour": "blue",
        }
    )
    assert settings.max_memory_bytes == 64 * 1024 * 1024
    assert settings.prefetch.enabled is False and settings.prefetch.top_k == 5
    assert settings.prefetch.threshold == Settings().prefetch.threshold
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.max_file_kb == Settings().max_file_kb
    assert len(problems) == 3
    assert any("colour" in p for p in problems)


def test_settings_accept_the_vscode_section_and_round_trip() -> None:
    settings, problems = Settings().merged({"smartcache": {"ttlSeconds": 60, "maxDiskMB": 10}})
    assert problems == [] and settings.ttl_seconds == 60.0
    again, problems = Settings().merged(settings_to_wire(settings))
    assert again == settings and problems == []


def test_parse_params_converts_pygls_objects() -> None:
    obj = collections.namedtuple("Object", ["uri", "k"])("file:///a.py", 3)
    parsed = protocol.parse_params(obj, protocol.PredictParams)
    assert parsed == protocol.PredictParams(uri="file:///a.py", k=3)
    assert protocol.parse_params(None, protocol.PredictParams) == protocol.PredictParams()
    assert protocol.parse_params([], protocol.StatsParams) == protocol.StatsParams()


@pytest.mark.parametrize(
    ("raw", "cls", "message"),
    [
        ({}, protocol.UriParams, "missing required param 'uri'"),
        ({"uri": 1}, protocol.UriParams, "must be str"),
        ({"uri": "x", "y": 1}, protocol.UriParams, "unknown params: y"),
        ({"k": True}, protocol.PredictParams, "must be int"),
        ({"k": 1000}, protocol.PredictParams, "between 1 and 100"),
        ({"uris": [1]}, protocol.PrefetchParams, "list of strings"),
        ({"scope": "disk"}, protocol.ClearParams, "'memory' or 'all'"),
        ("text", protocol.StatsParams, "must be an object"),
    ],
)
def test_parse_params_rejects_bad_shapes(raw: Any, cls: type, message: str) -> None:
    with pytest.raises(protocol.InvalidParams, match=message):
        protocol.parse_params(raw, cls)


def test_to_wire_camel_cases_attrs() -> None:
    result = protocol.to_wire([protocol.PrefetchResult(queued=2), protocol.ClearResult(scope="all")])
    assert result == [{"queued": 2}, {"scope": "all", "cleared": True}]
