"""Explain why a delivery verifies or not, and which usual mistake explains a failure.

For people debugging a webhook (``python -m hookseal verify``, a test, a debug endpoint that is
never exposed publicly): which headers were found, the timestamp's age, how many signatures
were presented, for each secret whether it was valid and whether it matched, and, when the
delivery is refused, the usual mistakes that explain it: JSON re-serialised, line endings, a
secret with whitespace, decoded the wrong way or with ``whsec_`` kept or dropped, another
scheme's headers, a timestamp in milliseconds, a clock off. A mistake is *confirmed* when the
signature matches once it is undone.

It never shows an expected signature: for a given body that is exactly what a forger would
need. Production refusals stay terse; this is a tool for the operator, who has the secrets.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from ._mistakes import (
    Finding,
    body_candidates,
    is_json,
    key_candidates,
    looks_like_milliseconds,
    matches,
    scheme_key,
)
from ._time import Instant, to_epoch, wall_clock
from .errors import (
    ConfigurationError,
    MalformedTimestamp,
    MissingSignature,
    TimestampTooNew,
    TimestampTooOld,
    VerificationError,
)
from .headers import HeadersLike, read_headers
from .schemes import Presented, Scheme, Signature, by_name, names
from .schemes._base import RequestTarget
from .secrets import DEFAULT_LEEWAY, Secret, SecretSet, SecretsLike, as_provider
from .verifier import DEFAULT_TOLERANCE, Verified, Verifier

__all__ = ["Diagnosis", "Finding", "SecretCheck", "diagnose"]

_PairList = list[tuple[str | bytes, str | bytes]]


@dataclass(frozen=True)
class SecretCheck:
    """One secret as the diagnosis saw it."""

    secret_id: str
    state: str
    """``valid``, ``not yet valid``, ``expired`` or ``unusable with this scheme``."""
    matched: bool
    """Whether the secret matches a presented signature (checked whatever its state)."""


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
    findings: list[Finding] = field(default_factory=list)
    """Usual mistakes that explain a refusal, confirmed ones first (empty when verified)."""

    @property
    def ok(self) -> bool:
        return self.verified is not None

    @property
    def cause(self) -> Finding | None:
        """The first confirmed explanation of the refusal, if one was found."""
        return next((f for f in self.findings if f.confirmed), None)

    def explain(self) -> str:
        lines = [f"scheme: {self.scheme}"]
        for name, present in self.headers.items():
            lines.append(f"header {name}: {'present' if present else 'MISSING'}")
        if self.timestamp is not None and self.skew is not None:
            direction = "old" if self.skew >= 0 else "in the future"
            lines.append(
                f"timestamp: {self.timestamp} ({int(abs(self.skew))} s {direction}; "
                f"tolerance {self.tolerance:.0f} s)"
            )
        if self.signatures:
            lines.append(f"signatures presented: {self.signatures}")
        for check in self.secrets:
            if check.state == "unusable with this scheme":
                lines.append(f"secret {check.secret_id}: {check.state}")
                continue
            outcome = "MATCHED" if check.matched else "no match"
            if check.state != "valid":
                outcome = "would match, but is not valid now" if check.matched else "no match"
            lines.append(f"secret {check.secret_id}: {check.state}, {outcome}")
        if self.verified is not None:
            lines.append(f"result: VERIFIED with secret {self.verified.secret_id}")
        elif self.error is not None:
            lines.append(
                f"result: REFUSED {self.error.status} {self.error.code}: {self.error.detail}"
            )
        for finding in self.findings:
            lines.append(f"{'cause' if finding.confirmed else 'hint'}: {finding.message}")
        return "\n".join(lines)


def diagnose(
    body: bytes,
    headers: HeadersLike,
    secrets: SecretsLike,
    *,
    scheme: Scheme | str | None = None,
    now: Instant | None = None,
    tolerance: float | None = None,
    leeway: float = DEFAULT_LEEWAY,
    url: str | None = None,
    method: str | None = None,
) -> Diagnosis:
    """Verify like :func:`hookseal.verify` would, recording every step, and explain a refusal.

    ``tolerance`` defaults to the scheme's own (as :class:`~hookseal.Verifier` does); ``url``
    and ``method`` are the request line, for the schemes that sign it (Twilio, HubSpot...).
    Those schemes, and the ones whose proof is inside the body, get the verdict and the
    timestamp and other-scheme hints, but no per-secret table (their signed content is not a
    prefix and the body)."""
    chosen = Signature() if scheme is None else by_name(scheme)
    moment = wall_clock() if now is None else to_epoch(now, what="now")
    pairs = _pairs(headers)
    provider = as_provider(secrets)
    verifier = Verifier(provider, scheme=chosen, tolerance=tolerance, leeway=leeway)
    try:
        secret_set = provider.secret_set()
    except VerificationError:
        secret_set = SecretSet()
    presented: Presented | None = None
    parse_error: VerificationError | None = None
    general = chosen.signs_request or chosen.needs_body
    if not general:
        try:
            presented = chosen.parse(pairs)
        except VerificationError as exc:
            parse_error = exc
    checks = [] if presented is None else _checks(verifier, secret_set, presented, body, moment)
    try:
        verified: Verified | None = verifier.verify(body, pairs, now=moment, url=url, method=method)
        error: VerificationError | None = None
    except VerificationError as exc:
        verified, error = None, exc
        if general and parse_error is None:
            parse_error = exc  # the general path parses and judges in one step
    stamp = None if presented is None else presented.timestamp
    skew = None if stamp is None else moment - stamp
    findings: list[Finding] = []
    if verified is None:
        findings = _explain(
            _Case(
                chosen,
                pairs,
                body,
                secret_set,
                presented,
                parse_error,
                error,
                checks,
                moment,
                RequestTarget(url, method),
                tolerance,
            ),
            tolerance=verifier.tolerance,
            leeway=leeway,
            now_given=now is not None,
        )
    return Diagnosis(
        scheme=chosen.name,
        headers=_present(chosen, pairs),
        verified=verified,
        error=error,
        timestamp=stamp,
        skew=skew,
        tolerance=verifier.tolerance,
        signatures=0
        if presented is None
        else len(presented.hmac_signatures) + len(presented.ed25519_signatures),
        secrets=checks,
        findings=sorted(findings, key=lambda f: not f.confirmed),
    )


def _pairs(headers: HeadersLike) -> _PairList:
    """Any accepted headers shape as a list of pairs (read more than once here)."""
    items: Iterable[tuple[str | bytes, str | bytes]]
    items = headers.items() if hasattr(headers, "items") else headers
    return list(items)


def _present(scheme: Scheme, pairs: _PairList) -> dict[str, bool]:
    lowered = tuple(n.lower() for n in scheme.header_names)
    try:
        found = read_headers(pairs, lowered)
    except VerificationError:
        return dict.fromkeys(scheme.header_names, False)
    return {n: v is not None for n, v in zip(scheme.header_names, found, strict=True)}


def _checks(
    verifier: Verifier, secret_set: SecretSet, presented: Presented, body: bytes, moment: float
) -> list[SecretCheck]:
    checks = []
    for secret in secret_set:
        material = verifier.material(secret)
        if material is None:
            checks.append(SecretCheck(secret.id, "unusable with this scheme", False))
            continue
        matched = bool(
            material.matches(
                presented.prefix, body, presented.hmac_signatures, presented.ed25519_signatures
            )
        )
        checks.append(SecretCheck(secret.id, _state(secret, moment, verifier.leeway), matched))
    return checks


def _state(secret: Secret, moment: float, leeway: float) -> str:
    if secret.is_valid_at(moment, leeway):
        return "valid"
    late = secret.expires_at is not None and moment >= secret.expires_at + leeway
    return "expired" if late else "not yet valid"


@dataclass(frozen=True)
class _Case:
    """One refused delivery, as the explanations need it."""

    scheme: Scheme
    pairs: _PairList
    body: bytes
    secret_set: SecretSet
    presented: Presented | None
    parse_error: VerificationError | None
    error: VerificationError | None
    checks: list[SecretCheck]
    moment: float
    target: RequestTarget
    tolerance_given: float | None
    """The caller's tolerance; None lets each scheme tried use its own."""


