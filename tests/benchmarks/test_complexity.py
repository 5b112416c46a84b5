"""The timed complexity gate (benchmarks/cases/complexity.py) fails on the regressions it is
for, injected here. Each injected regression is many times the limit (itself twice the
linear ratio), so these assertions hold on a busy machine: load cannot make quadratic linear.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from benchmarks.cases import complexity

from hookseal import SignatureMismatch, Verifier
from hookseal._material import HmacMaterial
from hookseal.verifier import PendingVerification

Check = Callable[[Any, Any, Any], Any]
Injector = Callable[[Callable[[Check], Check]], None]

REPEATS = 7
BATCH_NS = 10_000_000


def check(starts: str) -> complexity.Check:
    (found,) = [c for c in complexity.CHECKS if c.name.startswith(starts)]
    return found


def failed_every_attempt(found: complexity.Check) -> list[float]:
    ratios = complexity.run_check(found, REPEATS, BATCH_NS)
    assert len(ratios) == complexity.ATTEMPTS, ratios
    assert min(ratios) > found.limit, ratios
    return ratios


def test_limits_leave_room_over_the_linear_bound() -> None:
    assert len(complexity.CHECKS) == 4
    for found in complexity.CHECKS:
        assert found.limit >= 1.5 * found.linear


def test_a_quadratic_join_of_chunks_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The streaming path joining the body again on every chunk (quadratic copying, all in C:
    the call counts do not see it, the timed ratio does)."""
    original = PendingVerification.update
    joined: dict[int, bytes] = {}

    def update(self: PendingVerification, chunk: Any) -> None:
        if self.size == 0:
            joined[id(self)] = b""
        joined[id(self)] = joined[id(self)] + bytes(chunk)
        original(self, chunk)

    monkeypatch.setattr(PendingVerification, "update", update)
    failed_every_attempt(check("ASGI middleware"))


def test_a_quadratic_loop_over_the_body_fails(
    monkeypatch: pytest.MonkeyPatch, careful_only: None
) -> None:
    original = HmacMaterial.matches

    def quadratic(self: HmacMaterial, prefix: bytes, body: bytes, *rest: Any) -> bool:
        for end in range(0, len(body), 4096):
            bytes(bytearray(body[:end]))  # a copy of everything so far, per 4 KiB
        return original(self, prefix, body, *rest)

    monkeypatch.setattr(HmacMaterial, "matches", quadratic)
    failed_every_attempt(check("verify(): time at 1 MiB"))


def test_a_quadratic_loop_over_the_body_in_the_fused_check_fails(fused: Injector) -> None:
    def quadratic(check: Check) -> Check:
        def slow(verifier: Any, body: Any, headers: Any) -> Any:
            for end in range(0, len(body), 4096):
                bytes(bytearray(body[:end]))  # a copy of everything so far, per 4 KiB
            return check(verifier, body, headers)

        return slow

    fused(quadratic)
    failed_every_attempt(check("verify(): time at 1 MiB"))


def test_hashing_per_signature_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    original = HmacMaterial.matches

    def per_signature(self: HmacMaterial, prefix: bytes, body: bytes, hmacs: Any, eds: Any) -> bool:
        return any([original(self, prefix, body, (s,), eds) for s in hmacs])

    monkeypatch.setattr(HmacMaterial, "matches", per_signature)
    ratios = failed_every_attempt(check("forged request, 1 MiB, 1 secret"))
    assert min(ratios) > 8


def test_a_quadratic_pass_over_secrets_fails(
    monkeypatch: pytest.MonkeyPatch, careful_only: None
) -> None:
    """Every candidate tried once per candidate: N squared HMAC passes."""
    original = Verifier._find_among

    def quadratic(self: Verifier, candidates: Any, *args: Any, **kwargs: Any) -> Any:
        for _ in candidates[1:]:
            original(self, candidates, *args, **kwargs)
        return original(self, candidates, *args, **kwargs)

    monkeypatch.setattr(Verifier, "_find_among", quadratic)
    failed_every_attempt(check("forged request, 64 KiB: time with 16 secrets"))


def test_a_quadratic_pass_over_secrets_in_the_fused_check_fails(fused: Injector) -> None:
    """The fused check run once per candidate: N squared HMAC passes."""

    def quadratic(check: Check) -> Check:
        def slow(verifier: Any, body: Any, headers: Any) -> Any:
            for _ in verifier._fixed[1:]:
                with contextlib.suppress(SignatureMismatch):
                    check(verifier, body, headers)
            return check(verifier, body, headers)

        return slow

    fused(quadratic)
    failed_every_attempt(check("forged request, 64 KiB: time with 16 secrets"))
