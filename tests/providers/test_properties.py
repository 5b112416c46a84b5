"""Whatever a provider answers, a client raises a ProviderError (a SourceError) or returns a
typed result: never a KeyError, TypeError, ValueError or anything else. Hypothesis feeds each
call's flow arbitrary bytes, arbitrary JSON and the documented examples with parts replaced."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from _provider_apis import example
from hookseal.providers import (
    BillingClient,
    IntegratorClient,
    PaymentsClient,
    ProviderError,
    RetailClient,
    SpaazaSession,
)
from hookseal.providers._http import ApiHttp, ApiResponse, Flow

URL = "https://provider.example"
retail = RetailClient(URL, session=SpaazaSession("1", "session-key"))
billing = BillingClient(URL, token="token", page_size=3, max_pages=5)
payments = PaymentsClient("skey_test_1", base_url=URL, page_limit=3, max_items=50)
integrator = IntegratorClient(URL, token="token")

FLOWS: dict[str, tuple[ApiHttp, Callable[[], Flow[Any]]]] = {
    "retail": (retail.http, lambda: retail._get_flow(1743, True)),
    "billing page": (billing.http, lambda: billing._page_flow(3, None)),
    "billing all": (billing.http, lambda: billing._find_flow("url", "https://x.example")),
    "payments all": (payments.http, lambda: payments._all_flow("chronological")),
    "payments delete": (payments.http, lambda: payments._delete_flow("whsec_test_1", True)),
    "payments create": (payments.http, payments._create_flow),
    "integrator": (integrator.http, lambda: integrator._put_flow("value")),
}
EXAMPLES = [
    example("retail-get-webhook-signatures.200.json"),
    example("billing-list-webhook-endpoints.200.json"),
    example("billing-list-webhook-endpoints.400.json"),
    example("payments-list-webhook-secrets.200.json"),
    example("payments-delete-webhook-secret.200.json"),
    example("integrator-update-webhook-secret.404.json"),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _replace(document: Any, path: list[int], value: Any) -> Any:
    """``document`` with the node that ``path`` picks (indexes into its children) replaced."""
    if not path or not isinstance(document, (dict, list)) or not document:
        return value
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = keys[path[0] % len(keys)]
    copy: Any = dict(document) if isinstance(document, dict) else list(document)
    copy[key] = _replace(copy[key], path[1:], value)
    return copy


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "mutated", "mutated", "mutated"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    document = json.loads(draw(st.sampled_from(EXAMPLES)))
    path = draw(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=6))
    return json.dumps(_replace(document, path, draw(json_values))).encode()


def run(http: ApiHttp, flow: Flow[Any], answers: list[tuple[int, bytes]]) -> None:
    """Drive ``flow`` with ``answers`` (the last one repeats) as ApiHttp.run would."""
    request = http._advance(flow, None)
    for turn in range(60):
        status, body = answers[min(turn, len(answers) - 1)]
        try:
            request = http._advance(flow, ApiResponse(request, status, {}, body))
        except StopIteration:
            return
    raise AssertionError("a flow asked for more than 60 requests")


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(FLOWS)),
    answers=st.lists(
        st.tuples(
            st.sampled_from([200, 200, 200, 201, 302, 400, 401, 403, 404, 429, 500]), bodies()
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_only_provider_errors_escape(name: str, answers: list[tuple[int, bytes]]) -> None:
    http, make = FLOWS[name]
    with contextlib.suppress(ProviderError):
        run(http, make(), answers)