def _explain(case: _Case, *, tolerance: float, leeway: float, now_given: bool) -> list[Finding]:
    findings = _other_schemes(case, tolerance, leeway)
    findings += _timestamp(case, tolerance, now_given)
    if case.presented is not None and not any(c.matched for c in case.checks):
        findings += _mistakes(case)
    for check in case.checks:
        if check.matched and check.state != "valid":
            findings.append(
                Finding(
                    "secret_window",
                    f"the signature matches secret {check.secret_id}, which is {check.state} "
                    f"at this moment (its window, widened by {leeway:.0f} s of leeway, does "
                    "not include it): check the rotation times (rotate_at, not_before)",
                )
            )
    if not findings and case.presented is not None and not any(c.matched for c in case.checks):
        if is_json(case.body):
            findings.append(
                Finding(
                    "body_maybe_reserialised",
                    "the body is JSON: if it was parsed and written again before it was "
                    "verified, its key order may have changed, which cannot be undone here; "
                    "verify the raw bytes as received",
                    confirmed=False,
                )
            )
        ids = ", ".join(c.secret_id for c in case.checks) or "none"
        findings.append(
            Finding(
                "unknown_secret",
                "no usual mistake explains it: the sender probably signs with a secret you do "
                f"not have (yours: {ids}; `hookseal fingerprint` prints the id of a secret, for "
                "comparing with the one the sender is configured with), or the body is not the "
                "bytes the sender sent",
                confirmed=False,
            )
        )
    return findings


