"""Secrets keep their value hidden, have stable ids, and obey their validity windows."""

from __future__ import annotations

import copy
import datetime as dt
import pickle

import pytest

from hookseal import ConfigurationError, Secret, SecretSet, sign, verify
from hookseal.errors import NoActiveSecret, SignatureMismatch
from hookseal.secrets import DEFAULT_LEEWAY, SecretProvider, as_provider, fingerprint

VALUE = "super-secret-value-123"
ROTATE_AT = 1_700_000_000.0


# -- Secret ---------------------------------------------------------------------------------------


def test_repr_and_str_never_show_the_value() -> None:
    for secret in (
        Secret(VALUE),
        Secret(VALUE.encode(), id="k1"),
        Secret(VALUE, id="k1", not_before=1, expires_at=2),
    ):
        for text in (
            repr(secret),
            str(secret),
            f"{secret}",
            repr([secret]),
            repr(SecretSet([secret])),
        ):
            assert VALUE not in text
            assert secret.id in text


def test_fingerprint_id_is_stable_and_distinct() -> None:
    """Logs and metrics can tell secrets apart without seeing them."""
    a1, a2, b = Secret(VALUE), Secret(VALUE.encode()), Secret(VALUE + "x")
    assert a1.id == a2.id == fingerprint(VALUE.encode())
    assert a1.id != b.id
    assert a1.id.startswith("fp-")
    assert len(a1.id) == 3 + 8
    int(a1.id[3:], 16)
    assert VALUE not in a1.id


def test_fingerprint_is_not_a_bare_hash_of_the_value() -> None:
    """A fixed label is mixed in, so the id is not a lookup key into a table of plain hashes."""
    import hashlib

    assert Secret(VALUE).id[3:] != hashlib.sha256(VALUE.encode()).hexdigest()[:8]


def test_explicit_id_is_kept() -> None:
    assert Secret(VALUE, id="whsec_live_1").id == "whsec_live_1"


@pytest.mark.parametrize("bad_id", ["", "x" * 129, "caf\u00e9", "tab\there", "nl\n"])
def test_bad_ids_are_refused(bad_id: str) -> None:
    with pytest.raises(ConfigurationError):
        Secret(VALUE, id=bad_id)


@pytest.mark.parametrize("value", ["", b"", None, 123, 1.5, ["x"], object()])
def test_bad_values_are_refused(value: object) -> None:
    with pytest.raises(ConfigurationError):
        Secret(value)  # type: ignore[arg-type]


def test_value_is_held_as_bytes() -> None:
    assert Secret("caf\u00e9").reveal() == "caf\u00e9".encode()
    assert Secret(bytearray(b"abc")).reveal() == b"abc"  # type: ignore[arg-type]
    assert Secret(memoryview(b"abc")).reveal() == b"abc"  # type: ignore[arg-type]


def test_immutable() -> None:
    secret = Secret(VALUE, id="k1")
    with pytest.raises(AttributeError):
        secret.id = "k2"
    with pytest.raises(AttributeError):
        secret._value = b"other"
    with pytest.raises(AttributeError):
        del secret.expires_at
    assert secret.id == "k1"
    assert secret.reveal() == VALUE.encode()


def test_pickling_and_copying_by_reduce_are_refused() -> None:
    """Pickles end up in caches and queues; a secret must not travel that way."""
    with pytest.raises(TypeError):
        pickle.dumps(Secret(VALUE))
    with pytest.raises(TypeError):
        pickle.dumps(SecretSet([VALUE]))
    with pytest.raises(TypeError):
        copy.deepcopy(Secret(VALUE))


def test_equality_and_hash() -> None:
    assert Secret(VALUE, id="a") == Secret(VALUE, id="a")
    assert Secret(VALUE, id="a") != Secret("other", id="a")
    assert Secret(VALUE, id="a") != Secret(VALUE, id="b")
    assert Secret(VALUE, id="a", expires_at=5) != Secret(VALUE, id="a")
    assert hash(Secret(VALUE, id="a")) == hash(Secret(VALUE, id="a"))
    assert Secret(VALUE) != VALUE


