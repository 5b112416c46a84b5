"""Linear: ``Linear-Signature: <hex HMAC-SHA256 of the body>``; the timestamp is in the body.

The signature header is an ordinary one; the signed time is the JSON body's top-level
``webhookTimestamp`` (Unix milliseconds), which Linear's SDK (``LinearWebhooks.verify`` in
``@linear/sdk``) checks against a one-minute window. So this scheme reads the complete body
(parsed from the raw bytes, never re-serialised) before deciding. The ``Linear-Delivery``
header is not signed, so it is not used as a replay key (the signature is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import BodyError, MalformedTimestamp, MissingTimestamp
from ..headers import HeadersLike
from ._base import Presented, Proof, RequestTarget
from ._record import HeaderScheme

__all__ = ["Linear"]

_FIELD = "webhookTimestamp"
_WHERE = "webhookTimestamp (in the body)"


@dataclass(frozen=True)
class Linear(HeaderScheme):
    """Linear webhooks (keyed with the webhook's signing secret)."""

    name: str = "linear"
    header: str = "Linear-Signature"
    tolerance: float = 60.0
    needs_body = True

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "timestamped", True)

    def complete(
        self, presented: Presented, body: bytes, headers: HeadersLike, target: RequestTarget
    ) -> Proof:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise BodyError("the JSON body could not be parsed") from exc
        if not isinstance(document, dict) or _FIELD not in document:
            raise MissingTimestamp("the body has no webhookTimestamp", header=_WHERE)
        stamp = document[_FIELD]
        if isinstance(stamp, bool) or not isinstance(stamp, int) or not 0 <= stamp < 10**15:
            raise MalformedTimestamp(
                "webhookTimestamp must be Unix time in milliseconds", header=_WHERE
            )
        claims = Presented(b"", presented.hmac_signatures, (), stamp // 1000)
        return Proof(claims, ((b"", body, b""),))
