"""Differential: the fused checks (C, and its pure-Python twin) and the careful path decide alike.

For any header value the C parser either reads exactly the digests Signature.parse reads, or
hands the value to Python (never a different answer); and for any sequence of requests (valid,
forged, tampered, malformed, in every header shape) a verifier with the C check, one with the
fused pure-Python check (hookseal/_fastpath.py) and one on the careful path alone, over the same
secrets, return the same results, raise the same errors with the same codes and messages, and
remember the same preferred secret. ``tests/fuzz_speedups.py`` runs these same checks,
time-bounded, against a build with AddressSanitizer. Without the accelerator the C parts are
skipped and the pure-Python check is still compared with the careful path.
"""

from __future__ import annotations

import base64
import functools
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookseal import ConfigurationError, VerificationError, Verifier, speedups_enabled
from hookseal.schemes import Signature

needs_c = pytest.mark.skipif(not speedups_enabled(), reason="the C accelerator is not in use")

SUITE = settings(
    max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)

SCHEMES = [
    Signature(),
    Signature(encoding="hex"),
    Signature(encoding="base64"),
    Signature(prefix=""),
    Signature(header="X-Hub-Signature-256", prefix="sha256=", require_prefix=True),
    Signature(header="Webhook-Signature", prefix="V1,", encoding="base64"),
]

# -- strategies ----------------------------------------------------------------------------------

secret_values = st.one_of(
    # A str secret is stripped of surrounding whitespace (one rule for every source), so a blank
    # one is a configuration error rather than a secret: the scenarios draw usable ones only.
    st.text(min_size=1, max_size=80).filter(
        lambda s: bool(s.strip()) and not s.startswith("whpk_")
    ),
    st.binary(min_size=1, max_size=150).filter(lambda b: not b.startswith(b"whpk_")),
)
bodies = st.binary(max_size=400)
hex_alphabet = "0123456789abcdefABCDEF"
b64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
separators = st.sampled_from([",", " ", ", ", "\t", ",,", " ,\t"])
edges = st.text(st.sampled_from(" \t,\n\r\x0b\x0c\x1c\x1f\x00\x7f;=é"), max_size=3)


@st.composite
def _tokens(draw: st.DrawFn, scheme: Signature, digests: list[bytes]) -> list[str]:
    """The digests as the scheme's tokens (some tampered), prefixed or not, in any case."""
    tokens = []
    for digest in digests or [bytes(32)]:
        if draw(st.integers(0, 3)) == 0:  # tamper one byte
            at = draw(st.integers(0, 31))
            digest = digest[:at] + bytes([digest[at] ^ 1]) + digest[at + 1 :]
        encoding = scheme.encoding
        if encoding == "auto" or draw(st.integers(0, 4)) == 0:  # sometimes the wrong one
            encoding = draw(st.sampled_from(["hex", "base64"]))
        text = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
        if encoding == "hex" and draw(st.booleans()):
            text = text.upper()
        if scheme.require_prefix or (scheme.prefix and draw(st.booleans())):
            prefix = scheme.prefix
            tokens.append(draw(st.sampled_from([prefix, prefix.upper(), prefix.lower()])) + text)
        else:
            tokens.append(text)
    return tokens


@st.composite
def _well_formed(draw: st.DrawFn, scheme: Signature, digests: list[bytes]) -> str:
    value = draw(separators).join(draw(_tokens(scheme, digests)))
    return draw(st.sampled_from(["", " ", "\t"])) + value + draw(st.sampled_from(["", " \t"]))


@st.composite
def _many(draw: st.DrawFn, scheme: Signature, digests: list[bytes]) -> str:
    """Around MAX_SIGNATURES (16) tokens."""
    tokens = draw(_tokens(scheme, digests))
    return draw(separators).join((tokens * 18)[: draw(st.integers(14, 18))])


@st.composite
def _edged(draw: st.DrawFn, scheme: Signature, digests: list[bytes]) -> str:
    """Odd characters around the value and between its tokens (other whitespace, NUL...)."""
    tokens = draw(_tokens(scheme, digests))
    return draw(edges) + draw(edges | separators).join(tokens) + draw(edges)


@st.composite
def _mutated(draw: st.DrawFn, scheme: Signature, digests: list[bytes]) -> str:
    """A well-formed value with one character changed, dropped or added."""
    value = draw(_well_formed(scheme, digests))
    at = draw(st.integers(0, len(value)))
    new = draw(st.sampled_from(["", "0", "g", "=", "==", "+", "/", "-", "_", " ", ",", "é"]))
    return value[:at] + new + value[at + draw(st.integers(0, 1)) :]


