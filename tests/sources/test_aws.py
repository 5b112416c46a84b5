"""AwsSecretsManagerSource against moto's server mode on 127.0.0.1 (no real AWS)."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from _moto_server import REGION, moto_server, use_fake_credentials
from hookseal import SignatureMismatch, Verifier
from hookseal.errors import ConfigurationError
from hookseal.sources._base import SourceError
from hookseal.sources.aws import AwsSecretsManagerSource
from hookseal.testing import signed_request

OLD = "aws-old-secret-value-111"
NEW = "aws-new-secret-value-222"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials only: nothing here can reach real AWS."""
    use_fake_credentials(monkeypatch)


@pytest.fixture
def admin(moto_endpoint: str) -> Iterator[Any]:
    """The operator's client, used to create and rotate secrets."""
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=moto_endpoint)
    yield client
    client.close()


@pytest.fixture
def secret_name() -> str:
    return f"hookseal/test/{uuid.uuid4().hex}"


def _source(endpoint: str, name: str, **options: Any) -> AwsSecretsManagerSource:
    return AwsSecretsManagerSource(name, region_name=REGION, endpoint_url=endpoint, **options)


def _stage_version(admin: Any, name: str, stage: str) -> dict[str, Any]:
    answer: dict[str, Any] = admin.get_secret_value(SecretId=name, VersionStage=stage)
    return answer


def test_current_plain_secret(admin: Any, moto_endpoint: str, secret_name: str) -> None:
    admin.create_secret(Name=secret_name, SecretString=OLD)
    source = _source(moto_endpoint, secret_name)
    try:
        fetched = source.fetch()
    finally:
        source.close()
    version = _stage_version(admin, secret_name, "AWSCURRENT")
    (only,) = fetched.secrets
    assert only.id == version["VersionId"]
    assert only.reveal() == OLD.encode()
    assert only.expires_at is None
    assert fetched.ttl is None
    assert OLD not in repr(source)


def test_rotation_moves_current_and_keeps_previous_for_the_window(
    admin: Any, moto_endpoint: str, secret_name: str
) -> None:
    admin.create_secret(Name=secret_name, SecretString=OLD)
    source = _source(moto_endpoint, secret_name, previous_valid_for=900)
    try:
        old_id = source.fetch().secrets.ids[0]
        admin.put_secret_value(SecretId=secret_name, SecretString=NEW)
        rotated = source.fetch().secrets
    finally:
        source.close()
    current = _stage_version(admin, secret_name, "AWSCURRENT")
    previous = _stage_version(admin, secret_name, "AWSPREVIOUS")
    assert previous["VersionId"] == old_id
    assert rotated.ids == (current["VersionId"], old_id)
    window_end = current["CreatedDate"].timestamp() + 900
    old = rotated.get(old_id)
    assert old is not None
    assert old.expires_at == window_end

    verifier = Verifier(rotated, leeway=60)
    during = window_end - 300
    body, headers = signed_request({"e": 1}, OLD, now=during)
    assert verifier.verify(body, headers, now=during).secret_id == old_id
    after = window_end + 61
    body, headers = signed_request({"e": 2}, NEW, now=after)
    assert verifier.verify(body, headers, now=after).secret_id == current["VersionId"]
    body, headers = signed_request({"e": 3}, OLD, now=after)
    with pytest.raises(SignatureMismatch):
        verifier.verify(body, headers, now=after)


def test_include_previous_false(admin: Any, moto_endpoint: str, secret_name: str) -> None:
    admin.create_secret(Name=secret_name, SecretString=OLD)
    admin.put_secret_value(SecretId=secret_name, SecretString=NEW)
    source = _source(moto_endpoint, secret_name, include_previous=False)
    try:
        (only,) = source.fetch().secrets
    finally:
        source.close()
    assert only.reveal() == NEW.encode()


