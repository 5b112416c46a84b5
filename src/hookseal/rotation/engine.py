"""The rotation procedure as a persisted, resumable state machine.

:class:`Rotation` runs the steps of :data:`~hookseal.rotation.state.STEPS` in order for one
provider kind. After each step it saves the state (ids, fingerprints, times; never a value)
and writes one audit line; a crash at any point resumes with ``resume=True``: a step that was
cut short is done again, and each step checks first what is already done. Until the provider
is switched, a failed deployment rolls everything back (:meth:`Rotation.abort` does it on
request); after the switch the rotation only goes forward.

The safety rules live here, not in the kinds: no switch before every live replica serves the
new secret; no retirement while the old secret still verifies traffic (unless ``force``); the
new secret must be in place before anything old is removed or deleted. Every wait is bounded.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from ..fleet import FleetBackend, FleetView, ReplicaReport, verified_since
from ..secrets import Secret, fingerprint
from .audit import AuditLog, Progress
from .errors import RotationError, RotationRefused, RotationTimeout
from .kinds._base import ProviderKind
from .state import STEPS, RotationState, StateFile
from .stores import Secrets, SecretStore

__all__ = ["CRASH_ENV", "Context", "Rotation", "Settings"]

T = TypeVar("T")

CRASH_ENV = "HOOKSEAL_ROTATE_CRASH"
"""Names a step: the process kills itself (SIGKILL) right after that step's work and before
its state is saved; the crash-and-resume tests use it to stop at every step in turn."""


@dataclass(frozen=True)
class Settings:
    """Timings and rules (seconds). ``quiet``: how long the old secret must verify nothing
    before it is retired; ``grace``: how long it still verifies after retirement; ``leeway``:
    the replicas' verifier leeway (the old secret verifies until its end plus this);
    ``min_deliveries``: verifications with the new secret that confirm it works."""

    poll: float = 1.0
    deploy_timeout: float = 300.0
    switch_timeout: float = 900.0
    confirm_timeout: float = 900.0
    remove_timeout: float = 300.0
    quiet: float = 300.0
    grace: float = 300.0
    leeway: float = 60.0
    min_deliveries: int = 1
    min_replicas: int = 1
    force: bool = False
    new_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("poll", "deploy_timeout", "switch_timeout", "confirm_timeout"):
            if not getattr(self, name) > 0:
                raise RotationError(f"{name} must be a positive number of seconds")
        for name in ("remove_timeout", "quiet", "grace", "leeway"):
            if not getattr(self, name) >= 0:
                raise RotationError(f"{name} must not be negative")
        if self.min_deliveries < 1 or self.min_replicas < 0:
            raise RotationError("min_deliveries must be at least 1, min_replicas at least 0")


class Context:
    """What a provider kind's step may use: the state, the store, the fleet, the operator."""

    def __init__(self, rotation: Rotation, state: RotationState) -> None:
        self._rotation = rotation
        self.state = state
        self.settings = rotation.settings
        self.progress = rotation.progress
        self.clock = rotation.clock
        self.fleet = FleetView(rotation.fleet, clock=rotation.clock)

    # -- state and audit ------------------------------------------------------------------

    def save(self) -> None:
        self._rotation.state_file.save(self.state)

    def audit(self, step: str, event: str, **fields: Any) -> None:
        self._rotation.audit_line(self.state, step, event, **fields)

    def new_id(self) -> str:
        if self.settings.new_id is not None:
            return self.settings.new_id
        moment = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)
        return "k" + moment.strftime("%Y%m%d%H%M%S")

    # -- the operator -----------------------------------------------------------------------

    def operator(self, instruction: str) -> None:
        """An instruction for the operator, on the operator's stream (stdout)."""
        self._rotation.operator_line(f"operator: {instruction}")

    def reveal(self, secret: Secret) -> None:
        """Print the new secret's value for the operator to enter at the provider: the one
        place a value is ever written, to the operator's stream only."""
        self._rotation.operator_line(f"secret {secret.id}: {secret.reveal().decode('utf-8')}")
        self.audit("switch", "secret_shown", secret_id=secret.id)

    # -- the store --------------------------------------------------------------------------

    def store_name(self) -> str:
        store = self._rotation.store
        return "the provider" if store is None else store.name

    def store_secrets(self) -> Secrets:
        store = self._rotation.store
        return {} if store is None else store.read()

    def update_store(self, change: Callable[[Secrets], Secrets], what: str) -> Secrets:
        store = self._rotation.store
        if store is None:
            raise RotationError("this step needs a store (--redis, --file or --aws)")
        return store.update(change, token=f"{self.state.rotation_id}:{what}")

    def put(self, secret: Secret) -> None:
        """The new secret next to the old ones; refused if its id holds another value."""
        wanted = fingerprint(secret.reveal())

        def add(held: Secrets) -> Secrets:
            there = held.get(secret.id)
            if there is not None and fingerprint(there.reveal()) != wanted:
                raise RotationRefused(f"the store already holds another secret as {secret.id!r}")
            return held if there is not None else {**held, secret.id: secret}

        self.update_store(add, "store")

    def end_window(self, end: float) -> None:
        """Old secrets verify until ``end`` (never later than a window they already have)."""
        old = set(self.state.old)

        def shorten(held: Secrets) -> Secrets:
            changed = dict(held)
            for secret_id in old & held.keys():
                secret = held[secret_id]
                if secret.expires_at is None or secret.expires_at > end:
                    changed[secret_id] = secret.replace(expires_at=end)
            return changed

        self.update_store(shorten, "retire")
        self.state.marks["window_end"] = min(self.state.marks.get("window_end", end), end)

    def remove_from_store(self, ids: list[str]) -> None:
        if self._rotation.store is None:
            return
        gone = set(ids)
        self.update_store(lambda held: {i: s for i, s in held.items() if i not in gone}, "remove")

    def require_new_in_store(self) -> None:
        """Never leave the old secret as the only one: the new one must be held, as created."""
        if self._rotation.store is None:
            return
        held = self.store_secrets().get(self.state.new_id or "")
        if held is None or fingerprint(held.reveal()) != self.state.new_fingerprint:
            raise RotationRefused(
                f"{self.store_name()} does not hold the new secret {self.state.new_id!r}; "
                "refusing to retire the old one, which would leave no secret to verify with"
            )

    # -- waiting ------------------------------------------------------------------------------

    def wait(self, what: str, check: Callable[[], tuple[T | None, str]], timeout: float) -> T:
        """Poll ``check`` (a result, or None and why not yet) until it has a result, showing
        progress; RotationTimeout after ``timeout`` seconds."""
        return self._rotation.wait(what, check, timeout)

    def wait_for_new_traffic(self, timeout: float) -> int:
        """Until the fleet has verified ``min_deliveries`` deliveries with the new secret
        since the switch began."""
        need = self.settings.min_deliveries

        def seen() -> tuple[int | None, str]:
            count = self.verified_with_new()
            return (count, "") if count >= need else (None, f"{count} of {need} deliveries")

        return self.wait(f"deliveries verified with {self.state.new_id}", seen, timeout)

    def verified_with_new(self) -> int:
        counts = self.fleet.counts()
        return verified_since(self.state.baseline, counts, self.state.new_fingerprint or "")


