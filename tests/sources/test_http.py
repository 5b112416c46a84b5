"""HttpSource against a real HTTP server on 127.0.0.1 that rotates, fails, hangs and lies."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from _dripping_server import dripping_server
from _http_secrets_server import Server, secrets_http_server
from hookseal import Keyring, NoActiveSecret, SignatureMismatch, Verifier
from hookseal.errors import ConfigurationError
from hookseal.sources._base import SourceError
from hookseal.sources.http import HttpSource, JsonMapping, cache_ttl
from hookseal.testing import signed_request

OLD = "old-secret-value-aaaaaaaaaaaaaaaa"
NEW = "new-secret-value-bbbbbbbbbbbbbbbb"
TOKEN = "tok-very-private-123"


@pytest.fixture
def server() -> Iterator[Server]:
    with secrets_http_server({"secrets": [{"id": "k1", "value": OLD}]}) as running:
        yield running


@pytest.fixture
def source(server: Server) -> Iterator[HttpSource]:
    src = HttpSource(server.url, timeout=2.0)
    yield src
    src.close()


def _values(fetched_secrets: Any) -> dict[str, bytes]:
    return {s.id: s.reveal() for s in fetched_secrets}


# -- serving and rotating -------------------------------------------------------------------


def test_serves_keys(source: HttpSource) -> None:
    fetched = source.fetch()
    assert _values(fetched.secrets) == {"k1": OLD.encode()}
    assert fetched.ttl is None


def test_rotation_at_the_source_is_seen_on_the_next_fetch(
    server: Server, source: HttpSource
) -> None:
    assert source.fetch().secrets.ids == ("k1",)
    server.behaviour.document = {
        "secrets": [
            {"id": "k2", "value": NEW},
            {"id": "k1", "value": OLD, "expires_at": "2030-01-01T00:00:00Z"},
        ]
    }
    fetched = source.fetch()
    assert fetched.secrets.ids == ("k2", "k1")
    old = fetched.secrets.get("k1")
    assert old is not None
    assert old.expires_at == 1893456000.0


def test_rotation_end_to_end_with_a_verifier(server: Server, source: HttpSource) -> None:
    rotate_at = 2_000_000_000
    server.behaviour.document = {
        "secrets": [
            {"id": "k2", "value": NEW},
            {"id": "k1", "value": OLD, "expires_at": rotate_at},
        ]
    }
    verifier = Verifier(source.fetch().secrets, leeway=60)
    before = rotate_at - 100
    body, headers = signed_request({"n": 1}, OLD, now=before)
    assert verifier.verify(body, headers, now=before).secret_id == "k1"
    body, headers = signed_request({"n": 2}, NEW, now=before)
    assert verifier.verify(body, headers, now=before).secret_id == "k2"
    after = rotate_at + 61
    body, headers = signed_request({"n": 3}, OLD, now=after)
    with pytest.raises(SignatureMismatch):
        verifier.verify(body, headers, now=after)


def test_post_with_json_body(server: Server) -> None:
    with_body = HttpSource(server.url, method="post", json_body={"account": "a1"})
    try:
        assert with_body.fetch().secrets.ids == ("k1",)
    finally:
        with_body.close()
    method, body = server.behaviour.requests[-1]
    assert method == "POST"
    assert json.loads(body) == {"account": "a1"}


# -- auth -----------------------------------------------------------------------------------


def test_bearer_token_is_sent_and_never_shown(server: Server) -> None:
    server.behaviour.token = TOKEN
    anonymous = HttpSource(server.url)
    authed = HttpSource(server.url, headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with pytest.raises(SourceError, match="HTTP 401") as info:
            anonymous.fetch()
        assert authed.fetch().secrets.ids == ("k1",)
        server.behaviour.token = "rotated-token"
        with pytest.raises(SourceError, match="HTTP 401") as info:
            authed.fetch()
        assert TOKEN not in str(info.value)
        assert info.value.__cause__ is None
        assert info.value.__context__ is None
        assert TOKEN not in repr(authed)
    finally:
        anonymous.close()
        authed.close()


def test_query_string_credentials_stay_out_of_errors_and_repr(server: Server) -> None:
    server.behaviour.mode = "status"
    server.behaviour.status = 403
    src = HttpSource(server.url + "?api_key=" + TOKEN)
    try:
        with pytest.raises(SourceError, match="HTTP 403") as info:
            src.fetch()
    finally:
        src.close()
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(src)
    assert "/webhooks/secrets" in str(info.value)


# -- failures -------------------------------------------------------------------------------


def test_server_error_never_quotes_the_body(server: Server, source: HttpSource) -> None:
    server.behaviour.mode = "status"
    server.behaviour.status = 500
    with pytest.raises(SourceError, match="HTTP 500") as info:
        source.fetch()
    assert OLD not in str(info.value)


def test_redirects_are_not_followed(server: Server, source: HttpSource) -> None:
    server.behaviour.mode = "status"
    server.behaviour.status = 302
    server.behaviour.headers = {"Location": "http://127.0.0.1:1/elsewhere"}
    with pytest.raises(SourceError, match="HTTP 302"):
        source.fetch()


def test_hanging_server_times_out(server: Server) -> None:
    server.behaviour.mode = "hang"
    src = HttpSource(server.url, timeout=0.2)
    try:
        with pytest.raises(SourceError, match=r"timed out after 0\.2s") as info:
            src.fetch()
        # httpx's exception holds the request and its headers: it is not chained
        assert info.value.__cause__ is None
        assert info.value.__suppress_context__
    finally:
        src.close()


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    src = HttpSource(f"http://127.0.0.1:{port}/secrets", timeout=1.0)
    try:
        with pytest.raises(SourceError, match="request failed \\(ConnectError\\)"):
            src.fetch()
    finally:
        src.close()


def test_garbage_is_refused_without_quoting_it(server: Server, source: HttpSource) -> None:
    server.behaviour.mode = "raw"
    server.behaviour.raw = b'{"secrets": [{"value": "' + OLD.encode() + b'"'
    with pytest.raises(SourceError, match="not valid JSON") as info:
        source.fetch()
    assert OLD not in str(info.value)
    server.behaviour.raw = b"\xff\xfe\x00garbage"
    with pytest.raises(SourceError, match="not valid JSON"):
        source.fetch()
    server.behaviour.raw = b"[" * 100_000  # nested deeper than the json module can read
    with pytest.raises(SourceError, match="not valid JSON"):
        source.fetch()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"keys": []}, "no list at 'secrets'"),
        ({"secrets": {"id": "k1"}}, "'secrets' is not a list"),
        ({"secrets": ["plain"]}, "item 1 of the secrets list is not an object"),
        (
            {"secrets": [{"id": "a", "value": "x"}, {"id": "b", "secret": OLD}]},
            "response field 'value' missing in item 2",
        ),
        ({"secrets": [{"id": "a", "value": 42}]}, "'value' in item 1 is not a non-empty string"),
        ({"secrets": [{"id": "a", "value": ""}]}, "'value' in item 1 is not a non-empty string"),
        ({"secrets": [{"id": [1], "value": "x"}]}, "'id' in item 1 is not a string"),
        ({"secrets": []}, "no usable secret"),
        (
            {"secrets": [{"id": "a", "value": "x", "expires_at": "tomorrow"}]},
            "'expires_at' in item 1: not an ISO-8601 time",
        ),
        (
            {"secrets": [{"id": "a", "value": "x", "expires_at": "2030-01-01T00:00:00"}]},
            "'expires_at' in item 1: the time needs a timezone",
        ),
        (
            {"secrets": [{"id": "a", "value": "x"}, {"id": "a", "value": "y"}]},
            "appears twice",
        ),
        ([{"id": "a", "value": "x"}], "no list at 'secrets'"),
        (  # review: an integer too large for a float raised a bare OverflowError
            {"secrets": [{"id": "a", "value": "x", "expires_at": 10**400}]},
            "'expires_at' in item 1: not a finite number",
        ),
    ],
)
def test_wrong_shapes(server: Server, source: HttpSource, document: Any, message: str) -> None:
    server.behaviour.document = document
    with pytest.raises(SourceError, match=message) as info:
        source.fetch()
    assert OLD not in str(info.value)


def test_top_level_list(server: Server) -> None:
    server.behaviour.document = [{"id": "a", "value": "x"}]
    src = HttpSource(server.url, mapping=JsonMapping(items=""))
    try:
        assert src.fetch().secrets.ids == ("a",)
    finally:
        src.close()


def test_oversized_response_is_refused(server: Server) -> None:
    server.behaviour.mode = "raw"
    server.behaviour.raw = b" " * 5000 + b"{}"
    src = HttpSource(server.url, max_response_size=4096)
    try:
        with pytest.raises(SourceError, match="larger than 4096 bytes"):
            src.fetch()
    finally:
        src.close()


def test_bad_configuration() -> None:
    with pytest.raises(ConfigurationError):
        HttpSource("not a url")
    with pytest.raises(ConfigurationError):
        HttpSource("ftp://example.test/x")
    with pytest.raises(ConfigurationError):
        HttpSource("http://127.0.0.1/x", timeout=0)


# -- caching hints --------------------------------------------------------------------------


def test_cache_control_max_age_becomes_the_ttl(server: Server, source: HttpSource) -> None:
    server.behaviour.headers = {"Cache-Control": "public, max-age=120"}
    assert source.fetch().ttl == 120.0
    server.behaviour.headers = {"Cache-Control": "max-age=120", "Age": "20"}
    assert source.fetch().ttl == 100.0
    server.behaviour.headers = {"Cache-Control": "no-store"}
    assert source.fetch().ttl == 0.0


def test_a_huge_max_age_is_clamped_not_a_crash(server: Server, source: HttpSource) -> None:
    # RFC 9111 5.2.1: a delta-seconds past 2**31 is taken as 2**31. 400 digits overflowed a
    # float and 5000 digits Python's int parser, and every fetch failed on that header alone
    server.behaviour.headers = {"Cache-Control": "max-age=" + "9" * 400}
    assert source.fetch().ttl == 2.0**31
    server.behaviour.headers = {"Cache-Control": "max-age=" + "9" * 5000, "Age": "9" * 5000}
    assert source.fetch().ttl == 0.0


@pytest.mark.parametrize(
    ("headers", "ttl"),
    [
        ({}, None),
        ({"cache-control": "max-age=abc"}, None),
        ({"cache-control": "max-age=\u00b2"}, None),
        ({"cache-control": 'max-age="30"'}, 30.0),
        ({"cache-control": "max-age=30", "age": "45"}, 0.0),
        ({"cache-control": "private, no-cache"}, 0.0),
        ({"cache-control": "max-age=4294967296"}, 2.0**31),
        ({"cache-control": "max-age=" + "1" * 20, "age": "1" * 20}, 0.0),
    ],
)
def test_cache_ttl(headers: dict[str, str], ttl: float | None) -> None:
    assert cache_ttl(headers) == ttl


# -- mapping options (the provider APIs have sources of their own: tests/sources/test_retail.py,
# test_billing.py, test_payments.py) ---------------------------------------------------------


def test_retired_presets_are_gone() -> None:
    # retail() and billing() described shapes the real APIs do not have (issue 9)
    assert not hasattr(JsonMapping, "retail")
    assert not hasattr(JsonMapping, "billing")


def test_active_and_deleted_flags_drop_entries(server: Server) -> None:
    server.behaviour.document = {
        "signatures": [
            {"id": 11, "value": "0123456789abcdef0123456789abcdef", "active": True,
             "deleted": False, "created_date": "2026-01-01T00:00:00Z"},
            {"id": 12, "value": "fedcba9876543210fedcba9876543210", "active": True,
             "deleted": False, "created_date": "2026-02-01T00:00:00Z"},
            {"id": 13, "value": "00000000000000000000000000000000", "active": False,
             "deleted": False},
            {"id": 14, "value": "11111111111111111111111111111111", "active": True,
             "deleted": True},
        ]
    }  # fmt: skip
    src = HttpSource(
        server.url, mapping=JsonMapping(items="signatures", active="active", deleted="deleted")
    )
    try:
        assert src.fetch().secrets.ids == ("11", "12")
        server.behaviour.document["signatures"][0]["active"] = "yes"
        with pytest.raises(SourceError, match="'active' in item 1 is not a boolean"):
            src.fetch()
    finally:
        src.close()


def test_rotate_at_ends_every_secret_but_the_current_one(server: Server) -> None:
    endpoint: dict[str, object] = {
        "id": "we_1",
        "url": "https://example.test/hook",
        "rotate_at": "2033-05-18T03:33:20Z",
        "secrets": [
            {"id": "whsec_old", "value": OLD, "current": False},
            {"id": "whsec_new", "value": NEW, "current": True},
        ],
    }
    server.behaviour.document = endpoint
    src = HttpSource(server.url, mapping=JsonMapping(rotate_at="rotate_at", current="current"))
    try:
        in_rotation = src.fetch().secrets
        old, new = in_rotation.get("whsec_old"), in_rotation.get("whsec_new")
        assert old is not None
        assert old.expires_at == 2_000_000_000.0
        assert new is not None
        assert new.expires_at is None
        assert in_rotation.candidates(1_999_999_000.0, 60) == (old, new)
        assert in_rotation.candidates(2_000_000_061.0, 60) == (new,)

        endpoint["rotate_at"] = None  # rotation finished: the previous secret is gone
        assert src.fetch().secrets.ids == ("whsec_new",)
        del endpoint["rotate_at"]
        assert src.fetch().secrets.ids == ("whsec_new",)

        endpoint["rotate_at"] = "soon"
        with pytest.raises(SourceError, match="'rotate_at': not an ISO-8601 time"):
            src.fetch()
    finally:
        src.close()


def test_rotate_at_without_a_current_flag_keeps_the_first_item_open() -> None:
    mapping = JsonMapping(rotate_at="rotation.ends")
    document = {
        "rotation": {"ends": 1_900_000_000},
        "secrets": [{"id": "new", "value": NEW}, {"id": "old", "value": OLD}],
    }
    secrets = mapping.secret_set(document)
    assert [(s.id, s.expires_at) for s in secrets] == [("new", None), ("old", 1_900_000_000.0)]


# -- asyncio --------------------------------------------------------------------------------


async def test_async_fetch_and_rotation(server: Server) -> None:
    src = HttpSource(server.url, headers={"Authorization": f"Bearer {TOKEN}"})
    server.behaviour.token = TOKEN
    server.behaviour.headers = {"Cache-Control": "max-age=30"}
    try:
        fetched = await src.afetch()
        assert _values(fetched.secrets) == {"k1": OLD.encode()}
        assert fetched.ttl == 30.0
        server.behaviour.document = {"secrets": [{"id": "k2", "value": NEW}]}
        assert (await src.afetch()).secrets.ids == ("k2",)
        server.behaviour.mode = "status"
        server.behaviour.status = 502
        with pytest.raises(SourceError, match="HTTP 502"):
            await src.afetch()
    finally:
        await src.aclose()


async def test_async_hang_times_out(server: Server) -> None:
    server.behaviour.mode = "hang"
    src = HttpSource(server.url, timeout=0.2)
    try:
        with pytest.raises(SourceError, match="timed out"):
            await src.afetch()
    finally:
        await src.aclose()


async def test_async_garbage_and_oversize(server: Server) -> None:
    server.behaviour.mode = "raw"
    server.behaviour.raw = b"<html>oops</html>"
    src = HttpSource(server.url, max_response_size=8)
    try:
        with pytest.raises(SourceError, match="larger than 8 bytes"):
            await src.afetch()
        server.behaviour.raw = b"<html>"
        with pytest.raises(SourceError, match="not valid JSON"):
            await src.afetch()
    finally:
        await src.aclose()


def test_transport_is_used_and_wrong_kind_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"secrets": [{"id": "m", "value": "mocked"}]})

    src = HttpSource("http://secrets.test/x", transport=httpx.MockTransport(answer))
    assert src.fetch().secrets.ids == ("m",)
    src.close()
    async_only = HttpSource("http://secrets.test/x", transport=httpx.AsyncHTTPTransport())
    with pytest.raises(ConfigurationError, match="async-only"):
        async_only.fetch()


# -- timeout bounds the whole fetch (issue 8, item 8) ---------------------------------------

DRIP_TIMEOUT = 2.0  # httpx's per-read timeout never fires: a byte arrives every second
GIVE_UP = 15.0  # a failure bound only: the drip would take minutes to finish


def _fetch_in_thread(src: HttpSource) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            src.fetch()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run, name="test-fetch")
    thread.start()
    return thread, raised


def _until(condition: Callable[[], bool]) -> bool:
    pause = threading.Event()
    for _ in range(int(GIVE_UP / 0.05)):
        if condition():
            return True
        pause.wait(0.05)
    return condition()


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_timeout_bounds_the_whole_sync_fetch(phase: str) -> None:
    with dripping_server(interval=1.0, phase=phase) as drip:
        src = HttpSource(drip.url, timeout=DRIP_TIMEOUT)
        thread, raised = _fetch_in_thread(src)
        thread.join(GIVE_UP)
        try:
            assert not thread.is_alive(), "the fetch outlived its timeout"
            (error,) = raised
            assert isinstance(error, SourceError)
            assert "timed out after 2s" in str(error)
            assert _until(lambda: drip.live == 0)  # the connection is gone too
            assert not [t for t in threading.enumerate() if t.name.startswith("hookseal")]
        finally:
            src.close()


@pytest.mark.parametrize("phase", ["headers", "body"])
async def test_timeout_bounds_the_whole_async_fetch(phase: str) -> None:
    with dripping_server(interval=1.0, phase=phase) as drip:
        src = HttpSource(drip.url, timeout=DRIP_TIMEOUT)
        try:
            with pytest.raises(SourceError, match=r"timed out after 2s"):
                await asyncio.wait_for(src.afetch(), GIVE_UP)
        finally:
            await src.aclose()
        assert await asyncio.to_thread(_until, lambda: drip.live == 0)


def test_close_ends_a_fetch_in_progress() -> None:
    with dripping_server(interval=1.0, phase="body") as drip:
        src = HttpSource(drip.url, timeout=60)
        thread, raised = _fetch_in_thread(src)
        assert _until(lambda: drip.accepted == 1)
        src.close()
        thread.join(GIVE_UP)
        assert not thread.is_alive()
        assert [type(e) for e in raised] == [SourceError]
        assert _until(lambda: drip.live == 0)


def test_a_keyring_over_a_dripping_source_holds_one_connection_and_none_after_close() -> None:
    """The keyring gives up waiting after fetch_timeout, but opens no second fetch (and
    connection) while the first is still inside the source; close leaves nothing behind."""
    with dripping_server(interval=1.0, phase="headers") as drip:
        keyring = Keyring(
            HttpSource(drip.url, timeout=DRIP_TIMEOUT),
            fetch_timeout=0.5,
            backoff_base=0.05,
            backoff_max=0.1,
        )
        pause = threading.Event()
        for _ in range(12):  # about 4 s of cold requests, each answered 503
            with pytest.raises(NoActiveSecret):
                keyring.secret_set()
            pause.wait(0.3)
        assert drip.accepted >= 2  # the source was asked again once the first fetch ended
        keyring.close()
        assert _until(lambda: drip.live == 0)
        assert _until(lambda: not [t for t in threading.enumerate() if "hookseal" in t.name])
        assert drip.most_live == 1


async def test_aclose_leaves_nothing_of_a_keyring_over_a_dripping_source() -> None:
    with dripping_server(interval=1.0, phase="body") as drip:
        keyring = Keyring(HttpSource(drip.url, timeout=DRIP_TIMEOUT), fetch_timeout=1)
        with pytest.raises(NoActiveSecret):
            await keyring.astart(timeout=0.5)
        await keyring.aclose()
        assert asyncio.all_tasks() == {asyncio.current_task()}
        assert await asyncio.to_thread(_until, lambda: drip.live == 0)
        assert await asyncio.to_thread(
            _until, lambda: not [t for t in threading.enumerate() if "hookseal" in t.name]
        )


def test_a_keyring_fetches_an_async_only_transport_on_its_own_loop(server: Server) -> None:
    src = HttpSource(server.url, timeout=2, transport=httpx.AsyncHTTPTransport())
    assert src.async_only
    with Keyring(src, cooldown=0) as keyring:  # sync callers too: afetch on the keyring's loop
        assert keyring.secret_set().ids == ("k1",)
        server.behaviour.document = {"secrets": [{"id": "k2", "value": NEW}]}
        found = asyncio.run(keyring.arefresh_after_mismatch())
        assert found is not None
        assert found.ids == ("k2",)
    assert server.hits == 2
    assert not [t for t in threading.enumerate() if t.name.startswith("hookseal")]
