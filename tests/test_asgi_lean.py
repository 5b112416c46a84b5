"""The ASGI middleware's one-pass path for the default scheme (``_verify_lean``): it decides the
usual requests without the verifier's streaming machinery, and every request, usual or not,
gets exactly the answer the careful path gives (same status, same problem document, same
reads of the body, same messages replayed to the app)."""

from __future__ import annotations

import hmac
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookseal import InMemoryReplayGuard, Secret, Verifier, _accel
from hookseal.asgi import WebhookVerificationMiddleware
from test_asgi import Driver, Inner, Message, chunks_of, guarded, http_scope

SECRET = "asgi-test-secret"
OTHER = "asgi-other-secret"


def _hex(body: bytes, secret: str = SECRET) -> str:
    return hmac.digest(secret.encode(), body, "sha256").hex()


def careful(inner: Any, **options: Any) -> WebhookVerificationMiddleware:
    """The same middleware with the one-pass path off."""
    middleware = guarded(inner, **options)
    middleware._lean = None
    return middleware


@pytest.fixture(params=["c", "python"])
def accelerator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Middlewares made in a test get the C check (when built) or the pure-Python one."""
    if request.param == "python":
        monkeypatch.setattr(_accel, "_speedups", None)
        monkeypatch.setattr("hookseal._material.hmac_key", lambda key: None)
    elif not _accel.speedups_enabled():
        pytest.skip("the C accelerator is not in use")
    return str(request.param)


async def _outcome(app: Any, scope: dict[str, Any], incoming: list[Message]) -> tuple[Any, ...]:
    inner = app.app
    inner.received.clear()
    driver = await Driver([dict(m) for m in incoming]).run(app, scope)
    sent = [(m["type"], m.get("status"), m.get("body")) for m in driver.sent]
    replayed = [(m.get("body"), m.get("more_body")) for m in inner.received]
    return driver.reads, sent, replayed


async def test_usual_requests_skip_the_streaming_verifier(
    accelerator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = guarded(Inner(), secrets=[OTHER, SECRET])
    assert app._lean is not None
    assert (app._lean.fused is None) == (accelerator == "python")

    def streaming(*args: object, **kwargs: object) -> None:
        raise AssertionError("the streaming verifier ran")

    monkeypatch.setattr(Verifier, "begin", streaming)
    monkeypatch.setattr(Verifier, "abegin", streaming)
    body = b'{"event":"paid"}'
    for value in [_hex(body), "sha256=" + _hex(body).upper(), " " + _hex(body) + "\t"]:
        driver = Driver(chunks_of(body, []))
        await driver.run(app, http_scope(headers={"Signature": value}, content_length=len(body)))
        assert driver.status == 200
        assert app.verifier._preferred is not None
        assert app.verifier._preferred.id == Secret(SECRET).id
    driver = Driver(chunks_of(body + b"!", []))
    await driver.run(app, http_scope(headers={"Signature": _hex(body)}))
    assert driver.status == 401  # every secret tried, then refused, still without streaming


def test_only_the_plain_default_set_up_takes_it() -> None:
    assert guarded(Inner())._lean is not None
    assert guarded(Inner(), scheme="github")._lean is None
    assert guarded(Inner(), replay_guard=InMemoryReplayGuard())._lean is None
    assert guarded(Inner(), verifier=Verifier(SECRET, max_body_size=10), secrets=None)._lean is None


BODY = b'{"event":"paid","amount":1200}'
GOOD = _hex(BODY)

CASES: list[tuple[list[tuple[bytes, bytes]], list[Message]]] = [
    ([(b"signature", GOOD.encode())], chunks_of(BODY, [])),
    ([(b"signature", GOOD.encode()), (b"content-length", b"30")], chunks_of(BODY, [])),
    ([(b"Signature", GOOD.encode())], chunks_of(BODY, [3, 10])),  # several chunks
    ([(b"signature", GOOD.encode())], chunks_of(BODY + b"x", [])),  # tampered
    ([(b"signature", _hex(BODY, "nobody").encode())], chunks_of(BODY, [5])),
    ([], chunks_of(BODY, [])),  # missing
    ([(b"signature", b"")], chunks_of(BODY, [])),
    ([(b"signature", b"g" * 64)], chunks_of(BODY, [])),
    ([(b"signature", "é".encode() * 32)], chunks_of(BODY, [])),
    ([(b"signature", GOOD.encode()), (b"signature", GOOD.encode())], chunks_of(BODY, [])),
    ([(b"signature", (GOOD + "," + GOOD).encode())], chunks_of(BODY, [])),  # several: careful
    ([(b"signature", GOOD.encode()), (b"content-length", b"31")], chunks_of(BODY, [])),
    ([(b"signature", GOOD.encode()), (b"content-length", b"x")], chunks_of(BODY, [])),
    ([(b"signature", GOOD.encode()), (b"content-length", b"999")], chunks_of(BODY, [])),  # 413
    (
        [(b"signature", GOOD.encode()), (b"content-length", b"30"), (b"content-length", b"30")],
        chunks_of(BODY, []),
    ),
    ([(b"signature", GOOD.encode())], chunks_of(BODY, [10])[:1]),  # disconnect mid-body
    ([(b"signature", GOOD.encode())], chunks_of(BODY * 20, [300])),  # over the limit (500)
    ([("signature", GOOD)], chunks_of(BODY, [])),  # type: ignore[list-item]  # a str name
]


@pytest.mark.parametrize(("headers", "incoming"), CASES)
async def test_every_case_is_answered_as_the_careful_path_answers(
    accelerator: str, headers: list[tuple[bytes, bytes]], incoming: list[Message]
) -> None:
    scope = http_scope(extra=headers)
    lean = guarded(Inner(), max_body_size=500)
    assert lean._lean is not None
    expected = await _outcome(careful(Inner(), max_body_size=500), dict(scope), incoming)
    assert await _outcome(lean, dict(scope), incoming) == expected


values = st.one_of(
    st.sampled_from([GOOD, GOOD.upper(), "sha256=" + GOOD, "SHA256=" + GOOD, _hex(BODY, OTHER)]),
    st.text(st.sampled_from("0123456789abcdefABCDEF =,\t"), max_size=80),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    value=values,
    splits=st.lists(st.integers(1, 10), max_size=2),
    declared=st.sampled_from([None, len(BODY), len(BODY) + 1, "x"]),
    data=st.data(),
)
async def test_arbitrary_headers_and_chunks_are_answered_alike(
    value: str, splits: list[int], declared: int | str | None, data: st.DataObject
) -> None:
    raw = value.encode("latin-1")
    scope = http_scope(extra=[(b"signature", raw)], content_length=declared)
    incoming = chunks_of(data.draw(st.sampled_from([BODY, BODY + b"!"])), splits)
    for secrets in ([SECRET], [OTHER, SECRET]):
        lean = guarded(Inner(), secrets=secrets)
        expected = await _outcome(careful(Inner(), secrets=secrets), dict(scope), incoming)
        assert await _outcome(lean, dict(scope), incoming) == expected


async def test_a_body_in_several_chunks_is_hashed_as_it_comes(
    accelerator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From its second chunk on, a body streams into the verifier (as the careful path does),
    so a large one is not hashed only after its last chunk has arrived."""
    body = bytes(range(256)) * 8
    messages = chunks_of(body, [100, 100, 100])
    driver = Driver(messages)
    begun_at: list[int] = []
    original = Verifier.begin

    def begin(self: Verifier, *args: Any, **kwargs: Any) -> Any:
        begun_at.append(driver.reads)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Verifier, "begin", begin)
    app = guarded(Inner(), max_body_size=10_000)
    await driver.run(app, http_scope(extra=[(b"signature", _hex(body).encode())]))
    assert driver.status == 200
    assert begun_at == [2]  # after the second of four reads