def test_window_bounds_accept_aware_datetimes() -> None:
    when = dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)
    secret = Secret(VALUE, not_before=when, expires_at=when + dt.timedelta(hours=1))
    assert secret.not_before == when.timestamp()
    assert secret.expires_at == when.timestamp() + 3600


@pytest.mark.parametrize(
    "kwargs",
    [
        {"not_before": dt.datetime(2023, 1, 1)},  # naive: refused, never guessed
        {"expires_at": dt.datetime(2023, 1, 1)},
        {"expires_at": True},
        {"expires_at": "2023-01-01"},
        {"expires_at": float("nan")},
        {"expires_at": float("inf")},
        {"expires_at": 10**400},
        {"not_before": 10, "expires_at": 10},
        {"not_before": 11, "expires_at": 10},
    ],
)
def test_bad_windows_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Secret(VALUE, **kwargs)  # type: ignore[arg-type]


def test_is_valid_at_applies_leeway_at_both_ends() -> None:
    secret = Secret(VALUE, not_before=1000, expires_at=2000)
    assert not secret.is_valid_at(1000 - 60.001, 60)
    assert secret.is_valid_at(1000 - 60, 60)
    assert secret.is_valid_at(2000 + 59.999, 60)
    assert not secret.is_valid_at(2000 + 60, 60)
    assert not secret.is_valid_at(2000, 0)
    assert secret.is_valid_at(1999.999, 0)


def test_replace_keeps_the_value() -> None:
    secret = Secret(VALUE, id="a")
    later = secret.replace(expires_at=50)
    assert later.reveal() == secret.reveal()
    assert later.id == "a"
    assert later.expires_at == 50
    assert secret.expires_at is None
    assert secret.replace(id="b").id == "b"


# -- SecretSet ------------------------------------------------------------------------------------


def test_rotating_both_verify_until_rotate_at_plus_leeway_then_only_current() -> None:
    keys = SecretSet.rotating(current="new", previous="old", rotate_at=ROTATE_AT)
    new, old = Secret("new").id, Secret("old").id

    def ids(now: float) -> list[str]:
        return [s.id for s in keys.candidates(now, 60)]

    assert ids(ROTATE_AT - 3600) == [new, old]
    assert ids(ROTATE_AT) == [new, old]
    assert ids(ROTATE_AT + 59.999) == [new, old]
    assert ids(ROTATE_AT + 60) == [new]
    assert ids(ROTATE_AT + 10**9) == [new]


def test_rotating_previous_never_verifies_after_rotate_at_plus_leeway() -> None:
    """End to end through verify(): a request signed with the old secret, correctly signed and
    timestamped, is refused as soon as rotate_at + leeway has passed."""
    keys = SecretSet.rotating(current="new", previous="old", rotate_at=ROTATE_AT)
    body = b'{"event": 1}'
    for scheme in ("signature", "stripe", "slack"):
        for now in (ROTATE_AT + 60, ROTATE_AT + 61, ROTATE_AT + 86_400 * 365):
            headers = sign(body, "old", scheme=scheme, now=now)
            with pytest.raises(SignatureMismatch):
                verify(body, headers, keys, scheme=scheme, now=now, leeway=60)
            assert verify(
                body, sign(body, "new", scheme=scheme, now=now), keys, scheme=scheme, now=now
            )
        now = ROTATE_AT + 59
        old_ok = verify(
            body, sign(body, "old", scheme=scheme, now=now), keys, scheme=scheme, now=now
        )
        assert old_ok.secret_id == Secret("old").id


