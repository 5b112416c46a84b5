"""CompositeSource: merge children, keep a failing child's last good part, refuse id clashes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from hookseal import Keyring, Secret, SecretSet
from hookseal.errors import ConfigurationError
from hookseal.sources import (
    CallableSource,
    CompositeSource,
    Fetched,
    SecretSource,
    SourceError,
    StaticSource,
)

K1 = Secret("one-secret-value", id="k1")
K2 = Secret("two-secret-value", id="k2")
K3 = Secret("three-secret-value", id="k3")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Toggle(SecretSource):
    """A child the test can break."""

    def __init__(self, name: str, *secrets: Secret, ttl: float | None = None) -> None:
        self.name = name
        self.secrets = SecretSet(secrets)
        self.ttl = ttl
        self.fail = False
        self.closed = False
        self.callbacks: list[Callable[[], None]] = []

    def fetch(self) -> Fetched:
        if self.fail:
            raise SourceError(f"{self.name}: down")
        return Fetched(self.secrets, self.ttl)

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        self.callbacks.append(callback)
        return lambda: self.callbacks.remove(callback)

    def close(self) -> None:
        self.closed = True


def test_merges_children_in_order() -> None:
    source = CompositeSource(StaticSource([K1]), StaticSource([K2, K3]))
    assert source.fetch().secrets.ids == ("k1", "k2", "k3")


async def test_afetch_merges_concurrently() -> None:
    async def slow() -> list[Secret]:
        await asyncio.sleep(0)
        return [K2]

    source = CompositeSource(StaticSource([K1]), CallableSource(slow))
    assert (await source.afetch()).secrets.ids == ("k1", "k2")


def test_a_failing_child_keeps_its_last_good_part_until_max_stale() -> None:
    clock = Clock()
    a, b = Toggle("a", K1), Toggle("b", K2)
    source = CompositeSource(a, b, max_stale=100, monotonic=clock)
    assert source.fetch().secrets.ids == ("k1", "k2")
    a.fail = True
    clock.now = 100
    assert source.fetch().secrets.ids == ("k1", "k2")  # a's last good part, 100 s old
    clock.now = 101
    assert source.fetch().secrets.ids == ("k2",)  # too old: dropped
    a.fail = False
    assert source.fetch().secrets.ids == ("k1", "k2")


def test_fails_only_when_every_child_fails_with_nothing_kept() -> None:
    clock = Clock()
    a, b = Toggle("a", K1), Toggle("b", K2)
    source = CompositeSource(a, b, max_stale=10, monotonic=clock)
    a.fail = b.fail = True
    with pytest.raises(SourceError, match="every child failed") as caught:
        source.fetch()
    assert "a: down" in str(caught.value)
    assert "b: down" in str(caught.value)


def test_all_failing_but_with_kept_parts_is_not_a_failure() -> None:
    a, b = Toggle("a", K1), Toggle("b", K2)
    source = CompositeSource(a, b, monotonic=Clock())
    source.fetch()
    a.fail = b.fail = True
    assert source.fetch().secrets.ids == ("k1", "k2")


def test_same_id_for_different_secrets_is_refused_clearly() -> None:
    clash = Secret("other-secret-value", id="k1")
    source = CompositeSource(Toggle("a", K1), Toggle("b", clash))
    with pytest.raises(SourceError, match="'k1' comes from both a and b") as caught:
        source.fetch()
    assert "secret-value" not in str(caught.value)


def test_the_same_secret_in_two_children_is_merged() -> None:
    source = CompositeSource(Toggle("a", K1), Toggle("b", Secret("one-secret-value", id="k1")))
    assert source.fetch().secrets.ids == ("k1",)


def test_ttl_is_the_shortest_childs() -> None:
    source = CompositeSource(Toggle("a", K1, ttl=300), Toggle("b", K2, ttl=60), Toggle("c", K3))
    assert source.fetch().ttl == 60
    assert CompositeSource(Toggle("a", K1)).fetch().ttl is None


def test_subscribe_and_close_reach_every_child() -> None:
    a, b = Toggle("a", K1), Toggle("b", K2)
    source = CompositeSource(a, b)
    unsubscribe = source.subscribe(lambda: None)
    assert len(a.callbacks) == len(b.callbacks) == 1
    unsubscribe()
    assert a.callbacks == b.callbacks == []
    source.close()
    assert a.closed
    assert b.closed


def test_in_a_keyring_a_failing_child_does_not_drop_out() -> None:
    a, b = Toggle("a", K1), Toggle("b", K2)
    with Keyring(CompositeSource(a, b), cooldown=0) as keyring:
        a.fail = True
        b.secrets = SecretSet([K2, K3])
        refreshed = keyring.refresh_after_mismatch()
        assert refreshed is not None
        assert refreshed.ids == ("k1", "k2", "k3")


def test_needs_children() -> None:
    with pytest.raises(ConfigurationError):
        CompositeSource()
