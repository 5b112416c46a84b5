"""The fast paths taken for speed (plain-dict headers, preferred secret, inlined result) accept
and refuse exactly what the careful paths do, for every scheme and every header shape."""

from __future__ import annotations

import pytest

from hookseal import Secret, SignatureMismatch, VerificationError, Verifier, sign, verify
from hookseal.testing import forged_request, tampered

SCHEMES = [
    "signature",
    "github",
    "standard",
    "stripe",
    "slack",
    "shopify",
    # data-driven providers (HeaderScheme records) with HMAC keys
    "bitbucket",
    "paystack",
    "xero",
    "typeform",
    "intercom",
    "pagerduty",
    "paddle",
    "zoom",
    "calendly",
    "twitch",
]
SECRETS = [
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
    "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
]
BODY = b'{"event":"paid","amount":1200}'


def _shapes(headers: dict[str, str], scheme: str) -> list[object]:
    """The same headers as a framework might hand them over."""
    shapes: list[object] = [
        headers,
        {k.lower(): v for k, v in headers.items()},
        {k.upper(): v for k, v in headers.items()},
        list(headers.items()),
        [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    ]
    if scheme == "standard":
        shapes.append({k.replace("webhook", "svix"): v for k, v in headers.items()})
        shapes.append(
            [(k.replace("webhook", "svix").encode(), v.encode()) for k, v in headers.items()]
        )
    return shapes


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("count", [1, 3])
def test_valid_in_every_shape_and_repeatedly(scheme: str, count: int) -> None:
    secrets = SECRETS[:count]
    headers = sign(BODY, secrets[-1], scheme=scheme)
    verifier = Verifier(secrets, scheme=scheme)
    for shape in _shapes(headers, scheme):
        for _ in range(3):  # the first call finds the secret, later ones try it first
            result = verifier.verify(BODY, shape)  # type: ignore[arg-type]
            assert result.scheme == verifier.scheme.name
            assert result.secret_id == Secret(secrets[-1]).id
        assert verify(BODY, shape, secrets[-1], scheme=scheme).scheme == verifier.scheme.name  # type: ignore[arg-type]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_forged_and_tampered_refused_after_a_match(scheme: str) -> None:
    verifier = Verifier(SECRETS, scheme=scheme)
    headers = sign(BODY, SECRETS[0], scheme=scheme)
    verifier.verify(BODY, headers)  # now the preferred secret
    with pytest.raises(SignatureMismatch):
        verifier.verify(tampered(BODY), headers)
    body, forged = forged_request(BODY, scheme=scheme)
    with pytest.raises(SignatureMismatch):
        verifier.verify(body, forged)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(
    "junk", ["", "zz", "\u00e9", "v1,abc", "t=1,v1=zz", "sha256=" + "g" * 64, "1" * 9000]
)
def test_bad_header_values_are_typed_errors_on_the_fast_path(scheme: str, junk: str) -> None:
    headers = sign(BODY, SECRETS[0], scheme=scheme)
    verifier = Verifier(SECRETS[0], scheme=scheme)
    for name in headers:
        changed = dict(headers)
        changed[name] = junk
        with pytest.raises(VerificationError):
            verifier.verify(BODY, changed)
        del changed[name]
        with pytest.raises(VerificationError):
            verifier.verify(BODY, changed)


def test_expired_preferred_secret_is_not_used() -> None:
    old = Secret(SECRETS[0], id="old", expires_at=1_000_000)
    new = Secret(SECRETS[1], id="new")
    verifier = Verifier([old, new], leeway=0)
    headers = sign(BODY, SECRETS[0], now=999_000)
    assert verifier.verify(BODY, headers, now=999_000).secret_id == "old"  # preferred now
    with pytest.raises(SignatureMismatch):
        verifier.verify(BODY, headers, now=1_000_001)
