"""JoinedSource: values from a store, kept and windowed by a provider's listing, joined by id."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from hookseal import Keyring, Secret, SignatureMismatch, verify
from hookseal.errors import ConfigurationError
from hookseal.sources import (
    CallableSource,
    EnvSource,
    FileSource,
    JoinedSource,
    Listed,
    Listing,
    SourceError,
    StaticSource,
)
from hookseal.testing import ManualClock, signed_request

A, B, C = "value-of-a-0123456789", "value-of-b-0123456789", "value-of-c-0123456789"


class FixedListing(Listing):
    """A provider's side that says what the test tells it to."""

    def __init__(self, *entries: Listed) -> None:
        self.entries_now: Sequence[Listed] = entries
        self.failure: Exception | None = None
        self.calls = 0
        self.closed = 0
        self.name = "fixed"

    def entries(self) -> Sequence[Listed]:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return self.entries_now

    def close(self) -> None:
        self.closed += 1


def store(*secrets: Secret) -> StaticSource:
    return StaticSource(list(secrets), name="store")


def test_keeps_listed_drops_unlisted_in_listing_order() -> None:
    held = store(Secret(A, id="a"), Secret(B, id="b"), Secret(C, id="c"))
    joined = JoinedSource(held, FixedListing(Listed("c"), Listed("a")))
    fetched = joined.fetch()
    assert fetched.secrets.ids == ("c", "a")
    assert joined.name == "fixed+store"


def test_windows_are_narrowed_never_widened() -> None:
    held = store(
        Secret(A, id="a", not_before=100, expires_at=1000),
        Secret(B, id="b", expires_at=500),
        Secret(C, id="c"),
    )
    listing = FixedListing(
        Listed("a", not_before=50, expires_at=2000),  # wider: the store's window stays
        Listed("b", expires_at=800),  # later: the store's earlier end stays
        Listed("c", not_before=200, expires_at=300),  # the provider's window applies
    )
    windows = {
        s.id: (s.not_before, s.expires_at) for s in JoinedSource(held, listing).fetch().secrets
    }
    assert windows == {"a": (100.0, 1000.0), "b": (None, 500.0), "c": (200.0, 300.0)}


def test_a_window_that_cannot_open_drops_the_secret() -> None:
    held = store(Secret(A, id="a", not_before=1000), Secret(B, id="b"))
    joined = JoinedSource(held, FixedListing(Listed("a", expires_at=900), Listed("b")))
    assert joined.fetch().secrets.ids == ("b",)


def test_values_stay_the_stores() -> None:
    held = store(Secret(A, id="a", expires_at=10_000))
    (secret,) = JoinedSource(held, FixedListing(Listed("a", expires_at=5000))).fetch().secrets
    assert secret.reveal() == A.encode()
    assert secret.expires_at == 5000.0


def test_a_required_secret_missing_from_the_store_fails_the_fetch() -> None:
    joined = JoinedSource(store(Secret(A, id="a")), FixedListing(Listed("current", required=True)))
    with pytest.raises(
        SourceError, match="fixed says secret 'current' is in use, and store does not hold it"
    ):
        joined.fetch()


def test_a_listed_secret_the_store_lacks_is_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    listing = FixedListing(Listed("whsec_new"), Listed("a"))
    joined = JoinedSource(store(Secret(A, id="a")), listing)
    with caplog.at_level(logging.WARNING, logger="hookseal"):
        for _ in range(3):
            assert joined.fetch().secrets.ids == ("a",)
    warnings = [r for r in caplog.records if "does not hold" in r.getMessage()]
    assert len(warnings) == 1
    assert "'whsec_new'" in warnings[0].getMessage()
    listing.entries_now = (Listed("a"),)  # stored now, or gone
    joined.fetch()
    listing.entries_now = (Listed("whsec_new"), Listed("a"))  # missing again: say so again
    with caplog.at_level(logging.WARNING, logger="hookseal"):
        joined.fetch()
    assert len([r for r in caplog.records if "does not hold" in r.getMessage()]) == 2


