"""The C accelerator's parts (src/hookseal/_speedups.c) on their own: the HMAC equals the
standard library's for every key length, the streaming digester equals the one-shot HMAC, the
fused check of the default scheme really runs in C for the usual header shapes (and hands
every unusual input to the Python path), and no secret can leave through repr or pickle."""

from __future__ import annotations

import base64
import hmac
import pickle
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from starlette.datastructures import Headers

from hookseal import (
    InMemoryReplayGuard,
    MalformedHeader,
    Secret,
    SignatureMismatch,
    Verified,
    Verifier,
    sign,
    speedups_enabled,
)
from hookseal.schemes import Signature

pytestmark = pytest.mark.skipif(not speedups_enabled(), reason="the C accelerator is not in use")

if speedups_enabled():
    from hookseal import _speedups
else:  # pragma: no cover - the whole module is skipped
    _speedups = None  # type: ignore[assignment]

SECRETS = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "old-secret", "x" * 100]
BODY = b'{"event":"paid","amount":1200}'


def _plan(verifier: Verifier) -> Any:
    """The SignaturePlan behind a verifier's C check (a bound method's ``__self__``)."""
    assert verifier._fast is not None, "the C check should apply to this verifier"
    return verifier._fast.__self__  # type: ignore[attr-defined]


