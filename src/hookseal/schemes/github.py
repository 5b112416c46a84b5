"""GitHub: ``X-Hub-Signature-256: sha256=<hex>``, HMAC-SHA256 of the raw body."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._material import KeyMaterial
from ..errors import MalformedSignature
from ..headers import HeadersLike, read_header
from ._base import Presented, Scheme, decode_hex_digest, require

__all__ = ["GitHub"]

_HEADER = "X-Hub-Signature-256"
_LOOKUP = (_HEADER.lower(),)


@dataclass(frozen=True)
class GitHub(Scheme):
    """GitHub (and Gitea, Forgejo): one ``sha256=`` signature over the body."""

    name = "github"

    @property
    def header_names(self) -> tuple[str, ...]:
        return (_HEADER,)

    def parse(self, headers: HeadersLike) -> Presented:
        value = require(read_header(headers, _LOOKUP[0], _HEADER), _HEADER)
        if value[:7].lower() != "sha256=":
            raise MalformedSignature(
                f"the {_HEADER} header must start with 'sha256='", header=_HEADER
            )
        return Presented(b"", (decode_hex_digest(value[7:], _HEADER),))

    def sign(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
    ) -> dict[str, str]:
        return {_HEADER: "sha256=" + materials[0].sign(body).hex()}