def test_rotating_with_a_larger_leeway_and_zero_leeway() -> None:
    keys = SecretSet.rotating(current="new", previous="old", rotate_at=ROTATE_AT)
    body = b"x"
    headers = sign(body, "old")
    assert verify(body, headers, keys, now=ROTATE_AT + 299, leeway=300)
    with pytest.raises(SignatureMismatch):
        verify(body, headers, keys, now=ROTATE_AT + 300, leeway=300)
    with pytest.raises(SignatureMismatch):
        verify(body, headers, keys, now=ROTATE_AT, leeway=0)


def test_rotating_clamps_a_later_expiry_of_the_previous_secret() -> None:
    keys = SecretSet.rotating(
        current="new",
        previous=Secret("old", id="old", expires_at=ROTATE_AT + 10**6),
        rotate_at=ROTATE_AT,
    )
    old = keys.get("old")
    assert old is not None
    assert old.expires_at == ROTATE_AT
    earlier = SecretSet.rotating(
        current="new",
        previous=Secret("old", id="old", expires_at=ROTATE_AT - 5),
        rotate_at=ROTATE_AT,
    )
    assert earlier.get("old").expires_at == ROTATE_AT - 5  # type: ignore[union-attr]


def test_rotating_accepts_datetimes_and_refuses_naive() -> None:
    when = dt.datetime.fromtimestamp(ROTATE_AT, tz=dt.timezone.utc)
    keys = SecretSet.rotating(current="new", previous="old", rotate_at=when)
    assert [s.id for s in keys.candidates(ROTATE_AT + 61)] == [Secret("new").id]
    with pytest.raises(ConfigurationError):
        SecretSet.rotating(current="new", previous="old", rotate_at=when.replace(tzinfo=None))


def test_rotating_with_the_same_value_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        SecretSet.rotating(current="same", previous="same", rotate_at=ROTATE_AT)


def test_not_before_window() -> None:
    """A secret announced ahead of time is valid from not_before - leeway."""
    keys = SecretSet([Secret("future", id="f", not_before=ROTATE_AT), Secret("now", id="n")])
    assert [s.id for s in keys.candidates(ROTATE_AT - 61, 60)] == ["n"]
    assert [s.id for s in keys.candidates(ROTATE_AT - 60, 60)] == ["f", "n"]
    body = b"x"
    with pytest.raises(SignatureMismatch):
        verify(body, sign(body, "future"), keys, now=ROTATE_AT - 61)
    assert verify(body, sign(body, "future"), keys, now=ROTATE_AT - 60).secret_id == "f"


def test_all_expired_means_no_active_secret() -> None:
    keys = SecretSet([Secret("a", expires_at=ROTATE_AT)])
    body = b"x"
    with pytest.raises(NoActiveSecret) as info:
        verify(body, sign(body, "a", now=ROTATE_AT - 1), keys, now=ROTATE_AT + DEFAULT_LEEWAY)
    assert info.value.status == 503


def test_candidates_keep_the_set_order() -> None:
    keys = SecretSet(["c", "a", "b"])
    assert [s.reveal() for s in keys.candidates(0.0)] == [b"c", b"a", b"b"]


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="twice"):
        SecretSet([Secret("a", id="k"), Secret("b", id="k")])
    with pytest.raises(ConfigurationError):
        SecretSet(["same", b"same"])  # same fingerprint


def test_secret_set_is_immutable_and_reports_ids() -> None:
    keys = SecretSet([Secret("a", id="one"), "b"])
    with pytest.raises(AttributeError):
        keys._secrets = ()
    assert keys.ids == ("one", Secret("b").id)
    assert len(keys) == 2
    assert keys
    assert not SecretSet()
    assert keys.get("one") is not None
    assert keys.get("nope") is None
    assert next(iter(keys)).id == "one"
    assert keys == SecretSet([Secret("a", id="one"), "b"])
    assert hash(keys) == hash(SecretSet([Secret("a", id="one"), "b"]))


