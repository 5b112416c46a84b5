"""The verifier: one-shot, async and streaming agree; time, candidates and limits behave."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from hookseal import (
    ConfigurationError,
    NoActiveSecret,
    PayloadTooLarge,
    Secret,
    SecretSet,
    SignatureMismatch,
    TimestampTooNew,
    TimestampTooOld,
    Verified,
    Verifier,
    schemes,
    sign,
    verify,
)
from hookseal._material import Digester, HmacMaterial, KeyMaterial
from hookseal.secrets import SecretProvider

NOW = 1_700_000_000
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ALL = ["signature", "github", "standard", "stripe", "slack", "shopify"]
TIMED = ["standard", "stripe", "slack"]


# -- a scheme whose key material records every check (to test order without timing) ---------------


class CountingMaterial:
    """Wraps HMAC material and logs which secret was checked, one-shot or streaming."""

    kind = "hmac-sha256"

    def __init__(self, name: str, log: list[str]) -> None:
        self._inner = HmacMaterial(name.encode())
        self._name = name
        self._log = log

    def matches(
        self, prefix: bytes, body: bytes, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]
    ) -> bool:
        self._log.append(self._name)
        return self._inner.matches(prefix, body, hmac_sigs, ed25519_sigs)

    def start(self, prefix: bytes) -> Digester:
        self._log.append("start:" + self._name)
        return self._inner.start(prefix)

    def sign(self, message: bytes) -> bytes:
        return self._inner.sign(message)


@dataclass(frozen=True)
class CountingSignature(schemes.Signature):
    """The Signature scheme with counting material (a fresh material kind per test)."""

    log: list[str] | None = None
    material_kind = "counting"

    def derive(self, secret: Secret) -> KeyMaterial:
        assert self.log is not None
        return CountingMaterial(secret.reveal().decode(), self.log)

    def material(self, secret: Secret) -> KeyMaterial:
        return self.derive(secret)  # never cached: each test sees only its own log


def counting(secrets: Sequence[str]) -> tuple[Verifier, list[str]]:
    log: list[str] = []
    scheme = CountingSignature(log=log)
    return Verifier(secrets, scheme=scheme), log


# -- the public calls -----------------------------------------------------------------------------


def test_readme_calls() -> None:
    body = b'{"ok": true}'
    headers = sign(body, "s3cr3t")
    assert isinstance(headers, dict)
    assert set(headers) == {"Signature"}
    result = verify(body, headers, "s3cr3t")
    assert result == Verified(Secret("s3cr3t").id, "signature", None, None, None)
    gh = sign(body, "s3cr3t", scheme=schemes.GitHub())
    assert verify(body, gh, ["s3cr3t"], scheme=schemes.GitHub(), now=NOW).scheme == "github"
    verifier = Verifier(WHSEC, scheme=schemes.StandardWebhooks(), tolerance=300)
    assert verifier.verify(body, verifier.sign(body)).scheme == "standard"


@pytest.mark.parametrize("scheme", ALL)
def test_round_trip_every_scheme(scheme: str) -> None:
    body = b'{"id": 42}'
    headers = sign(body, WHSEC, scheme=scheme, now=NOW)
    result = verify(body, headers, WHSEC, scheme=scheme, now=NOW)
    assert result.secret_id == Secret(WHSEC).id
    if scheme in TIMED:
        assert result.timestamp == NOW
    else:
        assert result.timestamp is None
    assert (result.message_id is not None) == (scheme == "standard")


@pytest.mark.parametrize(
    "body", [b"", b"\x00", b"\xff" * 3, "caf\u00e9 \u2603".encode(), b"x" * 70_000]
)
def test_bodies_are_hashed_as_raw_bytes(body: bytes) -> None:
    headers = sign(body, "s")
    assert verify(body, headers, "s")
    assert verify(bytearray(body), headers, "s")
    assert verify(memoryview(body), headers, "s")


@pytest.mark.parametrize("body", ["text", {"json": 1}, None, 5])
def test_body_that_is_not_bytes_is_a_configuration_error(body: object) -> None:
    """Decoded or parsed bodies no longer are what was signed."""
    headers = sign(b"text", "s")
    with pytest.raises(ConfigurationError, match="raw request bytes"):
        verify(body, headers, "s")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        sign(body, "s")  # type: ignore[arg-type]


def test_verified_never_holds_the_value() -> None:
    result = verify(b"x", sign(b"x", "super-secret"), "super-secret")
    assert "super-secret" not in repr(result)
    assert result.secret_id.startswith("fp-")


def test_errors_do_not_leak_the_secret_or_the_expected_signature() -> None:
    secret = "never-show-me"
    body = b"payload"
    expected = sign(body, secret)["Signature"]
    forged = {"Signature": "0" * 64}
    verifier = Verifier(secret)
    with pytest.raises(SignatureMismatch) as info:
        verifier.verify(body, forged)
    error = info.value
    for text in (str(error), repr(error), repr(error.args), error.detail, repr(verifier)):
        assert secret not in text
        assert expected not in text
    assert error.header == "Signature"
    assert error.__cause__ is None
    assert error.__context__ is None


# -- time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", TIMED)
def test_tolerance_both_directions(scheme: str) -> None:
    body = b"x"
    headers = sign(body, WHSEC, scheme=scheme, now=NOW)
    assert verify(body, headers, WHSEC, scheme=scheme, now=NOW + 300)
    assert verify(body, headers, WHSEC, scheme=scheme, now=NOW - 300)
    with pytest.raises(TimestampTooOld) as old:
        verify(body, headers, WHSEC, scheme=scheme, now=NOW + 300.5)
    assert old.value.status == 401
    assert "300 s" in old.value.detail
    with pytest.raises(TimestampTooNew) as new:
        verify(body, headers, WHSEC, scheme=scheme, now=NOW - 301)
    assert new.value.status == 401


@pytest.mark.parametrize("scheme", TIMED)
def test_tolerance_is_configurable(scheme: str) -> None:
    body = b"x"
    headers = sign(body, WHSEC, scheme=scheme, now=NOW)
    strict = Verifier(WHSEC, scheme=scheme, tolerance=5)
    assert strict.verify(body, headers, now=NOW + 5)
    with pytest.raises(TimestampTooOld):
        strict.verify(body, headers, now=NOW + 6)
    with pytest.raises(TimestampTooNew):
        strict.verify(body, headers, now=NOW - 6)
    lenient = Verifier(WHSEC, scheme=scheme, tolerance=3600)
    assert lenient.verify(body, headers, now=NOW + 3600)
    assert verify(body, headers, WHSEC, scheme=scheme, now=NOW + 3000, tolerance=3600)


def test_timestamp_checked_before_any_hmac() -> None:
    """A stale request is refused as stale even when its signature is also wrong."""
    headers = sign(b"x", "other", scheme="stripe", now=NOW)
    with pytest.raises(TimestampTooOld):
        verify(b"x", headers, "s", scheme="stripe", now=NOW + 10_000)


def test_now_as_float_int_and_aware_datetime() -> None:
    body = b"x"
    headers = sign(body, "s", scheme="slack", now=NOW)
    aware = dt.datetime.fromtimestamp(NOW + 10, tz=dt.timezone(dt.timedelta(hours=5)))
    for now in (NOW, float(NOW) + 0.5, aware):
        assert verify(body, headers, "s", scheme="slack", now=now).timestamp == NOW
    with pytest.raises(TimestampTooOld):
        verify(body, headers, "s", scheme="slack", now=aware + dt.timedelta(seconds=300))


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2023, 11, 14, 22, 13, 20),  # naive: refused, never guessed
        float("nan"),
        float("inf"),
        -float("inf"),
        10**400,
        "1700000000",
        True,
    ],
)
def test_bad_now_is_a_configuration_error(now: object) -> None:
    body = b"x"
    for scheme in ("signature", "stripe"):
        headers = sign(body, "s", scheme=scheme, now=NOW)
        with pytest.raises(ConfigurationError):
            verify(body, headers, "s", scheme=scheme, now=now)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            sign(body, "s", scheme=scheme, now=now)  # type: ignore[arg-type]


def test_injected_clock_is_used() -> None:
    moments = [float(NOW)]
    verifier = Verifier("s", scheme="slack", clock=lambda: moments[0])
    headers = verifier.sign(b"x")
    assert headers["X-Slack-Request-Timestamp"] == str(NOW)
    assert verifier.verify(b"x", headers)
    moments[0] = NOW + 301
    with pytest.raises(TimestampTooOld):
        verifier.verify(b"x", headers)


def test_rotation_edges_with_an_injected_clock() -> None:
    rotate_at = NOW + 1000
    keys = SecretSet.rotating(
        current=Secret("new", id="new"), previous=Secret("old", id="old"), rotate_at=rotate_at
    )
    moments = [float(NOW)]
    verifier = Verifier(keys, leeway=30, clock=lambda: moments[0])
    body = b"x"
    old_headers = sign(body, "old")
    for moment, old_ok in [
        (NOW, True),
        (rotate_at - 1, True),
        (rotate_at, True),
        (rotate_at + 29.999, True),
        (rotate_at + 30, False),
        (rotate_at + 10**7, False),
    ]:
        moments[0] = moment
        assert verifier.verify(body, sign(body, "new")).secret_id == "new"
        if old_ok:
            assert verifier.verify(body, old_headers).secret_id == "old"
        else:
            with pytest.raises(SignatureMismatch):
                verifier.verify(body, old_headers)
            pending = verifier.begin(old_headers)
            pending.update(body)
            with pytest.raises(SignatureMismatch):
                pending.finish()


def test_expiry_is_checked_per_request_even_for_the_preferred_secret() -> None:
    """The secret that matched last is tried first, but only if it is still a candidate."""
    keys = SecretSet([Secret("old", id="old", expires_at=NOW), Secret("new", id="new")])
    verifier = Verifier(keys, leeway=0)
    body = b"x"
    assert verifier.verify(body, sign(body, "old"), now=NOW - 1).secret_id == "old"
    with pytest.raises(SignatureMismatch):
        verifier.verify(body, sign(body, "old"), now=NOW)


# -- candidates -----------------------------------------------------------------------------------


def test_mismatch_only_after_every_candidate_was_tried() -> None:
    verifier, log = counting(["a", "b", "c"])
    with pytest.raises(SignatureMismatch):
        verifier.verify(b"x", {"Signature": "0" * 64})
    assert sorted(log) == ["a", "b", "c"]


def test_every_candidate_against_every_presented_signature() -> None:
    verifier, _ = counting(["a", "b", "c"])
    body = b"x"
    junk = ["0" * 64, "1" * 64]
    good = sign(body, "c")["Signature"]
    assert verifier.verify(body, {"Signature": ",".join([*junk, good])}).secret_id == Secret("c").id
    assert verifier.verify(body, {"Signature": " ".join([good, *junk])}).secret_id == Secret("c").id


def test_the_secret_that_matched_last_is_tried_first() -> None:
    verifier, log = counting(["a", "b", "c"])
    body = b"x"
    headers = sign(body, "c")
    assert verifier.verify(body, headers).secret_id == Secret("c").id
    assert log == ["a", "b", "c"]
    log.clear()
    assert verifier.verify(body, headers).secret_id == Secret("c").id
    assert log == ["c"]
    log.clear()
    assert verifier.verify(body, sign(body, "a")).secret_id == Secret("a").id
    assert log == ["c", "a"]
    log.clear()
    assert verifier.verify(body, sign(body, "a")).secret_id == Secret("a").id
    assert log == ["a"]
    log.clear()
    with pytest.raises(SignatureMismatch):
        verifier.verify(body, {"Signature": "0" * 64})
    assert log == ["a", "b", "c"]  # preferred first, each exactly once


def test_streaming_hashes_with_the_preferred_secret_only_on_the_happy_path() -> None:
    verifier, log = counting(["a", "b", "c"])
    body = b"streamed body"
    verifier.verify(body, sign(body, "b"))
    log.clear()
    pending = verifier.begin(sign(body, "b"))
    pending.update(body)
    assert pending.finish().secret_id == Secret("b").id
    assert log == ["start:b"]
    log.clear()
    pending = verifier.begin({"Signature": "0" * 64})
    pending.update(body)
    with pytest.raises(SignatureMismatch):
        pending.finish()
    assert sorted(log) == ["start:a", "start:b", "start:c"]


def test_secrets_unusable_for_the_scheme_are_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refreshing provider may hand over a secret the scheme cannot use: skip it, loudly,
    without naming its value."""

    class Provider:
        def __init__(self, keys: SecretSet) -> None:
            self.keys = keys
            self.matched: list[str] = []

        def secret_set(self) -> SecretSet:
            return self.keys

        async def asecret_set(self) -> SecretSet:
            return self.keys

        def refresh_after_mismatch(self) -> SecretSet | None:
            return None

        async def arefresh_after_mismatch(self) -> SecretSet | None:
            return None

        def record_match(self, secret: Secret) -> None:
            self.matched.append(secret.id)

    bad = Secret("not base64 at all!!", id="bad")
    provider = Provider(SecretSet([bad, Secret(WHSEC, id="good")]))
    assert isinstance(provider, SecretProvider)
    verifier = Verifier(provider, scheme="standard")
    body = b"x"
    with caplog.at_level(logging.WARNING, logger="hookseal"):
        result = verifier.verify(body, sign(body, WHSEC, scheme="standard", now=NOW), now=NOW)
    assert result.secret_id == "good"
    assert provider.matched == ["good"]
    assert "bad" in caplog.text
    assert "not base64" not in caplog.text

    # review: forged requests must not each write a warning (an attacker-driven log flood)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hookseal"):
        for _ in range(3):
            with pytest.raises(SignatureMismatch):
                verifier.verify(body, sign(body, "whsec_AAAA", scheme="standard", now=NOW), now=NOW)
    assert caplog.text == ""