def _other_schemes(case: _Case, tolerance: float, leeway: float) -> list[Finding]:
    """Headers of another scheme present: name it, and say whether it verifies with it; schemes
    of one format (GitHub's header is also Meta's) share one finding."""
    found: dict[tuple[str, str, bool], list[str]] = {}  # (header, outcome, confirmed): names
    missing_ours = isinstance(case.parse_error, MissingSignature)
    seen: set[str] = {case.scheme.name}
    for name in names():
        other = by_name(name)
        if other.name in seen:
            continue  # an alias of a scheme already tried
        seen.add(other.name)
        if other.signs_request and case.target.url is None:
            continue  # cannot be tried without the request's URL
        if other.fetches_keys:
            continue  # trying it would fetch a provider's key over the network
        try:
            other.parse(case.pairs)
        except MissingSignature:
            continue
        except (VerificationError, ConfigurationError):
            pass  # present but malformed, or unreadable without more: verify() says which
        try:
            Verifier(
                case.secret_set, scheme=other, tolerance=case.tolerance_given, leeway=leeway
            ).verify(
                case.body,
                case.pairs,
                now=case.moment,
                url=case.target.url,
                method=case.target.method,
            )
        except ConfigurationError:
            continue  # the secrets are not keys of that kind (a public key, a token...)
        except MissingSignature:
            continue  # its proof is not there either (a scheme whose proof is in the body)
        except VerificationError as exc:
            outcome = f"with it the delivery is still refused ({exc.code})"
            confirmed = False
        else:
            outcome = "with it the delivery verifies"
            confirmed = True
        if missing_ours or confirmed:
            found.setdefault((other.signature_header, outcome, confirmed), []).append(other.name)
    findings = []
    for (header, outcome, confirmed), (first, *rest) in found.items():
        also = f"or {', '.join(rest)}: the same format; " if rest else ""
        article = "an" if header[:1].lower() in "aeioux" else "a"  # "an X-Hub-...", "a Stripe-..."
        findings.append(
            Finding(
                "other_scheme",
                f"{article} {header} header is present: try --scheme {first} "
                f'({also}scheme="{first}" in code); {outcome}',
                confirmed=confirmed,
            )
        )
    return findings


def _timestamp(case: _Case, tolerance: float, now_given: bool) -> list[Finding]:
    error = case.parse_error or case.error
    if isinstance(error, MalformedTimestamp):
        return _milliseconds(case, error)
    if not isinstance(error, (TimestampTooOld, TimestampTooNew)) or case.presented is None:
        return []
    stamp = case.presented.timestamp
    if stamp is None:
        return []
    age = int(case.moment - stamp)  # whole seconds, truncated as the refusal's own detail is
    beyond = abs(age) - tolerance
    signed_right = any(c.matched for c in case.checks)
    lead = "the signature is right but the timestamp" if signed_right else "the timestamp"
    when = _iso(stamp)
    if isinstance(error, TimestampTooNew):
        text = (
            f"{lead} ({when}) is {_span(-age)} ahead of this clock, {_span(beyond)} beyond the "
            "tolerance: the sender's clock runs fast or this one runs slow (check NTP on both)"
        )
    elif not now_given and age > 3600:
        text = (
            f"{lead} ({when}) is {_span(age)} old: a delivery copied from a log is checked "
            "against the time it arrived, so pass that time with --now (ISO-8601 or epoch "
            "seconds), or now= in code"
        )
    else:
        text = (
            f"{lead} ({when}) is {_span(age)} old, {_span(beyond)} beyond the tolerance: a late "
            "retry or a replay, or a clock that is off (check NTP on both sides)"
        )
    return [Finding("clock_skew", text, confirmed=signed_right)]


def _milliseconds(case: _Case, error: VerificationError) -> list[Finding]:
    header = error.header or ""
    values = read_headers(case.pairs, (header.lower(),)) if header else [None]
    value = values[0] or ""
    number = looks_like_milliseconds(value)
    if number is None:
        return []
    return [
        Finding(
            "timestamp_milliseconds",
            f"the timestamp {number} in the {header} header looks like milliseconds since the "
            f"epoch ({_iso(number / 1000)}); the {case.scheme.name} scheme signs whole seconds: "
            "the sender must send int(time.time()), not milliseconds",
            confirmed=False,
        )
    ]


def _mistakes(case: _Case) -> list[Finding]:
    """Undo each usual mistake in turn; keep those that make a presented signature match."""
    presented = case.presented
    assert presented is not None
    signatures = presented.hmac_signatures
    if not signatures:
        return []
    findings: dict[str, Finding] = {}
    keys = [
        (secret, key)
        for secret in case.secret_set
        if (key := scheme_key(case.scheme, secret.reveal())) is not None
    ]
    for code, message, candidate in body_candidates(case.body):
        if any(matches(key, presented.prefix, candidate, signatures) for _, key in keys):
            findings.setdefault(message, Finding(code, message))
    for secret, _ in keys:
        for code, message, key in key_candidates(case.scheme, secret.reveal()):
            if matches(key, presented.prefix, case.body, signatures):
                text = message.replace("{secret}", secret.id)
                findings.setdefault(text, Finding(code, text))
    return list(findings.values())


def _span(seconds: float) -> str:
    """A duration for people: seconds, or hours or days past a few of them."""
    for unit, size in (("days", 86_400), ("hours", 3_600)):
        if seconds >= 3 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def _iso(epoch: float) -> str:
    try:
        moment = _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return "out of range"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