def test_nothing_left_fails_unless_empty_is_allowed() -> None:
    listing = FixedListing()
    with pytest.raises(
        SourceError,
        match=r"no secret is both in use at fixed \(0 listed\) and held by store \(1 held\)",
    ):
        JoinedSource(store(Secret(A, id="a")), listing).fetch()
    empty = JoinedSource(store(Secret(A, id="a")), listing, allow_empty=True).fetch()
    assert len(empty.secrets) == 0


def test_failures_of_either_side_are_source_errors() -> None:
    listing = FixedListing(Listed("a"))
    listing.failure = SourceError("provider down")
    with pytest.raises(SourceError, match="provider down"):
        JoinedSource(store(Secret(A, id="a")), listing).fetch()
    listing.failure = None
    with pytest.raises(SourceError, match="environment variable NOPE is not set"):
        JoinedSource(EnvSource("NOPE", environ={}), listing).fetch()


def test_the_listing_is_asked_first() -> None:
    reads: list[str] = []

    def stored() -> list[Secret]:
        reads.append("store")
        return [Secret(A, id="a")]

    listing = FixedListing(Listed("a"))
    listing.failure = SourceError("provider down")
    with pytest.raises(SourceError):
        JoinedSource(CallableSource(stored), listing).fetch()
    assert reads == []


async def test_async_fetch_asks_both_sides_at_once() -> None:
    started: list[str] = []
    both = asyncio.Event()

    async def stored() -> list[Secret]:
        started.append("store")
        if len(started) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 10)
        return [Secret(A, id="a"), Secret(B, id="b")]

    class SlowListing(FixedListing):
        async def aentries(self) -> Sequence[Listed]:
            started.append("listing")
            if len(started) == 2:
                both.set()
            await asyncio.wait_for(both.wait(), 10)
            return self.entries()

    joined = JoinedSource(CallableSource(stored), SlowListing(Listed("b")))
    assert (await joined.afetch()).secrets.ids == ("b",)
    assert sorted(started) == ["listing", "store"]


async def test_async_failures_surface_without_leaving_work_behind() -> None:
    async def stored() -> list[Secret]:
        return [Secret(A, id="a")]

    listing = FixedListing(Listed("a"))
    listing.failure = SourceError("provider down")
    with pytest.raises(SourceError, match="provider down"):
        await JoinedSource(CallableSource(stored), listing).afetch()

    async def broken() -> list[Secret]:
        raise SourceError("store down")

    with pytest.raises(SourceError, match="store down"):
        await JoinedSource(CallableSource(broken), FixedListing(Listed("a"))).afetch()


def test_the_store_announces_changes_and_close_closes_both(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"secrets": [{"id": "a", "value": "v"}]}')
    file_store = FileSource(path, watch=True, poll_interval=0.05)
    listing = FixedListing(Listed("a"))
    joined = JoinedSource(file_store, listing)
    changed = threading.Event()
    unsubscribe = joined.subscribe(changed.set)
    path.write_text('{"secrets": [{"id": "a", "value": "w"}, {"id": "b", "value": "x"}]}')
    assert changed.wait(10)
    unsubscribe()
    joined.close()
    assert listing.closed == 1


def test_a_real_keyring_verifies_only_what_both_sides_allow() -> None:
    listing = FixedListing(Listed("a"), Listed("b"))
    joined = JoinedSource(store(Secret(A, id="a"), Secret(B, id="b"), Secret(C, id="c")), listing)
    mono = ManualClock(1000.0)
    with Keyring(joined, 60, monotonic=mono, cooldown=3600) as keyring:
        keyring.start(timeout=5)
        for value, secret_id in ((A, "a"), (B, "b")):
            body, headers = signed_request({"n": 1}, value)
            assert verify(body, headers, keyring).secret_id == secret_id
        body, headers = signed_request({"n": 1}, C)  # held, not listed
        with pytest.raises(SignatureMismatch):
            verify(body, headers, keyring)


def test_configuration_mistakes() -> None:
    with pytest.raises(ConfigurationError, match="SecretSource as its store"):
        JoinedSource("env", FixedListing())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="Listing"):
        JoinedSource(store(Secret(A)), [Listed("a")])  # type: ignore[arg-type]


def test_repr_holds_no_value() -> None:
    joined = JoinedSource(store(Secret(A, id="a")), FixedListing(Listed("a")))
    assert A not in repr(joined)
    assert A not in repr(joined.fetch().secrets)
