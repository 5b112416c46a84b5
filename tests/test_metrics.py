"""Metrics: what the verifier observer counts, and what operators' tools read: a real
Prometheus scrape over HTTP (uvicorn) parsed by prometheus-client's own parser, and an
OpenTelemetry SDK in-memory reader."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from _uvicorn_server import uvicorn_server
from hookseal import (
    ConfigurationError,
    InMemoryReplayGuard,
    Keyring,
    Secret,
    VerificationError,
    Verifier,
    sign,
)
from hookseal.fleet import DirectoryFleet, FleetReporter
from hookseal.metrics import Metrics, OpenTelemetryMetrics, PrometheusExporter
from hookseal.sources import CallableSource
from hookseal.testing import forged_request, signed_request

NEW, OLD = "whsec_new-metrics-secret", "whsec_old-metrics-secret"


def _traffic(metrics: Metrics) -> Keyring:
    keyring = Keyring(
        CallableSource(lambda: [Secret(NEW, id="k2"), Secret(OLD, id="k1")]),
        on_event=metrics.keyring_hook("hooks"),
    )
    keyring.start()
    metrics.watch_keyring(keyring, "hooks")
    guard = InMemoryReplayGuard(maxsize=10)
    metrics.watch_replay_guard(guard, "deliveries")
    verifier = Verifier(keyring, scheme="stripe", observer=metrics, replay_guard=guard)
    for payload, secret in [({"n": 1}, NEW), ({"n": 2}, NEW), ({"n": 3}, OLD)]:
        verifier.verify(*signed_request(payload, secret, scheme="stripe"))
    for body, headers in [forged_request({"n": 4}, scheme="stripe"), (b"{}", {})]:
        with pytest.raises(VerificationError):
            verifier.verify(body, headers)
    return keyring


def _families(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_a_real_prometheus_scrape(tmp_path: Any) -> None:
    metrics = Metrics()
    keyring = _traffic(metrics)
    reporter = FleetReporter(keyring, DirectoryFleet(tmp_path), replica_id="r1")
    reporter.backend.note(
        {"rotation": "rot-1", "kind": "payments", "step": "deploy", "step_index": 3}
    )
    reporter.beat()
    metrics.watch_rotation(reporter)
    exporter = PrometheusExporter(metrics, registry=CollectorRegistry())
    with uvicorn_server(exporter.asgi_app()) as port:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    got = _families(answer.text)
    verified = got["hookseal_verifications_total"]
    assert verified[(("outcome", "verified"), ("scheme", "stripe"), ("secret_id", "k2"))] == 2
    assert verified[(("outcome", "verified"), ("scheme", "stripe"), ("secret_id", "k1"))] == 1
    assert verified[(("outcome", "refused"), ("scheme", "stripe"), ("secret_id", ""))] == 2
    refusals = got["hookseal_refusals_total"]
    assert refusals[(("code", "signature_mismatch"), ("scheme", "stripe"))] == 1
    assert refusals[(("code", "missing_signature"), ("scheme", "stripe"))] == 1
    assert got["hookseal_keyring_fetches_total"][(("keyring", "hooks"),)] >= 1
    assert got["hookseal_keyring_fetch_failures_total"][(("keyring", "hooks"),)] == 0
    assert (("event", "fetched"), ("keyring", "hooks")) in got["hookseal_keyring_events_total"]
    assert got["hookseal_keyring_snapshot_age_seconds"][(("keyring", "hooks"),)] >= 0
    assert got["hookseal_ready"][(("keyring", "hooks"),)] == 1
    assert got["hookseal_replay_guard_entries"][(("guard", "deliveries"),)] == 3
    assert got["hookseal_replay_guard_fill_ratio"][(("guard", "deliveries"),)] == 0.3
    step = (("kind", "payments"), ("rotation", "rot-1"), ("step", "deploy"))
    assert got["hookseal_rotation_step"][step] == 3
    assert OLD not in answer.text
    assert NEW not in answer.text
    keyring.close()


def test_opentelemetry_in_memory_reader() -> None:
    metrics = Metrics()
    keyring = _traffic(metrics)
    reader = InMemoryMetricReader()
    OpenTelemetryMetrics(metrics, meter_provider=MeterProvider(metric_readers=[reader]))
    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, list[tuple[dict[str, Any], float]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    assert isinstance(point, NumberDataPoint)
                    points.setdefault(metric.name, []).append(
                        (dict(point.attributes or {}), point.value)
                    )
    verified = {p[0]["secret_id"]: p[1] for p in points["hookseal_verifications"]}
    assert verified == {"k2": 2, "k1": 1, "": 2}
    assert {p[0]["code"]: p[1] for p in points["hookseal_refusals"]} == {
        "signature_mismatch": 1,
        "missing_signature": 1,
    }
    assert points["hookseal_ready"] == [({"keyring": "hooks"}, 1)]
    keyring.close()


async def test_async_and_streaming_paths_count_once() -> None:
    metrics = Metrics()
    static = Verifier(["s1"], observer=metrics)
    body, headers = signed_request({"a": 1}, "s1")
    await static.averify(body, headers)
    pending = await static.abegin(headers)
    pending.update(body)
    await pending.afinish()
    pending = static.begin(headers)
    pending.update(body + b"x")
    with pytest.raises(VerificationError):
        pending.finish()
    keyring = Keyring(CallableSource(lambda: ["s1"]))
    await keyring.astart()
    refreshing = Verifier(keyring, observer=metrics)
    await refreshing.averify(body, headers)
    await asyncio.sleep(0)
    samples = {(s.name, s.labels): s.value for s in metrics.samples()}
    fp = Secret("s1").id
    verified = (
        "hookseal_verifications",
        (("scheme", "signature"), ("outcome", "verified"), ("secret_id", fp)),
    )
    assert samples[verified] == 3
    assert (
        samples[("hookseal_refusals", (("scheme", "signature"), ("code", "signature_mismatch")))]
        == 1
    )
    await keyring.aclose()


def test_an_unobserved_verifier_keeps_its_plain_class() -> None:
    assert type(Verifier(["s1"])) is Verifier
    observed = Verifier(["s1"], observer=Metrics())
    assert isinstance(observed, Verifier)
    assert type(observed) is not Verifier


def test_an_observer_that_raises_never_changes_a_verdict() -> None:
    class Broken:
        def verified(self, scheme: str, secret_id: str) -> None:
            raise RuntimeError("metrics backend down")

        def refused(self, scheme: str, code: str) -> None:
            raise RuntimeError("metrics backend down")

    verifier = Verifier(["s1"], observer=Broken())
    assert verifier.verify(*signed_request({"a": 1}, "s1")).scheme == "signature"
    with pytest.raises(VerificationError):
        verifier.verify(b"{}", {})


def test_exporters_name_their_extra_when_the_library_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    real_import = builtins.__import__

    def without(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith(("prometheus_client", "opentelemetry")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    from hookseal.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"hookseal\[prometheus\]"):
        PrometheusExporter(Metrics())
    with pytest.raises(ConfigurationError, match=r"hookseal\[otel\]"):
        OpenTelemetryMetrics(Metrics())


async def test_a_request_signing_scheme_keeps_its_url_and_pending_class_when_observed() -> None:
    """An observed verifier passes every argument through (url=, method=, now=) and keeps a
    scheme's own pending class: observing must never change what is verified."""
    metrics = Metrics()
    url = "https://example.com/hooks/sms?x=1"
    body = b"From=%2B15550001111&Body=hi"
    headers = {**sign(body, "twilio-token", scheme="twilio", url=url)}
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    observed = Verifier(["twilio-token"], scheme="twilio", observer=metrics)
    plain = Verifier(["twilio-token"], scheme="twilio")
    observed.verify(body, headers, url=url)
    await observed.averify(body, headers, url=url)
    for verifier in (observed, plain):
        pending = verifier.begin(headers, url=url)
        assert isinstance(pending, type(plain.begin(headers, url=url)))
        pending.update(body)
        pending.finish()
    pending = await observed.abegin(headers, url=url)
    pending.update(body)
    await pending.afinish()
    samples = {(s.name, s.labels): s.value for s in metrics.samples()}
    fp = Secret("twilio-token").id
    key = (
        "hookseal_verifications",
        (("scheme", "twilio"), ("outcome", "verified"), ("secret_id", fp)),
    )
    assert samples[key] == 4


def test_two_keyrings_or_guards_under_one_name_are_refused_not_overwritten() -> None:
    """The second watch_* under a name already taken would silently replace the first one's
    series; it is a configuration error. Watching the same object again is harmless."""
    metrics = Metrics()
    first = Keyring(CallableSource(lambda: [Secret(NEW)]))
    second = Keyring(CallableSource(lambda: [Secret(OLD)]))
    metrics.watch_keyring(first, "hooks")
    metrics.watch_keyring(first, "hooks")
    with pytest.raises(ConfigurationError, match="'hooks'"):
        metrics.watch_keyring(second, "hooks")
    metrics.watch_replay_guard(InMemoryReplayGuard(maxsize=10), "deliveries")
    with pytest.raises(ConfigurationError, match="'deliveries'"):
        metrics.watch_replay_guard(InMemoryReplayGuard(maxsize=10), "deliveries")