def test_refresh_after_mismatch_is_tried_once() -> None:
    class Refreshing:
        def __init__(self) -> None:
            self.calls = 0

        def secret_set(self) -> SecretSet:
            return SecretSet(["old"])

        async def asecret_set(self) -> SecretSet:
            return self.secret_set()

        def refresh_after_mismatch(self) -> SecretSet | None:
            self.calls += 1
            return SecretSet(["old", "new"])

        async def arefresh_after_mismatch(self) -> SecretSet | None:
            return self.refresh_after_mismatch()

        def record_match(self, secret: Secret) -> None:
            return None

    provider = Refreshing()
    verifier = Verifier(provider)
    body = b"x"
    assert verifier.verify(body, sign(body, "new")).secret_id == Secret("new").id
    assert provider.calls == 1
    with pytest.raises(SignatureMismatch):
        verifier.verify(body, sign(body, "forged"))
    assert provider.calls == 2


async def test_async_refresh_and_streaming() -> None:
    verifier = Verifier(["a", "b"])
    body = b"abc" * 100
    assert (await verifier.averify(body, sign(body, "b"))).secret_id == Secret("b").id
    pending = await verifier.abegin(sign(body, "a"))
    pending.update(body)
    assert (await pending.afinish()).secret_id == Secret("a").id
    with pytest.raises(SignatureMismatch):
        await verifier.averify(body, sign(body, "c"))
    pending = await verifier.abegin(sign(body, "c"))
    pending.update(body)
    with pytest.raises(SignatureMismatch):
        await pending.afinish()


