"""Properties, for every scheme: whatever arrives, verify() answers Verified or a
VerificationError, nothing else; sign() then verify() round-trips any body, one-shot or streamed
in any chunks; a changed body is refused; a forged request costs a bounded number of checks."""

from __future__ import annotations

import base64
import json
from itertools import pairwise
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _key_server import self_signed
from hookseal import VerificationError, Verified, Verifier, schemes, sign
from hookseal.schemes import Plaid, Sns
from hookseal.schemes.mailgun import signed_body
from hookseal.schemes.plaid import signed_headers
from hookseal.schemes.sns import signed_message

NOW = 1_700_000_000
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
URL = "https://example.com/hooks/in?tenant=1"
SCHEMES = sorted(s.name for s in schemes.schemes())


def _pem(private: Any) -> str:
    from cryptography.hazmat.primitives import serialization as ser

    return str(
        private.private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()
        ).decode()
    )


def _new_keys() -> tuple[str, str, str, str]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    ed = [_pem(ed25519.Ed25519PrivateKey.generate()) for _ in range(2)]
    p256 = [_pem(ec.generate_private_key(ec.SECP256R1())) for _ in range(2)]
    return ed[0], ed[1], p256[0], p256[1]


ED25519_PEM, ED25519_OTHER, P256_PEM, P256_OTHER = _new_keys()
TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
SNS_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
SNS_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SNS_PEM = self_signed(SNS_KEY)
PLAID_KEY = ec.generate_private_key(ec.SECP256R1())
PLAID_KID = "bfbd5111-8e33-4643-8ced-b2e642a72f3c"


def _plaid_key(url: str, document: Any) -> Any:
    numbers = PLAID_KEY.public_key().public_numbers()
    x, y = (
        base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()
        for n in (numbers.x, numbers.y)
    )
    jwk = {"kty": "EC", "crv": "P-256", "kid": document["key_id"], "x": x, "y": y}
    return {"key": {**jwk, "alg": "ES256", "use": "sig", "expired_at": None}}


LOCAL = {
    "sns": Sns(fetch=lambda url: SNS_PEM),
    "plaid": Plaid("client-id", fetch=_plaid_key),
}
"""The schemes whose key is fetched, with a fetcher that answers in-process."""
KEYS = {"discord": ED25519_PEM, "sendgrid": P256_PEM, "sns": TOPIC, "plaid": "plaid-secret-1"}
OTHER_KEYS = {
    "discord": ED25519_OTHER,
    "sendgrid": P256_OTHER,
    "sns": "arn:aws:sns:us-east-1:123456789012:other",
    "plaid": "plaid-secret-2",
}
"""The public-key schemes sign with a private key (PEM); it verifies too (its public half)."""
NOT_COVERING_BYTES = {"gitlab", "okta", "mailgun", "twilio", "twilio-sha256", "sns"}
"""A token covers no body; Mailgun signs timestamp + token only; Twilio signs the form's
decoded fields, not its bytes (%c3 and %C3 are one value), and SNS the JSON fields' decoded
values (\u00e9 and \u00e9 are one). Their flipped-bit cases are below and in test_sns."""


def _key(scheme: str) -> str:
    return KEYS.get(scheme, WHSEC)


def _other_key(scheme: str, i: int = 1) -> str:
    return OTHER_KEYS.get(scheme, f"whsec_b2xkLXNlY3JldC1rZXk{i}")


def _scheme(name: str) -> Any:
    return LOCAL.get(name, name)


VERIFIERS = {
    name: Verifier([_key(name), _other_key(name)], scheme=_scheme(name)) for name in SCHEMES
}
NAMES = sorted(
    {n.lower() for name in SCHEMES for n in schemes.by_name(name).header_names}
    | {"svix-id", "svix-timestamp", "svix-signature", "content-type"}
)


def _shape(scheme: str, raw: bytes) -> bytes:
    """``raw`` carried in the body the way the scheme's provider sends bodies."""
    text = raw.decode("latin-1")
    if scheme.startswith("twilio"):
        from urllib.parse import urlencode

        return urlencode({"Body": text, "From": "+15551234567"}).encode()
    if scheme == "linear":
        return json.dumps({"data": text, "webhookTimestamp": NOW * 1000}).encode()
    if scheme == "mailgun":
        return signed_body(
            {"data": text}, _key(scheme), timestamp=NOW, token="tok_" + str(len(raw))
        )
    if scheme == "sns":
        return signed_message(
            SNS_KEY, certificate_url=SNS_URL, topic_arn=TOPIC, message=text, timestamp=NOW
        )
    return raw


