"""Validity is judged when the body is complete: PendingVerification.finish() takes the moment
again and asks the provider for its current set (a ManualClock moves between begin and finish).
"""

from __future__ import annotations

import pytest

from hookseal import (
    InMemoryReplayGuard,
    NoActiveSecret,
    Secret,
    SecretSet,
    SignatureMismatch,
    TimestampTooOld,
    Verifier,
    sign,
)
from hookseal.testing import ManualClock

T = 1_700_000_000.0
BODY = b'{"event": "invoice.paid"}'


class SwappableProvider:
    """A SecretProvider whose current set a test replaces (as a keyring does on a refresh)."""

    def __init__(self, secret_set: SecretSet) -> None:
        self.current = secret_set
        self.matched: list[str] = []

    def secret_set(self) -> SecretSet:
        return self.current

    async def asecret_set(self) -> SecretSet:
        return self.current

    def refresh_after_mismatch(self) -> SecretSet | None:
        return self.current

    async def arefresh_after_mismatch(self) -> SecretSet | None:
        return self.current

    def record_match(self, secret: Secret) -> None:
        self.matched.append(secret.id)


def test_a_secret_that_expires_while_the_body_streams_does_not_verify() -> None:
    """Headers a second before expiry (+ leeway), body an hour later: refused, 503."""
    clock = ManualClock(T)
    verifier = Verifier([Secret("old", expires_at=T + 1)], leeway=0, clock=clock)
    pending = verifier.begin(sign(BODY, "old", now=T))  # valid now: begin() accepts it
    clock.advance(3600)
    pending.update(BODY)
    with pytest.raises(NoActiveSecret):
        pending.finish()


def test_with_a_new_secret_the_expired_ones_signature_is_a_mismatch() -> None:
    clock = ManualClock(T)
    secrets = SecretSet([Secret("new"), Secret("old", expires_at=T + 1)])
    verifier = Verifier(secrets, leeway=0, clock=clock)
    pending = verifier.begin(sign(BODY, "old", now=T))
    clock.advance(2)
    pending.update(BODY)
    with pytest.raises(SignatureMismatch):
        pending.finish()
    # ... while the new secret still verifies a body that streams just as slowly
    pending = verifier.begin(sign(BODY, "new"))
    clock.advance(3600)
    pending.update(BODY)
    assert pending.finish().secret_id == Secret("new").id


def test_leeway_applies_at_finish() -> None:
    clock = ManualClock(T)
    verifier = Verifier([Secret("new"), Secret("old", expires_at=T)], leeway=60, clock=clock)
    pending = verifier.begin(sign(BODY, "old", now=T))
    clock.advance(59)
    pending.update(BODY)
    assert pending.finish().secret_id == Secret("old").id
    pending = verifier.begin(sign(BODY, "old", now=T))
    clock.advance(2)  # 61 s past expires_at
    pending.update(BODY)
    with pytest.raises(SignatureMismatch):
        pending.finish()


async def test_async_finish_judges_at_the_end_too() -> None:
    clock = ManualClock(T)
    secrets = SecretSet([Secret("new"), Secret("old", expires_at=T + 1)])
    verifier = Verifier(secrets, leeway=0, clock=clock, replay_guard=InMemoryReplayGuard())
    pending = await verifier.abegin(sign(BODY, "old", now=T))
    clock.advance(2)
    pending.update(BODY)
    with pytest.raises(SignatureMismatch):
        await pending.afinish()


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_revocation_learned_meanwhile_applies(asynchronous: bool) -> None:
    """The provider drops a secret (the keyring refreshed) between the headers and the end of
    the body: the digest streamed with that secret no longer counts."""
    provider = SwappableProvider(SecretSet(["revoked", "kept"]))
    verifier = Verifier(provider, clock=ManualClock(T))
    headers = sign(BODY, "revoked")
    pending = await verifier.abegin(headers) if asynchronous else verifier.begin(headers)
    provider.current = SecretSet(["kept"])
    pending.update(BODY)
    with pytest.raises(SignatureMismatch):
        await pending.afinish() if asynchronous else pending.finish()
    assert provider.matched == []


def test_a_refreshed_copy_of_the_same_secret_still_verifies() -> None:
    """A refresh hands new Secret objects with the same values: the streamed digest is theirs."""
    provider = SwappableProvider(SecretSet([Secret("a", id="a"), Secret("b", id="b")]))
    verifier = Verifier(provider, clock=ManualClock(T))
    pending = verifier.begin(sign(BODY, "b"))
    fresh = SecretSet([Secret("a", id="a"), Secret("b", id="b")])
    provider.current = fresh
    pending.update(BODY)
    assert pending.finish().secret_id == "b"
    assert verifier._preferred is fresh.get("b")  # the current set's object, not the old one
    assert provider.matched == ["b"]


