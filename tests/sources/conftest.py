"""Fixtures for the source tests: a real redis-server for the whole session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/ holds the shared redis-server helper; with pytest's default import mode only this
# directory is on sys.path here, so add its parent once.
_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from _redis_server import redis_server  # noqa: E402


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a redis-server started for this test session (stopped at its end)."""
    with redis_server() as url:
        yield url
