"""Credentials never leave the process: one masking function for logs, replies and stored stats.

``mask_text`` replaces, in any text:

* the password of a URL's userinfo (``redis://user:pw@host`` -> ``redis://user:***@host``;
  everything up to the last ``@`` of the URL counts, so a password holding ``/`` or ``@``
  is masked whole), whatever the scheme (``redis``, ``rediss``, ``redis+cluster``, ``unix``);
* the value of every query parameter whose name says it is a secret
  (``?password=``, ``ssl_password``, ``token``, ``auth``, ``secret``, ``apikey``, ...);
* every secret registered with ``register_secret`` (the Redis password from the
  environment), wherever it appears verbatim.

``MaskingFilter`` applies it to every log record a handler emits (its message and its
traceback), so stderr and ``window/logMessage`` carry no credential; ``mask_value`` applies
it to every string of a JSON-like document (statistics before they are replied or stored).
``split_credentials`` takes the password out of a URL for a client that gets it as an
argument, so the URL a library holds (and may put in its errors) has none.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

__all__ = [
    "MASK",
    "MaskingFilter",
    "mask_text",
    "mask_url",
    "mask_value",
    "register_secret",
    "split_credentials",
]

MASK = "***"
MIN_SECRET = 4  # shorter registered secrets are masked in URLs only, not in every word of a log

# Linear in the text whatever it holds (logs carry uris a client chose): a parameter name is
# at most 64 characters, and each URL's userinfo is found with find/rfind, not backtracking.
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|auth|credential|api_?key", re.IGNORECASE)
_QUERY = re.compile(r"(?P<head>[?&;](?P<name>[^\s=&#;?]{1,64})=)(?P<pw>[^\s&#;\"'<>]*)")
_TOKEN_END = re.compile(r"\s")
_NOT_USER = frozenset("/?#@")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(secret: str | None) -> None:
    """Mask ``secret`` wherever it appears in text masked from now on."""
    if secret and len(secret) >= MIN_SECRET:
        with _secrets_lock:
            _secrets.add(secret)


def mask_text(text: str) -> str:
    """``text`` with every credential it holds replaced by ``***``."""
    if "://" in text:
        text = _mask_userinfo(text)
    if "=" in text:
        text = _QUERY.sub(lambda m: m["head"] + MASK if _SECRET_PARAM.search(m["name"]) else m[0], text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _mask_userinfo(text: str) -> str:
    """Each ``scheme://user:password@`` with the password masked: the userinfo of a URL runs to
    the last '@' of its whitespace-free run, and has its ':' before any '/', '?', '#'."""
    out: list[str] = []
    pos = 0
    while (sep := text.find("://", pos)) >= 0:
        start = sep + 3
        found = _TOKEN_END.search(text, start)
        end = found.start() if found else len(text)
        at = text.rfind("@", start, end)
        colon = text.find(":", start, at) if at >= 0 else -1
        if colon >= 0 and not _NOT_USER.intersection(text[start:colon]) and text[colon + 1 : at] != MASK:
            out.append(text[pos : colon + 1])
            out.append(MASK)
            pos = at
        out.append(text[pos:end])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def mask_url(url: str) -> str:
    """A URL as it may be shown: its password (userinfo or query) replaced by ``***``."""
    return mask_text(url)


def mask_value(value: Any) -> Any:
    """A JSON-like value with every string in it (keys included) masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_value(k): mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def split_credentials(url: str) -> tuple[str, str | None]:
    """(the URL without any password, the password): the userinfo's, else the query's
    ``password``. Other secret query parameters are dropped from the URL too."""
    parts = urlsplit(url)
    netloc = parts.netloc
    password: str | None = None
    # an unencoded '/' in the password ends urlsplit's netloc early: take the userinfo up to
    # the last '@' before the query, as mask_text does
    head, _, _ = url.partition("?")
    authority = head.split("://", 1)[1] if "://" in head else ""
    rest_path = parts.path
    if "@" in authority:
        userinfo, _, after = authority.rpartition("@")
        host, slash, path = after.partition("/")
        netloc, rest_path = host, (slash + path if slash else "")
        user, colon, secret = userinfo.partition(":")
        if colon:
            password = unquote(secret)
        if user:
            netloc = f"{user}@{host}"
    query: list[tuple[str, str]] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if len(name) <= 64 and _SECRET_PARAM.search(name):
            if name.lower() == "password" and password is None:
                password = value
            continue
        query.append((name, value))
    clean = f"{parts.scheme}://{netloc}{rest_path}" if parts.scheme else netloc + rest_path
    if query:
        clean += "?" + urlencode(query)
    if parts.fragment:
        clean += "#" + parts.fragment
    return clean, password


class MaskingFilter(logging.Filter):
    """Masks credentials in a record's message and traceback before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True
