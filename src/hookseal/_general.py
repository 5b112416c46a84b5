"""The verification flow for schemes that sign the request line or read the whole body.

Twilio, Square and HubSpot sign the URL (and method); Twilio and Mailgun need the complete body
(form fields, a JSON field) and Linear its JSON timestamp. The prefix + body schemes never come
here: their path in :mod:`hookseal.verifier` is tuned for speed and unchanged. Here the scheme
parses the headers with the request target, completes the proof from the whole body (raw bytes,
parsed but never re-serialised), the timestamp is checked, and each candidate secret is tried
against each candidate content (one, or two such as a URL with and without its default port),
so a forged request costs at most two checks per active secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ._time import Instant
from .errors import PayloadTooLarge, Replayed
from .headers import HeadersLike
from .schemes import Presented, Proof, RequestTarget
from .secrets import Secret, SecretSet
from .verifier import (
    Body,
    PendingVerification,
    Verified,
    Verifier,
    _check_body,
    _new_tuple,
    _size,
    _timestamp_error,
)

__all__ = ["PendingRequest", "averify", "begin", "verify"]


def verify(
    verifier: Verifier,
    body: Body,
    headers: HeadersLike,
    now: Instant | None,
    target: RequestTarget,
) -> Verified:
    """:meth:`Verifier.verify` for a general scheme."""
    moment, presented = _prepare(verifier, body, headers, now, target)
    proof = _complete(verifier, presented, bytes(body), headers, target, moment)
    fixed = verifier._fixed
    if fixed is not None and verifier.replay_guard is None and proof.deferred is None:
        # Static secrets without windows (candidates that never change, nothing to refresh,
        # nothing to remember) and nothing left to check once one matched (a fetched key's
        # signature, sns and plaid): _decide's decision without its layers.
        secret = _find_among(verifier, fixed, proof)
        if secret is None:
            raise verifier._mismatch()
        presented = proof.presented
        return _new_tuple(
            Verified,
            (secret.id, verifier.scheme.name, presented.timestamp, presented.message_id, None),
        )
    return _decide(verifier, verifier.provider.secret_set(), proof, moment)


async def averify(
    verifier: Verifier,
    body: Body,
    headers: HeadersLike,
    now: Instant | None,
    target: RequestTarget,
) -> Verified:
    """:meth:`Verifier.averify` for a general scheme."""
    moment, presented = _prepare(verifier, body, headers, now, target)
    proof = _complete(verifier, presented, bytes(body), headers, target, moment)
    return await _adecide(verifier, await verifier.provider.asecret_set(), proof, moment)


def begin(
    verifier: Verifier,
    headers: HeadersLike,
    now: Instant | None,
    target: RequestTarget,
    secret_set: SecretSet,
) -> PendingRequest:
    """:meth:`Verifier.begin` for a general scheme: headers (and the URL) are checked now."""
    moment, presented = _prepare(verifier, b"", headers, now, target)
    pinned = now is not None  # the caller's ``now`` is the moment of the decision
    return PendingRequest(verifier, presented, moment, secret_set, headers, target, pinned)


class PendingRequest(PendingVerification):
    """A general scheme's verification while the body streams in: the chunks are kept (by
    reference) and the proof is completed and checked once the body is whole."""

    __slots__ = ("_headers", "_target")

    def __init__(
        self,
        verifier: Verifier,
        presented: Presented,
        moment: float,
        secret_set: SecretSet,
        headers: HeadersLike,
        target: RequestTarget,
        pinned: bool = False,
    ) -> None:
        # Not PendingVerification.__init__: nothing is hashed while streaming here.
        verifier.candidates(secret_set, moment)  # none valid: 503 before any read
        self._verifier = verifier
        self._presented = presented
        self._moment = moment
        self._pinned = pinned
        self._chunks: list[Body] = []
        self._limit = verifier.max_body_size
        self._digester = None
        self._streamed_failed = False
        self.size = 0
        self._headers = headers
        self._target = target

    def finish(self, *, now: Instant | None = None) -> Verified:
        """Decide, once the whole body has arrived: at this moment (the timestamps checked
        again) and with the provider's current secrets, as :class:`PendingVerification` does."""
        moment = self._decision_moment(now)
        proof = self._proof(moment)
        return _decide(self._verifier, self._verifier.provider.secret_set(), proof, moment)

    async def afinish(self, *, now: Instant | None = None) -> Verified:
        """:meth:`finish` for asyncio code."""
        moment = self._decision_moment(now)
        proof = self._proof(moment)
        secret_set = await self._verifier.provider.asecret_set()
        return await _adecide(self._verifier, secret_set, proof, moment)

    def _proof(self, moment: float) -> Proof:
        body = b"".join(self._chunks)
        return _complete(self._verifier, self._presented, body, self._headers, self._target, moment)


# -- the parts --------------------------------------------------------------------------------