class _Headers(Mapping[str, str]):
    """A framework-style mapping (not a dict), case-insensitive unless told otherwise."""

    def __init__(self, items: dict[str, str], *, exact: bool = False) -> None:
        self._exact = exact
        self._items = {k if exact else k.lower(): v for k, v in items.items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key if self._exact else key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


# -- HMAC ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 31, 32, 63, 64, 65, 128, 1000])
def test_hmac_equals_the_standard_library_for_every_key_length(size: int) -> None:
    key = bytes(range(256))[:size] * (1 + size // 256)
    key = key[:size]
    fast = _speedups.HmacKey(key)
    for prefix, body in [(b"", b""), (b"", BODY), (b"123.", BODY), (b"p" * 200, b"b" * 5000)]:
        assert fast.digest(prefix, body) == hmac.digest(key, prefix + body, "sha256")


def test_hmac_accepts_every_bytes_like_and_refuses_str_like_hashlib() -> None:
    fast = _speedups.HmacKey(bytearray(b"key"))
    expected = hmac.digest(b"key", BODY, "sha256")
    assert fast.digest(b"", bytearray(BODY)) == expected
    assert fast.digest(memoryview(b""), memoryview(BODY)) == expected
    with pytest.raises(TypeError, match="Strings must be encoded"):
        fast.digest(b"", "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _speedups.HmacKey("key")  # type: ignore[arg-type]
    with pytest.raises(BufferError):
        fast.digest(b"", memoryview(BODY)[::2])


def test_matches_is_hmac_material_matches() -> None:
    fast = _speedups.HmacKey(b"key")
    good = hmac.digest(b"key", b"pre" + BODY, "sha256")
    assert fast.matches(b"pre", BODY, (b"\x00" * 32, good)) is True
    assert fast.matches(b"pre", BODY, (good[:31],)) is False  # a shorter digest never matches
    assert fast.matches(b"pre", BODY, ()) is False
    assert fast.matches(b"", BODY, (good,), ()) is False
    assert fast.matches(prefix=b"pre", body=BODY, hmac_sigs=[good]) is True
    with pytest.raises(TypeError):
        fast.matches(b"pre", BODY, ("not bytes",))  # type: ignore[arg-type]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000, 70_000])
def test_digester_equals_the_one_shot_hmac_in_any_chunks(chunk: int) -> None:
    body = bytes(range(256)) * 1000  # 256 kB: large chunks hash with the GIL released
    fast = _speedups.HmacKey(b"secret")
    digester = fast.start(b"id.123.")
    for start in range(0, len(body), chunk):
        piece = body[start : start + chunk]
        digester.update(piece if chunk % 2 else bytearray(piece))
    good = hmac.digest(b"secret", b"id.123." + body, "sha256")
    assert digester.matches((good,), ()) is True
    assert digester.matches([good]) is True  # asking twice gives the same answer
    assert digester.matches((b"\x01" * 32,), ()) is False
    with pytest.raises(TypeError, match="Strings must be encoded"):
        digester.update("text")  # type: ignore[arg-type]


def test_digester_is_what_hmac_material_starts() -> None:
    verifier = Verifier("secret", scheme="stripe")
    material = verifier.material(Secret("secret"))
    digester = material.start(b"1.")
    assert type(digester) is _speedups.Digester
    digester.update(BODY)
    assert digester.matches((hmac.digest(b"secret", b"1." + BODY, "sha256"),), ())


def test_threads_hash_large_bodies_at_once_and_agree() -> None:
    """The GIL is released while hashing a big buffer: each thread's own state stays its own."""
    fast = _speedups.HmacKey(b"secret")
    bodies = [bytes([n]) * 300_000 for n in range(4)]
    expected = [hmac.digest(b"secret", body, "sha256") for body in bodies]
    results: dict[int, list[bytes]] = {n: [] for n in range(4)}

    def work(n: int) -> None:
        for _ in range(5):
            results[n].append(fast.digest(b"", bodies[n]))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(results[n] == [expected[n]] * 5 for n in range(4))


def test_key_material_cannot_be_pickled_nor_shown() -> None:
    fast = _speedups.HmacKey(b"the-secret-value")
    for thing in (fast, fast.start(b"")):
        assert "the-secret-value" not in repr(thing)
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(thing)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(_plan(Verifier("the-secret-value")))


def test_libcrypto_is_named() -> None:
    assert "SSL" in _speedups.openssl_version()  # OpenSSL, LibreSSL, BoringSSL


# -- the fused check of the default scheme ------------------------------------------------------


def _header_shapes(headers: dict[str, str]) -> list[object]:
    (name, value), *_ = headers.items()
    return [
        headers,
        {name.lower(): value},  # read_header's second try, as from dict(starlette_headers)
        {name: value.encode()},
        [(name.lower().encode(), value.encode())],
        [(b"content-type", b"application/json"), (name.upper().encode(), value.encode())],
        [(name.lower().encode(), value)],
        Headers(raw=[(name.lower().encode(), value.encode())]),
        _Headers(headers),
        _Headers({name.lower(): value}, exact=True),  # found by read_header's second try
    ]


@pytest.mark.parametrize(
    "scheme",
    [
        Signature(),
        Signature(encoding="hex"),
        Signature(encoding="base64"),
        Signature(header="X-Hub-Signature-256", prefix="sha256=", require_prefix=True),
        Signature(prefix="V1=", require_prefix=True, encoding="base64"),
    ],
)
def test_the_usual_shapes_are_decided_in_c(scheme: Signature) -> None:
    verifier = Verifier(SECRETS, scheme=scheme)
    plan = _plan(verifier)
    for secret in SECRETS:
        headers = sign(BODY, secret, scheme=scheme)
        for shape in _header_shapes(headers):
            found = plan.check(verifier, BODY, shape)
            assert isinstance(found, Verified), shape
            assert verifier._preferred is not None
            assert verifier._preferred.id == found.secret_id
            assert found == (Secret(secret).id, "signature", None, None, None)
        for body in (bytearray(BODY), memoryview(BODY)):
            assert plan.check(verifier, body, headers) == found


def test_several_signatures_and_spellings_are_decided_in_c() -> None:
    verifier = Verifier(SECRETS[:2])
    plan = _plan(verifier)
    good = hmac.digest(SECRETS[1].encode(), BODY, "sha256")
    other = hmac.digest(b"unknown", BODY, "sha256")
    values = [
        f"{other.hex()}, {good.hex()}",
        f"sha256={other.hex()},SHA256={good.hex().upper()}",
        f"  {base64.b64encode(other).decode()}\t{base64.b64encode(good).decode()}  ",
        ",".join([other.hex()] * 15 + [good.hex()]),  # MAX_SIGNATURES exactly
    ]
    for value in values:
        assert plan.check(verifier, BODY, {"Signature": value}) == (
            Secret(SECRETS[1]).id,
            "signature",
            None,
            None,
            None,
        ), value


def test_a_forgery_is_refused_in_c_with_the_verifiers_own_error() -> None:
    verifier = Verifier(SECRETS)
    plan = _plan(verifier)
    forged = sign(BODY, "unknown")
    with pytest.raises(SignatureMismatch) as caught:
        plan.check(verifier, BODY, forged)
    assert caught.value.code == verifier._mismatch().code
    assert str(caught.value) == str(verifier._mismatch())
    assert verifier._preferred is None  # nothing matched, nothing remembered


def test_the_preferred_secret_is_tried_first_and_kept_in_step_with_python() -> None:
    verifier = Verifier(SECRETS)
    plan = _plan(verifier)
    both = {
        "Signature": ",".join(
            hmac.digest(s.encode(), BODY, "sha256").hex() for s in (SECRETS[0], SECRETS[2])
        )
    }
    last = sign(BODY, SECRETS[2])
    assert plan.check(verifier, BODY, last).secret_id == Secret(SECRETS[2]).id
    # both secrets match now; the preferred one (the last that matched) is reported
    assert plan.check(verifier, BODY, both).secret_id == Secret(SECRETS[2]).id
    verifier._fast = None  # the Python path agrees
    assert verifier.verify(BODY, both).secret_id == Secret(SECRETS[2]).id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"SIGNATURE": "0" * 64},  # another spelling: the Python path looks case-blind
        {"Signature": ""},
        {"Signature": "   "},
        {"Signature": "é" * 64},
        {"Signature": b"\xff" * 64},
        {"Signature": "g" * 64},
        {"Signature": "0" * 63},
        {"Signature": "0" * 64 + ",zz"},
        {"Signature": ",".join(["0" * 64] * 17)},  # more than MAX_SIGNATURES
        {"Signature": "0" * 64 + "\n" + "0" * 64},  # whitespace other than space and tab
        {"Signature": "0" * 8193},
        {"Signature": 42},
        [(b"signature", b"0" * 64), (b"Signature", b"0" * 64)],  # twice: MalformedHeader
        [(b"signature", b"0" * 64), ("x", "y")],
        [[b"signature", b"0" * 64]],
        "Signature: 00",
    ],
)
def test_unusual_input_goes_the_python_way(headers: Any) -> None:
    verifier = Verifier(SECRETS)
    assert _plan(verifier).check(verifier, BODY, headers) is None


