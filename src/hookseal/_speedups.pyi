"""Types of the optional C accelerator (src/hookseal/_speedups.c); see hookseal/_accel.py."""

from collections.abc import Iterable

_Bytes = bytes | bytearray | memoryview

ABI: int
MAX_SIGNATURES: int
MAX_HEADER_LENGTH: int
GIL_RELEASE_SIZE: int

class Digester:
    """The HMAC-SHA256 of one secret over a body that arrives in chunks."""

    def update(self, chunk: _Bytes) -> None: ...
    def matches(self, hmac_sigs: Iterable[_Bytes], ed25519_sigs: object = ...) -> bool: ...

class HmacKey:
    """HMAC-SHA256 states keyed once (the key itself is not kept)."""

    def __init__(self, key: _Bytes) -> None: ...
    def digest(self, prefix: _Bytes, body: _Bytes) -> bytes: ...
    def matches(
        self,
        prefix: _Bytes,
        body: _Bytes,
        hmac_sigs: Iterable[_Bytes],
        ed25519_sigs: object = ...,
    ) -> bool: ...
    def start(self, prefix: _Bytes) -> Digester: ...

class SignaturePlan:
    """The default scheme's whole check for one verifier's fixed secrets."""

    def __init__(
        self,
        spelling: str,
        encoding: int,
        prefix: str,
        require_prefix: bool,
        scheme: object,
        provider: object,
        secrets: tuple[object, ...],
        keys: tuple[HmacKey, ...],
        results: tuple[object, ...],
        verifier_type: type | None = None,
    ) -> None: ...
    @property
    def reads_slots(self) -> bool: ...
    def check(self, verifier: object, body: object, headers: object, /) -> object | None: ...
    def parse(self, value: object, /) -> tuple[bytes, ...] | None: ...

def openssl_version() -> str: ...