def test_a_secret_added_meanwhile_verifies() -> None:
    provider = SwappableProvider(SecretSet(["old"]))
    verifier = Verifier(provider, clock=ManualClock(T))
    pending = verifier.begin(sign(BODY, "new"))
    provider.current = SecretSet(["new", "old"])
    pending.update(BODY)
    assert pending.finish().secret_id == Secret("new").id


def test_the_signed_timestamp_is_checked_again_at_finish() -> None:
    """Sent inside the tolerance, completed outside it: refused (see _decision_moment)."""
    clock = ManualClock(T)
    verifier = Verifier("s3cr3t", scheme="stripe", tolerance=300, clock=clock)
    pending = verifier.begin(sign(BODY, "s3cr3t", scheme="stripe", now=T - 299))
    clock.advance(10)
    pending.update(BODY)
    with pytest.raises(TimestampTooOld):
        pending.finish()


async def test_the_timestamp_recheck_also_guards_the_replay_guards_window() -> None:
    """A copy held open past twice the tolerance would outlive the original's replay key."""
    clock = ManualClock(T)
    guard = InMemoryReplayGuard(timer=clock)
    verifier = Verifier("s3cr3t", scheme="stripe", tolerance=300, clock=clock, replay_guard=guard)
    headers = sign(BODY, "s3cr3t", scheme="stripe", now=T)
    assert verifier.verify(BODY, headers)  # the original, remembered for 600 s
    clock.advance(299)
    replay = await verifier.abegin(headers)  # inside the tolerance when its headers arrive
    clock.advance(400)  # the original's key has expired meanwhile
    replay.update(BODY)
    with pytest.raises(TimestampTooOld):
        await replay.afinish()


def test_static_secrets_without_windows_are_unaffected_by_time() -> None:
    clock = ManualClock(T)
    verifier = Verifier(["a", "b"], clock=clock)
    pending = verifier.begin(sign(BODY, "b"))
    clock.advance(365 * 86400)
    pending.update(BODY)
    assert pending.finish().secret_id == Secret("b").id


def test_a_pinned_now_is_the_moment_of_the_decision() -> None:
    """begin(now=...) judges the whole verification at that moment; finish(now=...) moves it."""
    clock = ManualClock(T + 10_000)
    verifier = Verifier([Secret("old", expires_at=T + 1)], leeway=0, clock=clock)
    pending = verifier.begin(sign(BODY, "old", now=T), now=T)
    pending.update(BODY)
    assert pending.finish().secret_id == Secret("old").id
    pending = verifier.begin(sign(BODY, "old", now=T), now=T)
    pending.update(BODY)
    with pytest.raises(NoActiveSecret):
        pending.finish(now=T + 2)


def test_a_refused_late_body_leaves_no_replay_key() -> None:
    clock = ManualClock(T)
    guard = InMemoryReplayGuard(timer=clock)
    secrets = SecretSet([Secret("new"), Secret("old", expires_at=T + 1)])
    verifier = Verifier(secrets, leeway=0, clock=clock, replay_guard=guard)
    pending = verifier.begin(sign(BODY, "old", now=T))
    clock.advance(5)
    pending.update(BODY)
    with pytest.raises(SignatureMismatch):
        pending.finish()
    assert len(guard) == 0


@pytest.mark.parametrize("scheme", ["square", "twilio", "hubspot"])
@pytest.mark.parametrize("asynchronous", [False, True])
async def test_schemes_that_sign_the_request_judge_at_finish_too(
    scheme: str, asynchronous: bool
) -> None:
    """The general path (hookseal._general) streams too: the same rule holds there."""
    url = "https://example.com/hooks/in?tenant=1"
    clock = ManualClock(T)
    secrets = SecretSet([Secret("new-key"), Secret("old-key", expires_at=T + 1)])
    verifier = Verifier(secrets, scheme=scheme, leeway=0, clock=clock)
    headers = sign(BODY, "old-key", scheme=scheme, url=url, now=T)
    pending = (
        await verifier.abegin(headers, url=url)
        if asynchronous
        else verifier.begin(headers, url=url)
    )
    clock.advance(2)  # past the old key's expiry, inside every timestamp tolerance
    pending.update(BODY)
    with pytest.raises(SignatureMismatch):
        await pending.afinish() if asynchronous else pending.finish()
    pending = verifier.begin(headers, url=url, now=T)  # pinned: judged at T, where it is valid
    pending.update(BODY)
    assert pending.finish().secret_id == Secret("old-key").id