# -- streaming ------------------------------------------------------------------------------------


def _stream(
    verifier: Verifier, body: bytes, headers: dict[str, str], size: int, now: int
) -> Verified:
    pending = verifier.begin(headers, now=now)
    for i in range(0, len(body), size):
        pending.update(body[i : i + size])
    pending.update(b"")  # empty chunks are ignored
    assert pending.size == len(body)
    assert b"".join(bytes(c) for c in pending.chunks) == body
    return pending.finish()


@pytest.mark.parametrize("scheme", ALL)
@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000, 10**6])
def test_streaming_equals_one_shot(scheme: str, size: int) -> None:
    body = bytes(range(256)) * 5
    other = "whsec_c2VjcmV0LWtleS0zMi1ieXRlcy1sb25nLi4u"
    verifier = Verifier([other, WHSEC], scheme=scheme)
    for signer in (WHSEC, other):  # the matching secret first, then not first
        headers = sign(body, signer, scheme=scheme, now=NOW)
        assert _stream(verifier, body, headers, size, NOW) == verifier.verify(
            body, headers, now=NOW
        )
        with pytest.raises(SignatureMismatch):
            _stream(verifier, body[:-1] + b"!", headers, size, NOW)


def test_streaming_chunks_are_kept_as_given() -> None:
    verifier = Verifier("s")
    chunks: list[bytes | bytearray | memoryview] = [b"ab", bytearray(b"cd"), memoryview(b"ef")]
    pending = verifier.begin(sign(b"abcdef", "s"))
    for chunk in chunks:
        pending.update(chunk)
    assert pending.chunks == chunks
    assert pending.finish()


