"""The counted gate (benchmarks/cases/invariants.py) holds on honest code and fails on each
regression it stands for, injected here: counts, so none of this depends on the machine."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from benchmarks.cases import invariants
from benchmarks.counting import count, peak_bytes
from benchmarks.model import Outcome, Row

from hookseal import Verifier, verify
from hookseal import verifier as verifier_module
from hookseal._material import Ed25519Material, HmacMaterial
from hookseal.schemes import Scheme, Slack, StandardWebhooks
from hookseal.schemes import signature as signature_module

Part = Callable[[], list[Row]]
Check = Callable[[Any, Any, Any], Any]
Injector = Callable[[Callable[[Check], Check]], None]


def failed(rows: Sequence[Row]) -> dict[str, Outcome]:
    return {o.name: o for o in invariants.targets(rows) if o.fails}


def gate(parts: Sequence[Part], starts: str) -> Outcome:
    """The one gate whose name starts with ``starts``, over the rows of ``parts``."""
    rows = [row for part in parts for row in part()]
    found = [o for o in invariants.targets(rows) if o.name.startswith(starts)]
    assert len(found) == 1, [o.name for o in invariants.targets(rows)]
    return found[0]


def _same(a: object, b: object) -> bool:
    return a is b


def test_honest_code_holds_every_gate() -> None:
    outcomes = invariants.targets(invariants.collect())
    assert len(outcomes) >= 12
    assert all(o.gate == "count" for o in outcomes)
    assert [o.name for o in outcomes if o.fails] == []


def test_a_key_set_up_per_request_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key material derived again on every request (the per-secret cache lost)."""
    monkeypatch.setattr(Scheme, "material", lambda self, secret: self.derive(secret))
    assert gate([invariants._schemes], "key derivations").fails
    assert gate([invariants._schemes], "hash objects keyed").fails


def test_a_verifier_built_per_call_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """verify() without its verifier cache: every call keys its secret again."""

    class Forgetful(dict[Any, Any]):
        def get(self, key: Any, default: Any = None) -> Any:
            return None

    monkeypatch.setattr(verifier_module, "_VERIFIERS", Forgetful())
    monkeypatch.setattr(verifier_module, "_DEFAULTS", Forgetful())
    outcome = gate([invariants._schemes], "hash objects keyed")
    assert outcome.fails
    assert outcome.value >= 2  # inner and outer SHA-256 states, keyed per request


def test_a_second_hmac_pass_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    original = HmacMaterial.matches

    def twice(self: HmacMaterial, *args: Any) -> bool:
        original(self, *args)
        return original(self, *args)

    monkeypatch.setattr(HmacMaterial, "matches", twice)
    outcome = gate([invariants._schemes, invariants._sizes], "HMAC passes per valid request")
    assert outcome.fails
    assert outcome.value == 2


def test_hashing_once_per_signature_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cost linear in presented signatures instead of constant."""
    original = HmacMaterial.matches

    def per_signature(self: HmacMaterial, prefix: bytes, body: bytes, hmacs: Any, eds: Any) -> bool:
        return any([original(self, prefix, body, (s,), eds) for s in hmacs])

    monkeypatch.setattr(HmacMaterial, "matches", per_signature)
    outcome = gate([invariants._signatures], "HMAC passes per forged request, 1 to 16")
    assert outcome.fails
    assert outcome.value == 16


def test_a_python_loop_over_the_body_fails(
    monkeypatch: pytest.MonkeyPatch, careful_only: None
) -> None:
    def sliced(self: HmacMaterial, prefix: bytes, body: bytes, hmacs: Any, eds: Any) -> bool:
        inner = self._inner.copy()
        inner.update(prefix)
        for start in range(0, len(body), 4096):
            inner.update(body[start : start + 4096])
        outer = self._outer.copy()
        outer.update(inner.digest())
        return any(hmac.compare_digest(outer.digest(), s) for s in hmacs)

    monkeypatch.setattr(HmacMaterial, "matches", sliced)
    outcome = gate([invariants._sizes], "verify(): calls per request at 1 MiB")
    assert outcome.fails


def test_a_python_loop_over_the_body_in_the_fused_check_fails(fused: Injector) -> None:
    def sliced(check: Check) -> Check:
        def slow(verifier: Any, body: Any, headers: Any) -> Any:
            walked = hashlib.sha256()
            for start in range(0, len(body), 4096):
                walked.update(body[start : start + 4096])
            return check(verifier, body, headers)

        return slow

    fused(sliced)
    outcome = gate([invariants._sizes], "verify(): calls per request at 1 MiB")
    assert outcome.fails


def test_a_copy_of_the_body_fails(monkeypatch: pytest.MonkeyPatch, careful_only: None) -> None:
    original = HmacMaterial.matches

    def copying(self: HmacMaterial, prefix: bytes, body: bytes, *rest: Any) -> bool:
        return original(self, b"", bytes(bytearray(prefix) + body), *rest)

    monkeypatch.setattr(HmacMaterial, "matches", copying)
    outcome = gate([invariants._sizes], "verify() at 1 MiB: peak memory")
    assert outcome.fails
    assert outcome.value >= 1.0


def test_a_copy_of_the_body_in_the_fused_check_fails(fused: Injector) -> None:
    def copying(check: Check) -> Check:
        return lambda verifier, body, headers: check(verifier, bytes(bytearray(body)), headers)

    fused(copying)
    outcome = gate([invariants._sizes], "verify() at 1 MiB: peak memory")
    assert outcome.fails
    assert outcome.value >= 1.0


def test_quadratic_signature_parsing_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheme whose parser compares every signature with every other one."""
    from hookseal.schemes._base import split_tokens as original

    def quadratic(value: str, header: str) -> list[str]:
        tokens = original(value, header)
        for a in tokens:
            for b in tokens:
                _same(a, b)
        return tokens

    monkeypatch.setattr(signature_module, "split_tokens", quadratic)
    outcome = gate([invariants._signatures], "calls per request vs signatures")
    assert outcome.fails
    assert outcome.value > 1.5


