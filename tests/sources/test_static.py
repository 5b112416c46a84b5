"""StaticSource: a fixed set, through fetch and afetch."""

from __future__ import annotations

from hookseal import Keyring, Secret, SecretSet
from hookseal.sources import Fetched, StaticSource


def test_static_source_serves_its_set_sync_and_async() -> None:
    source = StaticSource([Secret("v1-secret", id="k1"), "another-secret"])
    fetched = source.fetch()
    assert isinstance(fetched, Fetched)
    assert fetched.ttl is None
    assert fetched.secrets.ids[0] == "k1"
    assert len(fetched.secrets) == 2


async def test_static_source_afetch_needs_no_thread() -> None:
    source = StaticSource("one-secret")
    assert (await source.afetch()).secrets == SecretSet(["one-secret"])


def test_static_source_repr_hides_values() -> None:
    source = StaticSource("one-secret-value")
    assert "one-secret-value" not in repr(source) + repr(source.fetch())


def test_static_source_in_a_keyring() -> None:
    with Keyring(StaticSource(Secret("v1-secret", id="k1"))) as keyring:
        assert keyring.secret_set().ids == ("k1",)
