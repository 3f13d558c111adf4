"""Token budgets: what an answer costs, and cutting text or lists to fit, saying what was left out.

Tokens are estimated from the JSON the client receives, at 3 characters a token:
code tokenises at 3-4 characters a token, so an answer estimated within the
budget stays within it for the agent's own count.
"""

from __future__ import annotations

from typing import Any

import orjson

CHARS_PER_TOKEN = 3
MAX_TOKENS = 20_000  # the largest budget a tool accepts: under the 25,000 tokens agents enforce


def tokens(value: Any) -> int:
    """Estimated tokens of ``value`` as the JSON sent to the client."""
    return -(-len(orjson.dumps(value)) // CHARS_PER_TOKEN)


def _escaped(text: str) -> int:
    return len(orjson.dumps(text)) - 2


def cut_lines(lines: list[str], room_tokens: int) -> tuple[int, int]:
    """How many of ``lines`` (each with its newline) fit in ``room_tokens``; and the characters of a
    first line cut inside when not even it fits (0 otherwise)."""
    room = max(0, room_tokens) * CHARS_PER_TOKEN
    used = 0
    for i, line in enumerate(lines):
        cost = _escaped(line)
        if used + cost > room:
            if i > 0:
                return i, 0
            # One line longer than the budget (minified code): keep the prefix that fits.
            lo, hi = 0, len(line)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if _escaped(line[:mid]) <= room:
                    lo = mid
                else:
                    hi = mid - 1
            return 0, lo
        used += cost
    return len(lines), 0


def fit_list(items: list[Any], room_tokens: int) -> int:
    """How many leading ``items`` fit in ``room_tokens`` as JSON list elements."""
    room = max(0, room_tokens) * CHARS_PER_TOKEN
    used = 0
    for i, item in enumerate(items):
        used += len(orjson.dumps(item)) + 1
        if used > room:
            return i
    return len(items)
