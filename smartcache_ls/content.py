"""Content hashing shared by the cache, the analyses and the wire protocol."""

from __future__ import annotations

import hashlib


def content_hash(text: str) -> str:
    """A short, stable fingerprint of a text (BLAKE2b-128 of its UTF-8 bytes, hex)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
