"""Metrics through the libraries operators already run: Prometheus and OpenTelemetry.

:class:`Metrics` is what the hot path touches: one dictionary lookup and one atomic increment
per verification (``Verifier(..., observer=metrics)``), nothing else. Everything else is read
when a scrape or a collection asks for it: the keyrings' ``stats()``, replay guards' fill, the
rotation in progress (from a :class:`~hookseal.fleet.FleetReporter`), readiness. Keyring
events arrive through the keyring's own hook: ``Keyring(source, on_event=metrics.keyring_hook())``.

Two exporters read the same counters: :class:`PrometheusExporter` (``prometheus-client``, the
``prometheus`` extra) and :class:`OpenTelemetryMetrics` (``opentelemetry-api``, the ``otel``
extra); each fails at construction, naming the extra, when its library is missing.

======================================== ========= ================================
name (Prometheus; OpenTelemetry drops _total) type      labels
======================================== ========= ================================
hookseal_verifications_total             counter   scheme, outcome, secret_id
hookseal_refusals_total                  counter   scheme, code
hookseal_keyring_fetches_total           counter   keyring
hookseal_keyring_fetch_failures_total    counter   keyring
hookseal_keyring_stale_served_total      counter   keyring
hookseal_keyring_events_total            counter   keyring, event
hookseal_keyring_snapshot_age_seconds    gauge     keyring
hookseal_ready                           gauge     keyring
hookseal_replay_guard_entries            gauge     guard
hookseal_replay_guard_fill_ratio         gauge     guard
hookseal_rotation_step                   gauge     rotation, kind, step (value: 1..8)
======================================== ========= ================================
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError
from .fleet import FleetReporter
from .health import readiness

__all__ = ["Metrics", "OpenTelemetryMetrics", "PrometheusExporter", "Sample"]


@dataclass(frozen=True)
class Sample:
    """One value of one metric, with its labels."""

    name: str
    kind: str  # "counter" or "gauge"
    labels: tuple[tuple[str, str], ...]
    value: float


_HELP = {
    "hookseal_verifications": "Webhook verifications by scheme, outcome and matching secret id",
    "hookseal_refusals": "Refused webhook deliveries by scheme and error code",
    "hookseal_keyring_fetches": "Secret source fetch attempts",
    "hookseal_keyring_fetch_failures": "Failed secret source fetches",
    "hookseal_keyring_stale_served": "Requests served from a set older than its interval",
    "hookseal_keyring_events": "Keyring events (fetched, fetch_failed, stale_served, ...)",
    "hookseal_keyring_snapshot_age_seconds": "Age of the secret set being served",
    "hookseal_ready": "1 when a usable secret set is held",
    "hookseal_replay_guard_entries": "Deliveries remembered by the replay guard",
    "hookseal_replay_guard_fill_ratio": "Replay guard entries over its capacity",
    "hookseal_rotation_step": "The rotation in progress: step (1 create .. 7 remove, 8 done)",
}

_GAUGES = frozenset(
    {
        "hookseal_keyring_snapshot_age_seconds",
        "hookseal_ready",
        "hookseal_replay_guard_entries",
        "hookseal_replay_guard_fill_ratio",
        "hookseal_rotation_step",
    }
)


def _claim(watched: dict[str, Any], name: str, thing: object) -> None:
    """Watch ``thing`` as ``name``; another object under a name already taken would replace
    the first one's series without a word, so it is refused."""
    if watched.get(name, thing) is not thing:
        raise ConfigurationError(
            f"metrics already watch another {type(thing).__name__} named {name!r}: "
            "give each its own name"
        )
    watched[name] = thing


def _value(counter: itertools.count[int]) -> int:
    """The count so far: an ``itertools.count``'s next value, read from its repr
    (``count(5)``) without advancing it."""
    return int(repr(counter)[6:-1])


