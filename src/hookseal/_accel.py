"""The switch for the optional C accelerator, :mod:`hookseal._speedups`, and its two hooks.

The accelerator is used when it was built (see docs/speedups.md) unless the environment sets
``HOOKSEAL_NO_SPEEDUPS=1`` before hookseal is imported. It changes no decision: every input it
is not sure about goes the pure-Python way. :func:`speedups_enabled` says which is in use.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import _speedups as _speedups_module
    from .verifier import Verifier

__all__ = ["hmac_key", "signature_check", "speedups_enabled"]

ABI = 1
"""The version of the C module's interface this code expects (a stale build is ignored)."""

_ENCODINGS = {"auto": 0, "hex": 1, "base64": 2}

Check = Callable[[Any, Any, Any], Any]
"""``check(verifier, body, headers)``: a Verified, a raised SignatureMismatch, or None."""


def _load() -> ModuleType | None:
    if os.environ.get("HOOKSEAL_NO_SPEEDUPS", "") not in ("", "0"):
        return None
    try:
        module = importlib.import_module("hookseal._speedups")
    except ImportError:  # not built (no compiler or no OpenSSL headers): pure Python
        return None
    if getattr(module, "ABI", None) != ABI:
        return None  # built from other sources than these: not trusted
    return module


_speedups: Any = _load()


def speedups_enabled() -> bool:
    """True when the C accelerator is in use, False when hookseal runs in pure Python."""
    return _speedups is not None


def hmac_key(key: bytes) -> _speedups_module.HmacKey | None:
    """The C twin of a pre-keyed HMAC-SHA256 (wiped when freed), or None in pure Python."""
    return None if _speedups is None else _speedups.HmacKey(key)


def signature_check(verifier: Verifier, result_type: Callable[..., object]) -> Check | None:
    """The fused C check of the default scheme for ``verifier``, or None where it does not apply.

    Only the exact ``Signature`` scheme over a plain ``SecretSet`` without windows qualifies:
    there the candidates never change and a mismatch refreshes nothing. ``result_type`` makes
    the result for each secret (they are immutable, so made once).
    """
    from . import _fastpath
    from ._material import HmacMaterial
    from .schemes.signature import Signature
    from .secrets import SecretSet

    scheme, provider, fixed = verifier.scheme, verifier.provider, verifier._fixed
    if _speedups is None:
        return _fastpath.signature_check(verifier, result_type)
    if fixed is None or type(scheme) is not Signature or type(provider) is not SecretSet:
        return None
    if not scheme.prefix.isascii() or scheme.encoding not in _ENCODINGS:
        return None
    keys = []
    for secret in fixed:
        material = secret._material.get(scheme.material_kind)
        if type(material) is not HmacMaterial or material._fast is None:
            return _fastpath.signature_check(verifier, result_type)
        keys.append(material._fast)
    plan = _speedups.SignaturePlan(
        scheme.header,
        _ENCODINGS[scheme.encoding],
        scheme.prefix,
        scheme.require_prefix,
        scheme,
        provider,
        fixed,
        tuple(keys),
        tuple(result_type(secret_id=s.id, scheme=scheme.name) for s in fixed),
        type(verifier),
    )
    check: Check = plan.check
    return check