def test_unusual_bodies_and_verifier_states_go_the_python_way() -> None:
    verifier = Verifier(SECRETS)
    plan = _plan(verifier)
    headers = sign(BODY, SECRETS[0])
    for body in ["text", memoryview(BODY)[::2], [1, 2]]:
        assert plan.check(verifier, body, headers) is None
    verifier.max_body_size = len(BODY) - 1
    assert plan.check(verifier, BODY, headers) is None
    verifier.max_body_size = len(BODY)
    assert plan.check(verifier, BODY, headers) is not None
    verifier.max_body_size = None
    verifier.replay_guard = InMemoryReplayGuard()
    assert plan.check(verifier, BODY, headers) is None
    verifier.replay_guard = None
    verifier.scheme = Signature()  # another scheme than the plan's, even an equal one
    assert plan.check(verifier, BODY, headers) is None


class _Raising(Mapping[str, str]):
    """A mapping whose lookups fail with ``error``."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def __getitem__(self, key: str) -> str:
        raise self._error

    def get(self, key: str, default: object = None) -> Any:
        raise self._error

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_a_mapping_that_fails_goes_the_python_way_but_an_interruption_stops() -> None:
    verifier = Verifier(SECRETS)
    plan = _plan(verifier)
    assert plan.check(verifier, BODY, _Raising(TypeError("broken"))) is None
    with pytest.raises(MalformedHeader):  # what the Python path makes of it
        verifier.verify(BODY, _Raising(TypeError("broken")))
    with pytest.raises(KeyboardInterrupt):
        plan.check(verifier, BODY, _Raising(KeyboardInterrupt()))


def test_attributes_are_read_from_the_slots_while_the_class_is_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = Verifier(SECRETS)
    plan = _plan(verifier)
    assert plan.reads_slots
    headers = sign(BODY, SECRETS[2])
    assert plan.check(verifier, BODY, headers).secret_id == Secret(SECRETS[2]).id
    # Changing the class (its version tag) makes the check read attributes the generic way.
    monkeypatch.setattr(Verifier, "_mismatch", Verifier._mismatch, raising=True)
    monkeypatch.setattr(Verifier, "extra", 1, raising=False)
    assert plan.check(verifier, BODY, headers).secret_id == Secret(SECRETS[2]).id
    verifier.replay_guard = InMemoryReplayGuard()
    assert plan.check(verifier, BODY, headers) is None
    verifier.replay_guard = None
    del verifier._preferred  # an unset slot: the Python path reads it (and fails the same way)
    assert plan.check(verifier, BODY, headers) is None


class _Subclass(Verifier):
    """A user's subclass (the same slots, found through the base class)."""

    __slots__ = ()


