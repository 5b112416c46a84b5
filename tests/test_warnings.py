"""The suite fails on any warning (pyproject's filterwarnings = error), and importing hookseal
and the test clients its docs use raises none (issue 10, item 5)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest


def test_a_warning_in_a_test_is_an_error() -> None:
    with pytest.raises(UserWarning):
        warnings.warn("any warning fails the suite", UserWarning, stacklevel=1)


@pytest.mark.parametrize(
    "modules",
    [
        "hookseal, hookseal.asgi, hookseal.wsgi, hookseal.diagnose, hookseal.testing",
        "hookseal.integrations.fastapi, hookseal.integrations.flask",
        "hookseal.integrations.django, hookseal.sources.http, hookseal.sources.redis",
        # Starlette's TestClient warns when it falls back to httpx: the testing extra has httpx2.
        "starlette.testclient, fastapi.testclient",
    ],
)
def test_imports_raise_no_warning(modules: str) -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"import {modules}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
