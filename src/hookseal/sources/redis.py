"""Secrets in a Redis hash, shared by every replica, with an optional pub/sub nudge.

The hash at ``key`` maps a secret id to a JSON object ``{"value", "not_before"?,
"expires_at"?}`` (times as epoch seconds or ISO-8601 with a zone) or to the bare value. An
operator rotates with :func:`put_secret` and :func:`retire_secret`; with a ``channel`` they
also publish a notice (never the value), and every replica's keyring refreshes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .._redis import RedisClients
from .._time import Instant, optional_epoch, to_epoch
from ..errors import ConfigurationError
from ..secrets import Secret, SecretSet
from ._base import Fetched, SecretSource, SourceError, Subscribers
from ._mapping import parse_instant

__all__ = ["RedisSource", "put_secret", "remove_secret", "retire_secret"]

logger = logging.getLogger("hookseal")

DEFAULT_KEY = "hookseal:secrets"
_POLL = 0.2  # seconds the listener waits for a message before checking for shutdown
_MAX_BACKOFF = 30.0
_JOIN_TIMEOUT = 10.0

Callback = Callable[[], object]


class RedisSource(SecretSource):
    """Read the secrets hash at ``key``; optionally listen on ``channel`` for rotations.

    ``url_or_client``: a ``redis://`` URL (clients made and closed here) or a redis-py client
    (sync or asyncio; left open, it is yours). :meth:`subscribe` registers a callback run, in
    the listener thread, for every message on ``channel`` and after the listener reconnects
    (a rotation may have been missed meanwhile).
    """

    def __init__(
        self,
        url_or_client: Any,
        *,
        key: str = DEFAULT_KEY,
        channel: str | None = None,
        name: str | None = None,
    ) -> None:
        if not key:
            raise ConfigurationError("key must be a non-empty Redis key")
        self._clients = RedisClients(url_or_client, what="RedisSource")
        self.key = key
        self.channel = channel
        self.name = name or f"redis:{key}"
        self._lock = threading.Lock()
        self._subscribers = Subscribers(self.name)
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"RedisSource(name={self.name!r}, key={self.key!r}, channel={self.channel!r})"

    @property
    def async_only(self) -> bool:
        """Given only an asyncio client: a keyring fetches with ``afetch``, on its own loop."""
        return not self._clients.can_sync

    def fetch(self) -> Fetched:
        try:
            raw = self._clients.sync().hgetall(self.key)
        except self._clients.redis.RedisError as exc:
            raise self._error(f"Redis error ({type(exc).__name__}: {exc})") from None
        return Fetched(self._parse(raw))

    async def afetch(self) -> Fetched:
        try:
            raw = await self._clients.run("hgetall", self.key)
        except self._clients.redis.RedisError as exc:
            raise self._error(f"Redis error ({type(exc).__name__}: {exc})") from None
        return Fetched(self._parse(raw))

    def _parse(self, raw: Mapping[Any, Any]) -> SecretSet:
        if not raw:
            raise self._error(f"hash {self.key!r} is empty or missing")
        secrets: list[Secret] = []
        try:
            for field, stored in raw.items():
                secret_id = _text(field, f"a field name of hash {self.key!r}")
                secrets.append(_decode(secret_id, _text(stored, f"field {secret_id!r}")))
        except SourceError as exc:
            raise self._error(str(exc)) from None
        # Open-ended (current) secrets first, then by id: a stable order for every replica.
        secrets.sort(key=lambda s: (s.expires_at is not None, s.id))
        return SecretSet(secrets)

    def _error(self, what: str) -> SourceError:
        return SourceError(f"{self.name}: {what}")

    # -- pub/sub ------------------------------------------------------------------------------

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Run ``callback()`` whenever an operator announces a change; returns the unsubscriber.

        Without a ``channel`` there is nothing to listen to and the callback is never called.
        """
        if self.channel is None:
            return _nothing
        if not self._clients.can_sync:
            raise ConfigurationError("RedisSource needs a URL or a sync client to listen")
        with self._lock:
            if self._stop.is_set():
                raise ConfigurationError("RedisSource is closed")
            unsubscribe = self._subscribers.add(callback)
            if self._listener is None:
                self._listener = threading.Thread(
                    target=self._listen, name=f"hookseal-{self.name}", daemon=True
                )
                self._listener.start()
        return unsubscribe

    def _listen(self) -> None:
        backoff = _POLL
        failed = False
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self._clients.sync().pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                if failed:  # we were deaf for a while: a rotation may have been missed
                    failed = False
                    self._notify()
                while not self._stop.is_set():
                    if pubsub.get_message(timeout=_POLL) is not None:
                        self._notify()
                    backoff = _POLL
            except self._clients.redis.RedisError as exc:
                failed = True
                logger.warning(
                    "%s: pub/sub listener lost Redis (%s); retrying in %.1fs",
                    self.name,
                    type(exc).__name__,
                    backoff,
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(self._clients.redis.RedisError):
                        pubsub.close()

    def _notify(self) -> None:
        self._subscribers.notify()

    # -- shutdown -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the listener thread and close the clients made from a URL."""
        self._stop_listener()
        self._clients.close()

    async def aclose(self) -> None:
        await asyncio.to_thread(self._stop_listener)
        if self.async_only:  # your client stays open; its idle connections, bound to this
            # event loop, are let go here (the client reconnects on its next use)
            pool = getattr(self._clients.async_client(), "connection_pool", None)
            if pool is not None:
                await pool.disconnect(inuse_connections=False)
        await self._clients.aclose()

    def _stop_listener(self) -> None:
        with self._lock:
            self._stop.set()
            listener, self._listener = self._listener, None
            self._subscribers.clear()
        if listener is None or listener is threading.current_thread():
            return  # (a callback closing its own source must not wait for itself)
        listener.join(_JOIN_TIMEOUT)
        if listener.is_alive():
            logger.warning("%s: pub/sub listener did not stop within %ss", self.name, _JOIN_TIMEOUT)


# -- operators' helpers -----------------------------------------------------------------------


def put_secret(
    client: Any,
    key: str,
    secret_id: str,
    value: str | bytes,
    expires_at: Instant | None = None,
    channel: str | None = None,
    *,
    not_before: Instant | None = None,
) -> None:
    """Add or replace one secret in the hash (a sync redis-py client) and announce it."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigurationError("a secret stored in Redis must be UTF-8 text") from None
    Secret(value, id=secret_id, not_before=not_before, expires_at=expires_at)  # validate
    record: dict[str, Any] = {"value": value}
    if not_before is not None:
        record["not_before"] = optional_epoch(not_before, what="not_before")
    if expires_at is not None:
        record["expires_at"] = optional_epoch(expires_at, what="expires_at")
    client.hset(key, secret_id, json.dumps(record))
    _announce(client, channel, "put", secret_id)


def retire_secret(
    client: Any,
    key: str,
    secret_id: str,
    expires_at: Instant,
    channel: str | None = None,
) -> None:
    """Set when a stored secret stops verifying (the rotation's ``rotate_at``) and announce it.

    Read and rewrite happen in one WATCH/MULTI transaction, so a concurrent rotation by another
    operator is not overwritten.
    """
    end = to_epoch(expires_at, what="expires_at")

    def rewrite(pipe: Any) -> None:
        stored = pipe.hget(key, secret_id)
        if stored is None:
            raise ConfigurationError(f"no secret {secret_id!r} in hash {key!r}")
        try:
            secret = _decode(secret_id, _text(stored, f"field {secret_id!r}"))
            secret = secret.replace(expires_at=end)
        except (SourceError, ConfigurationError) as exc:
            raise ConfigurationError(f"cannot retire secret {secret_id!r}: {exc}") from None
        record: dict[str, Any] = {"value": secret.reveal().decode("utf-8"), "expires_at": end}
        if secret.not_before is not None:
            record["not_before"] = secret.not_before
        pipe.multi()
        pipe.hset(key, secret_id, json.dumps(record))

    client.transaction(rewrite, key)
    _announce(client, channel, "retire", secret_id)


def remove_secret(client: Any, key: str, secret_id: str, channel: str | None = None) -> bool:
    """Delete one secret from the hash (after its retirement); True if it was there."""
    removed = bool(client.hdel(key, secret_id))
    _announce(client, channel, "remove", secret_id)
    return removed


def _announce(client: Any, channel: str | None, event: str, secret_id: str) -> None:
    if channel is not None:
        client.publish(channel, json.dumps({"event": event, "id": secret_id}))


# -- decoding ---------------------------------------------------------------------------------


def _text(raw: Any, what: str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return bytes(raw).decode("utf-8")
    except (UnicodeDecodeError, TypeError):
        raise SourceError(f"{what} is not UTF-8 text") from None


def _decode(secret_id: str, stored: str) -> Secret:
    """One hash field: a JSON object with ``value`` and optional times, or the bare value.

    A value starting with ``{`` must be such an object: guessing would turn a broken record
    into a wrong key.
    """
    where = f"field {secret_id!r}"
    if not stored.lstrip().startswith("{"):
        return _secret(stored, secret_id, None, None)
    try:
        record = json.loads(stored)
    except (ValueError, RecursionError):  # nested deeper than json can read
        raise SourceError(f"{where} starts with '{{' but is not valid JSON") from None
    if not isinstance(record, dict):
        raise SourceError(f"{where} is not a JSON object")
    value = record.get("value")
    if not isinstance(value, str) or not value:
        raise SourceError(f"{where} has no non-empty string 'value'")
    nb, exp = record.get("not_before"), record.get("expires_at")
    return _secret(
        value,
        secret_id,
        None if nb is None else parse_instant(nb, what=f"'not_before' of {where}"),
        None if exp is None else parse_instant(exp, what=f"'expires_at' of {where}"),
    )


def _secret(value: str, secret_id: str, nb: float | None, exp: float | None) -> Secret:
    try:
        return Secret(value, id=secret_id, not_before=nb, expires_at=exp)
    except ConfigurationError as exc:
        raise SourceError(str(exc)) from None


def _nothing() -> None:
    return None
