"""The fused pure-Python check of the default scheme (src/hookseal/_fastpath.py): it decides
the usual header shapes in one frame, without the careful path, tries every candidate before a
refusal, and hands every unusual input to the careful path, which raises the typed error.
(tests/test_speedups_differential.py checks that it decides alike on arbitrary input.)"""

from __future__ import annotations

import hmac
from typing import Any

import pytest

from hookseal import (
    InMemoryReplayGuard,
    MalformedHeader,
    MalformedSignature,
    MissingSignature,
    PayloadTooLarge,
    Secret,
    SignatureMismatch,
    Verifier,
    _accel,
    sign,
    verify,
)
from hookseal import verifier as verifier_module
from hookseal.schemes import Signature

SECRETS = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "old-secret", "x" * 100]
BODY = b'{"event":"paid","amount":1200}'


@pytest.fixture(autouse=True)
def pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verifiers made in these tests get the Python check, with or without the C build."""
    monkeypatch.setattr(_accel, "_speedups", None)
    monkeypatch.setattr("hookseal._material.hmac_key", lambda key: None)


@pytest.fixture
def no_careful_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def careful(*args: object) -> None:
        raise AssertionError("the careful path ran")

    monkeypatch.setattr(Verifier, "_prepare", careful)


def _hex(secret: str, body: bytes = BODY) -> str:
    return hmac.digest(secret.encode(), body, "sha256").hex()


def test_the_default_scheme_gets_the_python_check() -> None:
    verifier = Verifier(SECRETS)
    assert verifier._fast is not None
    assert not hasattr(verifier._fast, "__self__")  # a Python function, not the C plan
    assert Verifier(SECRETS, scheme="github")._fast is None  # another scheme: its own parse
    windowed = Secret("windowed", expires_at=2_000_000_000)
    assert Verifier([windowed])._fast is None  # candidates change with time


@pytest.mark.parametrize(
    "headers",
    [
        {"Signature": _hex(SECRETS[1])},
        {"signature": _hex(SECRETS[1])},
        {"Signature": _hex(SECRETS[1]).upper()},
        {"Signature": "sha256=" + _hex(SECRETS[1])},
        {"Signature": "SHA256=" + _hex(SECRETS[1])},
        {"Signature": " \t" + _hex(SECRETS[1]) + " "},
        {"Signature": _hex(SECRETS[1]).encode()},
        {"Signature": b"sha256=" + _hex(SECRETS[1]).encode()},
        [(b"content-type", b"application/json"), (b"signature", _hex(SECRETS[1]).encode())],
        [(b"Signature", ("sha256=" + _hex(SECRETS[1])).encode())],
    ],
)
def test_the_usual_shapes_are_decided_without_the_careful_path(
    headers: Any, no_careful_path: None
) -> None:
    verifier = Verifier(SECRETS)
    assert verifier.verify(BODY, headers).secret_id == Secret(SECRETS[1]).id
    assert verifier._preferred is not None
    assert verifier._preferred.id == Secret(SECRETS[1]).id
    assert verifier.verify(BODY, headers).secret_id == Secret(SECRETS[1]).id  # preferred first
    with pytest.raises(SignatureMismatch):
        verifier.verify(BODY + b" ", headers)


def test_verify_takes_the_same_check(no_careful_path: None) -> None:
    headers = {"Signature": _hex(SECRETS[0])}
    assert verify(BODY, headers, SECRETS[0]).secret_id == Secret(SECRETS[0]).id
    with pytest.raises(SignatureMismatch):
        verify(BODY, headers, SECRETS[1])


def test_every_candidate_is_compared_before_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[bytes] = []
    original = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        compared.append(b)
        return original(a, b)

    monkeypatch.setattr("hookseal._fastpath.hmac.compare_digest", counting)
    verifier = Verifier(SECRETS)
    verifier.verify(BODY, sign(BODY, SECRETS[2]))  # the last one is preferred now
    compared.clear()
    with pytest.raises(SignatureMismatch):
        verifier.verify(BODY, {"Signature": _hex("never-a-candidate")})
    assert len(compared) == len(SECRETS)  # one compare_digest per candidate, then the refusal
    assert verifier._preferred is not None
    assert verifier._preferred.id == Secret(SECRETS[2]).id  # a refusal changes nothing


def test_the_preferred_secret_is_reported_when_several_match() -> None:
    verifier = Verifier(SECRETS)
    verifier.verify(BODY, sign(BODY, SECRETS[2]))
    both = {"Signature": _hex(SECRETS[0]) + "," + _hex(SECRETS[2])}  # the careful path's shape
    assert verifier.verify(BODY, both).secret_id == Secret(SECRETS[2]).id
    assert verifier.verify(BODY, sign(BODY, SECRETS[0])).secret_id == Secret(SECRETS[0]).id
    assert verifier._preferred is not None
    assert verifier._preferred.id == Secret(SECRETS[0]).id


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, MissingSignature),
        ({"Signature": ""}, MissingSignature),
        ({"Signature": "g" * 64}, MalformedSignature),
        ({"Signature": "é" * 64}, MalformedHeader),
        ({"Signature": b"\xff" * 64}, MalformedHeader),
        ({"Signature": "0" * 63}, MalformedSignature),
        ({"Signature": "0" * 9000}, MalformedHeader),
        ({"Signature": "sha256=" + "g" * 64}, MalformedSignature),
        ([(b"signature", b"0" * 64), (b"signature", b"0" * 64)], MalformedHeader),
    ],
)
def test_unusual_headers_get_the_careful_paths_typed_error(
    headers: Any, error: type[Exception]
) -> None:
    verifier = Verifier(SECRETS)
    assert verifier._fast is not None
    assert verifier._fast(verifier, BODY, headers) is None  # not the fused check's to judge
    with pytest.raises(error):
        verifier.verify(BODY, headers)


def test_what_the_check_leaves_to_the_careful_path() -> None:
    headers = sign(BODY, SECRETS[0])
    guarded = Verifier(SECRETS, replay_guard=InMemoryReplayGuard())
    assert guarded._fast is not None
    assert guarded._fast(guarded, BODY, headers) is None  # a replay guard remembers on the way
    guarded.verify(BODY, headers)
    limited = Verifier(SECRETS, max_body_size=len(BODY) - 1)
    assert limited._fast is not None
    assert limited._fast(limited, BODY, headers) is None
    with pytest.raises(PayloadTooLarge):
        limited.verify(BODY, headers)
    roomy = Verifier(SECRETS, max_body_size=len(BODY))
    assert roomy._fast is not None
    assert roomy._fast(roomy, BODY, headers) is not None  # within the limit: decided here
    plain = Verifier(SECRETS)
    assert plain._fast is not None
    assert plain._fast(plain, bytearray(BODY), headers) is None  # not bytes: careful path
    assert plain.verify(bytearray(BODY), headers).secret_id == Secret(SECRETS[0]).id


@pytest.mark.parametrize(
    "scheme",
    [
        Signature(encoding="base64"),  # 64 hex digits are not base64 of 32 bytes
        Signature(header="X-Hub-Signature-256", prefix="sha256=", require_prefix=True),
    ],
)
def test_a_bare_hex_digest_is_not_taken_where_the_scheme_refuses_it(scheme: Signature) -> None:
    verifier = Verifier(SECRETS[0], scheme=scheme)
    headers = {scheme.header: _hex(SECRETS[0])}
    assert verifier._fast is not None
    assert verifier._fast(verifier, BODY, headers) is None
    with pytest.raises(MalformedSignature):
        verifier.verify(BODY, headers)


def test_a_changed_verifier_is_left_to_the_careful_path() -> None:
    verifier = Verifier(SECRETS)
    headers = sign(BODY, SECRETS[0])
    verifier.replay_guard = InMemoryReplayGuard()
    assert verifier._fast is not None
    assert verifier._fast(verifier, BODY, headers) is None
    assert verifier.verify(BODY, headers).replay_key is not None


def test_verify_reuses_one_verifier_per_secret_with_default_options() -> None:
    verify(BODY, sign(BODY, SECRETS[0]), SECRETS[0])
    cached = verifier_module._DEFAULTS[SECRETS[0]]
    verify(BODY, sign(BODY, SECRETS[0]), SECRETS[0])
    assert verifier_module._DEFAULTS[SECRETS[0]] is cached
    assert verifier_module._VERIFIERS[(SECRETS[0], None, None, 60.0, None)] is cached
    # any option given: the 5-tuple key, never the defaults' verifier
    verify(BODY, sign(BODY, SECRETS[0]), SECRETS[0], tolerance=10)
    assert verifier_module._VERIFIERS[(SECRETS[0], None, 10, 60.0, None)] is not cached
