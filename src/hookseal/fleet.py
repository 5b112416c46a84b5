"""Replicas tell the fleet what they serve, so a rotation can wait for every one of them.

Each replica runs a :class:`FleetReporter`: every ``interval`` seconds it publishes a
:class:`ReplicaReport` that expires after ``ttl`` (a heartbeat). The report names the secret
set the replica's keyring serves by fingerprints only (:func:`set_fingerprint`, and one
non-reversible fingerprint per secret), never a value, and carries the replica's counters of
which secret verified traffic, so that ``hookseal rotate`` can see the new secret verify and
the old one go quiet across the whole fleet (:class:`FleetView`).

Two places to keep the reports: :class:`RedisFleet` (a key per replica with a TTL; the
``redis`` extra) and :class:`DirectoryFleet` (a file per replica, for replicas on one host).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigurationError, VerificationError
from .secrets import DEFAULT_LEEWAY, Secret, SecretProvider, SecretSet, fingerprint

__all__ = [
    "DirectoryFleet",
    "FleetBackend",
    "FleetReporter",
    "FleetView",
    "RedisFleet",
    "ReplicaReport",
    "set_fingerprint",
]

logger = logging.getLogger("hookseal")

_SET_LABEL = b"hookseal/secret-set/v1\x00"
_REPORT_VERSION = 1


def set_fingerprint(secrets: Iterable[Secret]) -> str:
    """A stable name for a secret set: its ids and each value's fingerprint, hashed. Two
    replicas serving the same secrets under the same ids show the same name; no value can be
    recovered from it."""
    digest = hashlib.sha256(_SET_LABEL)
    for secret_id, value_fp in sorted((s.id, fingerprint(s.reveal())) for s in secrets):
        digest.update(f"{secret_id}\x00{value_fp}\x00".encode())
    return "set-" + digest.hexdigest()[:16]


@dataclass(frozen=True)
class ReplicaReport:
    """One heartbeat. ``secrets`` maps each served secret id to its value's fingerprint;
    ``matches`` and ``last_match`` count verifications per value fingerprint (since the
    replica started) and give the wall time of the latest beat that saw one."""

    replica: str
    at: float
    started: float
    ready: bool
    set_fingerprint: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    matches: Mapping[str, int] = field(default_factory=dict)
    last_match: Mapping[str, float] = field(default_factory=dict)
    matches_by_id: Mapping[str, int] = field(default_factory=dict)
    reason: str = ""

    def to_json(self) -> str:
        document = {"v": _REPORT_VERSION, **self.__dict__}
        return json.dumps(document, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ReplicaReport | None:
        """The report in ``text``, or None when it is not one (a foreign or newer record).

        A report of this version with a field of the wrong type is a replica whose secrets
        are unknown: it comes back as one that serves nothing and is not ready, so that it
        holds a deployment back instead of crashing the rotation that reads it."""
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(document, dict) or document.pop("v", None) != _REPORT_VERSION:
            return None
        known = {name: value for name, value in document.items() if name in _REPORT_FIELDS}
        try:  # a field added by a later release is left out; a required one missing is not
            if _report_fields_fit(known):
                return cls(**known)
        except TypeError:
            pass
        replica = document.get("replica")
        name = replica if isinstance(replica, str) and replica else "an unnamed replica"
        return cls(replica=name, at=0.0, started=0.0, ready=False, reason="unreadable report")

    def serves(self, value_fingerprint: str) -> bool:
        return value_fingerprint in self.secrets.values()


class FleetBackend(ABC):
    """Where the heartbeats live. ``publish`` keeps a report for ``ttl`` seconds; ``reports``
    lists the live ones. ``note`` and ``notice`` keep one small status record (the rotation
    in progress) that every replica can read."""

    name: str = "fleet"

    @abstractmethod
    def publish(self, report: ReplicaReport, ttl: float) -> None: ...

    @abstractmethod
    def withdraw(self, replica: str) -> None: ...

    @abstractmethod
    def reports(self) -> list[ReplicaReport]: ...

    @abstractmethod
    def note(self, status: Mapping[str, Any] | None) -> None: ...

    @abstractmethod
    def notice(self) -> dict[str, Any] | None: ...

    def claim(self, rotation: str) -> str | None:
        """Mark ``rotation`` as the one rotation in progress on this fleet, atomically: None
        when it is now (or already was) ours, else the id of the rotation that holds it. Two
        operators with state files of their own share only the fleet and the store, so this
        is what keeps a second ``hookseal rotate`` from running beside the first. The claim
        does not expire: a crashed rotation holds it until resumed, aborted or broken by
        hand (:meth:`release` with ``force``). A backend without a claim returns None."""
        return None

    def release(self, rotation: str, *, force: bool = False) -> str | None:
        """Drop ``rotation``'s claim (any claim with ``force``); returns the id released."""
        return None

    def close(self) -> None:
        return None


