"""Secrets and immutable snapshots of them, with the validity windows a rotation needs.

A :class:`Secret` never shows its value in ``repr``/``str``; a secret given without an id is
named by a short, non-reversible fingerprint so logs and metrics can still tell secrets apart.
A :class:`SecretSet` answers one question per request: which secrets are valid *now*.

One whitespace rule for every entry point: a secret given as text (``str`` in code, and so every
environment variable, file, command-line option and JSON, HTTP, Redis or AWS value) loses its
surrounding whitespace, as ``str.strip()`` sees it; a secret given as ``bytes`` is used byte for
byte (a binary key may well begin or end with a byte that looks like whitespace).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from ._time import Instant, optional_epoch, to_epoch
from .errors import ConfigurationError

__all__ = ["DEFAULT_LEEWAY", "Secret", "SecretLike", "SecretProvider", "SecretSet", "SecretsLike"]

DEFAULT_LEEWAY = 60.0
"""Seconds of clock skew absorbed at both ends of a secret's validity window."""

_FINGERPRINT_LABEL = b"hookseal/secret-id/v1\x00"
_MAX_ID_LENGTH = 128
_WHSEC = b"whsec_"


def fingerprint(value: bytes) -> str:
    """A stable, non-reversible 8-hex-digit name for a secret value (for logs and metrics).

    A leading ``whsec_`` is not part of the name: Standard Webhooks keys on the base64 after it
    whether or not it is written, so one key gets one id. (Stripe keys on the whole string, so
    there a value without the prefix is the wrong key; it still shares the id of the right one,
    which names the dashboard secret that was meant.)
    """
    key = value[len(_WHSEC) :] if value.startswith(_WHSEC) else value
    return "fp-" + hashlib.sha256(_FINGERPRINT_LABEL + key).hexdigest()[:8]


class Secret:
    """One signing secret and the window in which it is valid.

    ``value`` is the secret as the provider shows it: a ``str`` loses its surrounding whitespace
    and is UTF-8 encoded, ``bytes`` are kept exactly (see the module docstring); schemes decide how
    to turn it into key bytes (``whsec_`` base64 for Standard Webhooks, as-is for Stripe). The
    window is ``[not_before, expires_at)`` widened by the verifier's leeway; ``expires_at`` is the
    ``rotate_at`` of a rotation.
    """

    __slots__ = ("_material", "_value", "expires_at", "id", "not_before")

    _value: bytes
    id: str
    not_before: float | None
    expires_at: float | None
    _material: dict[str, Any]

    def __init__(
        self,
        value: str | bytes,
        id: str | None = None,
        not_before: Instant | None = None,
        expires_at: Instant | None = None,
    ) -> None:
        if isinstance(value, str):
            raw = value.strip().encode("utf-8")
        elif isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
        else:
            raise ConfigurationError("a secret value must be str or bytes")
        if not raw:
            raise ConfigurationError("a secret value must not be empty")
        if id is None:
            id = fingerprint(raw)
        elif not isinstance(id, str) or not (0 < len(id) <= _MAX_ID_LENGTH) or not _printable(id):
            raise ConfigurationError(
                f"a secret id must be 1 to {_MAX_ID_LENGTH} printable ASCII characters"
            )
        start = optional_epoch(not_before, what="not_before")
        end = optional_epoch(expires_at, what="expires_at")
        if start is not None and end is not None and end <= start:
            raise ConfigurationError(f"secret {id!r}: expires_at must be after not_before")
        object.__setattr__(self, "_value", raw)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "not_before", start)
        object.__setattr__(self, "expires_at", end)
        object.__setattr__(self, "_material", {})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Secret is immutable")

    def reveal(self) -> bytes:
        """The secret's raw bytes. Named loudly on purpose: keep the result out of logs."""
        return self._value

    def is_valid_at(self, now: float, leeway: float = DEFAULT_LEEWAY) -> bool:
        """True when ``now`` lies in ``[not_before - leeway, expires_at + leeway)``."""
        if self.not_before is not None and now < self.not_before - leeway:
            return False
        return self.expires_at is None or now < self.expires_at + leeway

    def replace(
        self,
        *,
        id: str | None = None,
        not_before: Instant | None = None,
        expires_at: Instant | None = None,
    ) -> Secret:
        """A copy with some fields changed (the value stays)."""
        return Secret(
            self._value,
            id=self.id if id is None else id,
            not_before=self.not_before if not_before is None else not_before,
            expires_at=self.expires_at if expires_at is None else expires_at,
        )

    def __repr__(self) -> str:
        parts = [f"id={self.id!r}"]
        if self.not_before is not None:
            parts.append(f"not_before={self.not_before!r}")
        if self.expires_at is not None:
            parts.append(f"expires_at={self.expires_at!r}")
        return f"Secret({', '.join(parts)})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Pickling would copy the value into wherever pickles go (caches, queues): refuse.
        raise TypeError("Secret cannot be pickled; pass secrets through a SecretSource instead")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return (
            self.id == other.id
            and self.not_before == other.not_before
            and self.expires_at == other.expires_at
            and _constant_time_equal(self._value, other._value)
        )

    def __hash__(self) -> int:
        return hash((Secret, self.id, self.not_before, self.expires_at))


_FINGERPRINT_KEY = "fingerprint"  # beside the schemes' material kinds in Secret._material


def cached_fingerprint(secret: Secret) -> str:
    """:func:`fingerprint` of the secret's value, computed once per Secret (the keyring counts
    matches by it on every verified request)."""
    found: str | None = secret._material.get(_FINGERPRINT_KEY)
    if found is None:
        found = fingerprint(secret._value)
        secret._material[_FINGERPRINT_KEY] = found
    return found


