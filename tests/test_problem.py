"""The RFC 9457 problem document adapters answer with."""

from __future__ import annotations

import json

import pytest

from hookseal import errors
from hookseal.problem import PROBLEM_CONTENT_TYPE, problem_body, problem_document, problem_headers


def test_document_fields() -> None:
    error = errors.MalformedSignature("bad hex", header="Signature")
    assert problem_document(error) == {
        "type": "https://hookseal.dev/problems/malformed-signature",
        "title": "Malformed webhook signature",
        "status": 400,
        "detail": "bad hex",
        "code": "malformed_signature",
        "header": "Signature",
    }


def test_header_omitted_when_unknown() -> None:
    assert "header" not in problem_document(errors.SignatureMismatch())


@pytest.mark.parametrize(
    "error",
    [
        errors.SignatureMismatch(),
        errors.NoActiveSecret(retry_after=12),
        errors.PayloadTooLarge(),
        errors.Replayed(header="webhook-id"),
        errors.MalformedHeader("the signature header is not ASCII \u00e9", header="signature"),
    ],
)
def test_body_is_compact_utf8_json_and_headers_match(error: errors.VerificationError) -> None:
    body = problem_body(error)
    assert json.loads(body.decode("utf-8")) == problem_document(error)
    assert b": " not in body
    assert b", " not in body
    headers = problem_headers(error, len(body))
    assert headers[:3] == [
        ("content-type", PROBLEM_CONTENT_TYPE),
        ("content-length", str(len(body))),
        ("cache-control", "no-store"),
    ]
    extra = dict(headers[3:])
    assert extra == {k.lower(): v for k, v in error.response_headers().items()}
    assert all(name == name.lower() for name, _ in headers)


def test_401_and_503_carry_their_headers() -> None:
    assert ("www-authenticate", 'Signature realm="webhooks"') in problem_headers(
        errors.SignatureMismatch(), 1
    )
    assert ("retry-after", "12") in problem_headers(errors.NoActiveSecret(retry_after=12), 1)
