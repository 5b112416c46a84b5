"""The RFC 9457 ``application/problem+json`` body every adapter answers a refused request with."""

from __future__ import annotations

import json

from .errors import VerificationError

__all__ = ["PROBLEM_CONTENT_TYPE", "problem_body", "problem_headers"]

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://hookseal.dev/problems/"


def problem_document(error: VerificationError) -> dict[str, object]:
    """The problem document as a dict: type, title, status, detail, and hookseal's ``code``."""
    document: dict[str, object] = {
        "type": TYPE_BASE + error.code.replace("_", "-"),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
    }
    if error.header:
        document["header"] = error.header
    return document


def problem_body(error: VerificationError) -> bytes:
    """The encoded problem document (compact UTF-8 JSON)."""
    return json.dumps(problem_document(error), separators=(",", ":")).encode("utf-8")


def problem_headers(error: VerificationError, body_length: int) -> list[tuple[str, str]]:
    """Response headers for the problem response: content type, length, and the error's own."""
    headers = [
        ("content-type", PROBLEM_CONTENT_TYPE),
        ("content-length", str(body_length)),
        ("cache-control", "no-store"),
    ]
    headers.extend((name.lower(), value) for name, value in error.response_headers().items())
    return headers