class Metrics:
    """The counters and what to read at collection time. Thread-safe; each increment is one
    ``next()`` on an ``itertools.count`` (atomic in CPython), created once per label set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._verified: dict[str, dict[str, itertools.count[int]]] = {}
        self._refused: dict[str, dict[str, itertools.count[int]]] = {}
        self._events: dict[tuple[str, str], itertools.count[int]] = {}
        self._keyrings: dict[str, Any] = {}
        self._guards: dict[str, Any] = {}
        self._reporters: list[FleetReporter] = []

    # -- the hot path (VerificationObserver) ------------------------------------------------

    def verified(self, scheme: str, secret_id: str) -> None:
        by_id = self._verified.get(scheme)
        counter = None if by_id is None else by_id.get(secret_id)
        if counter is None:
            counter = self._new(self._verified, scheme, secret_id)
        next(counter)

    def refused(self, scheme: str, code: str) -> None:
        by_code = self._refused.get(scheme)
        counter = None if by_code is None else by_code.get(code)
        if counter is None:
            counter = self._new(self._refused, scheme, code)
        next(counter)

    def _new(
        self, table: dict[str, dict[str, itertools.count[int]]], outer: str, inner: str
    ) -> itertools.count[int]:
        with self._lock:
            row = table.setdefault(outer, {})
            return row.setdefault(inner, itertools.count())

    # -- what to watch ------------------------------------------------------------------------

    def keyring_hook(
        self, name: str = "default", then: Callable[..., None] | None = None
    ) -> Callable[..., None]:
        """An ``on_event`` hook for a Keyring named ``name``; ``then`` is your own hook, called
        after counting."""

        def hook(event: str, **fields: Any) -> None:
            key = (name, event)
            counter = self._events.get(key)
            if counter is None:
                with self._lock:
                    counter = self._events.setdefault(key, itertools.count())
            next(counter)
            if then is not None:
                then(event, **fields)

        return hook

    def watch_keyring(self, keyring: Any, name: str | None = None) -> None:
        """Read this keyring's stats and readiness at every collection."""
        if not callable(getattr(keyring, "stats", None)):
            raise ConfigurationError("watch_keyring needs a Keyring (something with stats())")
        with self._lock:
            _claim(
                self._keyrings, str(name or getattr(keyring, "name", None) or "default"), keyring
            )

    def watch_replay_guard(self, guard: Any, name: str = "default") -> None:
        """Report this guard's size (and fill, when it has a ``maxsize``)."""
        if not callable(getattr(guard, "__len__", None)):
            raise ConfigurationError("watch_replay_guard needs a guard with a size (len())")
        with self._lock:
            _claim(self._guards, name, guard)

    def watch_rotation(self, reporter: FleetReporter) -> None:
        """Report the rotation in progress, as this replica's fleet reporter last saw it."""
        with self._lock:
            self._reporters.append(reporter)

    # -- collection ---------------------------------------------------------------------------

    def samples(self) -> list[Sample]:
        """Every metric's current values (what the exporters hand over)."""
        with self._lock:
            verified = {s: dict(row) for s, row in self._verified.items()}
            refused = {s: dict(row) for s, row in self._refused.items()}
            events = dict(self._events)
            keyrings = dict(self._keyrings)
            guards = dict(self._guards)
            reporters = list(self._reporters)
        found: list[Sample] = []
        for scheme, row in verified.items():
            for secret_id, counter in row.items():
                labels: tuple[tuple[str, str], ...] = (
                    ("scheme", scheme),
                    ("outcome", "verified"),
                    ("secret_id", secret_id),
                )
                found.append(Sample("hookseal_verifications", "counter", labels, _value(counter)))
        for scheme, row in refused.items():
            total = 0
            for code, counter in row.items():
                count = _value(counter)
                total += count
                found.append(
                    Sample(
                        "hookseal_refusals", "counter", (("scheme", scheme), ("code", code)), count
                    )
                )
            outcome = (("scheme", scheme), ("outcome", "refused"), ("secret_id", ""))
            found.append(Sample("hookseal_verifications", "counter", outcome, total))
        for (keyring, event), counter in events.items():
            pair = (("keyring", keyring), ("event", event))
            found.append(Sample("hookseal_keyring_events", "counter", pair, _value(counter)))
        for name, keyring in keyrings.items():
            found.extend(_keyring_samples(name, keyring))
        for name, guard in guards.items():
            found.extend(_guard_samples(name, guard))
        for reporter in reporters:
            found.extend(_rotation_samples(reporter))
        return found


def _keyring_samples(name: str, keyring: Any) -> Iterator[Sample]:
    stats = keyring.stats()
    labels = (("keyring", name),)
    yield Sample("hookseal_keyring_fetches", "counter", labels, stats.fetches)
    yield Sample("hookseal_keyring_fetch_failures", "counter", labels, stats.fetch_failures)
    yield Sample("hookseal_keyring_stale_served", "counter", labels, stats.stale_served)
    if stats.snapshot_age is not None:
        yield Sample("hookseal_keyring_snapshot_age_seconds", "gauge", labels, stats.snapshot_age)
    yield Sample("hookseal_ready", "gauge", labels, 1.0 if readiness(keyring).ready else 0.0)


