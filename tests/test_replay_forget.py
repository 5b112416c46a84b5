"""InMemoryReplayGuard.forget: a released key is accepted again (the provider retries).

Kept apart from tests/test_replay.py (owned by the core tests) to avoid a merge clash.
"""

from __future__ import annotations

from hookseal.replay import InMemoryReplayGuard, ReplayGuard


def test_forget_releases_a_key() -> None:
    guard = InMemoryReplayGuard()
    assert guard.remember("k", 60)
    assert not guard.remember("k", 60)
    guard.forget("k")
    assert guard.remember("k", 60)


def test_forget_unknown_key_is_a_no_op() -> None:
    guard = InMemoryReplayGuard()
    guard.forget("never-seen")
    assert len(guard) == 0


async def test_aforget_releases_a_key() -> None:
    guard = InMemoryReplayGuard()
    assert await guard.aremember("k", 60)
    await guard.aforget("k")
    assert await guard.aremember("k", 60)


def test_in_memory_guard_satisfies_the_protocol() -> None:
    assert isinstance(InMemoryReplayGuard(), ReplayGuard)


def test_a_guard_without_forget_is_not_a_replay_guard() -> None:
    class RememberOnly:
        def remember(self, key: str, ttl: float | None) -> bool:
            return True

        async def aremember(self, key: str, ttl: float | None) -> bool:
            return True

    assert not isinstance(RememberOnly(), ReplayGuard)
