"""The default scheme's whole check in one Python frame: the pure-Python twin of the C plan.

Without the C accelerator, ``Verifier.verify`` and ``verify()`` for the exact ``Signature``
scheme over static secrets call :func:`signature_check`'s result instead of walking the general
path (``_prepare``, ``parse``, ``read_header``, a ``Presented``...). It reads the header, decodes
the usual shapes (one bare hex digest, or the scheme's prefix then one), and hashes the body
from the pre-keyed states: no object made that the answer does not need.

Like the C plan it decides only what the careful path decides alike: anything unusual (a
missing, repeated, non-ASCII or malformed header, several signatures, a body that is not
``bytes``, a body limit in force, a replay guard) returns None and the careful path, which
raises the right typed error, takes over. A mismatch is declared only after every candidate
was tried, each digest compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import binascii
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .verifier import Verifier

__all__ = ["signature_check"]

Check = Callable[[Any, Any, Any], Any]
"""``check(verifier, body, headers)``: a Verified, a raised SignatureMismatch, or None."""

_MAX_HEADER_LENGTH = 8192  # hookseal.headers.MAX_HEADER_LENGTH
_SEPARATORS = frozenset(",")  # with whitespace: what split_tokens splits on


def _plain_prefix(prefix: str) -> bool:
    """A prefix the header's tokens cannot be split inside (printable ASCII, no comma)."""
    return all(0x21 <= ord(c) <= 0x7E and c not in _SEPARATORS for c in prefix)


def signature_check(verifier: Verifier, result_type: Callable[..., object]) -> Check | None:
    """The fused Python check of the default scheme for ``verifier``, or None if it does not
    apply (the same verifiers as the C plan: exact ``Signature``, plain ``SecretSet``, no
    windows, HMAC-SHA256 material for every secret)."""
    from ._material import HmacMaterial
    from .schemes.signature import Signature
    from .secrets import SecretSet

    scheme, provider, fixed = verifier.scheme, verifier.provider, verifier._fixed
    if fixed is None or type(scheme) is not Signature or type(provider) is not SecretSet:
        return None
    states = []
    for secret in fixed:
        material = secret._material.get(scheme.material_kind)
        if type(material) is not HmacMaterial or material.kind != "hmac-sha256":
            return None
        states.append((material._inner, material._outer))
    results = tuple(result_type(secret_id=s.id, scheme=scheme.name) for s in fixed)
    spelling = scheme.header
    lower = spelling.lower()
    lower_bytes = lower.encode("ascii")
    name_size = len(lower_bytes)
    bare = scheme.encoding != "base64" and not scheme.require_prefix
    prefix = scheme.prefix if scheme.encoding != "base64" and _plain_prefix(scheme.prefix) else ""
    prefix_lower = prefix.lower()
    prefixed = 64 + len(prefix) if prefix else -1  # the length of prefix + 64 hex digits
    unhex = binascii.a2b_hex
    compare = hmac.compare_digest
    (only,) = fixed if len(fixed) == 1 else (None,)
    only_result = results[0]
    inner_key, outer_key = states[0]
    ordered = tuple(zip(fixed, states, results, strict=True))

    def check(verifier: Verifier, body: Any, headers: Any) -> object:
        limit = verifier.max_body_size
        if (
            verifier.replay_guard is not None
            or verifier.scheme is not scheme
            or verifier.provider is not provider
            or verifier._fixed is not fixed
            or type(body) is not bytes
        ):
            return None
        if limit is not None and (type(limit) is not int or len(body) > limit):
            return None  # PayloadTooLarge, or a limit of an odd type: the careful path's
        # The header, read as read_header reads it (the rare spellings are the careful path's).
        if type(headers) is dict:
            value = headers.get(spelling)
            if value is None:
                value = headers.get(lower)
        elif type(headers) is list:  # ASGI's raw (name, value) pairs
            value = None
            for pair in headers:
                if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not bytes:
                    return None
                key = pair[0]
                if len(key) == name_size and key.lower() == lower_bytes:
                    if value is not None:
                        return None  # twice: MalformedHeader
                    value = pair[1]
        else:
            return None
        if type(value) is str or type(value) is bytes:
            # One bare hex digest, as sent: a2b_hex refuses anything but 64 ASCII hex digits
            # (non-ASCII, whitespace), which the careful path then explains.
            if len(value) != 64 or not bare:
                value = _unwrapped(value, bare, prefixed, prefix_lower)
                if value is None:
                    return None
        else:
            return None
        try:
            presented = unhex(value)  # exactly 64 hex digits make 32 bytes; else an error
        except ValueError:
            return None  # MalformedSignature, raised by the careful path
        preferred = verifier._preferred
        if only is not None:  # one secret: the usual case, without the loop
            if preferred is not None and preferred is not only:
                return None
            inner = inner_key.copy()
            inner.update(body)
            outer = outer_key.copy()
            outer.update(inner.digest())
            if compare(outer.digest(), presented):
                if preferred is None:
                    verifier._preferred = only
                return only_result
            raise verifier._mismatch()
        return _search(verifier, preferred, ordered, body, presented)

    return check


def _unwrapped(value: str | bytes, bare: bool, prefixed: int, prefix_lower: str) -> str | None:
    """The 64 hex digits of a value with blanks around it, or the scheme's prefix (in any
    case) before it, or None for every other shape (the careful path's)."""
    if len(value) > _MAX_HEADER_LENGTH or not value.isascii():
        return None
    text = value if isinstance(value, str) else value.decode("ascii")
    text = text.strip(" \t")
    size = len(text)
    if size == 64 and bare:
        return text
    if size == prefixed and text[: size - 64].lower() == prefix_lower:
        return text[size - 64 :]
    return None


