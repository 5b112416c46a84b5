"""CallableSource: sync and async callables returning any shape of secrets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from hookseal import Keyring, Secret, SecretSet, verify
from hookseal.sources import CallableSource, Fetched, SourceError
from hookseal.testing import signed_request

K1 = Secret("old-secret-value", id="k1")
K2 = Secret("new-secret-value", id="k2")


@pytest.mark.parametrize(
    "produced",
    [
        pytest.param(SecretSet([K2, K1]), id="secretset"),
        pytest.param([K2, K1], id="list"),
        pytest.param((s for s in (K2, K1)), id="generator"),
        pytest.param(Fetched(SecretSet([K2, K1]), ttl=30), id="fetched"),
    ],
)
def test_sync_callable_shapes(produced: Any) -> None:
    fetched = CallableSource(lambda: produced).fetch()
    assert fetched.secrets.ids == ("k2", "k1")


def test_strings_and_a_single_secret() -> None:
    assert len(CallableSource(lambda: ["a-secret", "b-secret"]).fetch().secrets) == 2
    assert CallableSource(lambda: K1).fetch().secrets.ids == ("k1",)
    assert len(CallableSource(lambda: "just-one").fetch().secrets) == 1


def test_fetched_keeps_its_ttl() -> None:
    assert CallableSource(lambda: Fetched(SecretSet([K1]), ttl=42)).fetch().ttl == 42


async def test_async_callable_through_afetch_and_fetch() -> None:
    async def load() -> list[Secret]:
        await asyncio.sleep(0)
        return [K1]

    source = CallableSource(load)
    assert (await source.afetch()).secrets.ids == ("k1",)
    # fetch() of an async callable works from a thread with no loop (the keyring's thread)
    assert (await asyncio.to_thread(source.fetch)).secrets.ids == ("k1",)


async def test_async_callable_cannot_be_fetched_synchronously_inside_a_loop() -> None:
    async def load() -> list[Secret]:
        return [K1]

    with pytest.raises(SourceError, match="afetch"):
        CallableSource(load).fetch()


async def test_sync_callable_through_afetch_runs_in_a_thread() -> None:
    import threading

    seen: list[str] = []

    def load() -> list[Secret]:
        seen.append(threading.current_thread().name)
        return [K1]

    assert (await CallableSource(load).afetch()).secrets.ids == ("k1",)
    assert seen != [threading.current_thread().name]


def test_lambda_returning_a_coroutine() -> None:
    async def load() -> list[Secret]:
        return [K2]

    assert CallableSource(lambda: load()).fetch().secrets.ids == ("k2",)


def test_errors_become_source_errors_without_the_message() -> None:
    def broken() -> list[Secret]:
        raise RuntimeError("value was old-secret-value")

    with pytest.raises(SourceError) as caught:
        CallableSource(broken).fetch()
    assert "RuntimeError" in str(caught.value)
    assert "old-secret-value" not in str(caught.value)


async def test_async_errors_become_source_errors() -> None:
    async def broken() -> list[Secret]:
        raise KeyError("x")

    with pytest.raises(SourceError, match="KeyError"):
        await CallableSource(broken).afetch()


@pytest.mark.parametrize("produced", [None, 42, [K1, K1], [""]])
def test_garbage_is_a_source_error(produced: Any) -> None:
    with pytest.raises(SourceError):
        CallableSource(lambda: produced).fetch()


def test_keyring_with_a_rotating_callable() -> None:
    state: dict[str, list[Secret]] = {"secrets": [K1]}
    with Keyring(CallableSource(lambda: state["secrets"]), cooldown=0) as keyring:
        state["secrets"] = [K2, K1.replace(expires_at=10**10)]
        body, headers = signed_request({"a": 1}, K2)
        assert verify(body, headers, keyring).secret_id == "k2"


def iterate() -> Iterator[Secret]:
    yield K1


def test_named_function_gives_the_source_name() -> None:
    assert CallableSource(iterate).name == "callable:iterate"
