"""Suite-wide options: the pure-Python pass of ``dev.py test``.

The suite runs twice in CI, on the same tests: first with the C accelerator, then with
``HOOKSEAL_NO_SPEEDUPS=1 pytest --pure-python-pass``. The switch is read once, at import, as
users set it, so each pass is a process of its own. The second pass leaves out the tests that
drive real servers and subprocesses (``SERVER_TESTS``): they run the same hookseal code as the
in-process tests through uvicorn, moto or a child process, the accelerator changes nothing
they observe that the in-process tests do not, and they are two thirds of the suite's time.
"""

from __future__ import annotations

import pytest

SERVER_TESTS = (
    "test_rotation_e2e.py",
    "test_asgi_e2e.py",
    "test_wsgi_e2e.py",
    "examples/",
    "sources/test_http.py",
    "sources/test_aws.py",
)
"""Paths under tests/ that the pure-Python pass leaves out."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pure-python-pass",
        action="store_true",
        help="the second CI pass (needs HOOKSEAL_NO_SPEEDUPS=1): all but the server tests",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--pure-python-pass"):
        from hookseal import speedups_enabled

        if speedups_enabled():
            raise pytest.UsageError("--pure-python-pass needs HOOKSEAL_NO_SPEEDUPS=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--pure-python-pass"):
        return
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        path = item.nodeid.split("::")[0].removeprefix("tests/")
        (left_out if path.startswith(SERVER_TESTS) else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