def _search(
    verifier: Verifier, preferred: object, ordered: tuple[Any, ...], body: bytes, presented: bytes
) -> object:
    """Several secrets: the preferred one first, then the others in order (Verifier._find's
    order, so the same secret is reported when several match); every one before a refusal."""
    if preferred is not None:
        for secret, (inner_key, outer_key), result in ordered:
            if secret is preferred:
                inner = inner_key.copy()
                inner.update(body)
                outer = outer_key.copy()
                outer.update(inner.digest())
                if hmac.compare_digest(outer.digest(), presented):
                    return result
                break
        else:
            return None  # the preferred secret is not among these: the careful path's call
    for secret, (inner_key, outer_key), result in ordered:
        if secret is preferred:
            continue
        inner = inner_key.copy()
        inner.update(body)
        outer = outer_key.copy()
        outer.update(inner.digest())
        if hmac.compare_digest(outer.digest(), presented):
            verifier._preferred = secret
            return result
    raise verifier._mismatch()


class Lean:
    """What an adapter needs to verify the default scheme's usual requests in one pass: the
    signature header's name (lower-case bytes), :meth:`digest` for its value, and
    :meth:`decide` once the body is whole. Made by :func:`lean_plan`."""

    __slots__ = (
        "_bare",
        "_fixed",
        "_ordered",
        "_prefix_lower",
        "_prefixed",
        "_scheme",
        "environ_key",
        "fused",
        "name",
        "spelling",
    )

    def __init__(self, verifier: Verifier, result_type: Callable[..., object]) -> None:
        scheme = verifier.scheme
        fixed = verifier._fixed
        assert fixed is not None  # lean_plan checked it
        self._scheme = scheme
        self._fixed = fixed
        self.spelling: str = scheme.header  # type: ignore[attr-defined]
        self.name = self.spelling.lower().encode("ascii")
        # Where a WSGI server puts the header (what wsgi.EnvironHeaders.get looks up).
        self.environ_key = "HTTP_" + self.spelling.upper().replace("-", "_")
        self._bare = scheme.encoding != "base64" and not scheme.require_prefix  # type: ignore[attr-defined]
        prefix = scheme.prefix  # type: ignore[attr-defined]
        if scheme.encoding == "base64" or not _plain_prefix(prefix):  # type: ignore[attr-defined]
            prefix = ""
        self._prefix_lower = prefix.lower()
        self._prefixed = 64 + len(prefix) if prefix else -1
        ordered = []
        for secret in fixed:
            material = secret._material[scheme.material_kind]
            fast = getattr(material, "_fast", None)
            ordered.append(
                (
                    secret,
                    None if fast is None else fast.matches,
                    material._inner,
                    material._outer,
                    result_type(secret_id=secret.id, scheme=scheme.name),
                )
            )
        self._ordered = tuple(ordered)
        # The C plan's whole check (it reads the header again, in C, which costs less than
        # decide()'s Python frame); None in pure Python, where decide() is the shorter way.
        self.fused = verifier._fast if hasattr(verifier._fast, "__self__") else None

    def digest(self, value: object) -> bytes | None:
        """The digest in a header value (str or bytes) of the usual shape (what the careful
        path reads from it, exactly), or None for every other value: the careful path must
        judge it."""
        if type(value) is not bytes and type(value) is not str:
            return None
        if len(value) != 64 or not self._bare:
            text = _unwrapped(value, self._bare, self._prefixed, self._prefix_lower)
            if text is None:
                return None
            value = text
        try:
            return binascii.a2b_hex(value)
        except ValueError:
            return None

    def decide(self, verifier: Verifier, body: object, presented: tuple[bytes, ...]) -> object:
        """The Verified result for ``body`` (raw bytes, complete) and the digests read by
        :meth:`digest`; SignatureMismatch after every candidate was tried; None if the
        verifier changed since (the careful path's call then)."""
        if (
            type(body) is not bytes
            or verifier.replay_guard is not None
            or verifier.scheme is not self._scheme
            or verifier._fixed is not self._fixed
            or verifier.max_body_size is not None
        ):
            return None
        preferred = verifier._preferred
        ordered = self._ordered
        if preferred is not None and preferred is not ordered[0][0]:
            first = [entry for entry in ordered if entry[0] is preferred]
            if not first:
                return None  # not among these secrets: the careful path's call
            ordered = (first[0], *(entry for entry in ordered if entry[0] is not preferred))
        for secret, fast, inner_key, outer_key, result in ordered:
            if fast is not None:
                found = fast(b"", body, presented)
            else:
                inner = inner_key.copy()
                inner.update(body)
                outer = outer_key.copy()
                outer.update(inner.digest())
                found = _any_equal(outer.digest(), presented)
            if found:
                if secret is not preferred:
                    verifier._preferred = secret
                return result
        raise verifier._mismatch()


def _any_equal(expected: bytes, presented: tuple[bytes, ...]) -> bool:
    found = False
    for candidate in presented:
        found |= hmac.compare_digest(expected, candidate)
    return found


def lean_plan(verifier: Verifier, result_type: Callable[..., object]) -> Lean | None:
    """A :class:`Lean` for ``verifier`` where the fused check applies to it (exact
    ``Signature``, static secrets without windows, HMAC-SHA256, no replay guard, no body
    limit of its own), else None. An observed verifier qualifies: the adapters report what the
    one-pass path decides with :func:`hookseal.observe.count_verified`."""
    from .observe import observed_class
    from .verifier import Verifier

    if (
        verifier._fast is None
        or type(verifier) not in (Verifier, observed_class())
        or verifier.replay_guard is not None
        or verifier.max_body_size is not None
    ):
        return None
    return Lean(verifier, result_type)
