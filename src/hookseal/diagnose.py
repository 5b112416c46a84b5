"""Explain, step by step, why a delivery verifies or not: for people debugging a webhook.

It reports which headers were found, the timestamp skew, how many signatures were presented,
and for each secret whether it was valid at that moment and whether it matched. It never shows
an expected signature: for a given body that value is exactly what a forger would need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._time import Instant, to_epoch, wall_clock
from .errors import VerificationError
from .headers import HeadersLike, read_headers
from .schemes import Scheme, Signature, by_name
from .secrets import DEFAULT_LEEWAY, SecretsLike, as_provider
from .verifier import DEFAULT_TOLERANCE, Verified, Verifier

__all__ = ["Diagnosis", "SecretCheck", "diagnose"]


@dataclass(frozen=True)
class SecretCheck:
    """One secret as the diagnosis saw it."""

    secret_id: str
    state: str
    """``valid``, ``not yet valid``, ``expired`` or ``unusable with this scheme``."""
    matched: bool


@dataclass(frozen=True)
class Diagnosis:
    """Everything known about one delivery; :meth:`explain` renders it for a terminal."""

    scheme: str
    headers: dict[str, bool]
    verified: Verified | None
    error: VerificationError | None
    timestamp: int | None = None
    skew: float | None = None
    tolerance: float = DEFAULT_TOLERANCE
    signatures: int = 0
    secrets: list[SecretCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verified is not None

    def explain(self) -> str:
        lines = [f"scheme: {self.scheme}"]
        for name, present in self.headers.items():
            lines.append(f"header {name}: {'present' if present else 'MISSING'}")
        if self.timestamp is not None and self.skew is not None:
            direction = "old" if self.skew >= 0 else "in the future"
            lines.append(
                f"timestamp: {self.timestamp} ({abs(self.skew):.0f} s {direction}; "
                f"tolerance {self.tolerance:.0f} s)"
            )
        if self.signatures:
            lines.append(f"signatures presented: {self.signatures}")
        for check in self.secrets:
            outcome = "MATCHED" if check.matched else "no match"
            if check.state != "valid":
                outcome = "not tried"
            lines.append(f"secret {check.secret_id}: {check.state}, {outcome}")
        if self.verified is not None:
            lines.append(f"result: VERIFIED with secret {self.verified.secret_id}")
        elif self.error is not None:
            lines.append(
                f"result: REFUSED {self.error.status} {self.error.code}: {self.error.detail}"
            )
        return "\n".join(lines)


def diagnose(
    body: bytes,
    headers: HeadersLike,
    secrets: SecretsLike,
    *,
    scheme: Scheme | str | None = None,
    now: Instant | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    leeway: float = DEFAULT_LEEWAY,
) -> Diagnosis:
    """Verify like :func:`hookseal.verify` would, recording every step on the way."""
    chosen = Signature() if scheme is None else by_name(scheme)
    moment = wall_clock() if now is None else to_epoch(now, what="now")
    if not isinstance(headers, dict):
        headers = list(headers.items()) if hasattr(headers, "items") else list(headers)
    names = tuple(n.lower() for n in chosen.header_names)
    try:
        found = read_headers(headers, names)
        present = {n: v is not None for n, v in zip(chosen.header_names, found, strict=True)}
    except VerificationError:
        present = dict.fromkeys(chosen.header_names, False)
    provider = as_provider(secrets)
    verifier = Verifier(provider, scheme=chosen, tolerance=tolerance, leeway=leeway)
    stamp: int | None = None
    skew: float | None = None
    count = 0
    checks: list[SecretCheck] = []
    try:
        presented = chosen.parse(headers)
        stamp = presented.timestamp
        skew = None if stamp is None else moment - stamp
        count = len(presented.hmac_signatures) + len(presented.ed25519_signatures)
        for secret in provider.secret_set():
            material = verifier.material(secret)
            if material is None:
                checks.append(SecretCheck(secret.id, "unusable with this scheme", False))
                continue
            if not secret.is_valid_at(moment, leeway):
                late = secret.expires_at is not None and moment >= secret.expires_at + leeway
                checks.append(SecretCheck(secret.id, "expired" if late else "not yet valid", False))
                continue
            matched = material.matches(
                presented.prefix, body, presented.hmac_signatures, presented.ed25519_signatures
            )
            checks.append(SecretCheck(secret.id, "valid", bool(matched)))
    except VerificationError:
        pass
    try:
        verified: Verified | None = verifier.verify(body, headers, now=moment)
        error: VerificationError | None = None
    except VerificationError as exc:
        verified, error = None, exc
    return Diagnosis(
        scheme=chosen.name,
        headers=present,
        verified=verified,
        error=error,
        timestamp=stamp,
        skew=skew,
        tolerance=tolerance,
        signatures=count,
        secrets=checks,
    )
