"""The usual mistakes behind a signature mismatch, each as a way to undo it and a sentence.

:func:`hookseal.diagnose.diagnose` tries them when a delivery does not verify. Each candidate
is a body the sender may have signed (the received JSON written another way, another line
ending) or a key the sender may have used (the secret with whitespace, decoded, with or without
``whsec_``). A candidate that makes a presented signature match names the mistake. Nothing here
ever returns or prints a digest: only whether one matched.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._material import HmacMaterial
from .schemes import Scheme, StandardWebhooks

__all__ = [
    "Finding",
    "body_candidates",
    "is_json",
    "key_candidates",
    "looks_like_milliseconds",
    "matches",
    "scheme_key",
]

MAX_JSON_BODY = 1 << 20
"""Larger bodies are not re-serialised (each candidate costs a parse and an HMAC pass)."""

_WHSEC = b"whsec_"
_MILLISECONDS = re.compile(r"(?<!\d)(\d{13})(?!\d)")
_FIRST_MS, _LAST_MS = 978_307_200_000, 4_102_444_800_000  # 2001-01-01 .. 2100-01-01
_NOT_JSON = object()


@dataclass(frozen=True)
class Finding:
    """One explanation of a failure. ``confirmed``: the signature matches once it is undone;
    otherwise it is a hint read from the request (a header of another scheme, a timestamp)."""

    code: str
    message: str
    confirmed: bool = True


def matches(key: bytes, prefix: bytes, body: bytes, signatures: tuple[bytes, ...]) -> bool:
    """Whether HMAC-SHA256 of ``prefix + body`` under ``key`` is one of ``signatures``."""
    return bool(signatures) and HmacMaterial(key).matches(prefix, body, signatures, ())


# -- bodies ---------------------------------------------------------------------------------------


def body_candidates(body: bytes) -> Iterator[tuple[str, str, bytes]]:
    """``(code, message, body)`` for each body the sender may have signed instead."""
    seen = {body}
    for code, message, candidate in (*_line_endings(body), *_json_forms(body)):
        if candidate not in seen:
            seen.add(candidate)
            yield code, message, candidate


def _line_endings(body: bytes) -> Iterator[tuple[str, str, bytes]]:
    fix = (
        "verify the bytes exactly as they arrived (a body copied through an editor, a log or "
        "`echo` gains or loses line endings)"
    )
    stripped = body.rstrip(b"\r\n")
    if stripped != body:
        yield (
            "body_trailing_newline",
            f"the signature matches the body without its trailing newline: it was added after "
            f"signing; {fix}",
            stripped,
        )
    for ending, name in ((b"\n", "newline (LF)"), (b"\r\n", "CRLF")):
        yield (
            "body_trailing_newline",
            f"the signature matches the body with a trailing {name}: it was lost after "
            f"signing; {fix}",
            stripped + ending,
        )
    if b"\r\n" in body:
        yield (
            "body_line_endings",
            f"the signature matches the body with LF line endings instead of CRLF; {fix}",
            body.replace(b"\r\n", b"\n"),
        )
    elif b"\n" in body:
        yield (
            "body_line_endings",
            f"the signature matches the body with CRLF line endings instead of LF; {fix}",
            body.replace(b"\n", b"\r\n"),
        )


def is_json(body: bytes) -> bool:
    """Whether ``body`` parses as JSON (and is small enough to be tried)."""
    return _parse_json(body) is not _NOT_JSON


def _parse_json(body: bytes) -> Any:
    if len(body) > MAX_JSON_BODY:
        return _NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _json_forms(body: bytes) -> Iterator[tuple[str, str, bytes]]:
    """The received JSON written the ways common encoders write it."""
    document = _parse_json(body)
    if document is _NOT_JSON:
        return
    fix = (
        "the body was parsed and re-serialised before it was verified; verify the raw bytes "
        "as received (e.g. `await request.body()`, never `json.dumps(await request.json())`)"
    )
    for sort_keys in (False, True):
        for spacing, separators, indent in (
            ("compact", (",", ":"), None),
            ("with ', ' and ': '", (", ", ": "), None),
            ("indented by 2", (",", ": "), 2),
            ("indented by 4", (",", ": "), 4),
        ):
            for ensure_ascii in (False, True):
                text = _dumps(document, sort_keys, separators, indent, ensure_ascii)
                for escape_slash in (False, True):
                    if escape_slash:
                        if "/" not in text:
                            continue
                        text = text.replace("/", "\\/")
                    form = ", ".join(
                        (
                            spacing,
                            "keys sorted" if sort_keys else "keys in the order received",
                            "non-ASCII as \\u escapes" if ensure_ascii else "non-ASCII as UTF-8",
                            *(("'/' escaped as '\\/'",) if escape_slash else ()),
                        )
                    )
                    for ending, ending_name in ((b"", ""), (b"\n", ", then a newline")):
                        yield (
                            "body_reserialised",
                            f"the signature matches the same JSON encoded another way ({form}"
                            f"{ending_name}), not the bytes given: {fix}",
                            text.encode("utf-8") + ending,
                        )


def _dumps(
    document: Any,
    sort_keys: bool,
    separators: tuple[str, str],
    indent: int | None,
    ensure_ascii: bool,
) -> str:
    return json.dumps(
        document,
        sort_keys=sort_keys,
        separators=separators,
        indent=indent,
        ensure_ascii=ensure_ascii,
    )


# -- keys -----------------------------------------------------------------------------------------


def scheme_key(scheme: Scheme, value: bytes) -> bytes | None:
    """The HMAC key ``scheme`` derives from a secret ``value``, or None (an Ed25519 key, or a
    value the scheme cannot use)."""
    if isinstance(scheme, StandardWebhooks):
        if value.startswith((b"whpk_", b"whsk_")):
            return None
        return _base64(value[len(_WHSEC) :] if value.startswith(_WHSEC) else value)
    return value


def key_candidates(scheme: Scheme, value: bytes) -> Iterator[tuple[str, str, bytes]]:
    """``(code, message, key)`` for each key the sender may have used instead of ``value``'s;
    ``{secret}`` in the message stands for the secret's id."""
    used = scheme_key(scheme, value)
    if used is None:
        return
    seen = {used}
    for code, message, key in _key_forms(scheme, value):
        if key and key not in seen:
            seen.add(key)
            yield code, message, key


