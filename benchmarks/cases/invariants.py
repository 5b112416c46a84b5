"""What a request costs, counted rather than timed: the CI gate's structural checks.

Every scenario runs a few requests under :func:`benchmarks.counting.count` (a profile hook)
or :func:`~benchmarks.counting.peak_bytes` (tracemalloc) and records what they did: HMAC
passes, key derivations, hash objects made, Ed25519 checks, Python calls. The targets are
exact or near-exact limits on those numbers, so no load on the machine can move them; each
one names the regression it stands for (a key set up per request, an extra HMAC pass, a copy
of the body, a quadratic loop, a lost fast path). The counts are of the pure-Python path
(:func:`measure` runs them in a child process with ``HOOKSEAL_NO_SPEEDUPS=1``).

Scenarios (1 KiB bodies and the default scheme unless said otherwise):

- ``verify()`` for every scheme, valid, one secret; and the same headers in a plain
  :class:`~collections.abc.Mapping` that no fast path knows (the careful path);
- ``Verifier.verify`` with 1 to 16 active secrets: forged, and valid in steady state;
- a forged request carrying 1 to 16 signatures, one secret;
- ``verify()`` at 64 B, 64 KiB and 1 MiB: counts and peak memory;
- the streaming path (``begin``/``update``/``finish``) with a 64 KiB body in 4 to 32 chunks;
- a request through the ASGI middleware (Starlette) and the WSGI middleware (Flask);
- a forged Standard Webhooks request with six ``v1a`` signatures and two ``whpk_`` keys.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from hookseal import SignatureMismatch, Verifier, sign, verify
from hookseal.schemes.standard import MAX_V1A_SIGNATURES

from ..counting import Tally, count, peak_bytes
from ..model import KIB, MIB, Config, Outcome, Row, count_outcome, size_label
from . import apps
from .inputs import SCHEMES, body_of, make_secrets, request_for

__all__ = ["TITLE", "collect", "measure", "tables", "targets"]

TITLE = "Counted invariants (the CI gate: exact, not timed)"

GROUP = "counts"
COUNTS: tuple[int, ...] = (1, 2, 4, 8, 16)
"""Secrets, signatures: each scenario's growth is read from 4 -> 8 -> 16."""
CHUNKS: tuple[int, ...] = (4, 8, 16, 32)
SIZES: tuple[int, ...] = (64, 64 * KIB, MIB)
DEFAULT = "signature"
REQUESTS = 10

CALL_BUDGET: dict[str, int] = {
    "signature": 10,
    "github": 10,
    "standard": 9,
    "stripe": 8,
    "slack": 8,
    "shopify": 11,
}
"""Python calls one valid ``verify()`` may make per scheme (1 KiB, one secret, a dict of
headers in the usual spelling): what the fast paths cost when written (9, 9, 8, 7, 7, 10), plus
one. Losing a fast path costs 2 or more (the plain-dict header read: 9 -> 11; Standard
Webhooks' parser: 8 -> 14). Counted, so exact: a change that makes the hot path leaner lowers
these; one that must add a call raises them, on purpose and in review. Measured the same on
CPython 3.11 and 3.12; see :func:`call_budget` for 3.10."""


def call_budget(scheme: str) -> int:
    """:data:`CALL_BUDGET` for this Python: 3.10 has no strict base64 decoding in C
    (``binascii.a2b_base64(strict_mode=True)`` is 3.11+), and its fallback costs the base64
    schemes four more Python calls (measured: Standard Webhooks 12, Shopify 14)."""
    extra = 4 if sys.version_info < (3, 11) and scheme in ("standard", "shopify") else 0
    return CALL_BUDGET[scheme] + extra


