"""The user's own secret stores, real ones, for the sources that join a store with a provider:
an environment variable, a JSON file, a Redis hash (a real redis-server) and AWS Secrets
Manager (moto's server). Each holds secrets by id; :meth:`Store.write` replaces them all."""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hookseal.sources import EnvSource, FileSource, SecretSource

KINDS = ("env", "file", "redis", "aws")


class Store(ABC):
    kind: str

    @abstractmethod
    def write(self, secrets: Mapping[str, str]) -> None:
        """Make the store hold exactly these ``{id: value}`` secrets."""

    @abstractmethod
    def source(self) -> SecretSource:
        """A hookseal source reading this store."""


def _document(secrets: Mapping[str, str]) -> str:
    return json.dumps({"secrets": [{"id": i, "value": v} for i, v in secrets.items()]})


class EnvStore(Store):
    kind = "env"

    def __init__(self) -> None:
        self.environ: dict[str, str] = {}

    def write(self, secrets: Mapping[str, str]) -> None:
        self.environ["WEBHOOK_SECRETS"] = json.dumps(
            [{"id": i, "value": v} for i, v in secrets.items()]
        )

    def source(self) -> SecretSource:
        return EnvSource("WEBHOOK_SECRETS", environ=self.environ)


class FileStore(Store):
    kind = "file"

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"secrets-{uuid.uuid4().hex}.json"

    def write(self, secrets: Mapping[str, str]) -> None:
        staging = self.path.with_suffix(".tmp")
        staging.write_text(_document(secrets))
        staging.replace(self.path)  # atomic, as a careful operator (or kubelet) writes it

    def source(self) -> SecretSource:
        return FileSource(self.path)


class RedisStore(Store):
    kind = "redis"

    def __init__(self, url: str) -> None:
        import redis

        from hookseal.sources.redis import put_secret

        self.url = url
        self.key = f"hookseal:test:{uuid.uuid4().hex}"
        self._client: Any = redis.Redis.from_url(url)
        self._put = put_secret

    def write(self, secrets: Mapping[str, str]) -> None:
        self._client.delete(self.key)
        for secret_id, value in secrets.items():
            self._put(self._client, self.key, secret_id, value)

    def source(self) -> SecretSource:
        from hookseal.sources import RedisSource

        return RedisSource(self.url, key=self.key)

    def close(self) -> None:
        self._client.delete(self.key)
        self._client.close()


class AwsStore(Store):
    kind = "aws"

    def __init__(self, endpoint: str, region: str) -> None:
        import boto3

        self.endpoint = endpoint
        self.region = region
        self.name = f"hookseal/test/{uuid.uuid4().hex}"
        self._client: Any = boto3.client(
            "secretsmanager", region_name=region, endpoint_url=endpoint
        )
        self._created = False

    def write(self, secrets: Mapping[str, str]) -> None:
        if self._created:
            self._client.put_secret_value(SecretId=self.name, SecretString=_document(secrets))
        else:
            self._client.create_secret(Name=self.name, SecretString=_document(secrets))
            self._created = True

    def source(self) -> SecretSource:
        from hookseal.sources import AwsSecretsManagerSource

        return AwsSecretsManagerSource(
            self.name, region_name=self.region, endpoint_url=self.endpoint
        )