def test_streaming_empty_body() -> None:
    verifier = Verifier("s")
    pending = verifier.begin(sign(b"", "s"))
    assert pending.finish()


# -- limits and settings --------------------------------------------------------------------------


def test_max_body_size() -> None:
    verifier = Verifier("s", max_body_size=10)
    assert verifier.verify(b"x" * 10, sign(b"x" * 10, "s"))
    with pytest.raises(PayloadTooLarge) as info:
        verifier.verify(b"x" * 11, sign(b"x" * 11, "s"))
    assert info.value.status == 413
    pending = verifier.begin(sign(b"x" * 11, "s"))
    pending.update(b"x" * 6)
    with pytest.raises(PayloadTooLarge):
        pending.update(b"x" * 5)
    assert Verifier("s", max_body_size=0).verify(b"", sign(b"", "s"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tolerance": 0},
        {"tolerance": -1},
        {"tolerance": float("nan")},
        {"tolerance": float("inf")},
        {"tolerance": "300"},
        {"tolerance": True},
        {"leeway": -1},
        {"leeway": float("nan")},
        {"max_body_size": -1},
        {"max_body_size": float("nan")},
        {"max_body_size": "10"},
        {"scheme": "nope"},
        {"scheme": 5},
    ],
)
def test_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Verifier("s", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("secrets", [[], SecretSet(), "", None, {"a": "b"}])
def test_no_secrets_is_a_configuration_error(secrets: object) -> None:
    with pytest.raises(ConfigurationError):
        Verifier(secrets)  # type: ignore[arg-type]


def test_a_secret_the_scheme_cannot_use_fails_at_start_up() -> None:
    with pytest.raises(ConfigurationError) as info:
        Verifier("not base64 !!", scheme="standard")
    assert "not base64" not in str(info.value)


def test_scheme_by_name_and_instance() -> None:
    assert Verifier("s", scheme="GitHub").scheme == schemes.GitHub()
    assert Verifier(WHSEC, scheme=" svix ").scheme == schemes.StandardWebhooks()
    assert Verifier("s").scheme == schemes.Signature()
    assert set(schemes.names()) >= {"signature", "github", "standard", "stripe", "slack", "shopify"}


def test_no_active_secret_when_all_expired() -> None:
    verifier = Verifier(SecretSet([Secret("a", expires_at=NOW)]), leeway=0)
    with pytest.raises(NoActiveSecret):
        verifier.verify(b"x", sign(b"x", "a", now=NOW - 1), now=NOW)
    with pytest.raises(NoActiveSecret):
        verifier.begin(sign(b"x", "a", now=NOW - 1), now=NOW)


def test_repr_hides_values() -> None:
    text = repr(Verifier(["value-one", "value-two"], scheme="stripe"))
    assert "value-one" not in text
    assert "value-two" not in text
    assert "Stripe" in text


# -- sign -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "header", "count"),
    [
        ("signature", "Signature", 2),
        ("standard", "webhook-signature", 2),
        ("stripe", "Stripe-Signature", 2),
        ("github", "X-Hub-Signature-256", 1),
        ("slack", "X-Slack-Signature", 1),
        ("shopify", "X-Shopify-Hmac-Sha256", 1),
    ],
)
def test_sign_with_several_secrets(scheme: str, header: str, count: int) -> None:
    other = "whsec_c2VjcmV0LWtleS0zMi1ieXRlcy1sb25nLi4u"
    headers = sign(b"x", [WHSEC, other], scheme=scheme, now=NOW)
    assert set(headers) >= {header}
    assert verify(b"x", headers, WHSEC, scheme=scheme, now=NOW)
    if count == 2:
        assert verify(b"x", headers, other, scheme=scheme, now=NOW)
    else:
        with pytest.raises(SignatureMismatch):
            verify(b"x", headers, other, scheme=scheme, now=NOW)


