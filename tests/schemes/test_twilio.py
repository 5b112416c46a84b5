"""The Twilio scheme's own parts (src/hookseal/schemes/twilio.py): the form parser and the
per-URL facts, made faster without a different answer. (Interop with Twilio's SDK is in
tests/schemes/test_interop_providers.py.)"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hookseal.errors import MalformedHeader


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab=&+%2F%C3%A9%ZZ%e2%82 é\x00"), max_size=60))
def test_form_pairs_are_parse_qsl_exactly(text: str) -> None:
    """The form parser calls unquote only where there is a percent-escape; same pairs, same
    errors as the standard library's parse_qsl with the options Twilio's content needs."""
    from urllib.parse import parse_qsl

    from hookseal.schemes.twilio import MAX_FIELDS, _form_pairs

    try:
        expected: object = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError as error:  # UnicodeDecodeError is one
        expected = type(error)
    try:
        found: object = _form_pairs(text)
    except ValueError as error:
        found = type(error)
    assert found == expected


def test_too_many_form_fields_are_refused_as_parse_qsl_refuses_them() -> None:
    from hookseal.schemes.twilio import MAX_FIELDS, _form_pairs

    assert len(_form_pairs("a=1&" * (MAX_FIELDS - 1) + "b=2")) == MAX_FIELDS
    with pytest.raises(ValueError, match="Max number of fields"):
        _form_pairs("a=1&" * MAX_FIELDS + "b=2")


def test_url_facts_are_worked_out_once_per_url_and_bounded() -> None:
    from hookseal.schemes import twilio

    twilio._URL_FACTS.clear()
    url = "https://example.com/hooks?bodySHA256=abc&x=1"
    first = twilio._url_facts(url)
    assert first == (
        "abc",
        (url.encode(), b"https://example.com:443/hooks?bodySHA256=abc&x=1"),
    )
    assert twilio._url_facts(url) is first  # kept
    for i in range(twilio._URL_FACTS_MAX + 5):
        twilio._url_facts(f"https://example.com/{i}")
    assert len(twilio._URL_FACTS) <= twilio._URL_FACTS_MAX
    with pytest.raises(MalformedHeader):
        twilio._url_facts("https://example.com:notaport/")
    assert "https://example.com:notaport/" not in twilio._URL_FACTS  # refused, never kept