def test_json_document_with_overlapping_ids(
    admin: Any, moto_endpoint: str, secret_name: str
) -> None:
    first = {"secrets": [{"id": "k1", "value": OLD}]}
    second = {
        "secrets": [
            {"id": "k2", "value": NEW},
            {"id": "k1", "value": OLD, "expires_at": "2099-01-01T00:00:00Z"},
        ]
    }
    admin.create_secret(Name=secret_name, SecretString=json.dumps(first))
    admin.put_secret_value(SecretId=secret_name, SecretString=json.dumps(second))
    source = _source(moto_endpoint, secret_name)
    try:
        secrets = source.fetch().secrets
    finally:
        source.close()
    assert secrets.ids == ("k2", "k1")
    k1 = secrets.get("k1")
    assert k1 is not None
    assert k1.expires_at == 4070908800.0  # the current document's own window, not the previous


def test_secret_binary(admin: Any, moto_endpoint: str, secret_name: str) -> None:
    admin.create_secret(Name=secret_name, SecretBinary=b"\x00\x01binary-key")
    source = _source(moto_endpoint, secret_name)
    try:
        (only,) = source.fetch().secrets
    finally:
        source.close()
    assert only.reveal() == b"\x00\x01binary-key"


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ('{"secrets": [{"id": "a", "value": "' + OLD + '"}', "not valid JSON"),
        ('{"a":' * 12_000, "not valid JSON"),  # nested too deeply (and under AWS's 64 KiB)
        ('{"keys": []}', "no list at 'secrets'"),
        ('{"secrets": [{"id": "a"}]}', "response field 'value' missing in item 1"),
    ],
)
def test_broken_documents(
    admin: Any, moto_endpoint: str, secret_name: str, stored: str, message: str
) -> None:
    admin.create_secret(Name=secret_name, SecretString=stored)
    source = _source(moto_endpoint, secret_name)
    try:
        with pytest.raises(SourceError, match=message) as info:
            source.fetch()
    finally:
        source.close()
    assert OLD not in str(info.value)


def test_missing_secret_and_unreachable_endpoint(moto_endpoint: str) -> None:
    missing = _source(moto_endpoint, "hookseal/does-not-exist")
    try:
        with pytest.raises(SourceError, match="AWSCURRENT version not found"):
            missing.fetch()
    finally:
        missing.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = _source(f"http://127.0.0.1:{port}", "anything")
    try:
        with pytest.raises(SourceError, match="AWS unreachable"):
            down.fetch()
    finally:
        down.close()


def test_a_secret_marked_for_deletion_is_reported_by_error_code(
    admin: Any, moto_endpoint: str, secret_name: str
) -> None:
    admin.create_secret(Name=secret_name, SecretString=OLD)
    admin.delete_secret(SecretId=secret_name, RecoveryWindowInDays=7)
    source = _source(moto_endpoint, secret_name)
    try:
        with pytest.raises(SourceError, match=r"AWS refused \(InvalidRequestException\)"):
            source.fetch()
    finally:
        source.close()


async def test_async_fetch_with_a_given_client(
    admin: Any, moto_endpoint: str, secret_name: str
) -> None:
    admin.create_secret(Name=secret_name, SecretString=OLD)
    source = AwsSecretsManagerSource(secret_name, client=admin)
    try:
        (only,) = (await source.afetch()).secrets
        assert only.reveal() == OLD.encode()
        admin.put_secret_value(SecretId=secret_name, SecretString=NEW)
        assert len((await source.afetch()).secrets) == 2
    finally:
        await source.aclose()
    assert admin.list_secrets()  # the caller's client is still usable


def test_bad_configuration() -> None:
    with pytest.raises(ConfigurationError):
        AwsSecretsManagerSource("")
    with pytest.raises(ConfigurationError):
        AwsSecretsManagerSource("s", previous_valid_for=-1)
    with pytest.raises(ConfigurationError):
        AwsSecretsManagerSource("s", previous_valid_for=float("nan"))