def _key_forms(scheme: Scheme, value: bytes) -> Iterator[tuple[str, str, bytes]]:
    name = scheme.name
    stripped = value.strip()
    if stripped != value:
        yield (
            "secret_whitespace",
            "the signature matches secret {secret} without its surrounding whitespace: it was "
            "given as bytes, which are used exactly; strip it (text secrets are stripped "
            "everywhere)",
            scheme_key(scheme, stripped) or b"",
        )
    if isinstance(scheme, StandardWebhooks):
        yield from _standard_key_forms(value)
        return
    for extra, where in ((b"\n", "a trailing newline"), (b"\r\n", "a trailing CRLF")):
        yield (
            "secret_whitespace",
            f"the signature matches secret {{secret}} with {where}: the sender signs with "
            "whitespace around the secret (read from a file without stripping it?); hookseal "
            "strips text secrets, so remove it on the sender's side, or give hookseal the exact "
            "bytes",
            value + extra,
        )
    for where, key in (("a trailing space", value + b" "), ("a leading space", b" " + value)):
        yield (
            "secret_whitespace",
            f"the signature matches secret {{secret}} with {where}: remove it on the sender's side",
            key,
        )
    if value.startswith(_WHSEC):
        yield (
            "secret_prefix",
            f"the signature matches secret {{secret}} without its whsec_ prefix: the sender "
            f"dropped it, but the {name} scheme keys on the whole string, whsec_ included",
            value[len(_WHSEC) :],
        )
    else:
        yield (
            "secret_prefix",
            f"the signature matches secret {{secret}} with a whsec_ prefix in front: the {name} "
            "scheme keys on the whole string as the provider shows it, so keep the prefix",
            _WHSEC + value,
        )
    body = value[len(_WHSEC) :] if value.startswith(_WHSEC) else value
    decoded = _base64(body)
    if decoded is not None:
        yield (
            "secret_encoding",
            f"the signature matches secret {{secret}} base64-decoded (as Standard Webhooks does "
            f"with whsec_ secrets), but the {name} scheme uses the secret as-is: the sender "
            "decodes it and should not, or it is a Standard Webhooks sender (--scheme standard)",
            decoded,
        )
    if len(body) % 2 == 0 and re.fullmatch(rb"[0-9a-fA-F]+", body):
        yield (
            "secret_encoding",
            f"the signature matches secret {{secret}} hex-decoded, but the {name} scheme uses "
            "the hex text as-is: the sender decodes it (bytes.fromhex) and should not",
            bytes.fromhex(body.decode("ascii")),
        )


def _standard_key_forms(value: bytes) -> Iterator[tuple[str, str, bytes]]:
    """Standard Webhooks keys on the base64-decoded bytes after ``whsec_``."""
    body = value[len(_WHSEC) :] if value.startswith(_WHSEC) else value
    yield (
        "secret_encoding",
        "the signature matches secret {secret} used as text, whsec_ included, instead of "
        "base64-decoded: the sender keys on the string as shown, but Standard Webhooks keys on "
        "the base64-decoded bytes after whsec_",
        value if value.startswith(_WHSEC) else _WHSEC + value,
    )
    yield (
        "secret_encoding",
        "the signature matches the base64 text of secret {secret} used as-is (without "
        "whsec_) instead of decoded: Standard Webhooks keys on the base64-decoded bytes after "
        "whsec_",
        body,
    )


def _base64(text: bytes) -> bytes | None:
    """Standard base64 (padding optional, surrounding whitespace ignored), or None."""
    text = text.strip()
    try:
        raw = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw or None


# -- timestamps -----------------------------------------------------------------------------------


def looks_like_milliseconds(value: str) -> int | None:
    """The 13-digit number in ``value`` that reads as Unix time in milliseconds, if any."""
    for found in _MILLISECONDS.finditer(value):
        number = int(found.group(1))
        if _FIRST_MS <= number < _LAST_MS:
            return number
    return None
