"""Every optional part fails when it is built, with a ConfigurationError naming its extra.

Each case runs in a fresh interpreter where the dependency cannot be imported
(``sys.modules[name] = None``), as in an install without that extra.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from hookseal import ConfigurationError
from hookseal._extras import MissingExtra, missing_extra, require

CASES = {
    "aws": (
        "boto3",
        "from hookseal.sources import AwsSecretsManagerSource\n"
        "AwsSecretsManagerSource('prod/webhooks', region_name='eu-west-1')",
    ),
    "redis-source": (
        "redis",
        "from hookseal.sources import RedisSource\nRedisSource('redis://127.0.0.1:6379/0')",
    ),
    "redis-guard": (
        "redis",
        "from hookseal import RedisReplayGuard\nRedisReplayGuard('redis://127.0.0.1:6379/0')",
    ),
    "http": (
        "httpx",
        "from hookseal.sources import HttpSource\nHttpSource('https://api.example.com/keys')",
    ),
    "fastapi": (
        "fastapi",
        "from hookseal.integrations.fastapi import VerifiedWebhook\nVerifiedWebhook('s3cr3t')",
    ),
    "flask": ("flask", "from hookseal.integrations.flask import HookSeal\nHookSeal()"),
    "django": ("django", "from hookseal.integrations.django import verify_webhook"),
}
EXTRA = {"aws": "aws", "redis-source": "redis", "redis-guard": "redis", "http": "http",
         "fastapi": "fastapi", "flask": "flask", "django": "django"}  # fmt: skip

SCRIPT = """
import sys
sys.modules[{module!r}] = None
from hookseal import ConfigurationError
try:
{code}
except ConfigurationError as exc:
    print("ConfigurationError|" + str(isinstance(exc, ImportError)) + "|" + str(exc))
else:
    print("built without " + {module!r})
"""


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_missing_dependency_is_a_configuration_error_naming_the_extra(case: str) -> None:
    module, code = CASES[case]
    indented = "\n".join("    " + line for line in code.splitlines())
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(module=module, code=indented)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    kind, is_import_error, message = done.stdout.strip().split("|", 2)
    assert kind == "ConfigurationError", done.stdout
    assert is_import_error == "True"
    extra = EXTRA[case]
    assert f"hookseal's {extra!r} extra" in message
    assert f'pip install -e ".[{extra}]"' in message
    assert f"needs {module}" in message


def test_the_aws_source_fails_when_built_not_when_started() -> None:
    """Before: it built fine without boto3 and failed at start with a NoActiveSecret that never
    named boto3. Checked in-process too: the constructor itself raises."""
    from hookseal.sources import AwsSecretsManagerSource

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "boto3", None)
        with pytest.raises(ConfigurationError, match="'aws' extra"):
            AwsSecretsManagerSource("prod/webhooks", region_name="eu-west-1")


def test_require_returns_the_module_when_it_is_there() -> None:
    assert require("json", extra="none", what="a test").__name__ == "json"


def test_missing_extra_is_both_kinds_of_error_and_names_the_module() -> None:
    error = missing_extra("Something", "some_module", "some")
    assert isinstance(error, ConfigurationError)
    assert isinstance(error, ImportError)
    assert isinstance(error, MissingExtra)
    assert error.name == "some_module"