class RedisFleet(FleetBackend):
    """Heartbeats as Redis keys ``{prefix}:{group}:replica:{id}`` that expire by themselves.

    ``url_or_client``: a ``redis://`` URL (a client made and closed here) or a sync redis-py
    client (left open). Replicas of one app share a ``group``.
    """

    def __init__(
        self, url_or_client: Any, *, group: str = "default", prefix: str = "hookseal:fleet"
    ) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigurationError(
                "RedisFleet needs redis: pip install 'hookseal[redis]'"
            ) from None
        if not group or not prefix:
            raise ConfigurationError("RedisFleet: group and prefix must be non-empty")
        self._owned = isinstance(url_or_client, str)
        self._client = (
            redis.Redis.from_url(url_or_client, socket_timeout=5, socket_connect_timeout=5)
            if isinstance(url_or_client, str)
            else url_or_client
        )
        self._base = f"{prefix}:{group}"
        self.name = f"redis fleet {self._base}"

    def publish(self, report: ReplicaReport, ttl: float) -> None:
        key = f"{self._base}:replica:{report.replica}"
        self._client.set(key, report.to_json(), px=max(1, int(ttl * 1000)))

    def withdraw(self, replica: str) -> None:
        self._client.delete(f"{self._base}:replica:{replica}")

    def reports(self) -> list[ReplicaReport]:
        keys = sorted(self._client.scan_iter(match=f"{self._base}:replica:*", count=500))
        if not keys:
            return []
        found = [ReplicaReport.from_json(raw) for raw in self._client.mget(keys) if raw]
        return [report for report in found if report is not None]

    def note(self, status: Mapping[str, Any] | None) -> None:
        key = f"{self._base}:rotation"
        if status is None:
            self._client.delete(key)
        else:
            self._client.set(key, json.dumps(dict(status), sort_keys=True))

    def notice(self) -> dict[str, Any] | None:
        raw = self._client.get(f"{self._base}:rotation")
        return _status(raw)

    def claim(self, rotation: str) -> str | None:
        key = f"{self._base}:claim"
        for _ in range(2):  # a claim released between SET NX and GET: once more
            if self._client.set(key, rotation, nx=True):
                return None
            holder = _decoded(self._client.get(key))
            if holder is not None:
                return None if holder == rotation else holder
        return "an unknown rotation"

    def release(self, rotation: str, *, force: bool = False) -> str | None:
        key = f"{self._base}:claim"
        if force:
            pipe = self._client.pipeline()  # MULTI: read and drop as one
            pipe.get(key)
            pipe.delete(key)
            holder, _ = pipe.execute()
            return _decoded(holder)
        released = self._client.eval(_RELEASE_IF_OURS, 1, key, rotation)
        return rotation if released else None

    def close(self) -> None:
        if self._owned:
            self._client.close()


_RELEASE_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _decoded(raw: Any) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