def _prepare(
    verifier: Verifier,
    body: Body,
    headers: HeadersLike,
    now: Instant | None,
    target: RequestTarget,
) -> tuple[float, Presented]:
    if type(body) is not bytes:
        _check_body(body)
    if verifier.max_body_size is not None and _size(body) > verifier.max_body_size:
        raise PayloadTooLarge()
    moment = verifier._clock() if now is None else verifier._moment(now)
    presented = verifier.scheme.parse_request(headers, target)
    _check_time(verifier, presented, moment)  # a header timestamp is refused before the body
    return moment, presented


def _complete(
    verifier: Verifier,
    presented: Presented,
    body: bytes,
    headers: HeadersLike,
    target: RequestTarget,
    moment: float,
) -> Proof:
    proof = verifier.scheme.complete(presented, body, headers, target)
    if proof.presented is not presented:  # a timestamp read from the body
        _check_time(verifier, proof.presented, moment)
    return proof


def _check_time(verifier: Verifier, presented: Presented, moment: float) -> None:
    stamp = presented.timestamp
    if stamp is not None:
        skew = moment - stamp
        if not -verifier.tolerance <= skew <= verifier.tolerance:  # NaN fails it too
            raise _timestamp_error(skew, verifier.tolerance)


def _decide(verifier: Verifier, secret_set: SecretSet, proof: Proof, moment: float) -> Verified:
    secret = _find(verifier, secret_set, proof, moment)
    if secret is None:
        fresh = verifier.provider.refresh_after_mismatch()
        if fresh is not None and fresh is not secret_set:
            secret = _find(verifier, fresh, proof, moment)
        if secret is None:
            raise verifier._mismatch()
    if proof.deferred is not None:  # a fetched key's signature: only once a secret matched
        proof.deferred.run(secret)
    guard = verifier.replay_guard
    if guard is None:
        return verifier._accept(secret, proof.presented, None)
    key = _replay_key(verifier, proof)
    if not guard.remember(key, verifier._replay_ttl(proof.presented)):
        raise Replayed(header=verifier.scheme.signature_header)
    return verifier._accept(secret, proof.presented, key)


async def _adecide(
    verifier: Verifier, secret_set: SecretSet, proof: Proof, moment: float
) -> Verified:
    secret = _find(verifier, secret_set, proof, moment)
    if secret is None:
        fresh = await verifier.provider.arefresh_after_mismatch()
        if fresh is not None and fresh is not secret_set:
            secret = _find(verifier, fresh, proof, moment)
        if secret is None:
            raise verifier._mismatch()
    if proof.deferred is not None:
        await proof.deferred.arun(secret)
    guard = verifier.replay_guard
    if guard is None:
        return verifier._accept(secret, proof.presented, None)
    key = _replay_key(verifier, proof)
    if not await guard.aremember(key, verifier._replay_ttl(proof.presented)):
        raise Replayed(header=verifier.scheme.signature_header)
    return verifier._accept(secret, proof.presented, key)


def _find(verifier: Verifier, secret_set: SecretSet, proof: Proof, moment: float) -> Secret | None:
    """The first of the set's candidates at ``moment`` that signs one of the contents."""
    return _find_among(verifier, verifier.candidates(secret_set, moment), proof)


def _find_among(verifier: Verifier, candidates: tuple[Secret, ...], proof: Proof) -> Secret | None:
    """The first candidate (the last one that matched, first) that signs one of the contents;
    a static set's secrets are its candidates at every moment, so its shortcut calls this."""
    preferred = verifier._preferred
    if preferred is not None and preferred in candidates and _signs(verifier, preferred, proof):
        return preferred
    for secret in candidates:
        if secret is not preferred and _signs(verifier, secret, proof):
            verifier._preferred = secret
            return secret
    return None


def _signs(verifier: Verifier, secret: Secret, proof: Proof) -> bool:
    material = secret._material.get(verifier.scheme.material_kind) or verifier.material(secret)
    if material is None:
        return False
    presented = proof.presented
    hmacs, publics = presented.hmac_signatures, presented.ed25519_signatures
    for prefix, middle, suffix in proof.contents:
        if suffix:
            digester = material.start(prefix)
            digester.update(middle)
            digester.update(suffix)
            if digester.matches(hmacs, publics):
                return True
        elif material.matches(prefix, middle, hmacs, publics):  # _matches inlined: hot path
            return True
    return False


def _replay_key(verifier: Verifier, proof: Proof) -> str:
    """The signed message id (Mailgun's token) or a hash of the presented signatures: one
    delivery's HMAC is fixed, and only the secret's holder can make another one."""
    presented = proof.presented
    name = verifier.scheme.name
    if presented.message_id is not None:
        return f"{name}:id:{presented.message_id}"
    digest = hashlib.sha256()
    for signature in _sorted(presented.hmac_signatures) + _sorted(presented.ed25519_signatures):
        digest.update(len(signature).to_bytes(2, "big") + signature)
    return f"{name}:sig:{digest.hexdigest()}"


def _sorted(signatures: Sequence[bytes]) -> list[bytes]:
    return sorted(signatures)
