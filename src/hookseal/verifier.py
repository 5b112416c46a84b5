"""The verifier: parse the proof, pick the secrets valid now, compare digests, decide.

A request passes when one of the secrets valid at ``now`` (rotation windows applied) produces a
digest equal, by :func:`hmac.compare_digest`, to one of the presented signatures. Every
candidate is tried before a mismatch is declared; the secret that matched last time is tried
first, so valid traffic after a rotation costs one HMAC, and forged traffic costs one per
candidate and no more.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets as _stdlib_secrets
import threading
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

from . import _accel, _fastpath
from ._material import Digester
from ._time import Clock, Instant, to_epoch, wall_clock
from .errors import (
    ConfigurationError,
    NoActiveSecret,
    PayloadTooLarge,
    Replayed,
    SignatureMismatch,
    TimestampTooNew,
    TimestampTooOld,
)
from .headers import HeadersLike
from .observe import VerificationObserver, observe
from .replay import ReplayGuard
from .schemes import Presented, RequestTarget, Scheme, Signature, by_name
from .secrets import DEFAULT_LEEWAY, Secret, SecretProvider, SecretSet, SecretsLike, as_provider

__all__ = ["DEFAULT_TOLERANCE", "PendingVerification", "Verified", "Verifier", "sign", "verify"]

logger = logging.getLogger("hookseal")

DEFAULT_TOLERANCE = 300.0
"""Seconds a signed timestamp may differ from now, in either direction."""

_DEFAULT_SCHEME = Signature()
_NO_TARGET = RequestTarget()

_EPOCH_BOUND = 1e15
"""An injected ``now`` outside +/- this many seconds takes the checked path (NaN, inf, huge)."""

Body = bytes | bytearray | memoryview


class Verified(NamedTuple):
    """The outcome of a successful verification (immutable). Never holds a secret value.

    ``secret_id``: which secret matched (its id or fingerprint), so operators see a rotation
    finish. ``scheme``: the scheme's name. ``timestamp`` and ``message_id``: the signed values,
    for schemes that have them. ``replay_key``: what a replay guard remembered for this
    delivery (to release it when the app fails and the provider will retry).
    """

    secret_id: str
    scheme: str
    timestamp: int | None = None
    message_id: str | None = None
    replay_key: str | None = None


_new_tuple = tuple.__new__


class Verifier:
    """Verifies requests for one scheme against a set of secrets; reuse it across requests.

    ``secrets`` may be a str or bytes secret, a :class:`Secret`, an iterable of those (all
    active), a :class:`SecretSet`, or a refreshing :class:`~hookseal.keyring.Keyring`.
    """

    __slots__ = (
        "_clock",
        "_fast",
        "_fixed",
        "_general",
        "_lean",
        "_preferred",
        "_static",
        "leeway",
        "max_body_size",
        "observer",
        "provider",
        "replay_guard",
        "scheme",
        "tolerance",
    )

    def __init__(
        self,
        secrets: SecretsLike,
        *,
        scheme: Scheme | str | None = None,
        tolerance: float | None = None,
        leeway: float = DEFAULT_LEEWAY,
        replay_guard: ReplayGuard | None = None,
        clock: Clock | None = None,
        max_body_size: int | None = None,
        observer: VerificationObserver | None = None,
    ) -> None:
        self.scheme: Scheme = _DEFAULT_SCHEME if scheme is None else by_name(scheme)
        # Schemes that sign the request line or read the whole body take the general path
        # (hookseal._general); the prefix + body schemes keep the tuned one below.
        self._general = self.scheme.signs_request or self.scheme.needs_body
        if tolerance is None:  # the provider's own figure (Paddle 5 s, Twitch 10 min, ...)
            tolerance = self.scheme.default_tolerance
        self.provider: SecretProvider = as_provider(secrets)
        if _not_number(tolerance) or tolerance <= 0:
            raise ConfigurationError("tolerance must be a positive number of seconds")
        if _not_number(leeway) or leeway < 0:
            raise ConfigurationError("leeway must be a non-negative number of seconds")
        if max_body_size is not None and (_not_number(max_body_size) or max_body_size < 0):
            raise ConfigurationError("max_body_size must be a non-negative number of bytes")
        if replay_guard is not None and not isinstance(replay_guard, ReplayGuard):
            raise ConfigurationError("replay_guard must have remember() and aremember()")
        self.tolerance = float(tolerance)
        self.leeway = float(leeway)
        self.max_body_size = max_body_size
        self.replay_guard = replay_guard
        self._clock: Clock = wall_clock if clock is None else clock
        self._preferred: Secret | None = None
        self._static = isinstance(self.provider, SecretSet)
        self._fixed: tuple[Secret, ...] | None = None
        if isinstance(self.provider, SecretSet):
            if not self.provider:
                raise ConfigurationError("no secrets given")
            for secret in self.provider:  # fail at start-up, not on the first request
                self.scheme.material(secret)
            if not self.provider._bounded:  # no windows: the candidates never change
                self._fixed = self.provider._secrets
        self.observer = observer
        if observer is not None:  # counted by a subclass: no cost here when not observed
            observe(self, observer)
        # The optional C accelerator's whole check, when it applies (see _accel.py). Made once
        # the class is final: the C check reads the slots of the type it was made for directly
        # and falls back to attribute lookups for any other (an observed verifier, before).
        self._fast = _accel.signature_check(self, Verified)
        # What the adapters need to verify the default scheme's usual requests in one pass
        # (hookseal._fastpath.Lean), when the fused check applies (observed or not).
        self._lean = None if self._fast is None else _fastpath.lean_plan(self, Verified)

    def __repr__(self) -> str:
        return (
            f"Verifier(scheme={self.scheme!r}, secrets={self.provider!r}, "
            f"tolerance={self.tolerance}, leeway={self.leeway})"
        )

    # -- one-shot -----------------------------------------------------------------------------

    def verify(
        self,
        body: Body,
        headers: HeadersLike,
        *,
        now: Instant | None = None,
        url: str | None = None,
        method: str | None = None,
    ) -> Verified:
        """Verify ``body`` (the raw bytes as received) against ``headers``; raise if it fails.

        ``url`` and ``method``: the request line as the provider called it, for the schemes
        that sign it (Twilio, Square, HubSpot); a ConfigurationError if such a scheme gets none.
        """
        fast = self._fast
        if fast is not None and now is None:  # the default scheme, which signs no URL
            found = fast(self, body, headers)  # None: an input the Python path must judge
            if found is not None:
                return found  # type: ignore[no-any-return]
        if self._general:  # the target made by tuple.__new__: RequestTarget's minus a frame
            target = _new_tuple(RequestTarget, (url, method))
            return _general.verify(self, body, headers, now, target)
        moment, presented = self._prepare(body, headers, now)
        preferred = self._preferred
        if preferred is not None and self._fixed is not None:
            # Static secrets without windows: the preferred one is always a candidate and its
            # material was derived at construction. Forged traffic still costs N HMACs, not N+1.
            tried: SecretSet | None = None  # a static set never refreshes (None below)
            material = preferred._material.get(self.scheme.material_kind) or self.material(
                preferred
            )
            if material is not None and material.matches(
                presented.prefix, body, presented.hmac_signatures, presented.ed25519_signatures
            ):
                secret: Secret | None = preferred
            else:
                secret = self._find_among(self._fixed, presented, body, skip=preferred)
        else:
            tried = self.provider.secret_set()
            secret = self._find(tried, presented, body, moment)
        if secret is None:
            fresh = self.provider.refresh_after_mismatch()
            if fresh is not None and fresh is not tried:  # the same set cannot match now
                secret = self._find(fresh, presented, body, moment)
            if secret is None:
                raise self._mismatch()
        if self.replay_guard is None and self._static:  # _accept() inlined: the common case
            return _new_tuple(
                Verified,
                (secret.id, self.scheme.name, presented.timestamp, presented.message_id, None),
            )
        if self.replay_guard is None:
            return self._accept(secret, presented, None)
        key = self._replay_key(presented, (body,))
        if not self.replay_guard.remember(key, self._replay_ttl(presented)):
            raise Replayed(header=self.scheme.signature_header)
        return self._accept(secret, presented, key)

    async def averify(
        self,
        body: Body,
        headers: HeadersLike,
        *,
        now: Instant | None = None,
        url: str | None = None,
        method: str | None = None,
    ) -> Verified:
        """:meth:`verify` for asyncio code: a refreshing keyring is awaited, never blocked on."""
        if self._general:
            return await _general.averify(self, body, headers, now, RequestTarget(url, method))
        if self._static and self.replay_guard is None:
            # nothing to await; Verifier.verify by name, so a subclass that wraps both
            # (hookseal.observe) sees one call, not two
            return Verifier.verify(self, body, headers, now=now)
        moment, presented = self._prepare(body, headers, now)
        tried = await self.provider.asecret_set()
        secret = self._find(tried, presented, body, moment)
        if secret is None:
            fresh = await self.provider.arefresh_after_mismatch()
            if fresh is not None and fresh is not tried:
                secret = self._find(fresh, presented, body, moment)
            if secret is None:
                raise self._mismatch()
        if self.replay_guard is None:
            return self._accept(secret, presented, None)
        key = self._replay_key(presented, (body,))
        if not await self.replay_guard.aremember(key, self._replay_ttl(presented)):
            raise Replayed(header=self.scheme.signature_header)
        return self._accept(secret, presented, key)

    # -- streaming ----------------------------------------------------------------------------

    def begin(
        self,
        headers: HeadersLike,
        *,
        now: Instant | None = None,
        url: str | None = None,
        method: str | None = None,
    ) -> PendingVerification:
        """Start verifying a body that arrives in chunks (middleware). The headers are checked
        now (a bad one is refused before any body is read); validity is judged again, with the
        secrets and the moment of :meth:`PendingVerification.finish`."""
        if self._general:
            target = RequestTarget(url, method)
            return _general.begin(self, headers, now, target, self.provider.secret_set())
        moment, presented = self._prepare(b"", headers, now)
        return PendingVerification(
            self, presented, moment, self.provider.secret_set(), now is not None
        )

    async def abegin(
        self,
        headers: HeadersLike,
        *,
        now: Instant | None = None,
        url: str | None = None,
        method: str | None = None,
    ) -> PendingVerification:
        """:meth:`begin` for asyncio code."""
        if self._general:
            target = RequestTarget(url, method)
            provider = self.provider
            found = provider if isinstance(provider, SecretSet) else await provider.asecret_set()
            return _general.begin(self, headers, now, target, found)
        moment, presented = self._prepare(b"", headers, now)
        provider = self.provider
        pinned = now is not None
        if isinstance(provider, SecretSet):  # static: nothing to await
            return PendingVerification(self, presented, moment, provider, pinned)
        secret_set = await provider.asecret_set()
        return PendingVerification(self, presented, moment, secret_set, pinned)

    # -- signing ------------------------------------------------------------------------------

    def sign(
        self,
        body: Body,
        *,
        timestamp: int | None = None,
        message_id: str | None = None,
        now: Instant | None = None,
        url: str | None = None,
        method: str | None = None,
    ) -> dict[str, str]:
        """Headers that this verifier accepts for ``body`` (for senders and tests)."""
        moment = self._moment(now)
        candidates = self.provider.secret_set().candidates(moment, 0.0)
        if not candidates:
            raise ConfigurationError("no secret is valid now to sign with")
        target = RequestTarget(url, method)
        return _sign_with(
            self.scheme, bytes(body), candidates, moment, timestamp, message_id, target
        )

    # -- the parts ----------------------------------------------------------------------------

    def _moment(self, now: Instant | None) -> float:
        if now is None:
            return self._clock()
        if (type(now) is float or type(now) is int) and -_EPOCH_BOUND < now < _EPOCH_BOUND:
            return float(now)  # finite and sane: the fast path; NaN, inf and huge ints go below
        return to_epoch(now, what="now")

    def _prepare(
        self, body: Body, headers: HeadersLike, now: Instant | None
    ) -> tuple[float, Presented]:
        if type(body) is not bytes:  # bytes is the usual case: one check, not three
            _check_body(body)
        if self.max_body_size is not None and _size(body) > self.max_body_size:
            raise PayloadTooLarge()
        moment = self._clock() if now is None else self._moment(now)
        presented = self.scheme.parse(headers)
        stamp = presented.timestamp
        if stamp is not None:
            skew = moment - stamp
            tolerance = self.tolerance
            if not -tolerance <= skew <= tolerance:  # written so that NaN fails it too
                raise _timestamp_error(skew, tolerance)
        return moment, presented

    def candidates(self, secret_set: SecretSet, moment: float) -> tuple[Secret, ...]:
        """The secrets to try at ``moment``; none at all means fail closed with 503."""
        found = secret_set.candidates(moment, self.leeway)
        if not found:
            raise NoActiveSecret()
        return found

    def _find(
        self, secret_set: SecretSet, presented: Presented, body: Body, moment: float
    ) -> Secret | None:
        candidates = secret_set.candidates(moment, self.leeway)
        if not candidates:
            raise NoActiveSecret()
        preferred = self._preferred
        if preferred is not None:
            for secret in candidates:
                if secret is preferred:  # still a candidate now (an expired one never is)
                    material = secret._material.get(self.scheme.material_kind)
                    if material is None:
                        material = self.material(secret)
                    if material is not None and material.matches(
                        presented.prefix,
                        body,
                        presented.hmac_signatures,
                        presented.ed25519_signatures,
                    ):
                        return secret
                    break
        return self._find_among(candidates, presented, body, skip=preferred)

    def _find_among(
        self,
        candidates: tuple[Secret, ...],
        presented: Presented,
        body: Body,
        *,
        skip: Secret | None,
    ) -> Secret | None:
        """Try every candidate but ``skip`` (already tried); remember the one that matches."""
        for secret in candidates:
            if secret is not skip and self._matches(secret, presented, body):
                self._preferred = secret
                return secret
        return None

    def _matches(self, secret: Secret, presented: Presented, body: Body) -> bool:
        material = secret._material.get(self.scheme.material_kind) or self.material(secret)
        if material is None:
            return False
        return bool(
            material.matches(
                presented.prefix, body, presented.hmac_signatures, presented.ed25519_signatures
            )
        )

    def material(self, secret: Secret) -> Any:
        """The secret's key material for this scheme, or None (logged once) if it cannot be used.

        An unusable secret is marked on the secret itself, so forged requests neither derive it
        again nor write a log line each.
        """
        unusable = "unusable:" + self.scheme.material_kind
        if unusable in secret._material:
            return None
        try:
            return self.scheme.material(secret)
        except ConfigurationError:
            secret._material[unusable] = True
            logger.warning(
                "hookseal: secret %s cannot be used with the %s scheme; skipped",
                secret.id,
                self.scheme.name,
            )
            return None

    def _mismatch(self) -> SignatureMismatch:
        header = self.scheme.signature_header
        return SignatureMismatch(
            f"no signature in the {header} header matches an active secret", header=header
        )

    def _replay_key(self, presented: Presented, chunks: Sequence[Body]) -> str:
        if presented.message_id is not None:
            return f"{self.scheme.name}:id:{presented.message_id}"
        content = hashlib.sha256(presented.prefix)
        for chunk in chunks:
            content.update(chunk)
        return f"{self.scheme.name}:sha256:{content.hexdigest()}"

    def _replay_ttl(self, presented: Presented) -> float | None:
        return 2 * self.tolerance if presented.timestamp is not None else None

    def _accept(self, secret: Secret, presented: Presented, replay_key: str | None) -> Verified:
        if not self._static:
            self.provider.record_match(secret)
        # tuple.__new__ directly: what Verified(...) does, minus its Python-level __new__.
        return _new_tuple(
            Verified,
            (secret.id, self.scheme.name, presented.timestamp, presented.message_id, replay_key),
        )


class PendingVerification:
    """A verification in progress while the body streams in (see :meth:`Verifier.begin`).

    Chunks are hashed as they arrive with the most likely secret and kept by reference (the
    middleware replays them to the app anyway); the other candidates are only hashed if that
    one does not match, so a large body is walked once on the happy path.

    Validity is judged when the body is complete, not when the headers arrived: :meth:`finish`
    takes the moment again and asks the provider for its current set, so a secret that expired
    or was revoked while the body trickled in no longer verifies, and the streamed digest only
    counts if its secret is still a candidate. Static secrets without windows never change, so
    that path stays as it was.
    """

    __slots__ = (
        "_chunks",
        "_digester",
        "_first",
        "_limit",
        "_moment",
        "_pinned",
        "_presented",
        "_streamed_failed",
        "_verifier",
        "size",
    )

    def __init__(
        self,
        verifier: Verifier,
        presented: Presented,
        moment: float,
        secret_set: SecretSet,
        pinned: bool = False,
    ) -> None:
        self._verifier = verifier
        self._presented = presented
        self._moment = moment
        self._pinned = pinned  # the caller gave ``now``: the decision is made at that moment
        self._chunks: list[Body] = []
        self._limit = verifier.max_body_size
        self._streamed_failed = False
        self.size = 0
        preferred = verifier._preferred
        fixed = verifier._fixed
        if fixed is not None and secret_set is verifier.provider:
            # Static secrets without windows: the candidates never change, and the preferred
            # secret (once there is one) is always among them.
            first = fixed[0] if preferred is None else preferred
        else:
            candidates = verifier.candidates(secret_set, moment)  # none: 503 before any read
            first = candidates[0]
            if preferred is not None and any(preferred is s for s in candidates):
                first = preferred
        self._first = first
        material = first._material.get(verifier.scheme.material_kind) or verifier.material(first)
        self._digester: Digester | None = (
            None if material is None else material.start(presented.prefix)
        )

    @property
    def chunks(self) -> list[Body]:
        """The chunks received so far, in order (not joined)."""
        return self._chunks

    def update(self, chunk: Body) -> None:
        """Feed the next chunk of the body."""
        if not chunk:
            return
        if type(chunk) is bytes:
            self.size += len(chunk)
        else:
            if type(chunk) is memoryview and not chunk.c_contiguous:
                raise ConfigurationError("a memoryview chunk must be C-contiguous")
            self.size += _size(chunk)
        if self._limit is not None and self.size > self._limit:
            raise PayloadTooLarge()
        self._chunks.append(chunk)
        if self._digester is not None:
            self._digester.update(chunk)

    def finish(self, *, now: Instant | None = None) -> Verified:
        """Decide, once the whole body has arrived, at ``now`` (default: the clock, or the
        ``now`` given to :meth:`Verifier.begin`) with the secrets valid at that moment."""
        verifier = self._verifier
        presented = self._presented
        fixed = verifier._fixed
        if fixed is not None:
            if presented.timestamp is not None:
                self._decision_moment(now)
            digester = self._digester
            if digester is not None and verifier.replay_guard is None:
                # the common case, without the general path's layers
                if digester.matches(presented.hmac_signatures, presented.ed25519_signatures):
                    first = self._first
                    verifier._preferred = first
                    return _new_tuple(
                        Verified,
                        (
                            first.id,
                            verifier.scheme.name,
                            presented.timestamp,
                            presented.message_id,
                            None,
                        ),
                    )
                self._streamed_failed = True
            secret = self._search(fixed)
        else:
            moment = self._decision_moment(now)
            provider = verifier.provider
            tried = provider.secret_set()
            secret = self._search(verifier.candidates(tried, moment))
            if secret is None:
                fresh = provider.refresh_after_mismatch()
                if fresh is not None and fresh is not tried:  # the same set cannot match now
                    secret = self._search(verifier.candidates(fresh, moment))
        if secret is None:
            raise verifier._mismatch()
        guard = verifier.replay_guard
        if guard is None:
            return verifier._accept(secret, presented, None)
        key = verifier._replay_key(presented, self._chunks)
        if not guard.remember(key, verifier._replay_ttl(presented)):
            raise Replayed(header=verifier.scheme.signature_header)
        return verifier._accept(secret, presented, key)

    async def afinish(self, *, now: Instant | None = None) -> Verified:
        """:meth:`finish` for asyncio code: a refreshing keyring is awaited, never blocked on."""
        verifier = self._verifier
        if verifier._static and verifier.replay_guard is None:
            # nothing to await: a static set never refreshes (called by name, as above)
            return PendingVerification.finish(self, now=now)
        presented = self._presented
        fixed = verifier._fixed
        if fixed is not None:
            if presented.timestamp is not None:
                self._decision_moment(now)
            secret = self._search(fixed)
        else:
            moment = self._decision_moment(now)
            provider = verifier.provider
            tried = await provider.asecret_set()
            secret = self._search(verifier.candidates(tried, moment))
            if secret is None:
                fresh = await provider.arefresh_after_mismatch()
                if fresh is not None and fresh is not tried:
                    secret = self._search(verifier.candidates(fresh, moment))
        if secret is None:
            raise verifier._mismatch()
        guard = verifier.replay_guard
        if guard is None:
            return verifier._accept(secret, presented, None)
        key = verifier._replay_key(presented, self._chunks)
        if not await guard.aremember(key, verifier._replay_ttl(presented)):
            raise Replayed(header=verifier.scheme.signature_header)
        return verifier._accept(secret, presented, key)

    def _decision_moment(self, now: Instant | None) -> float:
        """The moment the request is judged at, with its signed timestamp checked again.

        The timestamp is re-checked here, not only when the headers arrived: a replay guard
        keeps a key for twice the tolerance from the moment it remembers it (here), which
        covers every replay only if each one is judged inside its tolerance at that same moment.
        A copy opened just inside the window and completed later would otherwise outlive the
        key that refuses it, and any request could stretch its own validity at will.
        """
        verifier = self._verifier
        if now is not None:
            moment = verifier._moment(now)
        elif self._pinned:
            moment = self._moment
        else:
            moment = verifier._clock()
        stamp = self._presented.timestamp
        if stamp is not None:
            skew = moment - stamp
            tolerance = verifier.tolerance
            if not -tolerance <= skew <= tolerance:  # written so that NaN fails it too
                raise _timestamp_error(skew, tolerance)
        return moment

    def _search(self, candidates: Sequence[Secret]) -> Secret | None:
        """The candidate that matches, or None after every one was tried.

        The digest streamed with the first secret answers for it only while that secret (its
        key) is still among ``candidates``; the others are hashed from the kept chunks.
        """
        verifier = self._verifier
        presented = self._presented
        hmacs, eds = presented.hmac_signatures, presented.ed25519_signatures
        first = self._first
        streamed = self._digester
        if streamed is not None and not self._streamed_failed:
            for secret in candidates:
                if _same_key(secret, first):
                    if streamed.matches(hmacs, eds):
                        verifier._preferred = secret
                        return secret
                    self._streamed_failed = True
                    break
        for secret in candidates:
            if streamed is not None and _same_key(secret, first):
                continue  # its streamed digest was tried above
            material = verifier.material(secret)
            if material is None:
                continue
            digester = material.start(presented.prefix)
            for chunk in self._chunks:
                digester.update(chunk)
            if digester.matches(hmacs, eds):
                verifier._preferred = secret
                return secret
        return None


def _same_key(secret: Secret, other: Secret) -> bool:
    """Whether two secrets hash alike (the same object, or a refreshed copy of the same value)."""
    return secret is other or hmac.compare_digest(secret.reveal(), other.reveal())


# -- module-level shortcuts --------------------------------------------------------------------

_VERIFIERS: dict[Hashable, Verifier] = {}
_DEFAULTS: dict[Hashable, Verifier] = {}
"""The verifiers of calls with every option at its default, keyed by their secrets alone (a
5-tuple key costs more to build and hash than the rest of the lookup)."""
_VERIFIERS_LOCK = threading.Lock()
_VERIFIERS_MAX = 128


def _verifier_for(
    secrets: SecretsLike,
    scheme: Scheme | str | None,
    tolerance: float | None,
    leeway: float,
    replay_guard: ReplayGuard | None,
) -> Verifier:
    """Reuse a Verifier (and its pre-keyed secrets) across calls with the same arguments."""
    key = (secrets, scheme, tolerance, leeway, replay_guard)
    try:
        found = _VERIFIERS.get(key)  # a dict read is atomic: no lock on the hot path
    except TypeError:  # a list of secrets: nothing to key a cache on
        return Verifier(
            secrets, scheme=scheme, tolerance=tolerance, leeway=leeway, replay_guard=replay_guard
        )
    if found is None:
        found = Verifier(
            secrets, scheme=scheme, tolerance=tolerance, leeway=leeway, replay_guard=replay_guard
        )
        with _VERIFIERS_LOCK:
            if len(_VERIFIERS) >= _VERIFIERS_MAX:
                _VERIFIERS.clear()
                _DEFAULTS.clear()
            _VERIFIERS[key] = found
            if (
                scheme is None
                and tolerance is None
                and leeway is DEFAULT_LEEWAY
                and replay_guard is None
            ):
                _DEFAULTS[secrets] = found  # type: ignore[index] # hashable: read above
    return found


def verify(
    body: Body,
    headers: HeadersLike,
    secrets: SecretsLike,
    *,
    scheme: Scheme | str | None = None,
    now: Instant | None = None,
    tolerance: float | None = None,
    leeway: float = DEFAULT_LEEWAY,
    replay_guard: ReplayGuard | None = None,
    url: str | None = None,
    method: str | None = None,
) -> Verified:
    """Verify one request: ``body`` is the raw bytes, ``headers`` the request's headers.

    ``tolerance`` defaults to the scheme's (the provider's own figure). ``url`` and ``method``
    are the request line as the provider called it, for the schemes that sign it.
    Returns :class:`Verified` or raises a :class:`~hookseal.errors.VerificationError`.
    """
    try:  # the cached verifier, looked up here to spare a call on the hot path
        if (
            scheme is None
            and tolerance is None
            and leeway is DEFAULT_LEEWAY
            and replay_guard is None
        ):
            found = _DEFAULTS.get(secrets)  # type: ignore[arg-type] # by the secrets alone
        else:
            found = _VERIFIERS.get((secrets, scheme, tolerance, leeway, replay_guard))
    except TypeError:  # unhashable secrets (a list): _verifier_for builds one
        found = None
    if found is None:
        found = _verifier_for(secrets, scheme, tolerance, leeway, replay_guard)
    fast = found._fast
    if fast is not None and now is None:  # Verifier.verify's C hook, a call sooner
        result = fast(found, body, headers)
        if result is not None:
            return result  # type: ignore[no-any-return]
    if found._general:  # Verifier.verify's first step, a call sooner (a cached plain Verifier)
        return _general.verify(found, body, headers, now, _new_tuple(RequestTarget, (url, method)))
    if url is None and method is None:
        return found.verify(body, headers, now=now)
    return found.verify(body, headers, now=now, url=url, method=method)


def sign(
    body: Body,
    secrets: SecretsLike,
    *,
    scheme: Scheme | str | None = None,
    timestamp: int | None = None,
    message_id: str | None = None,
    now: Instant | None = None,
    url: str | None = None,
    method: str | None = None,
) -> dict[str, str]:
    """Headers proving ``body`` for ``scheme``, signed with every secret valid now.

    Schemes with room for several signatures (Signature, Standard Webhooks, Stripe) carry one
    per secret, as senders do during a rotation; the others use the first secret. ``url`` and
    ``method``: the request line, for the schemes that sign it.
    """
    chosen = _DEFAULT_SCHEME if scheme is None else by_name(scheme)
    moment = wall_clock() if now is None else to_epoch(now, what="now")
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise ConfigurationError("body must be bytes")
    candidates = as_provider(secrets).secret_set().candidates(moment, 0.0)
    if not candidates:
        raise ConfigurationError("no secret is valid now to sign with")
    target = RequestTarget(url, method)
    return _sign_with(chosen, bytes(body), candidates, moment, timestamp, message_id, target)


def _sign_with(
    scheme: Scheme,
    body: bytes,
    candidates: Sequence[Secret],
    moment: float,
    timestamp: int | None,
    message_id: str | None,
    target: RequestTarget = _NO_TARGET,
) -> dict[str, str]:
    if timestamp is None:
        timestamp = int(moment)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp < 10**12:
        # verify() reads 1 to 12 digits: never sign what would be refused as malformed
        raise ConfigurationError("timestamp must be an int of epoch seconds, 0 to 12 digits")
    if message_id is None:
        message_id = "msg_" + _stdlib_secrets.token_urlsafe(18)
    elif not _valid_message_id(message_id):
        raise ConfigurationError("message_id must be 1 to 256 printable ASCII characters, no space")
    materials = [scheme.material(s) for s in candidates]
    if scheme.signs_request or scheme.needs_body:
        return scheme.sign_request(
            body, materials, timestamp=timestamp, message_id=message_id, target=target
        )
    return scheme.sign(body, materials, timestamp=timestamp, message_id=message_id)


def _valid_message_id(message_id: object) -> bool:
    """What Standard Webhooks' verify() accepts as an id (sign only what verifies)."""
    return (
        isinstance(message_id, str)
        and 0 < len(message_id) <= 256
        and message_id.isascii()
        and message_id.isprintable()
        and " " not in message_id
    )