@pytest.mark.parametrize(
    "given",
    [
        "s3cr3t",
        b"s3cr3t",
        Secret("s3cr3t"),
        ["s3cr3t"],
        ("s3cr3t",),
        [b"s3cr3t"],
        [Secret("s3cr3t")],
    ],
)
def test_coerce_accepts_every_public_form(given: object) -> None:
    keys = SecretSet.coerce(given)  # type: ignore[arg-type]
    assert keys.ids == (Secret("s3cr3t").id,)
    assert verify(b"x", sign(b"x", given), given)  # type: ignore[arg-type]


def test_coerce_returns_a_set_as_is_and_mixed_lists() -> None:
    keys = SecretSet(["a"])
    assert SecretSet.coerce(keys) is keys
    mixed = SecretSet.coerce(["a", b"b", Secret("c", id="c")])
    assert mixed.ids == (Secret("a").id, Secret("b").id, "c")
    assert SecretSet.coerce(x for x in ["a", "b"]).ids == (Secret("a").id, Secret("b").id)


@pytest.mark.parametrize(
    "bad", [None, 123, 1.5, [123], [None], [""], "", b"", {"id": "value"}, [["nested"]], object()]
)
def test_bad_secrets_are_configuration_errors(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        SecretSet.coerce(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        as_provider(bad)  # type: ignore[arg-type]


def test_a_secret_set_is_its_own_static_provider() -> None:
    keys = SecretSet(["a"])
    assert isinstance(keys, SecretProvider)
    assert as_provider(keys) is keys
    assert keys.secret_set() is keys
    assert keys.refresh_after_mismatch() is None
    keys.record_match(next(iter(keys)))  # a no-op for a static set


async def test_async_provider_methods() -> None:
    keys = SecretSet(["a"])
    assert await keys.asecret_set() is keys
    assert await keys.arefresh_after_mismatch() is None


# -- one whitespace rule, one id per key (issue 10, item 7) ----------------------------------------


@pytest.mark.parametrize("text", [" s3cr3t", "s3cr3t\n", "\ts3cr3t \r\n", "s3cr3t"])
def test_a_text_secret_loses_its_surrounding_whitespace(text: str) -> None:
    """Before: the CLI and the file and env sources stripped it, a str in code did not, so the
    CLI said VERIFIED where the app answered 401."""
    assert Secret(text).reveal() == b"s3cr3t"
    body = b'{"type": "invoice.paid"}'
    assert verify(body, sign(body, "s3cr3t"), text).secret_id == Secret("s3cr3t").id


def test_bytes_are_used_exactly() -> None:
    """A binary key may begin or end with a byte that looks like whitespace."""
    key = b"\n\x00key \t"
    assert Secret(key).reveal() == key
    body = b"{}"
    with pytest.raises(SignatureMismatch):
        verify(body, sign(body, key.strip()), key)


def test_whitespace_alone_is_an_empty_secret() -> None:
    with pytest.raises(ConfigurationError):
        Secret(" \n\t")


def test_inner_whitespace_is_kept() -> None:
    assert Secret(" two words ").reveal() == b"two words"


def test_one_key_one_id_with_or_without_whsec() -> None:
    """Before: 'whsec_X' and 'X' got two ids, though Standard Webhooks keys on the same bytes."""
    value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    bare = value.removeprefix("whsec_")
    assert Secret(value).id == Secret(bare).id == fingerprint(bare.encode())
    body = b'{"type": "user.created"}'
    headers = sign(body, value, scheme="standard")
    ids = {verify(body, headers, v, scheme="standard").secret_id for v in (value, bare)}
    assert ids == {Secret(value).id}


def test_only_a_leading_whsec_is_left_out_of_the_id() -> None:
    assert Secret("abc").id != Secret("abc_whsec_").id
    assert Secret("whsec_abc").id != Secret("whsec_whsec_abc").id
    assert Secret("whsec_abc").id != Secret("abd").id