class DirectoryFleet(FleetBackend):
    """Heartbeats as files ``replica-{id}.json`` in ``path`` (replicas on one host, a shared
    volume, the demo); a report past its expiry is ignored and cleared."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self.name = f"fleet directory {self.path}"

    def publish(self, report: ReplicaReport, ttl: float) -> None:
        record = {"expires": self._clock() + ttl, "report": report.to_json()}
        _write_atomic(self.path / f"replica-{_safe(report.replica)}.json", json.dumps(record))

    def withdraw(self, replica: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.path / f"replica-{_safe(replica)}.json").unlink()

    def reports(self) -> list[ReplicaReport]:
        now = self._clock()
        found: list[ReplicaReport] = []
        for entry in sorted(self.path.glob("replica-*.json")):
            try:
                record = json.loads(entry.read_text())
                expires = float(record["expires"])
                report = ReplicaReport.from_json(record["report"])
            except (OSError, ValueError, KeyError, TypeError, RecursionError):
                continue
            if expires <= now:
                with contextlib.suppress(OSError):
                    entry.unlink()
            elif report is not None:
                found.append(report)
        return found

    def note(self, status: Mapping[str, Any] | None) -> None:
        target = self.path / "rotation.json"
        if status is None:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
        else:
            _write_atomic(target, json.dumps(dict(status), sort_keys=True))

    def notice(self) -> dict[str, Any] | None:
        try:
            return _status((self.path / "rotation.json").read_bytes())
        except OSError:
            return None

    def claim(self, rotation: str) -> str | None:
        target = self.path / "rotation.claim"
        try:
            handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = self._holder()
            return None if holder == rotation else holder or "an unknown rotation"
        with os.fdopen(handle, "w") as out:
            out.write(rotation)
        return None

    def release(self, rotation: str, *, force: bool = False) -> str | None:
        holder = self._holder()
        if holder is None or (holder != rotation and not force):
            return None
        with contextlib.suppress(FileNotFoundError):
            (self.path / "rotation.claim").unlink()
        return holder

    def _holder(self) -> str | None:
        try:
            return (self.path / "rotation.claim").read_text().strip() or None
        except OSError:
            return None


class FleetReporter:
    """Publishes this replica's heartbeat every ``interval`` seconds from its own thread.

    ``secrets`` is the replica's :class:`~hookseal.keyring.Keyring` (any SecretProvider; the
    counters come from a keyring's ``stats()``). ``ttl`` (default three intervals) is how long
    a silent replica still counts as live. The thread never holds a lock a request waits on;
    a failing backend is logged and retried at the next beat. A replica serves the secrets it
    would verify with now: ``leeway`` is its verifiers' (a set may keep a secret past its
    window, as AWSPREVIOUS does, and a rotation waits until no replica serves the old one).
    """

    def __init__(
        self,
        secrets: SecretProvider,
        backend: FleetBackend,
        *,
        replica_id: str | None = None,
        interval: float = 5.0,
        ttl: float | None = None,
        leeway: float = DEFAULT_LEEWAY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(secrets, SecretProvider):
            raise ConfigurationError("FleetReporter needs a Keyring (or another SecretProvider)")
        if not isinstance(backend, FleetBackend):
            raise ConfigurationError("FleetReporter needs a FleetBackend (RedisFleet, ...)")
        if not interval > 0 or (ttl is not None and not ttl > interval):
            raise ConfigurationError("interval must be positive and ttl longer than interval")
        if isinstance(leeway, bool) or not isinstance(leeway, (int, float)) or not leeway >= 0:
            raise ConfigurationError("leeway must be a non-negative number of seconds")
        self.leeway = float(leeway)
        self.secrets = secrets
        self.backend = backend
        self.replica_id = (
            replica_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        self.interval = float(interval)
        self.ttl = float(ttl) if ttl is not None else 3 * self.interval
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._counted: dict[str, int] = {}  # by id, as last seen in stats()
        self._counted_by_value: dict[str, int] = {}  # by value fingerprint, likewise
        self._matches: dict[str, int] = {}  # by value fingerprint
        self._last_match: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.notice: dict[str, Any] | None = None
        """The fleet's status record as of the last beat (the rotation in progress)."""

    def __repr__(self) -> str:
        return f"FleetReporter(replica_id={self.replica_id!r}, backend={self.backend.name!r})"

    def start(self) -> FleetReporter:
        """Beat once now, then every interval in a daemon thread."""
        with self._lock:
            if self._thread is not None:
                return self
            self._thread = threading.Thread(
                target=self._run, name=f"hookseal-fleet-{self.replica_id}", daemon=True
            )
        self._safe_beat()
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop beating and withdraw this replica's report (it stops counting at once)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.interval + 10)
        with contextlib.suppress(Exception):
            self.backend.withdraw(self.replica_id)

    def beat(self) -> ReplicaReport:
        """Build and publish one report now (the thread calls this; tests may too)."""
        report = self.report()
        self.backend.publish(report, self.ttl)
        self.notice = self.backend.notice()
        return report

    def report(self) -> ReplicaReport:
        now = self._clock()
        served, reason = _served(self.secrets, now)
        usable = () if served is None else served.candidates(now, self.leeway)
        held = {s.id: fingerprint(s.reveal()) for s in usable}
        by_id = _matches_by(self.secrets, "matches_by_secret_id")
        by_value = _matches_by(self.secrets, "matches_by_fingerprint")
        with self._lock:
            if by_value or not by_id:  # a keyring: counted by the value that verified
                deltas = [(fp, n - self._counted_by_value.get(fp, 0)) for fp, n in by_value.items()]
            else:  # another SecretProvider, with counts by id only: the value the id names now
                deltas = [
                    (held[i], n - self._counted.get(i, 0)) for i, n in by_id.items() if i in held
                ]
            for value_fp, delta in deltas:
                if delta > 0:
                    self._matches[value_fp] = self._matches.get(value_fp, 0) + delta
                    self._last_match[value_fp] = now
            self._counted, self._counted_by_value = dict(by_id), dict(by_value)
            matches, last = dict(self._matches), dict(self._last_match)
        return ReplicaReport(
            replica=self.replica_id,
            at=now,
            started=self._started,
            ready=served is not None and reason == "",
            set_fingerprint=None if served is None else set_fingerprint(served),
            secrets=held,
            matches=matches,
            last_match=last,
            matches_by_id=by_id,
            reason=reason,
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._safe_beat()

    def _safe_beat(self) -> None:
        try:
            self.beat()
        except Exception as exc:  # a heartbeat never takes the app down
            logger.warning(
                "hookseal: fleet heartbeat to %s failed (%s)", self.backend.name, type(exc).__name__
            )


class FleetView:
    """The rotation's view of the fleet: live replicas, who serves what, traffic per secret."""

    def __init__(self, backend: FleetBackend, *, clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self._clock = clock

    def live(self) -> list[ReplicaReport]:
        return self.backend.reports()

    def lagging(self, value_fingerprint: str, *, serving: bool = True) -> list[str]:
        """Live replicas that do not (``serving=False``: still do) serve that secret."""
        return sorted(r.replica for r in self.live() if r.serves(value_fingerprint) != serving)

    def counts(self, reports: list[ReplicaReport] | None = None) -> dict[str, dict[str, int]]:
        """Per replica (its id plus start time, so a restart starts afresh), the count of
        verifications per value fingerprint."""
        reports = self.live() if reports is None else reports
        return {f"{r.replica}@{r.started}": dict(r.matches) for r in reports}

    def last_match(self, value_fingerprint: str, reports: list[ReplicaReport]) -> float | None:
        times = [
            r.last_match[value_fingerprint] for r in reports if value_fingerprint in r.last_match
        ]
        return max(times) if times else None


def verified_since(
    baseline: Mapping[str, Mapping[str, int]],
    now: Mapping[str, Mapping[str, int]],
    value_fingerprint: str,
) -> int:
    """How many verifications with that secret the fleet made between two :meth:`counts`."""
    total = 0
    for replica, counts in now.items():
        before = baseline.get(replica, {}).get(value_fingerprint, 0)
        total += max(0, counts.get(value_fingerprint, 0) - before)
    return total


def _served(secrets: SecretProvider, now: float) -> tuple[SecretSet | None, str]:
    """The set the replica serves now, without waiting for a fetch; and why it is not ready."""
    stats = getattr(secrets, "stats", None)
    if callable(stats) and getattr(stats(), "snapshot_age", 0) is None:
        return None, "no secret set fetched yet"
    try:
        served = secrets.secret_set()
    except VerificationError as exc:  # NoActiveSecret: cold, or stale past max_stale
        return None, exc.code
    if not served.candidates(now, 0.0):
        return served, "no secret valid now"
    return served, ""


def _matches_by(secrets: SecretProvider, counter: str) -> dict[str, int]:
    stats = getattr(secrets, "stats", None)
    if not callable(stats):
        return {}
    found = getattr(stats(), counter, None)
    return dict(found) if isinstance(found, Mapping) else {}


_REPORT_FIELDS = frozenset(f.name for f in fields(ReplicaReport))


def _report_fields_fit(document: Mapping[str, Any]) -> bool:
    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def mapping(value: Any, fits: Callable[[Any], bool]) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and fits(v) for k, v in value.items()
        )

    checks: dict[str, Callable[[Any], bool]] = {
        "replica": lambda v: isinstance(v, str) and bool(v),
        "at": number,
        "started": number,
        "ready": lambda v: isinstance(v, bool),
        "set_fingerprint": lambda v: v is None or isinstance(v, str),
        "secrets": lambda v: mapping(v, lambda item: isinstance(item, str)),
        "matches": lambda v: mapping(v, lambda n: isinstance(n, int) and not isinstance(n, bool)),
        "last_match": lambda v: mapping(v, number),
        "matches_by_id": lambda v: mapping(
            v, lambda n: isinstance(n, int) and not isinstance(n, bool)
        ),
        "reason": lambda v: isinstance(v, str),
    }
    return all(name in checks and checks[name](value) for name, value in document.items())


def _status(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        status = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return status if isinstance(status, dict) else None


def _safe(replica: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in replica)[:120]


def _write_atomic(target: Path, text: str) -> None:
    handle, staging = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(staging, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(staging)
        raise