@st.composite
def _near_token(draw: st.DrawFn, scheme: Signature) -> str:
    """A token a character or two from 64 hex digits or padded base64 of 32 bytes."""
    if draw(st.booleans()):
        text = draw(st.text(st.sampled_from(hex_alphabet), min_size=63, max_size=65))
    else:
        text = draw(st.text(st.sampled_from(b64_alphabet), min_size=42, max_size=44))
        text += draw(st.sampled_from(["", "=", "==", "=A"]))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from("=-_g ")) + text[at:]
    prefix = draw(st.sampled_from(["", scheme.prefix, scheme.prefix.upper(), "sha256", "="]))
    return prefix + text


@st.composite
def _near_tokens(draw: st.DrawFn, scheme: Signature, digests: list[bytes]) -> str:
    """Valid tokens (maybe none) and one near-valid token among them."""
    tokens = draw(_tokens(scheme, digests)) if draw(st.booleans()) else []
    tokens.insert(draw(st.integers(0, len(tokens))), draw(_near_token(scheme)))
    return draw(separators).join(tokens)


@st.composite
def _around_limit(draw: st.DrawFn, scheme: Signature, digests: list[bytes]) -> str:
    """Padded with spaces to the header length limit (8192) give or take two."""
    value = draw(_well_formed(scheme, digests))
    return value + " " * max(0, 8192 - len(value) + draw(st.integers(-2, 2)))


def header_values(scheme: Signature, digests: list[bytes]) -> st.SearchStrategy[str | bytes]:
    """A header value from one of several families: well formed (real digests, some tampered,
    in the scheme's encodings, prefixed or not), around the signature count and length limits,
    with odd characters, one character off, near-valid tokens, or anything at all; str or
    UTF-8 bytes."""
    text = st.one_of(
        _well_formed(scheme, digests),
        _many(scheme, digests),
        _edged(scheme, digests),
        _mutated(scheme, digests),
        _near_tokens(scheme, digests),
        _around_limit(scheme, digests),
        st.text(max_size=100),
    )
    return st.one_of(text, text.map(lambda value: value.encode("utf-8")), st.binary(max_size=80))