def test_a_quadratic_loop_over_secrets_fails(
    monkeypatch: pytest.MonkeyPatch, careful_only: None
) -> None:
    original = Verifier._find_among

    def quadratic(self: Verifier, candidates: Any, *args: Any, **kwargs: Any) -> Any:
        for a in candidates:
            for b in candidates:
                _same(a, b)
        return original(self, candidates, *args, **kwargs)

    monkeypatch.setattr(Verifier, "_find_among", quadratic)
    outcome = gate([invariants._secrets], "calls per request vs secrets")
    assert outcome.fails


def test_a_quadratic_loop_over_secrets_in_the_fused_check_fails(fused: Injector) -> None:
    def quadratic(check: Check) -> Check:
        def slow(verifier: Any, body: Any, headers: Any) -> Any:
            for a in verifier._fixed:
                for b in verifier._fixed:
                    _same(a, b)
            return check(verifier, body, headers)

        return slow

    fused(quadratic)
    outcome = gate([invariants._secrets], "calls per request vs secrets")
    assert outcome.fails


@pytest.mark.parametrize("scheme", [StandardWebhooks, Slack])
def test_a_lost_fast_path_fails(monkeypatch: pytest.MonkeyPatch, scheme: Any) -> None:
    """A scheme's dict fast path gone: every request takes the careful path (4 and 6 more
    calls here, past the budget's one call of slack by a margin no state of the process
    moves)."""
    monkeypatch.setattr(scheme, "parse", scheme._parse)
    outcome = gate([invariants._schemes], "fast paths kept")
    assert outcome.fails
    assert outcome.where == scheme.name
    assert outcome.value >= 1.3


def test_checking_each_v1a_twice_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Ed25519Material._check

    def twice(self: Ed25519Material, message: bytes, signatures: Any) -> bool:
        return original(self, message, tuple(signatures) * 2)

    monkeypatch.setattr(Ed25519Material, "_check", twice)
    outcome = gate([invariants._ed25519], "Ed25519 checks")
    assert outcome.fails
    assert outcome.value == 12


def test_the_child_process_reports_the_same_rows() -> None:
    """What CI runs: the scenarios in a child process on the pure-Python path."""
    rows = invariants.measure(None)  # type: ignore[arg-type]  # the config is not used
    assert {r.contender for r in rows} == {r.contender for r in invariants.collect()}
    assert failed(rows) == {}


def test_count_sees_keying_and_passes() -> None:
    """The instrument itself: a naive hmac.digest keys a hash object per call."""
    tally = count(lambda: hmac.digest(b"k", b"body", "sha256"), requests=4)
    assert tally.per_request("hash_objects") == 1
    assert tally.per_request("derivations") == 0
    secret = "s3cr3t"
    headers = {"Signature": hmac.new(secret.encode(), b"body", "sha256").hexdigest()}
    tally = count(lambda: verify(b"body", headers, secret), requests=4)
    assert tally.hmac_passes == 1
    assert tally.per_request("hash_objects") == 0
    assert tally.per_request("compares") == 1


def test_peak_bytes_sees_a_copy() -> None:
    body = b"x" * (1 << 20)
    assert peak_bytes(lambda: len(body)) < 4096
    assert peak_bytes(lambda: bytearray(body)) >= 1 << 20