def test_a_subclass_is_checked_in_c_too() -> None:
    verifier = _Subclass(SECRETS)
    plan = _plan(verifier)
    assert plan.reads_slots
    assert plan.check(verifier, BODY, sign(BODY, SECRETS[0])).secret_id == Secret(SECRETS[0]).id
    other = Verifier(SECRETS)  # another verifier (other secrets): not this plan's to decide
    assert plan.check(other, BODY, sign(BODY, SECRETS[0])) is None


def test_a_repeated_header_is_still_refused_through_the_fallback() -> None:
    verifier = Verifier(SECRETS)
    value = sign(BODY, SECRETS[0])["Signature"].encode()
    with pytest.raises(MalformedHeader):
        verifier.verify(BODY, [(b"signature", value), (b"signature", value)])


def test_only_the_default_scheme_over_fixed_secrets_gets_a_c_check() -> None:
    assert Verifier(SECRETS)._fast is not None
    assert Verifier(SECRETS, scheme="github")._fast is None
    assert Verifier(SECRETS, scheme="stripe")._fast is None
    windowed = Secret("windowed", expires_at=2_000_000_000)
    assert Verifier([windowed])._fast is None  # candidates change with time


def test_a_header_that_is_not_ascii_is_refused_at_construction_not_in_c() -> None:
    plan_type = _speedups.SignaturePlan
    fast = _speedups.HmacKey(b"k")
    with pytest.raises(ValueError, match="ASCII"):
        plan_type("Signatüre", 0, "", False, None, None, (1,), (fast,), (2,))
    with pytest.raises(TypeError):
        plan_type("Signature", 0, "", False, None, None, (1,), ("not a key",), (2,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="equal"):
        plan_type("Signature", 0, "", False, None, None, (), (), ())


def test_verify_decides_in_c_without_the_python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = Verifier(SECRETS)
    headers = sign(BODY, SECRETS[1])

    def no_python_path(*args: object) -> None:
        raise AssertionError("the Python path ran")

    monkeypatch.setattr(Verifier, "_prepare", no_python_path)
    assert verifier.verify(BODY, headers).secret_id == Secret(SECRETS[1]).id
    with pytest.raises(SignatureMismatch):
        verifier.verify(BODY, sign(BODY, "unknown"))
    with pytest.raises(AssertionError, match="the Python path ran"):
        verifier.verify(BODY, {})  # a missing header is for the Python path to explain
