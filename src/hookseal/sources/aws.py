"""Secrets from AWS Secrets Manager: the current version, plus the previous one for a while.

Secrets Manager rotates by moving the ``AWSCURRENT`` label to a new version and ``AWSPREVIOUS``
to the old one. Deliveries signed with the old secret keep arriving for a while (retries,
senders that switch late), so the previous version stays valid until the current version's
``CreatedDate`` plus ``previous_valid_for`` seconds, then expires (enforced per request).

A version's ``SecretString`` is either the secret itself (its id is the version id) or a JSON
object ``{"secrets": [{"id", "value", "not_before"?, "expires_at"?}]}`` (the ids are its own).
A string starting with ``{`` must be such an object. ``SecretBinary`` is the secret's bytes.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .._extras import require
from ..errors import ConfigurationError
from ..secrets import Secret, SecretSet
from ._base import Fetched, SecretSource, SourceError
from ._mapping import JsonMapping

__all__ = ["DEFAULT_PREVIOUS_VALID_FOR", "AwsSecretsManagerSource"]

DEFAULT_PREVIOUS_VALID_FOR = 3600.0
"""Seconds after the current version's creation that the previous version still verifies."""

_JSON_SHAPE = JsonMapping.plain()


class AwsSecretsManagerSource(SecretSource):
    """Read ``secret_id`` (name or ARN) from Secrets Manager with boto3.

    ``client``: a ``secretsmanager`` client of your own (left open); otherwise one is made from
    ``region_name``/``endpoint_url`` and the usual AWS credential chain, and closed by
    :meth:`close`. ``include_previous=False`` drops ``AWSPREVIOUS`` entirely.
    ``afetch`` runs the blocking boto3 calls in a worker thread.
    """

    def __init__(
        self,
        secret_id: str,
        *,
        client: Any = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        include_previous: bool = True,
        previous_valid_for: float = DEFAULT_PREVIOUS_VALID_FOR,
        name: str | None = None,
    ) -> None:
        if not isinstance(secret_id, str) or not secret_id:
            raise ConfigurationError("secret_id must be a non-empty secret name or ARN")
        if (
            isinstance(previous_valid_for, bool)
            or not isinstance(previous_valid_for, (int, float))
            or not 0 <= previous_valid_for < float("inf")
        ):
            raise ConfigurationError("previous_valid_for must be a non-negative number of seconds")
        require("boto3", extra="aws", what="AwsSecretsManagerSource")
        self.secret_id = secret_id
        self.include_previous = include_previous
        self.previous_valid_for = float(previous_valid_for)
        self.name = name or f"aws:{secret_id}"
        self._region_name = region_name
        self._endpoint_url = endpoint_url
        self._lock = threading.Lock()
        self._client = client
        self._owned = client is None

    def __repr__(self) -> str:
        return f"AwsSecretsManagerSource(name={self.name!r}, secret_id={self.secret_id!r})"

    def fetch(self) -> Fetched:
        client = self._get_client()
        current = self._version(client, "AWSCURRENT")
        if current is None:
            raise self._error("AWSCURRENT version not found (ResourceNotFoundException)")
        secrets = self._secrets(current, "AWSCURRENT")
        if self.include_previous:
            previous = self._version(client, "AWSPREVIOUS")
            if previous is not None:
                secrets += self._previous(previous, current, {s.id for s in secrets})
        try:
            return Fetched(SecretSet(secrets))
        except ConfigurationError as exc:
            raise self._error(str(exc)) from None

    def close(self) -> None:
        with self._lock:
            client, self._client = (self._client, None) if self._owned else (None, self._client)
        if client is not None:
            client.close()

    # -- internals ----------------------------------------------------------------------------

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3  # checked in __init__
                import botocore.config

                config = botocore.config.Config(
                    connect_timeout=5, read_timeout=5, retries={"mode": "standard"}
                )
                self._client = boto3.session.Session().client(
                    "secretsmanager",
                    region_name=self._region_name,
                    endpoint_url=self._endpoint_url,
                    config=config,
                )
            return self._client

    def _version(self, client: Any, stage: str) -> dict[str, Any] | None:
        """One labelled version, or None when no version carries that label."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer: dict[str, Any] = client.get_secret_value(
                SecretId=self.secret_id, VersionStage=stage
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            if code == "ResourceNotFoundException":
                return None
            raise self._error(f"{stage}: AWS refused ({code})") from None
        except BotoCoreError as exc:
            raise self._error(f"{stage}: AWS unreachable ({type(exc).__name__})") from None
        return answer

    def _secrets(self, version: dict[str, Any], stage: str) -> list[Secret]:
        version_id = str(version.get("VersionId") or stage)
        text = version.get("SecretString")
        if text is None:
            binary = version.get("SecretBinary")
            if not binary:
                raise self._error(f"{stage}: version holds no secret")
            return [self._secret(bytes(binary), version_id, stage)]
        if not isinstance(text, str) or not text:
            raise self._error(f"{stage}: version holds no secret")
        if not text.lstrip().startswith("{"):
            return [self._secret(text, version_id, stage)]
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # nested deeper than json can read
            raise self._error(f"{stage}: starts with '{{' but is not valid JSON") from None
        try:
            return list(_JSON_SHAPE.secret_set(document))
        except SourceError as exc:
            raise self._error(f"{stage}: {exc}") from None

    def _previous(
        self, previous: dict[str, Any], current: dict[str, Any], taken: set[str]
    ) -> list[Secret]:
        """The previous version's secrets not also current, expiring at the window's end."""
        created = current.get("CreatedDate")
        if created is None or not hasattr(created, "timestamp"):
            raise self._error("AWSCURRENT has no CreatedDate to start the rotation window")
        end = created.timestamp() + self.previous_valid_for
        kept: list[Secret] = []
        for secret in self._secrets(previous, "AWSPREVIOUS"):
            if secret.id in taken:
                continue
            if secret.expires_at is None or secret.expires_at > end:
                try:
                    secret = secret.replace(expires_at=end)
                except ConfigurationError:
                    continue  # it would only start after the window closed: never valid
            kept.append(secret)
        return kept

    def _secret(self, value: str | bytes, secret_id: str, stage: str) -> Secret:
        try:
            return Secret(value, id=secret_id)
        except ConfigurationError as exc:
            raise self._error(f"{stage}: {exc}") from None

    def _error(self, what: str) -> SourceError:
        return SourceError(f"{self.name}: {what}")