def _guard_samples(name: str, guard: Any) -> Iterator[Sample]:
    size = len(guard)
    labels = (("guard", name),)
    yield Sample("hookseal_replay_guard_entries", "gauge", labels, size)
    capacity = getattr(getattr(guard, "_cache", None), "maxsize", None) or getattr(
        guard, "maxsize", None
    )
    if isinstance(capacity, (int, float)) and capacity > 0:
        yield Sample("hookseal_replay_guard_fill_ratio", "gauge", labels, size / capacity)


def _rotation_samples(reporter: FleetReporter) -> Iterator[Sample]:
    notice = reporter.notice
    if not notice:
        return
    labels = (
        ("rotation", str(notice.get("rotation", ""))),
        ("kind", str(notice.get("kind", ""))),
        ("step", str(notice.get("step", ""))),
    )
    index = notice.get("step_index", 0)
    yield Sample(
        "hookseal_rotation_step",
        "gauge",
        labels,
        float(index) if isinstance(index, (int, float)) else 0.0,
    )


class PrometheusExporter:
    """Registers a collector for ``metrics`` in ``registry`` (prometheus-client's default
    registry unless given). :meth:`asgi_app` and :meth:`wsgi_app` serve the text format; or
    scrape through your own ``/metrics`` route."""

    def __init__(self, metrics: Metrics, *, registry: Any = None) -> None:
        try:
            import prometheus_client
            from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        except ImportError:
            raise ConfigurationError(
                "PrometheusExporter needs prometheus-client: pip install 'hookseal[prometheus]'"
            ) from None
        self.metrics = metrics
        self._client = prometheus_client
        self._families = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily}
        self.registry = prometheus_client.REGISTRY if registry is None else registry
        self.registry.register(self)

    def collect(self) -> Iterator[Any]:
        grouped: dict[tuple[str, str, tuple[str, ...]], list[Sample]] = {}
        for sample in self.metrics.samples():
            names = tuple(label for label, _ in sample.labels)
            grouped.setdefault((sample.name, sample.kind, names), []).append(sample)
        for (name, kind, labels), samples in grouped.items():
            family = self._families[kind](name, _HELP.get(name, name), labels=list(labels))
            for sample in samples:
                family.add_metric([value for _, value in sample.labels], sample.value)
            yield family

    def describe(self) -> list[Any]:
        return []  # collected fresh each time: nothing to check at registration

    def exposition(self) -> bytes:
        """The text format, as a scrape gets it."""
        data: bytes = self._client.generate_latest(self.registry)
        return data

    def asgi_app(self) -> Any:
        return self._client.make_asgi_app(registry=self.registry)

    def wsgi_app(self) -> Any:
        return self._client.make_wsgi_app(registry=self.registry)


class OpenTelemetryMetrics:
    """Observable instruments on ``meter_provider`` (the global one unless given) that read
    ``metrics`` at each collection: counters as observable counters, gauges as observable
    gauges. The SDK, its readers and exporters are yours to configure."""

    def __init__(self, metrics: Metrics, *, meter_provider: Any = None) -> None:
        try:
            from opentelemetry import metrics as otel
        except ImportError:
            raise ConfigurationError(
                "OpenTelemetryMetrics needs opentelemetry-api: pip install 'hookseal[otel]'"
            ) from None
        self.metrics = metrics
        provider = otel.get_meter_provider() if meter_provider is None else meter_provider
        meter = provider.get_meter("hookseal")
        self._options = otel.Observation
        self._instruments = []
        for name, help_text in _HELP.items():
            make = (
                meter.create_observable_gauge
                if name in _GAUGES
                else meter.create_observable_counter
            )
            self._instruments.append(
                make(name, callbacks=[self._callback(name)], description=help_text)
            )

    def _callback(self, name: str) -> Callable[[Any], list[Any]]:
        def observe(options: Any) -> list[Any]:
            return [
                self._options(sample.value, dict(sample.labels))
                for sample in self.metrics.samples()
                if sample.name == name
            ]

        return observe
