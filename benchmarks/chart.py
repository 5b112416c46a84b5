"""The README picture: ``python -m benchmarks.chart [--json PATH] [--out PATH]``.

Reads the JSON that ``python -m benchmarks`` wrote and draws one panel per subject: verify()
time per library and scheme at 1 KiB, and the middleware overhead (each app bare and with
hookseal). A panel is a function in :data:`PANELS` (it receives the axes and the JSON document).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

__all__ = ["PANELS", "main", "middleware_panel", "render", "verify_panel"]

ROOT = Path(__file__).resolve().parent.parent
SIZE = 1024
SCHEMES = ("signature", "github", "shopify", "stripe", "slack", "standard")
PEERS = {
    "standard": ("standardwebhooks", "svix"),
    "stripe": ("stripe",),
    "slack": ("slack_sdk", "slack_sdk is_valid_request"),
}
COLOURS = {"hookseal": "#2a7ab9", "floor": "#b9b9b9", "peer": "#e0823d"}

Document = dict[str, Any]
Panel = Callable[[Axes, Document], None]


def _row(doc: Document, group: str, contender: str, **params: object) -> dict[str, Any] | None:
    for row in doc["rows"]:
        same = row["group"] == group and row["contender"] == contender
        if same and all(row["params"].get(k) == v for k, v in params.items()):
            return dict(row)
    return None


def _microseconds(doc: Document, scheme: str, contender: str) -> float | None:
    """Time per call, anchored on the pre-keyed floor's median and scaled by same-run ratios.

    Ratios are medians of per-repetition ratios, so they resist a busy machine better than
    each contender's own median; the peers are scaled through hookseal's verify() in their group.
    """
    floor = _row(doc, "verify", "floor: pre-keyed", scheme=scheme, size=SIZE)
    if floor is None:
        return None
    if contender in ("verify()", "floor: pre-keyed"):
        row = _row(doc, "verify", contender, scheme=scheme, size=SIZE)
        return None if row is None else float(floor["ns"]) * row["ratio"] / 1000
    ours = _row(doc, "verify", "verify()", scheme=scheme, size=SIZE)
    peer = _row(doc, "peers", contender, scheme=scheme, size=SIZE)
    if ours is None or peer is None:
        return None
    return float(floor["ns"]) * ours["ratio"] * peer["ratio"] / 1000


def _peer_label(peer: str) -> str:
    """slack_sdk has two entry points in the table; say which bar is which."""
    return "slack_sdk is_valid (values pre-extracted)" if peer == "slack_sdk" else peer


def verify_panel(ax: Axes, doc: Document) -> None:
    """Horizontal bars: hookseal verify(), the pre-keyed floor and each peer, per scheme."""
    labels: list[str] = []
    values: list[float] = []
    colours: list[str] = []
    for scheme in SCHEMES:
        bars = [
            (f"{scheme}: hookseal verify()", "verify()", "hookseal"),
            (f"{scheme}: pre-keyed HMAC floor", "floor: pre-keyed", "floor"),
        ]
        bars += [(f"{scheme}: {_peer_label(peer)}", peer, "peer") for peer in PEERS.get(scheme, ())]
        for label, contender, kind in bars:
            us = _microseconds(doc, scheme, contender)
            if us is not None:
                labels.append(label)
                values.append(us)
                colours.append(COLOURS[kind])
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=colours)
    ax.set_yticks(positions, labels, fontsize=8)
    for y, value in zip(positions, values, strict=True):
        ax.text(value, y, f" {value:.1f}", va="center", fontsize=7)
    ax.set_xlabel("µs per verification, 1 KiB body, one secret (lower is better)")
    ax.set_title("verify() per library and scheme", fontsize=10)
    ax.set_xlim(0, max(values, default=1) * 1.15)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    ax.legend(
        handles, ["hookseal", "HMAC floor", "provider library"], fontsize=8, loc="upper right"
    )


MIDDLEWARE = (
    (
        "asgi",
        "Starlette (bare)",
        "Starlette + WebhookVerificationMiddleware",
        "Starlette, in-process",
    ),
    ("asgi", "FastAPI (bare)", "FastAPI + VerifiedWebhook dependency", "FastAPI, in-process"),
    ("wsgi", "Flask (bare)", "Flask + hookseal.wsgi middleware", "Flask, in-process"),
    ("wsgi", "Flask (bare)", "Flask + HookSeal extension", "Flask, in-process"),
)
"""(group, bare contender, guarded contender, label) for the middleware panel."""


def _per_request(doc: Document, group: str, contender: str) -> float | None:
    """µs per request: the group reference's median scaled by the same-run ratio (as in the
    tables)."""
    row = _row(doc, group, contender)
    if row is None:
        return None
    base = _row(doc, group, str(row["reference"]))
    return None if base is None else float(base["ns"]) * float(row["ratio"]) / 1000


def middleware_panel(ax: Axes, doc: Document) -> None:
    """Pairs of bars: each app bare and with hookseal (µs per request), and the uvicorn pair
    (server CPU µs per request); each guarded bar says its share of the bare requests/s."""
    labels: list[str] = []
    values: list[float] = []
    colours: list[str] = []
    notes: list[str] = []
    for group, bare, guarded, label in MIDDLEWARE:
        b = _per_request(doc, group, bare)
        g = _per_request(doc, group, guarded)
        if b is None or g is None:
            continue
        if f"{label}: bare" not in labels:  # one bare bar per app
            labels.append(f"{label}: bare")
            values.append(b)
            colours.append(COLOURS["floor"])
            notes.append("")
        labels.append(f"{label}: {guarded.split(' + ', 1)[1]}")
        values.append(g)
        colours.append(COLOURS["hookseal"])
        notes.append(f"  {100 * b / g:.0f}% of bare req/s")
    server = {
        r["contender"]: r
        for r in doc["rows"]
        if r["group"] == "servers" and r["params"].get("server") == "uvicorn"
    }
    if "Starlette (bare)" in server and "Starlette + WebhookVerificationMiddleware" in server:
        b_row = server["Starlette (bare)"]
        g_row = server["Starlette + WebhookVerificationMiddleware"]
        labels += ["uvicorn + Starlette: bare", "uvicorn + Starlette: middleware"]
        values += [b_row["extra"]["server_cpu_us"], g_row["extra"]["server_cpu_us"]]
        colours += [COLOURS["floor"], COLOURS["hookseal"]]
        notes += ["", f"  {100 * g_row['extra']['rps_ratio']:.0f}% of bare req/s"]
    if not values:
        ax.set_axis_off()
        return
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=colours)
    ax.set_yticks(positions, labels, fontsize=8)
    for y, value, note in zip(positions, values, notes, strict=True):
        ax.text(value, y, f" {value:.1f}{note}", va="center", fontsize=7)
    ax.set_xlabel(
        "µs per request, 1 KiB body, one secret (lower is better)\n"
        "in-process: thread CPU time; uvicorn: server CPU time"
    )
    ax.set_title("Middleware overhead: each app bare and with hookseal", fontsize=10)
    ax.set_xlim(0, max(values) * 1.45)
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[k]) for k in ("floor", "hookseal")]
    ax.legend(handles, ["bare app", "with hookseal"], fontsize=8, loc="upper right")


PANELS: list[Panel] = [verify_panel, middleware_panel]
"""One subplot each, top to bottom."""


def render(doc: Document, out: Path, panels: Sequence[Panel] = PANELS) -> None:
    """Draw ``panels`` from ``doc`` into the PNG ``out``."""
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 6 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        panel(ax, doc)
    info = doc["machine"]
    fig.text(
        0.01,
        0.005,
        f"{doc['mode']} run, {info['cpu']}, {info['cpus']} CPUs, Python {info['python']}; "
        "µs = each group's reference median x same-run ratios (python -m benchmarks)",
        fontsize=7,
        color="#555555",
    )
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Read the results JSON, write the PNG."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chart")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.png")
    parser.add_argument(
        "--allow-quick", action="store_true", help="draw from a --quick run's results too"
    )
    args = parser.parse_args(argv)
    doc = json.loads(args.json.read_text(encoding="utf-8"))
    if doc.get("mode") != "full" and not args.allow_quick:
        print(
            f"{args.json} holds a {doc.get('mode')!r} run; the committed chart comes from a full "
            "run (python -m benchmarks), or pass --allow-quick"
        )
        return 2
    render(doc, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
