"""Standard Webhooks (and Svix): id.timestamp.body, v1 HMAC with whsec_ keys, v1a Ed25519."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hookseal import (
    ConfigurationError,
    MalformedHeader,
    MalformedSignature,
    MalformedTimestamp,
    MissingSignature,
    MissingTimestamp,
    SignatureMismatch,
    Verifier,
    sign,
    verify,
)
from hookseal.errors import MalformedMessageId, MissingMessageId
from hookseal.schemes import StandardWebhooks

# The example in Svix's "Verifying webhooks manually" documentation
# (docs.svix.com/receiving/verifying-payloads/how-manual), which the Standard Webhooks
# specification repeats; the values were checked against several independent implementations.
DOC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DOC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
DOC_TIMESTAMP = 1614265330
DOC_BODY = b'{"test": 2432232314}'
DOC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

KEY = b"0123456789abcdef0123456789abcdef"
WHSEC = "whsec_" + base64.b64encode(KEY).decode()
NOW = 1_700_000_000
BODY = b'{"type":"invoice.paid"}'


def headers_for(
    signature: str, *, wid: str = "msg_1", stamp: str = str(NOW), family: str = "webhook"
) -> dict[str, str]:
    return {f"{family}-id": wid, f"{family}-timestamp": stamp, f"{family}-signature": signature}


def v1(content: bytes, key: bytes = KEY) -> str:
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


GOOD = v1(b"msg_1." + str(NOW).encode() + b"." + BODY)


def check(headers: object, secrets: object = WHSEC, now: int = NOW) -> object:
    return verify(BODY, headers, secrets, scheme="standard", now=now)  # type: ignore[arg-type]


def test_documented_vector() -> None:
    headers = {
        "webhook-id": DOC_ID,
        "webhook-timestamp": str(DOC_TIMESTAMP),
        "webhook-signature": DOC_SIGNATURE,
    }
    result = verify(DOC_BODY, headers, DOC_SECRET, scheme="standard", now=DOC_TIMESTAMP)
    assert result.message_id == DOC_ID
    assert result.timestamp == DOC_TIMESTAMP
    signed = sign(
        DOC_BODY, DOC_SECRET, scheme="standard", timestamp=DOC_TIMESTAMP, message_id=DOC_ID
    )
    assert signed == headers


def test_round_trip_and_header_names() -> None:
    assert StandardWebhooks().header_names == (
        "webhook-signature",
        "webhook-id",
        "webhook-timestamp",
    )
    assert check(headers_for(GOOD))
    signed = sign(BODY, WHSEC, scheme="standard", timestamp=NOW, message_id="msg_1")
    assert signed["webhook-signature"] == GOOD


@pytest.mark.parametrize(
    "secret",
    [
        WHSEC,
        WHSEC.rstrip("="),  # padding optional
        WHSEC[len("whsec_") :],  # prefix optional
        WHSEC[len("whsec_") :].rstrip("="),
    ],
)
def test_whsec_forms(secret: str) -> None:
    assert check(headers_for(GOOD), secret)


def test_whsec_unpadded_lengths() -> None:
    for size in (16, 24, 31, 33, 64):
        key = bytes(range(size))
        secret = "whsec_" + base64.b64encode(key).decode().rstrip("=")
        content = b"msg_1." + str(NOW).encode() + b"." + BODY
        assert check(headers_for(v1(content, key)), secret)


@pytest.mark.parametrize("secret", ["whsec_", "whsec_!!!!", "whsec_abc$", "whsec_" + "a" * 5])
def test_bad_whsec_is_a_configuration_error(secret: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Verifier(secret, scheme="standard")
    value = secret[len("whsec_") :]
    assert not value or value not in str(info.value)


def test_svix_header_names() -> None:
    assert check(headers_for(GOOD, family="svix"))
    assert check({k.upper(): v for k, v in headers_for(GOOD, family="svix").items()})


def test_webhook_headers_win_over_svix_headers() -> None:
    headers = headers_for(GOOD) | headers_for("v1," + "A" * 44, family="svix")
    assert check(headers)


def test_several_signatures_and_unknown_versions() -> None:
    other = v1(b"msg_1." + str(NOW).encode() + b"." + BODY, b"k" * 32)
    assert check(headers_for(f"{other} {GOOD}"))
    assert check(headers_for(f"v2,whatever v1b,AAAA {GOOD}"))
    assert check(headers_for(f"  {GOOD}   v9,x  "))


@pytest.mark.parametrize(
    "signature",
    [
        "v1",  # no comma
        "v1,",
        "v1,not base64!",
        "v1," + base64.b64encode(b"x" * 31).decode(),
        "v1," + base64.b64encode(b"x" * 33).decode(),
        GOOD.rstrip("="),  # signatures keep their padding
        "v1a," + base64.b64encode(b"x" * 32).decode(),  # Ed25519 signatures are 64 bytes
        " ".join([GOOD] * 17),
        GOOD + ",extra",
        f"{GOOD} nocomma",
    ],
)
def test_malformed_signatures(signature: str) -> None:
    with pytest.raises(MalformedSignature) as info:
        check(headers_for(signature))
    assert info.value.header == "webhook-signature"


@pytest.mark.parametrize("signature", ["", "   ", "v2,abc", "v0,abc v2,def"])
def test_no_known_signature(signature: str) -> None:
    with pytest.raises(MissingSignature):
        check(headers_for(signature))


def test_missing_headers() -> None:
    full = headers_for(GOOD)
    with pytest.raises(MissingSignature):
        check({k: v for k, v in full.items() if k != "webhook-signature"})
    with pytest.raises(MissingMessageId) as info:
        check({k: v for k, v in full.items() if k != "webhook-id"})
    assert info.value.status == 400
    with pytest.raises(MissingTimestamp):
        check({k: v for k, v in full.items() if k != "webhook-timestamp"})
    with pytest.raises(MissingMessageId):
        check(headers_for(GOOD, wid=""))
    with pytest.raises(MissingSignature):
        check({})


@pytest.mark.parametrize("wid", ["msg 1", "x" * 257, "msg\x01", "msg\x7f"])
def test_malformed_message_id(wid: str) -> None:
    with pytest.raises(MalformedMessageId):
        check(headers_for(GOOD, wid=wid))


def test_message_id_of_256_chars_is_fine() -> None:
    wid = "m" * 256
    assert check(headers_for(v1(f"{wid}.{NOW}.".encode() + BODY), wid=wid))


@pytest.mark.parametrize(
    "stamp",
    ["1" * 13, "9" * 5000, "-1700000000", "+1700000000", "1700000000.5", "1.7e9", "abc", "0x65"],
)
def test_malformed_timestamps(stamp: str) -> None:
    with pytest.raises(MalformedTimestamp):
        check(headers_for(GOOD, stamp=stamp))


def test_non_ascii_headers() -> None:
    with pytest.raises(MalformedHeader):
        check(headers_for(GOOD, stamp="\u0661\u0667\u0660\u0660"))  # Arabic-Indic digits
    with pytest.raises(MalformedHeader):
        check(headers_for(GOOD, wid="msg_\u00e9"))
    with pytest.raises(MalformedHeader):
        check(headers_for(GOOD + " v1,\u00e9"))


def test_signed_content_uses_the_literal_timestamp_digits() -> None:
    stamp = "0" + str(NOW)  # 11 digits, the same instant
    signature = v1(f"msg_1.{stamp}.".encode() + BODY)
    assert check(headers_for(signature, stamp=stamp)).timestamp == NOW  # type: ignore[attr-defined]
    with pytest.raises(SignatureMismatch):
        check(headers_for(GOOD, stamp=stamp))


def test_id_and_timestamp_are_signed() -> None:
    with pytest.raises(SignatureMismatch):
        check(headers_for(GOOD, wid="msg_2"))
    with pytest.raises(SignatureMismatch):
        check(headers_for(GOOD, stamp=str(NOW + 1)))


# -- v1a: Ed25519 ---------------------------------------------------------------------------------


def ed25519_keys() -> tuple[str, str, Ed25519PrivateKey]:
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return (
        "whsk_" + base64.b64encode(seed).decode(),
        "whpk_" + base64.b64encode(public).decode(),
        private,
    )


def test_v1a_sign_with_whsk_verify_with_whpk() -> None:
    whsk, whpk, private = ed25519_keys()
    headers = sign(BODY, whsk, scheme="standard", now=NOW, message_id="msg_ed")
    assert headers["webhook-signature"].startswith("v1a,")
    result = verify(BODY, headers, whpk, scheme="standard", now=NOW)
    assert result.message_id == "msg_ed"
    assert verify(BODY, headers, whsk, scheme="standard", now=NOW)
    # The signature is a plain Ed25519 signature over id.timestamp.body.
    raw = base64.b64decode(headers["webhook-signature"][4:])
    private.public_key().verify(raw, f"msg_ed.{NOW}.".encode() + BODY)


def test_v1a_signature_made_with_cryptography_directly() -> None:
    _, whpk, private = ed25519_keys()
    signature = private.sign(f"msg_1.{NOW}.".encode() + BODY)
    headers = headers_for("v1a," + base64.b64encode(signature).decode())
    assert check(headers, whpk)
    with pytest.raises(SignatureMismatch):
        verify(BODY + b"!", headers, whpk, scheme="standard", now=NOW)
    with pytest.raises(SignatureMismatch):
        check(headers, ed25519_keys()[1])
    with pytest.raises(SignatureMismatch):
        check(headers, WHSEC)  # an HMAC secret never accepts a v1a signature


def test_v1a_key_forms() -> None:
    whsk, whpk, private = ed25519_keys()
    seed = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    whsk64 = "whsk_" + base64.b64encode(seed + public).decode()  # seed || public, as some emit
    for secret in (whsk64, whpk.rstrip("=")):
        headers = sign(BODY, whsk, scheme="standard", now=NOW)
        assert verify(BODY, headers, secret, scheme="standard", now=NOW)


@pytest.mark.parametrize(
    "secret",
    [
        "whpk_" + base64.b64encode(b"x" * 31).decode(),
        "whpk_" + base64.b64encode(b"x" * 64).decode(),
        "whsk_" + base64.b64encode(b"x" * 48).decode(),
        "whpk_not-base64!",
        "whsk_",
    ],
)
def test_bad_ed25519_keys(secret: str) -> None:
    with pytest.raises(ConfigurationError):
        Verifier(secret, scheme="standard")


def test_public_key_cannot_sign() -> None:
    _, whpk, _ = ed25519_keys()
    with pytest.raises(ConfigurationError):
        sign(BODY, whpk, scheme="standard")


def test_mixed_hmac_and_ed25519_rotation() -> None:
    whsk, whpk, _ = ed25519_keys()
    headers = sign(BODY, [WHSEC, whsk], scheme="standard", now=NOW)
    entries = headers["webhook-signature"].split()
    assert [e.split(",")[0] for e in entries] == ["v1", "v1a"]
    assert verify(BODY, headers, whpk, scheme="standard", now=NOW)
    assert verify(BODY, headers, WHSEC, scheme="standard", now=NOW)
    verifier = Verifier([WHSEC, whpk], scheme="standard")
    only_ed = {**headers, "webhook-signature": entries[1]}
    assert verifier.verify(BODY, only_ed, now=NOW).secret_id
    pending = verifier.begin(only_ed, now=NOW)
    for i in range(len(BODY)):
        pending.update(BODY[i : i + 1])
    assert pending.finish() == verifier.verify(BODY, only_ed, now=NOW)


# -- v1a cost: a forged request costs a bounded number of Ed25519 checks per key ---------------


class CountingKey:
    """Stands in for an Ed25519 public key and counts the signature checks made with it."""

    def __init__(self, key: object) -> None:
        self.key = key
        self.calls = 0

    def verify(self, signature: bytes, data: bytes) -> None:
        self.calls += 1
        self.key.verify(signature, data)  # type: ignore[attr-defined]


def counted(verifier: Verifier) -> list[CountingKey]:
    """Wrap the public key of every secret of ``verifier`` in a counter."""
    counters = []
    for secret in verifier.provider.secret_set():
        material = verifier.scheme.material(secret)
        counter = CountingKey(material._public)  # type: ignore[attr-defined]
        material._public = counter  # type: ignore[attr-defined]
        counters.append(counter)
    return counters


def forged_v1a(count: int) -> dict[str, str]:
    entries = " ".join("v1a," + base64.b64encode(bytes([i]) * 64).decode() for i in range(count))
    return headers_for(entries)


def checks(counters: list[CountingKey]) -> int:
    return sum(c.calls for c in counters)


@pytest.mark.parametrize("keys", [1, 2, 3])
@pytest.mark.parametrize("streamed", [False, True])
def test_forged_v1a_costs_a_bounded_number_of_checks_per_key(keys: int, streamed: bool) -> None:
    """Up to MAX_V1A_SIGNATURES v1a entries are checked; more is malformed and costs nothing."""
    from hookseal.schemes.standard import MAX_V1A_SIGNATURES

    verifier = Verifier([ed25519_keys()[1] for _ in range(keys)], scheme="standard")
    counters = counted(verifier)

    def attempt(headers: dict[str, str]) -> None:
        if not streamed:
            verifier.verify(BODY, headers, now=NOW)
            return
        pending = verifier.begin(headers, now=NOW)
        pending.update(BODY[:5])
        pending.update(BODY[5:])
        pending.finish()

    with pytest.raises(SignatureMismatch):
        attempt(forged_v1a(MAX_V1A_SIGNATURES))
    assert checks(counters) <= MAX_V1A_SIGNATURES * keys
    for too_many in (MAX_V1A_SIGNATURES + 1, 16):
        before = checks(counters)
        with pytest.raises(MalformedSignature):
            attempt(forged_v1a(too_many))
        assert checks(counters) == before  # refused before any Ed25519 check


@pytest.mark.parametrize("held", [0, 1, 5])
def test_rotation_with_six_sender_keys_verifies_with_any_one(held: int) -> None:
    """A sender mid-rotation signs with every key; a receiver holding any one of them accepts."""
    pairs = [ed25519_keys() for _ in range(6)]
    headers = sign(BODY, [whsk for whsk, _, _ in pairs], scheme="standard", now=NOW)
    assert len(headers["webhook-signature"].split()) == 6
    verifier = Verifier(pairs[held][1], scheme="standard")
    counters = counted(verifier)
    assert verifier.verify(BODY, headers, now=NOW)
    assert checks(counters) <= 6


def test_v1a_limit_leaves_room_for_v1_entries() -> None:
    whsk, whpk, _ = ed25519_keys()
    others = " ".join(v1(b"other" + bytes([i])) for i in range(10))
    headers = sign(BODY, whsk, scheme="standard", now=NOW, message_id="msg_1")
    mixed = headers_for(f"{others} {headers['webhook-signature']}")
    assert check(mixed, whpk)