def _signed(scheme: str, raw: bytes) -> tuple[bytes, dict[str, str]]:
    body = _shape(scheme, raw)
    if scheme in ("mailgun", "sns"):
        return body, {}
    if scheme == "plaid":
        return body, signed_headers(PLAID_KEY, body, kid=PLAID_KID, issued_at=NOW)
    return body, sign(body, _key(scheme), scheme=scheme, now=NOW, url=URL)


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
        result = VERIFIERS[scheme].verify(body, headers, now=NOW, url=URL)
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
    body, signed = _signed(scheme, body)
    headers: dict[str, Any] = dict(signed) or {"content-type": "application/json"}
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
    body, headers = _signed(scheme, body)
    one_shot = verifier.verify(body, headers, now=NOW, url=URL)
    assert one_shot.scheme == verifier.scheme.name
    pending = verifier.begin(headers, now=NOW, url=URL)
    points = sorted({0, len(body), *(c for c in cuts if c <= len(body))})
    for start, end in pairwise(points):
        pending.update(body[start:end])
    assert pending.finish() == one_shot


@pytest.mark.parametrize("scheme", sorted(set(SCHEMES) - NOT_COVERING_BYTES))
@FAST
@given(body=st.binary(min_size=1, max_size=200), index=st.integers(0, 199), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(scheme: str, body: bytes, index: int, bit: int) -> None:
    body, headers = _signed(scheme, body)
    index %= len(body)
    changed = body[:index] + bytes([body[index] ^ (1 << bit)]) + body[index + 1 :]
    with pytest.raises(VerificationError):
        VERIFIERS[scheme].verify(changed, headers, now=NOW, url=URL)


@pytest.mark.parametrize("scheme", ["twilio", "twilio-sha256"])
@FAST
@given(value=st.text(max_size=40), other=st.text(min_size=1, max_size=40))
def test_twilio_refuses_any_changed_field(scheme: str, value: str, other: str) -> None:
    """What Twilio signs is the fields' decoded names and values: any change to one is refused."""
    from urllib.parse import urlencode

    body = urlencode({"Body": value, "To": "+1"}).encode()
    headers = sign(body, WHSEC, scheme=scheme, url=URL)
    changed = urlencode({"Body": value + other, "To": "+1"}).encode()
    with pytest.raises(VerificationError):
        VERIFIERS[scheme].verify(changed, headers, now=NOW, url=URL)


class _Counting:
    """Wraps a key material and counts the checks a request costs."""

    def __init__(self, inner: Any, counter: list[int]) -> None:
        self._inner, self._counter = inner, counter

    def matches(self, *args: Any) -> bool:
        self._counter[0] += 1
        return bool(self._inner.matches(*args))

    def start(self, prefix: bytes) -> Any:
        self._counter[0] += 1
        return self._inner.start(prefix)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("count", [1, 3])
def test_a_forged_request_costs_at_most_two_checks_per_secret(scheme: str, count: int) -> None:
    """Forged with the maximum of signatures the header holds: still a bounded number of
    checks per active secret (two where a URL is tried with and without its port)."""
    from hookseal import Secret, SecretSet

    secrets = [
        Secret(_key(scheme) if i == 0 else _other_key(scheme, i), id=f"k{i}") for i in range(count)
    ]
    verifier = Verifier(SecretSet(secrets), scheme=_scheme(scheme))
    counter = [0]
    for secret in secrets:
        material = verifier.material(secret)
        if material is not None:
            secret._material[verifier.scheme.material_kind] = _Counting(material, counter)
    body = _shape(scheme, b"payload")
    if scheme == "mailgun":  # the same delivery, its signature made with another key
        body = signed_body({"data": "payload"}, "forger", timestamp=NOW, token="tok_7")
        headers: dict[str, str] = {}
    elif scheme == "sns":  # signed by a key whose certificate is not the one served
        rsa_forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        body = signed_message(
            rsa_forger, certificate_url=SNS_URL, topic_arn=TOPIC, message="payload", timestamp=NOW
        )
        headers = {}
    elif scheme == "plaid":  # a token from a key pair that is not the one Plaid answers
        forged_key = ec.generate_private_key(ec.SECP256R1())
        headers = signed_headers(forged_key, body, kid=PLAID_KID, issued_at=NOW)
    elif scheme in KEYS:  # one signature only, from a key pair nobody configured
        forger = _new_keys()[0 if scheme == "discord" else 2]
        headers = sign(body, forger, scheme=scheme, now=NOW, url=URL)
    else:  # as many signatures as the header may hold, none from a known secret
        forgers = [f"whsec_forger{i}" for i in range(16)]
        headers = sign(body, forgers, scheme=scheme, now=NOW, url=URL)
    with pytest.raises(VerificationError):
        verifier.verify(body, headers, now=NOW, url=URL)
    assert 1 <= counter[0] <= 2 * count