class Rotation:
    """Rotates a webhook secret for ``kind`` across the replicas that report to ``fleet``.

    ``store``: the shared store the replicas read (None only for kinds whose replicas read the
    provider). ``state``: where the state is kept; ``audit``: the audit log path (or None).
    ``progress``: human-readable progress (stderr); ``operator``: the stream for the
    operator's instructions (stdout).
    """

    def __init__(
        self,
        kind: ProviderKind,
        *,
        fleet: FleetBackend,
        state: str | os.PathLike[str] | StateFile,
        store: SecretStore | None = None,
        audit: str | os.PathLike[str] | AuditLog | None = None,
        settings: Settings | None = None,
        progress: Progress | None = None,
        operator: TextIO | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if kind.needs_store and store is None:
            raise RotationError(
                f"the {kind.name} rotation needs a store (--redis, --file or --aws)"
            )
        self.kind = kind
        self.fleet = fleet
        self.store = store
        self.state_file = state if isinstance(state, StateFile) else StateFile(state)
        self.audit = audit if isinstance(audit, AuditLog) else AuditLog(audit)
        self.settings = settings or Settings()
        self.progress = progress or Progress()
        self.operator_stream = operator or sys.stdout
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self._new_secret: Secret | None = None  # between create and store, in memory only

    # -- entry points -------------------------------------------------------------------------

    def plan(self) -> list[str]:
        """The steps this rotation would take, one line each (``--dry-run``); changes nothing."""
        state = self.state_file.load()
        resuming = state is not None and not state.finished
        if not resuming:
            state = RotationState(kind=self.kind.name)
            self.kind.begin(Context(self, state))
        assert state is not None
        special = self.kind.plan(Context(self, state))
        generic = {
            "create": "create the new secret",
            "store": f"write it to {Context(self, state).store_name()} next to "
            f"{', '.join(state.old) or 'the old one'}",
            "deploy": f"wait (at most {self.settings.deploy_timeout:g} s) until every live replica "
            f"serves it (at least {self.settings.min_replicas}); else roll back",
            "switch": "switch the provider to the new secret",
            "confirm": f"wait until it verifies {self.settings.min_deliveries} deliveries and the "
            f"old one is quiet for {self.settings.quiet:g} s",
            "retire": f"end the old one's window ({self.settings.grace:g} s from then)",
            "remove": f"after the window (+{self.settings.leeway:g} s leeway), remove the old one "
            "and wait until no replica serves it",
        }
        lines = [
            f"rotation ({self.kind.describe()}) of {', '.join(state.old)}"
            + (f", resuming {state.rotation_id}" if resuming else "")
        ]
        for number, step in enumerate(STEPS, 1):
            mark = "done" if state.is_done(step) else "todo"
            lines.append(f"{number}. {step:<8} [{mark}] {special.get(step, generic[step])}")
        return lines

    def run(self, *, resume: bool = False) -> RotationState:
        """Run (or with ``resume``, continue) the rotation to its end."""
        self.state_file.lock()
        try:
            state = self._open(resume)
            ctx = Context(self, state)
            for step in STEPS:
                if not state.is_done(step):
                    self._step(ctx, step)
            state.status = "done"
            self.state_file.save(state)
            self.audit_line(state, "done", "done", new=state.new_id, old=sorted(state.old))
            self._note(state, "done")
            self.fleet.release(state.rotation_id)
            self.progress.say(f"rotation {state.rotation_id} done: {state.new_id} is in use")
            return state
        finally:
            self.state_file.unlock()

    def abort(self) -> RotationState:
        """Roll back a rotation that has not switched the provider yet."""
        self.state_file.lock()
        try:
            state = self.state_file.load()
            if state is None or state.finished:
                raise RotationError("no rotation in progress to abort")
            self._same_rotation(state)
            self._claim(state)
            if state.is_done("switch") or "switch_started" in state.marks:
                raise RotationRefused(
                    f"rotation {state.rotation_id} has switched the provider already; it can "
                    "only go forward (--resume)"
                )
            self._roll_back(Context(self, state), "aborted", "aborted on request")
            return state
        finally:
            self.state_file.unlock()

    # -- the machine --------------------------------------------------------------------------

    def _open(self, resume: bool) -> RotationState:
        state = self.state_file.load()
        if resume:
            if state is None or state.finished:
                raise RotationError("no rotation in progress to resume")
            if state.kind != self.kind.name:
                raise RotationError(f"the rotation in progress is a {state.kind} rotation")
            self._same_rotation(state)
            self._claim(state)
            self.audit_line(state, state.next_step or "done", "resumed", done=list(state.done))
            self.progress.say(f"resuming rotation {state.rotation_id} at {state.next_step}")
            return state
        if state is not None and not state.finished:
            raise RotationError(
                f"rotation {state.rotation_id} is in progress (next step: {state.next_step}); "
                "continue it with --resume, or roll it back with --abort"
            )
        state = RotationState(
            kind=self.kind.name, provider=self.kind.describe(), store=self._store_name()
        )
        self._claim(state)
        try:
            self.kind.begin(Context(self, state))
            self.state_file.save(state)
        except BaseException:
            self.fleet.release(state.rotation_id)  # it never began
            raise
        self.audit_line(
            state, "plan", "started", old=sorted(state.old), provider=self.kind.describe()
        )
        self.progress.say(
            f"rotation {state.rotation_id} ({self.kind.describe()}) of {', '.join(state.old)}"
        )
        return state

    def _claim(self, state: RotationState) -> None:
        """Make this the one rotation in progress on the fleet, or refuse: two operators with
        state files of their own would otherwise rotate the same store and provider at once
        (each taking the other's new secret for an old one, deleting it, switching back)."""
        holder = self.fleet.claim(state.rotation_id)
        if holder is not None:
            raise RotationRefused(
                f"rotation {holder} is in progress on {self.fleet.name}: finish it (--resume) "
                "or roll it back (--abort) with its own state file first; if that state file "
                f"is lost for good, --break-lock releases the claim of {holder}"
            )

    def break_lock(self) -> str | None:
        """Release the fleet's claim whoever holds it (a rotation whose state file is lost);
        returns the id of the rotation that held it."""
        holder = self.fleet.release("", force=True)
        if holder is not None:
            self.audit.record(holder, self.kind.name, "lock", "broken")
        return holder

    def _store_name(self) -> str:
        return "" if self.store is None else self.store.name

    def _same_rotation(self, state: RotationState) -> None:
        """Refuse to continue (or roll back) a rotation begun with another provider or store:
        its ids, fingerprints and windows belong there (another endpoint's rotate_at, another
        account's secret ids), and its steps would act on the wrong one."""
        provider = self.kind.describe()
        if state.provider and state.provider != provider:
            raise RotationError(
                f"rotation {state.rotation_id} was begun for another provider "
                f"({state.provider}), not {provider}; give the options it was begun with"
            )
        if state.provider and state.store != self._store_name():
            raise RotationError(
                f"rotation {state.rotation_id} was begun with another store "
                f"({state.store or 'none'}), not {self._store_name() or 'none'}; give the "
                "options it was begun with"
            )

    def _step(self, ctx: Context, step: str) -> None:
        state = ctx.state
        self.audit_line(state, step, "started")
        self._note(state, step)
        self.progress.say(f"{STEPS.index(step) + 1}/{len(STEPS)} {step}")
        getattr(self, "_" + step)(ctx)
        _crash_point(step)
        state.done.append(step)
        self.state_file.save(state)
        self.audit_line(state, step, "done", **self._summary(state, step))

    def _summary(self, state: RotationState, step: str) -> dict[str, Any]:
        facts: dict[str, Any] = {"new": state.new_id, "old": sorted(state.old)}
        if step == "deploy":
            facts["replicas"] = state.facts.get("deployed_to", [])
        if step == "confirm":
            facts["verified_with_new"] = state.facts.get("verified_with_new")
        if step in ("retire", "remove") and "window_end" in state.marks:
            facts["window_end"] = state.marks["window_end"]
        return facts

    def _create(self, ctx: Context) -> None:
        secret = self.kind.create(ctx)
        ctx.state.new_id = secret.id
        ctx.state.new_fingerprint = fingerprint(secret.reveal())
        self._new_secret = secret

    def _store(self, ctx: Context) -> None:
        secret = self._new_secret or self.kind.recover_new(ctx)
        if secret is None:  # crashed between create and store: the value is gone
            self.audit_line(ctx.state, "store", "value_lost", secret_id=ctx.state.new_id)
            self.kind.discard_new(ctx)
            self._create(ctx)
            secret = self._new_secret
            assert secret is not None
            self.state_file.save(ctx.state)
            self.audit_line(ctx.state, "create", "done", new=ctx.state.new_id, redone=True)
        self.kind.store(ctx, secret)
        self._new_secret = None

    def _deploy(self, ctx: Context) -> None:
        new_fp = ctx.state.new_fingerprint or ""

        def everyone() -> tuple[list[str] | None, str]:
            live = ctx.fleet.live()
            behind = sorted(r.replica for r in live if not r.serves(new_fp))
            if len(live) < self.settings.min_replicas:
                return (
                    None,
                    f"{len(live)} live replica(s), at least {self.settings.min_replicas} needed",
                )
            if behind:
                return (
                    None,
                    f"{len(live) - len(behind)}/{len(live)} serve it; behind: {', '.join(behind)}",
                )
            return sorted(r.replica for r in live), ""

        try:
            replicas = self.wait(
                f"every replica serving {ctx.state.new_id}", everyone, self.settings.deploy_timeout
            )
        except RotationTimeout as exc:
            self._roll_back(ctx, "rolled_back", str(exc))
            raise RotationTimeout(
                f"{exc}; rolled back: the new secret left the store, nothing changed at the "
                "provider (see the replicas' refresh and heartbeat settings)"
            ) from None
        ctx.state.facts["deployed_to"] = replicas
        self.progress.say(
            f"  {len(replicas)} replica(s) serve {ctx.state.new_id}: {', '.join(replicas)}"
        )

    def _switch(self, ctx: Context) -> None:
        if "switch_started" not in ctx.state.marks:
            ctx.state.baseline = ctx.fleet.counts()
            ctx.state.marks["switch_started"] = self.clock()
            self.state_file.save(ctx.state)
        self.kind.switch(ctx)
        ctx.state.marks["switched"] = self.clock()

    def _confirm(self, ctx: Context) -> None:
        quiet = self.settings.quiet
        need = self.settings.min_deliveries
        old_fps = list(ctx.state.old.values())

        def confirmed() -> tuple[int | None, str]:
            reports = ctx.fleet.live()
            count = verified_since(
                ctx.state.baseline, ctx.fleet.counts(reports), ctx.state.new_fingerprint or ""
            )
            loud = self._recently_verified(reports, old_fps, quiet)
            if count >= need and not loud:
                return count, ""
            parts = [f"{count}/{need} deliveries verified with {ctx.state.new_id}"]
            if loud:
                parts.append(f"old secret verified {loud}")
            return None, "; ".join(parts)

        count = self.wait(
            "the new secret verifying and the old one quiet",
            confirmed,
            self.settings.confirm_timeout,
        )
        ctx.state.facts["verified_with_new"] = count

    def _retire(self, ctx: Context) -> None:
        loud = self._recently_verified(
            ctx.fleet.live(), list(ctx.state.old.values()), self.settings.quiet
        )
        if loud and not self.settings.force:
            raise RotationRefused(
                f"the old secret verified traffic {loud}: refusing to retire it "
                "(--force to do it anyway)"
            )
        if loud:
            self.audit_line(ctx.state, "retire", "forced", last_verified=loud)
        self.kind.retire(ctx)

    def _remove(self, ctx: Context) -> None:
        end = ctx.state.marks.get("window_end", self.clock()) + self.settings.leeway

        def window_over() -> tuple[bool | None, str]:
            left = end - self.clock()
            return (True, "") if left <= 0 else (None, f"{left:.0f} s left")

        self.wait(
            "the old secret's window to pass",
            window_over,
            max(0.0, end - self.clock()) + self.settings.remove_timeout + self.settings.poll,
        )
        self.kind.remove(ctx)
        old_fps = set(ctx.state.old.values())

        def nobody() -> tuple[bool | None, str]:
            still = sorted(r.replica for r in ctx.fleet.live() if old_fps & set(r.secrets.values()))
            return (True, "") if not still else (None, f"still served by {', '.join(still)}")

        self.wait(
            "no replica serving the old secret",
            nobody,
            self.settings.remove_timeout + self.settings.poll,
        )

    def _roll_back(self, ctx: Context, status: str, why: str) -> None:
        self.kind.rollback(ctx)
        ctx.state.status = status
        self.state_file.save(ctx.state)
        self.audit_line(ctx.state, "rollback", status, new=ctx.state.new_id, reason=why)
        self._note(ctx.state, status)
        self.fleet.release(ctx.state.rotation_id)

    def _recently_verified(self, reports: list[ReplicaReport], fps: list[str], quiet: float) -> str:
        """'' when none of ``fps`` verified anything in the last ``quiet`` seconds, else when."""
        now = self.clock()
        latest = max((r.last_match.get(fp, -1.0) for r in reports for fp in fps), default=-1.0)
        if latest >= now - quiet:
            return f"{max(0.0, now - latest):.1f} s ago"
        return ""

    # -- output -------------------------------------------------------------------------------

    def wait(self, what: str, check: Callable[[], tuple[T | None, str]], timeout: float) -> T:
        deadline = self.monotonic() + timeout
        while True:
            result, detail = check()
            if result is not None:
                return result
            if self.monotonic() >= deadline:
                raise RotationTimeout(f"{what}: not done within {timeout:g} s ({detail})")
            self.progress.waiting(what, detail)
            self.sleep(self.settings.poll)

    def audit_line(self, state: RotationState, step: str, event: str, **fields: Any) -> None:
        self.audit.record(state.rotation_id, state.kind, step, event, **fields)

    def operator_line(self, text: str) -> None:
        self.operator_stream.write(text + "\n")
        self.operator_stream.flush()

    def _note(self, state: RotationState, step: str) -> None:
        status: Mapping[str, Any] = {
            "rotation": state.rotation_id,
            "kind": state.kind,
            "step": step,
            "step_index": STEPS.index(step) + 1
            if step in STEPS
            else (0 if step != "done" else len(STEPS) + 1),
            "at": self.clock(),
        }
        try:
            self.fleet.note(status)
        except Exception as exc:  # the status record is for dashboards; the rotation goes on
            self.progress.say(f"  (could not publish the rotation's status: {type(exc).__name__})")


def _crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