def test_sign_skips_secrets_outside_their_window() -> None:
    keys = SecretSet([Secret("old", expires_at=NOW), Secret("new")])
    assert sign(b"x", keys, now=NOW) == sign(b"x", "new", now=NOW)
    with pytest.raises(ConfigurationError):
        sign(b"x", SecretSet([Secret("old", expires_at=NOW)]), now=NOW)
    with pytest.raises(ConfigurationError):
        Verifier(SecretSet([Secret("old", expires_at=NOW)])).sign(b"x", now=NOW)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timestamp": -1},
        {"timestamp": 10**12},
        {"timestamp": 1.5},
        {"timestamp": True},
        {"message_id": ""},
        {"message_id": "has space"},
        {"message_id": "caf\u00e9"},
        {"message_id": "x" * 257},
        {"message_id": 5},
    ],
)
def test_sign_refuses_what_verify_would_refuse(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        sign(b"x", WHSEC, scheme="standard", **kwargs)  # type: ignore[arg-type]


def test_sign_fixed_timestamp_and_id_are_deterministic() -> None:
    a = sign(b"x", WHSEC, scheme="standard", timestamp=NOW, message_id="msg_1")
    b = sign(b"x", WHSEC, scheme="standard", timestamp=NOW, message_id="msg_1")
    assert (
        a
        == b
        == {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(NOW),
            "webhook-signature": a["webhook-signature"],
        }
    )
    assert sign(b"x", WHSEC, scheme="standard")["webhook-id"].startswith("msg_")


def test_module_verify_reuses_verifiers_and_still_sees_new_arguments() -> None:
    body = b"x"
    assert verify(body, sign(body, "one"), "one")
    with pytest.raises(SignatureMismatch):
        verify(body, sign(body, "one"), "two")
    assert verify(body, sign(body, "one"), ["two", "one"]).secret_id == Secret("one").id


# -- review: inputs that switched a check off ------------------------------------------------


@pytest.mark.parametrize("scheme", TIMED)
@pytest.mark.parametrize("broken", [float("nan"), float("inf"), float("-inf")])
def test_a_clock_that_returns_nonsense_never_switches_the_timestamp_check_off(
    scheme: str, broken: float
) -> None:
    """NaN compares false both ways, so 'skew > tolerance' never fired and a delivery signed
    years ago verified. A broken clock is a set-up mistake: refuse, never accept."""
    secret = WHSEC if scheme == "standard" else "s"
    headers = sign(b"x", secret, scheme=scheme, now=1_000)  # 1970: stale by any real clock
    verifier = Verifier(secret, scheme=scheme, clock=lambda: broken)
    with pytest.raises(ConfigurationError, match="clock"):
        verifier.verify(b"x", headers)
    with pytest.raises(ConfigurationError, match="clock"):
        verifier.begin(headers)


def test_a_non_contiguous_memoryview_is_a_configuration_error_not_a_buffer_error() -> None:
    body = memoryview(b"abcdef")[::2]
    headers = sign(b"ace", "s")
    with pytest.raises(ConfigurationError, match="contiguous"):
        verify(body, headers, "s")


def test_max_body_size_counts_bytes_of_a_memoryview_not_its_items() -> None:
    """len() of a memoryview cast to 8-byte items is an eighth of its size in bytes."""
    raw = b"x" * 64
    headers = sign(raw, "s")
    verifier = Verifier("s", max_body_size=10)
    with pytest.raises(PayloadTooLarge):
        verifier.verify(memoryview(raw).cast("Q"), headers)
    pending = verifier.begin(headers)
    with pytest.raises(PayloadTooLarge):
        pending.update(memoryview(raw).cast("Q"))