class PlainHeaders(Mapping[str, str]):
    """Headers in a mapping hookseal has no fast path for (it must take the careful path)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = {k.lower(): v for k, v in headers.items()}

    def __getitem__(self, name: str) -> str:
        return self._headers[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)


def _row(scenario: str, tally: Tally | None, **params: Any) -> Row:
    extra: dict[str, Any] = {}
    if tally is not None:
        extra = {
            "hmac_passes": tally.hmac_passes,
            "derivations": tally.per_request("derivations"),
            "hash_objects": tally.per_request("hash_objects"),
            "updates": tally.per_request("updates"),
            "compares": tally.per_request("compares"),
            "ed25519": tally.per_request("ed25519"),
            "python_calls": tally.per_request("python_calls"),
            "operations": tally.operations,
        }
    return Row(GROUP, scenario, 0.0, "count", 0.0, params, extra)


def _scheme_arg(scheme: str) -> str | None:
    return None if scheme == DEFAULT else scheme


def _refused(call: Callable[[], object]) -> Callable[[], None]:
    """``call`` that must raise SignatureMismatch (a forged request)."""

    def run() -> None:
        try:
            call()
        except SignatureMismatch:
            return
        raise AssertionError("a forged request was accepted")

    return run


def _schemes() -> list[Row]:
    (secret,) = make_secrets(1)
    rows = []
    for scheme in SCHEMES:
        request = request_for(scheme, body_of(KIB), secret)
        body, headers, arg = request.body, request.headers, _scheme_arg(scheme)
        plain = PlainHeaders(headers)
        rows.append(
            _row(
                f"verify() {scheme}, valid",
                count(partial(verify, body, headers, secret, scheme=arg), REQUESTS),
                kind="scheme",
                scheme=scheme,
            )
        )
        rows.append(
            _row(
                f"verify() {scheme}, valid, headers in a plain Mapping",
                count(partial(verify, body, plain, secret, scheme=arg), REQUESTS),
                kind="careful",
                scheme=scheme,
            )
        )
    return rows


def _secrets() -> list[Row]:
    body = body_of(KIB)
    forged = request_for(DEFAULT, body, make_secrets(1)[0]).headers
    rows = []
    for n in COUNTS:
        secrets = make_secrets(n)
        valid = request_for(DEFAULT, body, secrets[-1]).headers
        verifier = Verifier(secrets)
        rows.append(
            _row(
                f"{n} secrets, forged",
                count(_refused(partial(verifier.verify, body, forged)), REQUESTS),
                kind="secrets-forged",
                n=n,
            )
        )
        rows.append(
            _row(
                f"{n} secrets, valid (steady state)",
                count(partial(verifier.verify, body, valid), REQUESTS),
                kind="secrets-valid",
                n=n,
            )
        )
    return rows


def _signatures() -> list[Row]:
    body = body_of(KIB)
    (secret,) = make_secrets(1)
    verifier = Verifier(secret)
    rows = []
    for n in COUNTS:
        strangers = [request_for(DEFAULT, body, s).headers["Signature"] for s in make_secrets(n)]
        headers = {"Signature": ",".join(strangers)}
        rows.append(
            _row(
                f"{n} signatures, forged",
                count(_refused(partial(verifier.verify, body, headers)), REQUESTS),
                kind="signatures",
                n=n,
            )
        )
    return rows


def _sizes() -> list[Row]:
    (secret,) = make_secrets(1)
    rows = []
    for size in SIZES:
        request = request_for(DEFAULT, body_of(size), secret)
        body, headers = request.body, request.headers
        rows.append(
            _row(
                f"verify() at {size_label(size)}",
                count(partial(verify, body, headers, secret), REQUESTS),
                kind="size",
                size=size,
            )
        )
        peak = peak_bytes(partial(verify, body, headers, secret))
        row = _row(f"verify() at {size_label(size)}, peak memory", None, kind="peak", size=size)
        row.extra["peak_bytes"] = peak
        rows.append(row)
    return rows


def _streamed(verifier: Verifier, headers: dict[str, str], chunks: list[bytes]) -> object:
    pending = verifier.begin(headers)
    for chunk in chunks:
        pending.update(chunk)
    return pending.finish()


def _chunks() -> list[Row]:
    (secret,) = make_secrets(1)
    request = request_for(DEFAULT, body_of(64 * KIB), secret)
    body, headers = request.body, request.headers
    verifier = Verifier(secret)
    rows = []
    for n in CHUNKS:
        step = len(body) // n
        chunks = [body[i : i + step] for i in range(0, len(body), step)]
        rows.append(
            _row(
                f"streamed, {n} chunks",
                count(partial(_streamed, verifier, headers, chunks), REQUESTS),
                kind="chunks",
                n=n,
            )
        )
    return rows


def _middleware() -> list[Row]:
    body = body_of(KIB)
    headers = apps.asgi_headers(body)
    loop = asyncio.new_event_loop()
    try:
        guarded = apps.guarded_starlette()
        asgi = count(
            lambda: loop.run_until_complete(apps.drive_asgi(guarded, headers, [body], 1)),
            REQUESTS,
        )
    finally:
        loop.close()
    flask = apps.guarded_flask()
    make = apps.wsgi_environ(body)
    wsgi = count(lambda: apps.drive_wsgi(flask, make), REQUESTS)
    return [
        _row("ASGI middleware (Starlette), valid", asgi, kind="middleware"),
        _row("WSGI middleware (Flask), valid", wsgi, kind="middleware"),
    ]


def _ed25519() -> list[Row]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    keys = []
    for _ in range(2):
        public = Ed25519PrivateKey.generate().public_key()
        raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        keys.append("whpk_" + base64.b64encode(raw).decode())
    body = body_of(KIB)
    headers = sign(body, make_secrets(1)[0], scheme="standard")
    headers["webhook-signature"] = " ".join(
        "v1a," + base64.b64encode(bytes([i + 1]) * 64).decode() for i in range(MAX_V1A_SIGNATURES)
    )
    verifier = Verifier(keys, scheme="standard")
    tally = count(_refused(lambda: verifier.verify(body, headers)), REQUESTS)
    return [
        _row(
            f"Standard Webhooks forged, {MAX_V1A_SIGNATURES} v1a, {len(keys)} whpk_ keys",
            tally,
            kind="ed25519",
            keys=len(keys),
        )
    ]


def collect() -> list[Row]:
    """Every scenario, in this process (the tests call this with a regression injected)."""
    parts = (_schemes, _secrets, _signatures, _sizes, _chunks, _middleware, _ed25519)
    return [row for part in parts for row in part()]


def measure(config: Config) -> list[Row]:
    """:func:`collect` in a child process on the pure-Python path (``HOOKSEAL_NO_SPEEDUPS=1``)."""
    root = Path(__file__).resolve().parent.parent.parent
    env = dict(os.environ, HOOKSEAL_NO_SPEEDUPS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.cases.invariants"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"counting the invariants failed:\n{done.stderr}")
    return [Row(**row) for row in json.loads(done.stdout)]


def _of(rows: Sequence[Row], kind: str) -> list[Row]:
    return [r for r in rows if r.group == GROUP and r.params.get("kind") == kind]


def _by_n(rows: Sequence[Row], kind: str, what: str) -> dict[int, float]:
    return {r.params["n"]: float(r.extra[what]) for r in _of(rows, kind)}


def _growth(values: dict[int, float], small: int, middle: int, large: int) -> float:
    """How the increase from ``middle`` to ``large`` compares with linear growth from the
    increase ``small`` -> ``middle``: 1.0 linear, 0 constant, about 2 for a quadratic."""
    linear = (values[middle] - values[small]) * (large - middle) / (middle - small)
    return (values[large] - values[middle]) / max(linear, 1.0)


_VALID_KINDS = frozenset(("scheme", "careful", "secrets-valid", "size", "chunks", "middleware"))


def targets(rows: Sequence[Row]) -> list[Outcome]:
    """The gate: each a count with an exact or near-exact limit."""
    found: list[Outcome] = []
    counted = [r for r in rows if r.group == GROUP and "derivations" in r.extra]
    if not counted:
        return found

    def worst(field: str) -> tuple[float, str]:
        row = max(counted, key=lambda r: r.extra[field])
        return float(row.extra[field]), row.contender

    value, where = worst("derivations")
    found.append(count_outcome("key derivations per request, every scenario", value, 0, where))
    value, where = worst("hash_objects")
    found.append(
        count_outcome("hash objects keyed per request (key set-up), any scenario", value, 0, where)
    )
    valid = [r for r in counted if r.params["kind"] in _VALID_KINDS]
    if valid:
        most = max(valid, key=lambda r: abs(r.extra["hmac_passes"] - 1))
        found.append(
            count_outcome(
                "HMAC passes per valid request (every scheme, size, chunking, secrets count, "
                "middleware): furthest from 1",
                float(most.extra["hmac_passes"]),
                1,
                most.contender,
                exact=True,
            )
        )
    forged = _of(rows, "secrets-forged")
    if forged:
        most = max(forged, key=lambda r: abs(r.extra["hmac_passes"] / r.params["n"] - 1))
        found.append(
            count_outcome(
                "HMAC passes per forged request / active secrets: furthest from 1",
                most.extra["hmac_passes"] / most.params["n"],
                1,
                most.contender,
                exact=True,
            )
        )
    signatures = _of(rows, "signatures")
    if signatures:
        most = max(signatures, key=lambda r: r.extra["hmac_passes"])
        found.append(
            count_outcome(
                "HMAC passes per forged request, 1 to 16 signatures presented (constant)",
                float(most.extra["hmac_passes"]),
                1,
                most.contender,
            )
        )
    sizes = {r.params["size"]: r for r in _of(rows, "size")}
    if 64 in sizes and MIB in sizes:
        small, large = sizes[64].extra, sizes[MIB].extra
        found.append(
            count_outcome(
                "verify(): calls per request at 1 MiB minus at 64 B (nothing loops over the body)",
                large["operations"] - small["operations"],
                0,
            )
        )
    peaks = {r.params["size"]: r for r in _of(rows, "peak")}
    if MIB in peaks:
        found.append(
            count_outcome(
                "verify() at 1 MiB: peak memory / body (no copy of the body)",
                peaks[MIB].extra["peak_bytes"] / MIB,
                1 / 16,
                unit="x",
            )
        )
    for kind, label in (
        ("secrets-forged", "secrets (forged)"),
        ("signatures", "signatures presented (forged)"),
    ):
        values = _by_n(rows, kind, "operations")
        if {4, 8, 16} <= values.keys():
            found.append(
                count_outcome(
                    f"calls per request vs {label}: growth 8 -> 16 / linear (2 ~ quadratic)",
                    _growth(values, 4, 8, 16),
                    1.25,
                    unit="x",
                )
            )
    values = _by_n(rows, "chunks", "operations")
    if {8, 16, 32} <= values.keys():
        found.append(
            count_outcome(
                "streamed calls per request vs chunks: growth 16 -> 32 / linear (2 ~ quadratic)",
                _growth(values, 8, 16, 32),
                1.25,
                unit="x",
            )
        )
    scheme_rows = {r.params["scheme"]: r for r in _of(rows, "scheme")}
    careful_rows = {r.params["scheme"]: r for r in _of(rows, "careful")}
    if scheme_rows:
        over = {
            s: row.extra["python_calls"] / call_budget(s)
            for s, row in scheme_rows.items()
            if s in CALL_BUDGET
        }
        scheme = max(over, key=lambda s: over[s])
        found.append(
            count_outcome(
                "fast paths kept: Python calls per verify() with a dict of headers / budget, "
                "worst scheme",
                over[scheme],
                1.0,
                scheme,
                unit="x",
            )
        )
    shared = [s for s in scheme_rows if s in careful_rows]
    if shared:
        ratios = {
            s: scheme_rows[s].extra["python_calls"] / careful_rows[s].extra["python_calls"]
            for s in shared
        }
        scheme = max(ratios, key=lambda s: ratios[s])
        found.append(
            count_outcome(
                "header fast paths: Python calls with a dict / with a plain Mapping, worst scheme",
                ratios[scheme],
                0.9,
                scheme,
                unit="x",
            )
        )
    for row in _of(rows, "ed25519"):
        found.append(
            count_outcome(
                "Ed25519 checks per forged request per whpk_ key",
                row.extra["ed25519"] / row.params["keys"],
                MAX_V1A_SIGNATURES,
                row.contender,
            )
        )
    return found


def tables(rows: Sequence[Row]) -> list[str]:
    """Markdown: one line per scenario."""
    found = [r for r in rows if r.group == GROUP]
    if not found:
        return []
    lines = [
        "### What one request does, counted (pure-Python path)",
        "",
        "| scenario | HMAC passes | key derivations | hash objects keyed | hash updates "
        "| compare_digest | Ed25519 checks | Python calls | calls in all | peak bytes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in found:
        e = row.extra
        if "peak_bytes" in e:
            lines.append(f"| {row.contender} | | | | | | | | | {e['peak_bytes']:,} |")
            continue
        lines.append(
            f"| {row.contender} | {e['hmac_passes']:g} | {e['derivations']:g} "
            f"| {e['hash_objects']:g} | {e['updates']:g} | {e['compares']:g} | {e['ed25519']:g} "
            f"| {e['python_calls']:g} | {e['operations']:g} | |"
        )
    lines += [
        "",
        f"Per request, averaged over {REQUESTS} requests after one that is not counted (it "
        "builds the verifier and the key material). Counted by a profile hook: calls into "
        "hashlib, hmac.compare_digest and Ed25519 verify, and Python frames.",
    ]
    return ["\n".join(lines)]


if __name__ == "__main__":
    print(json.dumps([row.as_json() for row in collect()]))
