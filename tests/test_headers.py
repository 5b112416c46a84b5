"""Headers are read from every shape frameworks hand us, case-insensitively, ASCII only."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from hookseal import MalformedHeader, MissingSignature, sign, verify
from hookseal.headers import MAX_HEADER_LENGTH, read_header, read_headers

DIGEST = "a" * 64


class ExactMapping(Mapping[str, str]):
    """A case-sensitive mapping that is not a dict (the strictest a user might pass)."""

    def __init__(self, data: dict[str, str]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@pytest.mark.parametrize("name", ["Signature", "signature", "SIGNATURE", "sIgNaTuRe"])
def test_plain_dict_in_any_case(name: str) -> None:
    assert read_header({name: DIGEST}, "signature", "Signature") == DIGEST
    assert read_headers({name: DIGEST}, ("signature",)) == [DIGEST]


def test_plain_dict_with_bytes_keys_and_values() -> None:
    assert read_header({b"Signature": b"abc"}, "signature", "Signature") == "abc"  # type: ignore[arg-type]


def test_values_are_stripped_of_blanks() -> None:
    assert read_header({"Signature": f" \t{DIGEST} "}, "signature", "Signature") == DIGEST
    assert read_headers([(b"signature", b"  x\t")], ("signature",)) == ["x"]


def test_missing_is_none() -> None:
    assert read_header({}, "signature", "Signature") is None
    assert read_headers([], ("signature", "other")) == [None, None]
    assert read_header(ExactMapping({"SIGNATURE": "x"}), "signature", "Signature") is None
    assert read_header(ExactMapping({"signature": "x"}), "signature", "Signature") == "x"


def test_starlette_headers() -> None:
    from starlette.datastructures import Headers

    raw = [(b"signature", DIGEST.encode()), (b"x-other", b"1")]
    headers = Headers(raw=raw)
    assert read_header(headers, "signature", "Signature") == DIGEST
    body = b"{}"
    signed = Headers(headers=sign(body, "s"))
    assert verify(body, signed, "s")


def test_werkzeug_headers() -> None:
    from werkzeug.datastructures import EnvironHeaders, Headers

    assert read_header(Headers({"SIGNATURE": DIGEST}), "signature", "Signature") == DIGEST
    environ = {"HTTP_X_HUB_SIGNATURE_256": "sha256=" + DIGEST}
    env_headers = EnvironHeaders(environ)
    assert read_header(env_headers, "x-hub-signature-256", "X-Hub-Signature-256") == (
        "sha256=" + DIGEST
    )


def test_django_case_insensitive_mapping() -> None:
    from django.utils.datastructures import CaseInsensitiveMapping

    headers = CaseInsensitiveMapping(
        {"X-Slack-Signature": "v0=" + DIGEST, "X-Slack-Request-Timestamp": "1"}
    )
    assert read_headers(headers, ("x-slack-signature", "x-slack-request-timestamp")) == [
        "v0=" + DIGEST,
        "1",
    ]
    body = b"{}"
    now = 1_700_000_000
    signed = CaseInsensitiveMapping(sign(body, "s", scheme="slack", now=now))
    assert verify(body, signed, "s", scheme="slack", now=now)


def test_asgi_raw_pair_list_is_read_in_place() -> None:
    body = b"{}"
    now = 1_700_000_000
    signed = sign(body, "whsec_c2VjcmV0LWtleS0zMi1ieXRlcy1sb25nLi4u", scheme="standard", now=now)
    raw = [(b"host", b"example.org")] + [
        (k.encode("latin-1"), v.encode("latin-1")) for k, v in signed.items()
    ]
    result = verify(
        body, raw, "whsec_c2VjcmV0LWtleS0zMi1ieXRlcy1sb25nLi4u", scheme="standard", now=now
    )
    assert result.message_id == signed["webhook-id"]


def test_pairs_of_str_and_mixed_case_bytes() -> None:
    assert read_headers([("Signature", "x")], ("signature",)) == ["x"]
    assert read_headers([(b"SIGNATURE", b"x")], ("signature",)) == ["x"]
    assert read_headers((p for p in [(b"signature", "x")]), ("signature",)) == ["x"]


@pytest.mark.parametrize(
    "pairs",
    [
        [(b"signature", b"a"), (b"signature", b"b")],
        [(b"signature", b"a"), (b"Signature", b"a")],
        [("signature", "a"), (b"SIGNATURE", b"a")],
    ],
)
def test_duplicate_headers_in_pairs_are_refused(
    pairs: list[tuple[str | bytes, str | bytes]],
) -> None:
    """Two signature headers leave no honest way to choose one."""
    with pytest.raises(MalformedHeader) as info:
        read_headers(pairs, ("signature",))
    assert info.value.header == "signature"


def test_duplicates_of_unrelated_headers_are_fine() -> None:
    pairs = [(b"cookie", b"a"), (b"cookie", b"b"), (b"signature", b"x")]
    assert read_headers(pairs, ("signature",)) == ["x"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Signature": "caf\u00e9"},
        {"signature": "\u2603" * 64},
        {"Signature": b"\xff" * 64},
        [(b"signature", b"\xe9t\xe9")],
        [("signature", "\u00e9")],
    ],
)
def test_non_ascii_values_are_refused(headers: object) -> None:
    with pytest.raises(MalformedHeader):
        read_headers(headers, ("signature",))  # type: ignore[arg-type]
    with pytest.raises(MalformedHeader):
        verify(b"x", headers, "s")  # type: ignore[arg-type]


def test_too_long_values_are_refused() -> None:
    long = "a" * (MAX_HEADER_LENGTH + 1)
    for headers in ({"Signature": long}, [(b"signature", long.encode())]):
        with pytest.raises(MalformedHeader):
            read_headers(headers, ("signature",))
    assert read_header({"Signature": "a" * MAX_HEADER_LENGTH}, "signature", "Signature")


@pytest.mark.parametrize(
    "headers",
    [
        None,
        42,
        b"signature",
        "signature",
        [("only-one",)],
        [("a", "b", "c")],
        [None],
        [(b"signature", 5)],
        {"Signature": 5},
        {"Signature": None, "signature": ["x"]},
    ],
)
def test_shapes_that_are_not_headers(headers: object) -> None:
    """Anything else is a MalformedHeader (or simply no signature), never a TypeError."""
    with pytest.raises((MalformedHeader, MissingSignature)):
        verify(b"x", headers, "s")  # type: ignore[arg-type]


def test_non_string_keys_in_a_dict_are_skipped() -> None:
    assert read_headers({1: "x", "Signature": "y"}, ("signature",)) == ["y"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "pairs",
    [
        [(b"host", b"x"), (b"signature", b"abc")],
        [(b"Signature", b" abc\t"), (b"content-length", b"3")],
        [(b"signature", b"a"), (b"SIGNATURE", b"b")],  # repeated: refused
        [(b"signature", b"\xff")],  # not ASCII: refused
        [(b"host", b"x"), ("Signature", "abc")],  # a str name after bytes ones
        [[b"signature", b"abc"]],  # pairs as lists
        [(b"host", b"x"), (b"signature",)],  # not a pair: refused
        [(b"host", b"x"), 7],
        [(b"signatur", b"x"), (b"signatures", b"y")],  # near misses in length
        [],
    ],
)
@pytest.mark.parametrize("names", [("signature",), ("signature", "content-length")])
def test_a_list_reads_like_any_other_iterable_of_pairs(
    pairs: list[Any], names: tuple[str, ...]
) -> None:
    """The list shortcut (ASGI's raw headers) answers, or refuses, as the careful path does."""

    def outcome(headers: Any) -> object:
        try:
            if len(names) == 1:
                return read_header(headers, names[0], names[0])
            return read_headers(headers, names)
        except MalformedHeader as error:
            return type(error), error.header

    assert outcome(pairs) == outcome(tuple(pairs))
