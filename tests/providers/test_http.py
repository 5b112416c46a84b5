"""The shared HTTP driver: whole-request timeouts, size caps, no redirects, one flow two drivers."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from _provider_apis import Answer, ApiServer, Received, json_answer, serving
from hookseal.errors import ConfigurationError
from hookseal.providers._http import ApiHttp, ApiRequest, ApiResponse, Flow, basic_auth, quote
from hookseal.providers._read import Shape
from hookseal.providers.errors import MalformedAnswer, ProviderUnreachable


class Echo:
    """Answers every request with what it asked for."""

    def route(self, request: Received) -> Answer:
        return json_answer(
            200,
            {
                "path": request.path,
                "query": request.query,
                "auth": request.headers.get("authorization"),
            },
        )


@pytest.fixture
def echo() -> object:
    with serving(Echo()) as server:
        yield server


def http(
    server: ApiServer[Echo], timeout: float = 10.0, max_response_size: int = 1 << 20
) -> ApiHttp:
    return ApiHttp(
        server.base_url,
        provider="test API",
        headers={"Authorization": "Bearer tok-123"},
        timeout=timeout,
        max_response_size=max_response_size,
    )


def two_calls() -> Flow[list[object]]:
    first = yield ApiRequest("GET", "/one", params={"a": "1"})
    second = yield ApiRequest("GET", "/two")
    return [first.json()["path"], first.json()["query"], second.json()["path"]]


def test_one_flow_two_drivers(echo: ApiServer[Echo]) -> None:
    client = http(echo)
    expected = ["/one", {"a": ["1"]}, "/two"]
    assert client.run(two_calls()) == expected
    assert asyncio.run(client.arun(two_calls())) == expected
    assert echo.received[0].headers["authorization"] == "Bearer tok-123"
    assert echo.received[0].headers["accept"] == "application/json"


def test_a_shape_complaint_names_the_call(echo: ApiServer[Echo]) -> None:
    def picky() -> Flow[None]:
        yield ApiRequest("GET", "/x", params={"token": "in-the-query"})
        raise Shape("field z is missing")

    with pytest.raises(MalformedAnswer) as caught:
        http(echo).run(picky())
    assert str(caught.value) == "test API (127.0.0.1): GET /x: field z is missing"
    assert caught.value.status == 200


@pytest.mark.parametrize("mode", ["hang", "drip"])
def test_the_timeout_bounds_the_whole_request(mode: str) -> None:
    # a server that never answers, and one that sends a byte every 50 ms: each read is quick,
    # the request as a whole is not
    answer = Answer(200, b"x" * 400, hang=mode == "hang", drip=0.05 if mode == "drip" else 0.0)
    with serving(Echo()) as server:
        server.script(answer, answer)
        client = http(server, timeout=0.5)

        def one() -> Flow[bytes]:
            response = yield ApiRequest("GET", "/slow")
            return response.body

        started = time.monotonic()
        with pytest.raises(ProviderUnreachable, match=r"no complete answer within 0\.5 s"):
            client.run(one())
        assert time.monotonic() - started < 8  # a failure bound, far above 0.5 s
        with pytest.raises(ProviderUnreachable, match="no complete answer"):
            asyncio.run(client.arun(one()))


def test_answers_over_the_size_cap_are_refused(echo: ApiServer[Echo]) -> None:
    echo.script(Answer(200, b"[" + b"1," * 600 + b"1]"))
    with pytest.raises(ProviderUnreachable, match="answer larger than 1000 bytes"):
        http(echo, max_response_size=1000).run(two_calls())
    echo.script(Answer(200, b"[]", headers={"X-Padding": "y"}))  # a small one passes


def test_redirects_are_not_followed(echo: ApiServer[Echo]) -> None:
    echo.script(Answer(302, b"", headers={"Location": "http://127.0.0.1:9/elsewhere"}))

    def one() -> Flow[int]:
        response = yield ApiRequest("GET", "/moved")
        return response.status

    assert http(echo).run(one()) == 302
    assert len(echo.received) == 1


def test_a_refused_connection_is_unreachable() -> None:
    with serving(Echo()) as server:
        url = server.base_url
    client = ApiHttp(url, provider="test API", headers={})
    with pytest.raises(
        ProviderUnreachable, match=r"GET /one: request failed \(ConnectError\)"
    ) as caught:
        client.run(two_calls())
    assert caught.value.retryable
    assert caught.value.status is None


async def test_a_blocking_call_inside_an_event_loop_is_refused(echo: ApiServer[Echo]) -> None:
    with pytest.raises(ConfigurationError, match=r"use the a\.\.\. method"):
        http(echo).run(two_calls())


def test_calls_from_many_threads_and_short_lived_loops(echo: ApiServer[Echo]) -> None:
    client = http(echo)
    results: list[object] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(3):
            got = (
                client.run(two_calls())
                if threading.get_ident() % 2
                else asyncio.run(client.arun(two_calls()))
            )
            with lock:
                results.append(got)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 12
    assert all(r == ["/one", {"a": ["1"]}, "/two"] for r in results)


def test_configuration_mistakes() -> None:
    for url in ("api.example", "ftp://api.example", "https://api.example/?x=1", "https://"):
        with pytest.raises(ConfigurationError, match="base_url"):
            ApiHttp(url, provider="p", headers={})
    for timeout in (0, -1, True, "5"):
        with pytest.raises(ConfigurationError, match="timeout"):
            ApiHttp("https://a.example", provider="p", headers={}, timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_response_size"):
        ApiHttp("https://a.example", provider="p", headers={}, max_response_size=0)
    with pytest.raises(
        ConfigurationError, match="header 'Authorization' is empty or not ASCII"
    ) as caught:
        ApiHttp("https://a.example", provider="p", headers={"Authorization": "Bearer tök"})
    assert "tök" not in str(caught.value)
    trailing = ApiHttp("https://a.example/api/", provider="p", headers={})
    assert trailing.base_url == "https://a.example/api"


def test_quote_scrubs_shortens_and_cleans() -> None:
    assert quote("bad key skey_1 and skey_1", ("skey_1",)) == "bad key [redacted] and [redacted]"
    assert quote("line\r\ninjected\x1b[31m") == "line  injected [31m"
    assert quote(7) is None
    long = quote("x" * 1000)
    assert long is not None
    assert len(long) == 203
    assert long.endswith("...")
    assert basic_auth("skey_test_1") == "Basic c2tleV90ZXN0XzE6"


def test_the_response_json_helpers() -> None:
    request = ApiRequest("GET", "/x")
    assert ApiResponse(request, 200, {}, b'{"a": 1}').json() == {"a": 1}
    with pytest.raises(Shape, match="not JSON"):
        ApiResponse(request, 200, {}, b"\xff").json()
    assert ApiResponse(request, 500, {}, b"oops").json_or_none() is None
    assert "secret-ish" not in repr(ApiResponse(request, 200, {}, b"secret-ish"))
    assert "s3cr3t" not in repr(ApiRequest("PUT", "/x", json={"secret": "s3cr3t"}))


def test_provider_errors_survive_pickling() -> None:
    import pickle

    from hookseal.providers import BillingError, Constraint, IntegratorProblem, RetailError

    errors: list[ProviderUnreachable | RetailError | BillingError | IntegratorProblem] = [
        ProviderUnreachable("gone", provider="p"),
        RetailError(
            "r", provider="p", status=401, code=6, name="no_valid_session", description="d"
        ),
        BillingError(
            "b",
            provider="p",
            status=400,
            code="VALIDATION",
            detail="d",
            constraints={"age": Constraint("MIN", "m")},
        ),
        IntegratorProblem(
            "i",
            provider="p",
            status=404,
            type="about:blank",
            title="Not Found",
            detail=None,
            instance=None,
            realm=None,
            scope=None,
            resource_type="integrator",
            resource_id="int_42",
        ),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))  # noqa: S301
        assert type(copy) is type(error)
        assert (str(copy), vars(copy)) == (str(error), vars(error))
