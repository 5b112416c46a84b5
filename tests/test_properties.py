"""Properties: whatever arrives, verify() answers Verified or a VerificationError, nothing else;
and sign() then verify() round-trips any body, one-shot or streamed in any chunks."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookseal import VerificationError, Verified, Verifier, schemes, sign

NOW = 1_700_000_000
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SCHEMES = ["signature", "github", "standard", "stripe", "slack", "shopify"]
VERIFIERS = {name: Verifier([WHSEC, "whsec_b2xkLXNlY3JldC1rZXk="], scheme=name) for name in SCHEMES}
NAMES = sorted(
    {n.lower() for name in SCHEMES for n in schemes.by_name(name).header_names}
    | {"svix-id", "svix-timestamp", "svix-signature"}
)

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

# Pieces that look almost right, so the parsers get past their first checks.
digits = st.one_of(
    st.integers(0, 10**12).map(str),
    st.integers(1, 5000).map(lambda n: "9" * n),
    st.text(st.sampled_from("0123456789+-. e"), max_size=20),
)
hexish = st.text(st.sampled_from("0123456789abcdefABCDEFg "), min_size=60, max_size=68)
b64ish = st.text(
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ "),
    min_size=40,
    max_size=90,
)
token = st.one_of(
    hexish,
    b64ish,
    st.builds(
        lambda p, v: p + v,
        st.sampled_from(["sha256=", "v0=", "v1=", "t=", "v1,", "v1a,", "v2,", ""]),
        st.one_of(hexish, b64ish, digits),
    ),
    st.text(max_size=30),
)
separators = st.sampled_from([",", " ", ", ", "  ", ",,", "\t"])
header_value = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200),
    digits,
    st.builds(lambda toks, sep: sep.join(toks), st.lists(token, max_size=20), separators),
    st.text(st.characters(min_codepoint=0x80), min_size=1, max_size=20),
)
name_strategy = st.one_of(
    st.sampled_from(NAMES),
    st.sampled_from(NAMES).map(str.upper),
    st.sampled_from(NAMES).map(str.encode),
    st.text(max_size=20),
    st.binary(max_size=20),
)
header_dicts = st.dictionaries(st.sampled_from(NAMES), header_value, max_size=6)
header_pairs = st.lists(st.tuples(name_strategy, header_value), max_size=8)
headers_strategy = st.one_of(header_dicts, header_pairs)


def _outcome(scheme: str, body: bytes, headers: Any) -> None:
    """Verified, or a VerificationError with a code and an HTTP status; never anything else."""
    failure: VerificationError | None = None
    try:
        result = VERIFIERS[scheme].verify(body, headers, now=NOW)
    except VerificationError as error:
        failure = error
    if failure is None:
        assert isinstance(result, Verified)
        return
    assert isinstance(failure.code, str)
    assert failure.status in (400, 401, 409, 411, 413, 503)
    assert WHSEC not in str(failure)


@pytest.mark.parametrize("scheme", SCHEMES)
@FAST
@given(body=st.binary(max_size=300), headers=headers_strategy)
def test_arbitrary_input_only_raises_verification_errors(
    scheme: str, body: bytes, headers: Any
) -> None:
    _outcome(scheme, body, headers)


@pytest.mark.parametrize("scheme", SCHEMES)
@FAST
@given(body=st.binary(max_size=100), data=st.data())
def test_mutated_real_headers_only_raise_verification_errors(
    scheme: str, body: bytes, data: st.DataObject
) -> None:
    """Start from a valid request and change one header value arbitrarily."""
    headers: dict[str, Any] = dict(sign(body, WHSEC, scheme=scheme, now=NOW))
    name = data.draw(st.sampled_from(sorted(headers)))
    headers[name] = data.draw(header_value)
    _outcome(scheme, body, headers)
    _outcome(
        scheme,
        body,
        [
            (k.encode(), v if isinstance(v, bytes) else v.encode("utf-8"))
            for k, v in headers.items()
        ],
    )


@pytest.mark.parametrize("scheme", SCHEMES)
@FAST
@given(body=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_sign_then_verify_round_trips(scheme: str, body: bytes, cuts: list[int]) -> None:
    verifier = VERIFIERS[scheme]
    headers = sign(body, WHSEC, scheme=scheme, now=NOW)
    one_shot = verifier.verify(body, headers, now=NOW)
    assert one_shot.scheme == verifier.scheme.name
    pending = verifier.begin(headers, now=NOW)
    points = sorted({0, len(body), *(c for c in cuts if c <= len(body))})
    for start, end in pairwise(points):
        pending.update(body[start:end])
    assert pending.finish() == one_shot


@pytest.mark.parametrize("scheme", SCHEMES)
@FAST
@given(body=st.binary(min_size=1, max_size=200), index=st.integers(0, 199), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(scheme: str, body: bytes, index: int, bit: int) -> None:
    headers = sign(body, WHSEC, scheme=scheme, now=NOW)
    index %= len(body)
    changed = body[:index] + bytes([body[index] ^ (1 << bit)]) + body[index + 1 :]
    with pytest.raises(VerificationError):
        VERIFIERS[scheme].verify(changed, headers, now=NOW)
