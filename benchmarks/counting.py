"""Counting instead of timing: what one request does, seen by a profile hook and tracemalloc.

A profile hook (:func:`sys.setprofile`) is told of every call Python code makes, calls into C
included: hashlib's ``copy``/``update``/``digest``, ``hmac.compare_digest``, the constructors
that key a new hash object, and ``Ed25519PublicKey.verify``. Counted per request, these say
how many HMAC passes a request cost, whether a key was set up again, how many signatures were
checked and how much Python ran: numbers a busy machine cannot change, so a check on them
cannot flip on noise. :func:`peak_bytes` does the same for memory (a copy of a 1 MiB body
shows as 1 MiB whatever the load).

What is counted is the pure-Python path; an optional C accelerator would do the same work out
of the profiler's sight, so the gate runs these counts with ``HOOKSEAL_NO_SPEEDUPS=1``.
"""

from __future__ import annotations

import gc
import hashlib
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import FrameType
from typing import Any

from hookseal.schemes import Scheme

__all__ = ["Tally", "count", "peak_bytes"]

_HASH_TYPES: frozenset[type] = frozenset({type(hashlib.sha256()), type(hashlib.sha512())})
_HASH_MODULES = frozenset({"_hashlib", "_sha256", "_sha2", "_sha512", "_sha1", "_md5", "_blake2"})
_NOT_KEYING = frozenset({"compare_digest", "get_fips_mode", "openssl_md_meth_names"})


def _derive_codes() -> frozenset[Any]:
    """The code of every scheme's ``derive`` (a secret turned into key material)."""
    found: set[Any] = set()
    pending: list[type] = [Scheme]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        derive = cls.__dict__.get("derive")
        if derive is not None:
            found.add(derive.__code__)
    return frozenset(found)


@dataclass(frozen=True)
class Tally:
    """Calls made by ``requests`` requests, in total (divide with :meth:`per_request`)."""

    requests: int
    derivations: int
    """Secrets turned into key material (any scheme's ``derive``)."""
    hash_objects: int
    """Hash or HMAC objects made by a constructor (``sha256(...)``, ``hmac.new``,
    ``hmac.digest``): a key set up per request shows here. State copies are not counted."""
    copies: int
    """Hash state copies (``.copy()``): a pre-keyed HMAC pass makes two."""
    updates: int
    """``.update()`` calls on hash objects."""
    digests: int
    """``.digest()``/``.hexdigest()`` calls: a pre-keyed HMAC pass makes two."""
    compares: int
    """``hmac.compare_digest`` calls."""
    ed25519: int
    """Ed25519 signature checks (``Ed25519PublicKey.verify``)."""
    python_calls: int
    """Python function frames entered."""
    c_calls: int
    """Calls into C functions and methods."""

    def per_request(self, field: str) -> float:
        """``field`` divided by the number of requests."""
        return float(getattr(self, field)) / self.requests

    @property
    def hmac_passes(self) -> float:
        """HMAC passes per request: a pass copies the inner state and ends with two digests."""
        return self.digests / 2 / self.requests

    @property
    def operations(self) -> float:
        """Python frames plus calls into C, per request: the work that is neither hashing
        nor copying, counted (how a quadratic Python loop shows)."""
        return (self.python_calls + self.c_calls) / self.requests

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class _Counter:
    """The profile hook: one integer per kind of call."""

    def __init__(self) -> None:
        self.derive_codes = _derive_codes()
        self.counts = dict.fromkeys(
            (
                "derivations",
                "hash_objects",
                "copies",
                "updates",
                "digests",
                "compares",
                "ed25519",
                "python_calls",
                "c_calls",
            ),
            0,
        )

    def hook(self, frame: FrameType, event: str, arg: Any) -> None:
        counts = self.counts
        if event == "call":
            counts["python_calls"] += 1
            if frame.f_code in self.derive_codes:
                counts["derivations"] += 1
            return
        if event != "c_call":
            return
        counts["c_calls"] += 1
        name = getattr(arg, "__name__", "")
        owner = getattr(arg, "__self__", None)
        if type(owner) in _HASH_TYPES or type(owner).__name__ == "HMAC":
            if name == "copy":
                counts["copies"] += 1
            elif name == "update":
                counts["updates"] += 1
            elif name in ("digest", "hexdigest"):
                counts["digests"] += 1
        elif name in ("compare_digest", "_compare_digest"):
            counts["compares"] += 1
        elif name == "verify" and type(owner).__name__ == "Ed25519PublicKey":
            counts["ed25519"] += 1
        elif getattr(owner, "__name__", None) in _HASH_MODULES and name not in _NOT_KEYING:
            counts["hash_objects"] += 1  # a module-level constructor: sha256(), hmac_new, ...


def _counted(request: Callable[[], object], requests: int) -> dict[str, int]:
    counter = _Counter()
    previous = sys.getprofile()
    sys.setprofile(counter.hook)
    try:
        for _ in range(requests):
            request()
    finally:
        sys.setprofile(previous)
    return counter.counts


def _nothing() -> None:
    return None


def count(request: Callable[[], object], requests: int = 10) -> Tally:
    """What ``requests`` calls of ``request`` do, after one call that is not counted (it
    builds what is built once: verifiers, key material, the scheme's caches). The same loop
    around a function that does nothing is subtracted, so only the request's own calls stay."""
    request()
    counts = _counted(request, requests)
    empty = _counted(_nothing, requests)
    return Tally(requests=requests, **{k: v - empty[k] for k, v in counts.items()})


def peak_bytes(request: Callable[[], object]) -> int:
    """The most memory one call of ``request`` held at once, beyond what existed before it
    (after one call that is not measured, for the same reason as :func:`count`)."""
    request()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        request()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
