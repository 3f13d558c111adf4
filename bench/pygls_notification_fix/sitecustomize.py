"""Bench-only: drop pygls 2.1.1's leaked notification futures, in whichever server imports it.

pygls files every notification's handler future under a fresh uuid in ``_request_futures`` and
never removes it (the "notification-future leak"; the server's own JSON-RPC layer fixes it).
``bench/long_session.py --without-pygls-leak`` puts this directory on PYTHONPATH of both servers
(ours and the floor), so that the slope it prints is what is left once that leak is gone.
"""

from __future__ import annotations

from typing import Any

from pygls.protocol.json_rpc import JsonRPCProtocol

_original = JsonRPCProtocol._handle_notification


def _handle_notification(self: Any, method_name: str, params: Any) -> None:
    futures = self._request_futures
    before = set(futures)
    _original(self, method_name, params)
    for key in set(futures) - before:
        future = futures[key]
        if future.done():
            futures.pop(key, None)
        else:
            future.add_done_callback(lambda _f, key=key: futures.pop(key, None))


JsonRPCProtocol._handle_notification = _handle_notification  # type: ignore[method-assign]