def _check_body(body: object) -> None:
    """Refuse what is not the raw bytes of a request (str, parsed JSON, a strided view)."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise ConfigurationError(
            "body must be the raw request bytes, exactly as received (not str or parsed JSON)"
        )
    if type(body) is memoryview and not body.c_contiguous:
        raise ConfigurationError("a memoryview body must be C-contiguous (the bytes as received)")


def _timestamp_error(skew: float, tolerance: float) -> Exception:
    """Why a signed timestamp is out of tolerance; a clock that gave NaN or inf is a set-up bug."""
    if not math.isfinite(skew):
        return ConfigurationError("the clock must return finite epoch seconds")
    if skew > 0:
        return TimestampTooOld(
            f"the timestamp is {int(skew)} s old; at most {int(tolerance)} s allowed"
        )
    return TimestampTooNew(
        f"the timestamp is {int(-skew)} s in the future; at most {int(tolerance)} s allowed"
    )


def _size(body: Body) -> int:
    """Bytes in ``body``: a memoryview's len() counts items, which may be wider than a byte."""
    return body.nbytes if type(body) is memoryview else len(body)


def _not_number(value: object) -> bool:
    """True for anything but a finite int or float (NaN would switch a check off silently)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return True
    return isinstance(value, float) and not math.isfinite(value)


from . import _general  # noqa: E402 - it builds on this module's PendingVerification and helpers
