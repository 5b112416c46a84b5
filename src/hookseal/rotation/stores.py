"""The shared stores a rotation writes to, each read by the replicas through a source.

A :class:`SecretStore` reads every secret it holds and applies a change atomically: the
rotation passes a function from the current secrets (by id) to the wanted ones, and the store
writes the difference in one transaction (Redis ``WATCH``/``MULTI``, a file replaced whole, a
new Secrets Manager version). The formats are the ones the matching sources read:

- :class:`RedisStore`: the hash of :class:`~hookseal.sources.RedisSource`, with its pub/sub
  notice (ids only) so that every replica refreshes at once;
- :class:`FileStore`: the JSON file of :class:`~hookseal.sources.FileSource`
  (``{"secrets": [...]}``), replaced atomically (watched files are reread);
- :class:`AwsSecretsManagerStore`: a new ``AWSCURRENT`` version of the JSON object
  :class:`~hookseal.sources.AwsSecretsManagerSource` reads (``AWSPREVIOUS`` keeps the old
  version for its ``previous_valid_for``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from ..secrets import Secret, SecretSet, fingerprint
from ..sources._base import SourceError
from ..sources._parse import secret_set_from_document
from .errors import RotationError

__all__ = ["AwsSecretsManagerStore", "FileStore", "RedisStore", "SecretStore", "Secrets"]

Secrets = dict[str, Secret]
Change = Callable[[Secrets], Secrets]


class SecretStore(ABC):
    """A shared store of secrets by id."""

    name: str = "store"

    @abstractmethod
    def read(self) -> Secrets:
        """Every secret held, by id."""

    @abstractmethod
    def update(self, change: Change, *, token: str) -> Secrets:
        """Apply ``change`` atomically; ``token`` names the change (the same token twice is
        the same change, for stores that deduplicate). Returns what the store now holds."""

    def close(self) -> None:
        return None

    def describe(self, secrets: Mapping[str, Secret] | None = None) -> str:
        held = self.read() if secrets is None else secrets
        return ", ".join(f"{i} ({fingerprint(s.reveal())})" for i, s in held.items()) or "nothing"


def _record(secret: Secret) -> dict[str, Any]:
    try:
        value = secret.reveal().decode("utf-8")
    except UnicodeDecodeError:
        raise RotationError(f"secret {secret.id!r} is not UTF-8 text; stores hold text") from None
    record: dict[str, Any] = {"value": value}
    if secret.not_before is not None:
        record["not_before"] = secret.not_before
    if secret.expires_at is not None:
        record["expires_at"] = secret.expires_at
    return record


def _document(secrets: Mapping[str, Secret]) -> str:
    return json.dumps({"secrets": [{"id": i, **_record(s)} for i, s in secrets.items()]}, indent=2)


def _parse_document(text: str | bytes, where: str) -> Secrets:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # nested deeper than json reads
        raise RotationError(f"{where} is not JSON") from None
    try:
        parsed: SecretSet = secret_set_from_document(document, where)
    except SourceError as exc:
        raise RotationError(f"{where}: {exc}") from None
    return {secret.id: secret for secret in parsed}


class RedisStore(SecretStore):
    """The hash at ``key`` (a :class:`~hookseal.sources.RedisSource`'s), announcing each
    change on ``channel``. ``url_or_client``: a ``redis://`` URL or a sync redis-py client."""

    def __init__(self, url_or_client: Any, *, key: str, channel: str | None = None) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigurationError(
                "RedisStore needs redis: pip install 'hookseal[redis]'"
            ) from None
        if not key:
            raise ConfigurationError("RedisStore: key must be a non-empty Redis key")
        self._owned = isinstance(url_or_client, str)
        self._client = (
            redis.Redis.from_url(url_or_client, socket_timeout=10, socket_connect_timeout=10)
            if isinstance(url_or_client, str)
            else url_or_client
        )
        self.key = key
        self.channel = channel
        self.name = f"redis hash {key}"

    def read(self) -> Secrets:
        return _decode_hash(self._client.hgetall(self.key))

    def update(self, change: Change, *, token: str) -> Secrets:
        result: list[Secrets] = []

        def apply(pipe: Any) -> None:
            before = _decode_hash(pipe.hgetall(self.key))
            after = change(dict(before))
            result[:] = [after]
            pipe.multi()
            for secret_id in before.keys() - after.keys():
                pipe.hdel(self.key, secret_id)
            for secret_id, secret in after.items():
                if before.get(secret_id) != secret:
                    pipe.hset(self.key, secret_id, json.dumps(_record(secret)))

        self._client.transaction(apply, self.key)
        if self.channel is not None:
            notice = {"event": "rotation", "token": token, "ids": sorted(result[0])}
            self._client.publish(self.channel, json.dumps(notice))
        return result[0]

    def close(self) -> None:
        if self._owned:
            self._client.close()


def _decode_hash(raw: Mapping[Any, Any]) -> Secrets:
    from ..sources.redis import _decode, _text

    found: Secrets = {}
    for name, stored in raw.items():
        secret_id = _text(name, "a field name")
        try:
            found[secret_id] = _decode(secret_id, _text(stored, f"field {secret_id!r}"))
        except SourceError as exc:
            raise RotationError(f"the Redis store holds a broken record: {exc}") from None
    return found


class FileStore(SecretStore):
    """The JSON file at ``path`` (``{"secrets": [{"id", "value", "expires_at"?}]}``), read by
    ``FileSource(path, watch=True)``. Changes are made under an exclusive lock on a file
    beside it and land with one rename."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = f"file {self.path}"

    def read(self) -> Secrets:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        return _parse_document(text, str(self.path)) if text.strip() else {}

    def update(self, change: Change, *, token: str) -> Secrets:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            before = self.read()
            after = change(dict(before))
            if after != before:
                self._write(_document(after))
            return after

    def _write(self, text: str) -> None:
        handle, staging = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(staging, 0o600)
            os.replace(staging, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(staging)
            raise


class AwsSecretsManagerStore(SecretStore):
    """The secret ``secret_id`` in AWS Secrets Manager, as the JSON object
    ``{"secrets": [...]}``. Each change is a new version (``put_secret_value``) whose client
    request token is derived from ``token`` and the new content, so a change repeated after a
    crash is the same version, not a second one."""

    def __init__(
        self,
        secret_id: str,
        *,
        client: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        if not secret_id:
            raise ConfigurationError("AwsSecretsManagerStore: secret_id must be non-empty")
        if client is None:
            try:
                import boto3
            except ImportError:
                raise ConfigurationError(
                    "AwsSecretsManagerStore needs boto3: pip install 'hookseal[aws]'"
                ) from None
            client = boto3.session.Session().client(
                "secretsmanager", region_name=region_name, endpoint_url=endpoint_url
            )
        self._client = client
        self.secret_id = secret_id
        self.name = f"aws secret {secret_id}"

    def read(self) -> Secrets:
        from botocore.exceptions import ClientError

        try:
            answer = self._client.get_secret_value(SecretId=self.secret_id)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            if code == "ResourceNotFoundException":
                return {}
            raise RotationError(f"{self.name}: AWS refused ({code})") from None
        text = answer.get("SecretString")
        if not isinstance(text, str) or not text.lstrip().startswith("{"):
            raise RotationError(
                f"{self.name}: AWSCURRENT is not the JSON object {{'secrets': [...]}} that a "
                "rotation maintains; convert it first"
            )
        return _parse_document(text, f"{self.name} (AWSCURRENT)")

    def update(self, change: Change, *, token: str) -> Secrets:
        from botocore.exceptions import ClientError

        before = self.read()
        after = change(dict(before))
        if after == before:
            return after
        text = _document(after)
        request = hashlib.sha256(f"{token}\x00{text}".encode()).hexdigest()[:32]
        try:
            self._client.put_secret_value(
                SecretId=self.secret_id, SecretString=text, ClientRequestToken=request
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            if code == "ResourceNotFoundException":
                self._client.create_secret(
                    Name=self.secret_id, SecretString=text, ClientRequestToken=request
                )
            else:
                raise RotationError(f"{self.name}: AWS refused the new version ({code})") from None
        return after