def header_shapes(name: str, value: str | bytes) -> st.SearchStrategy[Any]:
    """The ways frameworks hand over headers, some of them unusual on purpose."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    text = value if isinstance(value, str) else value.decode("latin-1")
    lower = name.lower().encode()
    usual = [{name: text}, [(lower, raw)]] * 4  # mostly what the C check reads
    return st.sampled_from(
        [
            *usual,
            {name: raw},
            {name.lower(): text},
            {},
            [(lower, raw)],
            [(b"content-type", b"application/json"), (name.upper().encode(), raw)],
            [(lower, raw), (lower, raw)],
            [(name, text)],
            [(lower, text)],
            {"Other": text},
        ]
    )


# -- the checks (also driven by tests/fuzz_speedups.py) -------------------------------------------


@contextmanager
def pure_python() -> Iterator[None]:
    """Key material made inside is the pure-Python kind (hashlib states, no C twin), so a
    verifier made inside gets the fused pure-Python check."""
    with mock.patch("hookseal._material.hmac_key", return_value=None):
        yield


def careful(secrets: list[str | bytes], scheme: Signature, limit: int | None = None) -> Verifier:
    """A verifier without any fused check: the careful path decides every request."""
    with pure_python():
        verifier = Verifier(secrets, scheme=scheme, max_body_size=limit)
    verifier._fast = None
    return verifier


def plan_of(verifier: Verifier) -> Any:
    assert verifier._fast is not None
    return verifier._fast.__self__  # type: ignore[attr-defined]


@functools.cache
def _parser(scheme: Signature) -> Any:
    return plan_of(Verifier("k", scheme=scheme))


def check_parse(scheme: Signature, value: str | bytes) -> None:
    """The C parser reads what Signature.parse reads, or leaves the value to it."""
    fast = _parser(scheme).parse(value)
    try:
        presented = scheme.parse({scheme.header: value})  # type: ignore[arg-type]
    except VerificationError:
        assert fast is None, (value, fast)
        return
    if fast is not None:
        assert fast == presented.hmac_signatures, value


def outcome(verifier: Verifier, body: Any, headers: Any) -> tuple[object, ...]:
    """What verify() did, comparable across the two paths."""
    try:
        result = verifier.verify(body, headers)
    except VerificationError as error:
        return ("refused", type(error), error.code, error.status, str(error), error.args)
    except ConfigurationError as error:
        return ("misused", type(error), str(error))
    return ("verified", tuple(result))


def check_requests(
    scheme: Signature,
    secrets: list[str | bytes],
    requests: list[tuple[Any, Any]],
    limit: int | None = None,
) -> None:
    """The same requests, in order, to a verifier with the C check (when built), to one with
    the fused pure-Python check, and to one on the careful path alone."""
    verifiers = []
    if speedups_enabled():
        fast = Verifier(secrets, scheme=scheme, max_body_size=limit)
        assert fast._fast is not None
        assert getattr(fast._fast, "__self__", None) is not None  # the C plan's bound method
        verifiers.append(fast)
    with pure_python():
        fused = Verifier(secrets, scheme=scheme, max_body_size=limit)
    assert fused._fast is not None
    assert getattr(fused._fast, "__self__", None) is None  # a plain Python function
    verifiers.append(fused)
    reference = careful(secrets, scheme, limit)
    for body, headers in requests:
        expected = outcome(reference, body, headers)
        preferred = None if reference._preferred is None else reference._preferred.id
        for verifier in verifiers:
            assert outcome(verifier, body, headers) == expected, (body, headers)
            assert (None if verifier._preferred is None else verifier._preferred.id) == preferred


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[Signature, list[str | bytes], list[tuple[Any, Any]], int | None]:
    """A scheme, 1-4 distinct secrets, up to 6 requests signed with some of them, and a body
    limit (mostly none)."""
    scheme = draw(st.sampled_from(SCHEMES))
    secrets = draw(st.lists(secret_values, min_size=1, max_size=4, unique_by=_key_bytes))
    requests = []
    for _ in range(draw(st.integers(1, 6))):
        body = draw(bodies)
        signers = draw(
            st.lists(st.sampled_from([*secrets, "never-a-candidate"]), min_size=1, max_size=3)
        )
        digests = [hmac.digest(_key_bytes(s), body, "sha256") for s in signers]
        value = draw(header_values(scheme, digests))
        headers = draw(header_shapes(scheme.header, value))
        sent: Any = draw(
            st.sampled_from([body] * 4 + [bytearray(body), memoryview(body), body + b"!", "text"])
        )
        requests.append((sent, headers))
    limit = draw(st.sampled_from([None, None, None, 0, 100, 400]))
    return scheme, secrets, requests, limit


def _key_bytes(secret: str | bytes) -> bytes:
    """The key a secret signs with: what Secret keeps of it (a str stripped, then UTF-8)."""
    return secret.strip().encode() if isinstance(secret, str) else secret


# -- the tests -------------------------------------------------------------------------------------


@needs_c
@SUITE
@given(data=st.data())
def test_the_c_parser_reads_what_python_reads(data: st.DataObject) -> None:
    scheme = data.draw(st.sampled_from(SCHEMES))
    digests = data.draw(st.lists(st.binary(min_size=32, max_size=32), max_size=3))
    check_parse(scheme, data.draw(header_values(scheme, digests)))


@needs_c
@SUITE
@given(data=st.data())
def test_the_c_parser_on_near_valid_tokens(data: st.DataObject) -> None:
    scheme = data.draw(st.sampled_from(SCHEMES))
    check_parse(scheme, data.draw(_near_tokens(scheme, [bytes(range(32))])))


@needs_c
@SUITE
@given(scheme=st.sampled_from(SCHEMES), value=st.one_of(st.text(), st.binary()))
def test_the_c_parser_on_arbitrary_text(scheme: Signature, value: str | bytes) -> None:
    check_parse(scheme, value)


@SUITE
@given(scenario=scenarios())
def test_the_fused_checks_and_the_careful_path_decide_alike(
    scenario: tuple[Signature, list[str | bytes], list[tuple[Any, Any]], int | None],
) -> None:
    check_requests(*scenario)


@needs_c
@SUITE
@given(secret=secret_values, prefix=st.binary(max_size=100), body=st.binary(max_size=3000))
def test_c_hmac_is_hmac(secret: str | bytes, prefix: bytes, body: bytes) -> None:
    from hookseal import _speedups

    key = _key_bytes(secret)
    assert _speedups.HmacKey(key).digest(prefix, body) == hmac.digest(key, prefix + body, "sha256")
