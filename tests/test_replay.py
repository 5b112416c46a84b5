"""Replay protection: a signed delivery is accepted once, keyed on signed material only."""

from __future__ import annotations

import pytest

from hookseal import (
    ConfigurationError,
    InMemoryReplayGuard,
    Replayed,
    SignatureMismatch,
    Verifier,
    sign,
    verify,
)
from hookseal.replay import ReplayGuard, ReplayGuardUnavailable
from hookseal.verifier import PendingVerification

NOW = 1_700_000_000
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class FakeTimer:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_guard_remembers_then_forgets_after_ttl() -> None:
    timer = FakeTimer()
    guard = InMemoryReplayGuard(ttl=100, timer=timer)
    assert isinstance(guard, ReplayGuard)
    assert guard.remember("k")
    assert not guard.remember("k")
    assert guard.remember("other", 10)
    assert len(guard) == 2
    timer.now += 10
    assert len(guard) == 1  # "other" lived 10 s
    assert guard.remember("other", 10)
    timer.now += 89.9
    assert not guard.remember("k")
    timer.now += 0.2
    assert guard.remember("k")


def test_guard_at_maxsize_never_evicts_a_live_key() -> None:
    """Full of live keys it fails closed (see tests/test_replay_capacity.py), never forgets."""
    guard = InMemoryReplayGuard(maxsize=2, timer=FakeTimer())
    for key in ("a", "b"):
        assert guard.remember(key)
    with pytest.raises(ReplayGuardUnavailable):
        guard.remember("c")
    assert len(guard) == 2
    assert not guard.remember("a")  # still remembered: its replay is still refused


async def test_guard_async() -> None:
    guard = InMemoryReplayGuard(timer=FakeTimer())
    assert await guard.aremember("k", None)
    assert not await guard.aremember("k", None)


@pytest.mark.parametrize("kwargs", [{"maxsize": 0}, {"ttl": 0}, {"ttl": -1}])
def test_guard_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        InMemoryReplayGuard(**kwargs)  # type: ignore[arg-type]


def test_verifier_refuses_an_object_that_is_no_guard() -> None:
    with pytest.raises(ConfigurationError):
        Verifier("s", replay_guard=object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "scheme", ["signature", "github", "shopify", "stripe", "slack", "standard"]
)
def test_second_delivery_is_refused_409(scheme: str) -> None:
    guard = InMemoryReplayGuard(timer=FakeTimer())
    verifier = Verifier(WHSEC, scheme=scheme, replay_guard=guard)
    body = b'{"id": 1}'
    headers = sign(body, WHSEC, scheme=scheme, now=NOW)
    first = verifier.verify(body, headers, now=NOW)
    assert first.replay_key is not None
    assert first.replay_key.startswith(verifier.scheme.name + ":")
    with pytest.raises(Replayed) as info:
        verifier.verify(body, headers, now=NOW + 1)
    assert info.value.status == 409
    assert info.value.code == "replayed"


def test_a_refused_delivery_is_not_remembered() -> None:
    """A forged or malformed request must not burn the key of the real one."""
    guard = InMemoryReplayGuard(timer=FakeTimer())
    verifier = Verifier("s", replay_guard=guard)
    body = b"x"
    with pytest.raises(SignatureMismatch):
        verifier.verify(body, sign(body, "wrong"), now=NOW)
    assert len(guard) == 0
    assert verifier.verify(body, sign(body, "s"), now=NOW)


def test_rotation_delivery_replayed_with_one_of_its_two_signatures() -> None:
    """The Signature scheme has no message id: the key is the signed content, not the header,
    so stripping one of the rotation signatures does not make a "new" delivery."""
    guard = InMemoryReplayGuard(timer=FakeTimer())
    verifier = Verifier(["new", "old"], replay_guard=guard)
    body = b'{"paid": true}'
    both = sign(body, ["new", "old"])
    new_sig, old_sig = both["Signature"].split(",")
    assert verifier.verify(body, both).secret_id
    for alone in (old_sig, new_sig, f"{old_sig} {new_sig}", "sha256=" + new_sig):
        with pytest.raises(Replayed):
            verifier.verify(body, {"Signature": alone})


def test_standard_webhooks_key_is_the_message_id() -> None:
    guard = InMemoryReplayGuard(timer=FakeTimer())
    verifier = Verifier(WHSEC, scheme="standard", replay_guard=guard)
    first = verifier.verify(
        b"a", sign(b"a", WHSEC, scheme="standard", message_id="msg_1", now=NOW), now=NOW
    )
    assert first.replay_key == "standard:id:msg_1"
    # Same id, re-signed at another time (a provider's retry of an accepted message): refused.
    with pytest.raises(Replayed):
        verifier.verify(
            b"a", sign(b"a", WHSEC, scheme="standard", message_id="msg_1", now=NOW + 5), now=NOW + 5
        )
    assert verifier.verify(
        b"a", sign(b"a", WHSEC, scheme="standard", message_id="msg_2", now=NOW), now=NOW
    )


def test_stripe_same_body_new_timestamp_is_a_new_delivery() -> None:
    guard = InMemoryReplayGuard(timer=FakeTimer())
    verifier = Verifier("whsec_x", scheme="stripe", replay_guard=guard)
    body = b"{}"
    assert verifier.verify(body, sign(body, "whsec_x", scheme="stripe", now=NOW), now=NOW)
    assert verifier.verify(body, sign(body, "whsec_x", scheme="stripe", now=NOW + 1), now=NOW + 1)


def test_ttl_is_twice_the_tolerance_for_timestamped_schemes() -> None:
    """After 2 x tolerance the timestamp check refuses the replay anyway, so the key can go."""
    timer = FakeTimer()
    guard = InMemoryReplayGuard(ttl=10**6, timer=timer)
    verifier = Verifier("s", scheme="slack", tolerance=30, replay_guard=guard)
    body = b"x"
    headers = sign(body, "s", scheme="slack", now=NOW)
    verifier.verify(body, headers, now=NOW)
    timer.now += 59
    with pytest.raises(Replayed):
        verifier.verify(body, headers, now=NOW)
    timer.now += 2
    assert len(guard) == 0


def test_module_verify_with_guard() -> None:
    guard = InMemoryReplayGuard(timer=FakeTimer())
    body = b"x"
    headers = sign(body, "s")
    verify(body, headers, "s", replay_guard=guard)
    with pytest.raises(Replayed):
        verify(body, headers, "s", replay_guard=guard)


def test_streaming_replay_key_equals_one_shot() -> None:
    guard = InMemoryReplayGuard(timer=FakeTimer())
    verifier = Verifier("s", replay_guard=guard)
    body = b"0123456789" * 10
    headers = sign(body, "s")
    pending: PendingVerification = verifier.begin(headers)
    for i in range(0, len(body), 7):
        pending.update(body[i : i + 7])
    streamed = pending.finish()
    with pytest.raises(Replayed):
        verifier.verify(body, headers)
    assert streamed.replay_key is not None


async def test_async_paths_refuse_replays() -> None:
    guard = InMemoryReplayGuard(timer=FakeTimer())
    verifier = Verifier("s", replay_guard=guard)
    body = b"abc"
    headers = sign(body, "s")
    await verifier.averify(body, headers)
    with pytest.raises(Replayed):
        await verifier.averify(body, headers)
    pending = await verifier.abegin(headers)
    pending.update(body)
    with pytest.raises(Replayed):
        await pending.afinish()
