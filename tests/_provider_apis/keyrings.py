"""Driving a real Keyring to its next refresh in a test, with a hand-moved monotonic clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from hookseal import Keyring
from hookseal.secrets import SecretSet
from hookseal.sources import SecretSource
from hookseal.testing import ManualClock

REFRESH_INTERVAL = 60.0
WAIT_LIMIT = 15.0  # a failure bound for a loaded machine, never the thing measured


def after_next_refresh(
    keyring: Keyring, monotonic: ManualClock, until: Callable[[SecretSet], bool]
) -> SecretSet:
    """Move past the refresh interval, then serve until the refreshed set satisfies ``until``
    (the first request after the interval starts the refresh; later ones see its result)."""
    monotonic.advance(REFRESH_INTERVAL * 1.5)
    deadline = time.monotonic() + WAIT_LIMIT
    while True:
        current = keyring.secret_set()
        if until(current):
            return current
        assert time.monotonic() < deadline, f"no refreshed set within {WAIT_LIMIT} s: {current!r}"
        time.sleep(0.01)


async def aafter_next_refresh(
    keyring: Keyring, monotonic: ManualClock, until: Callable[[SecretSet], bool]
) -> SecretSet:
    """:func:`after_next_refresh` from asyncio code."""
    import asyncio

    monotonic.advance(REFRESH_INTERVAL * 1.5)
    deadline = time.monotonic() + WAIT_LIMIT
    while True:
        current = await keyring.asecret_set()
        if until(current):
            return current
        assert time.monotonic() < deadline, f"no refreshed set within {WAIT_LIMIT} s: {current!r}"
        await asyncio.sleep(0.01)


def keyring_over(
    source: SecretSource,
    monotonic: ManualClock,
    *,
    cooldown: float = 3600.0,
    allow_empty: bool = False,
) -> Keyring:
    """A real keyring with the test's monotonic clock and, by default, a long cooldown: only
    the periodic refresh fetches anew, not a mismatch, unless a test says otherwise."""
    return Keyring(
        source, REFRESH_INTERVAL, monotonic=monotonic, cooldown=cooldown, allow_empty=allow_empty
    )