def _constant_time_equal(a: bytes, b: bytes) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def _printable(text: str) -> bool:
    return text.isascii() and text.isprintable()


SecretLike = str | bytes | Secret
"""One secret: a value, or a :class:`Secret` with an id and a window."""


@runtime_checkable
class SecretProvider(Protocol):
    """Anything that hands the verifier the secret set to use now (a SecretSet, a Keyring).

    ``refresh_after_mismatch`` is called when no candidate verified: a provider may fetch anew
    (behind a cooldown) and return the new set, or return its newest set, or ``None`` when it
    has nothing; the verifier checks again only against a set other than the one it tried.
    ``record_match`` tells the provider which secret verified, for metrics.
    """

    def secret_set(self) -> SecretSet: ...

    async def asecret_set(self) -> SecretSet: ...

    def refresh_after_mismatch(self) -> SecretSet | None: ...

    async def arefresh_after_mismatch(self) -> SecretSet | None: ...

    def record_match(self, secret: Secret) -> None: ...


SecretsLike = SecretLike | Iterable[SecretLike] | SecretProvider
"""What every public entry point accepts as ``secrets``."""


class SecretSet:
    """An immutable snapshot of secrets; :meth:`candidates` gives those valid at a moment.

    A plain iterable of secrets means "all of these are active". Ids must be unique within a set.
    """

    __slots__ = ("_bounded", "_by_id", "_secrets")

    _secrets: tuple[Secret, ...]
    _bounded: bool
    _by_id: dict[str, Secret]

    def __init__(self, secrets: Iterable[SecretLike] = ()) -> None:
        if isinstance(secrets, (str, bytes, Secret)):
            secrets = (secrets,)
        elif isinstance(secrets, Mapping):
            # Iterating a dict gives its keys: {"id": "value"} would make the ids the secrets.
            raise ConfigurationError(
                "secrets must not be a mapping; use Secret(value, id=...) for named secrets"
            )
        items = tuple(s if isinstance(s, Secret) else Secret(s) for s in secrets)
        by_id: dict[str, Secret] = {}
        for secret in items:
            if secret.id in by_id:
                raise ConfigurationError(f"secret id {secret.id!r} appears twice in one set")
            by_id[secret.id] = secret
        object.__setattr__(self, "_secrets", items)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(
            self,
            "_bounded",
            any(s.not_before is not None or s.expires_at is not None for s in items),
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("SecretSet is immutable")

    @classmethod
    def coerce(cls, secrets: SecretLike | Iterable[SecretLike] | SecretSet) -> SecretSet:
        """Build a set from anything the public API accepts as static secrets."""
        if isinstance(secrets, SecretSet):
            return secrets
        if isinstance(secrets, (str, bytes, Secret)):
            return cls((secrets,))
        if isinstance(secrets, Iterable):
            return cls(secrets)
        raise ConfigurationError(
            "secrets must be a str or bytes secret, a Secret, an iterable of those, "
            "a SecretSet or a Keyring"
        )

    @classmethod
    def rotating(
        cls,
        *,
        current: SecretLike,
        previous: SecretLike,
        rotate_at: Instant,
    ) -> SecretSet:
        """Both secrets verify until ``rotate_at`` (plus leeway); after it only ``current`` does.

        This is the window the billing-style APIs describe: the endpoint's ``rotate_at`` is the
        moment the previous secret expires and the new one becomes the only valid one.
        """
        end = to_epoch(rotate_at, what="rotate_at")
        new = current if isinstance(current, Secret) else Secret(current)
        old = previous if isinstance(previous, Secret) else Secret(previous)
        if old.expires_at is None or old.expires_at > end:
            old = old.replace(expires_at=end)
        return cls((new, old))

    def candidates(self, now: float, leeway: float = DEFAULT_LEEWAY) -> tuple[Secret, ...]:
        """The secrets valid at ``now`` (epoch seconds), in the set's order."""
        if not self._bounded:
            return self._secrets
        return tuple(s for s in self._secrets if s.is_valid_at(now, leeway))

    def get(self, secret_id: str) -> Secret | None:
        """The secret with this id, if the set holds one."""
        return self._by_id.get(secret_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self._secrets)

    def __iter__(self) -> Iterator[Secret]:
        return iter(self._secrets)

    def __len__(self) -> int:
        return len(self._secrets)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretSet):
            return NotImplemented
        return self._secrets == other._secrets

    def __hash__(self) -> int:
        return hash(self._secrets)

    def __repr__(self) -> str:
        return f"SecretSet({list(self._secrets)!r})"

    def __reduce__(self) -> Any:
        raise TypeError("SecretSet cannot be pickled")

    # A SecretSet is its own (static) SecretProvider.
    def secret_set(self) -> SecretSet:
        return self

    async def asecret_set(self) -> SecretSet:
        return self

    def refresh_after_mismatch(self) -> SecretSet | None:
        return None

    async def arefresh_after_mismatch(self) -> SecretSet | None:
        return None

    def record_match(self, secret: Secret) -> None:
        return None


def as_provider(secrets: SecretsLike) -> SecretProvider:
    """Normalise the ``secrets`` argument of the public API into a provider."""
    if isinstance(secrets, SecretSet):
        return secrets
    if not isinstance(secrets, (str, bytes, Secret)) and isinstance(secrets, SecretProvider):
        return secrets
    return SecretSet.coerce(secrets)
