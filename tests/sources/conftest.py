"""Fixtures for the source tests: a real redis-server for the whole session, the imitated
provider APIs, and every kind of user store (env, file, Redis, AWS via moto)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/ holds the shared server helpers; with pytest's default import mode only this
# directory is on sys.path here, so add its parent once.
_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from _provider_apis.fixtures import (  # noqa: E402
    billing_server,
    integrator_server,
    payments_server,
    retail_server,
)
from _provider_apis.stores import KINDS, AwsStore, EnvStore, FileStore, RedisStore, Store  # noqa: E402
from _redis_server import redis_server  # noqa: E402

__all__ = ["billing_server", "integrator_server", "payments_server", "retail_server"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a redis-server started for this test session (stopped at its end)."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def store_moto_endpoint() -> Iterator[str]:
    """moto's Secrets Manager on 127.0.0.1, for the AWS kind of :func:`store`."""
    from _moto_server import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=KINDS)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    """Each kind of user store in turn: env, file, redis, aws."""
    kind = request.param
    if kind == "env":
        yield EnvStore()
    elif kind == "file":
        yield FileStore(tmp_path)
    elif kind == "redis":
        redis_store = RedisStore(request.getfixturevalue("redis_url"))
        yield redis_store
        redis_store.close()
    else:
        from _moto_server import REGION, use_fake_credentials

        use_fake_credentials(monkeypatch)
        yield AwsStore(request.getfixturevalue("store_moto_endpoint"), REGION)
