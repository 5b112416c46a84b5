"""What a provider kind implements: the provider's side of each step of the procedure.

The engine (:mod:`hookseal.rotation.engine`) owns the order, the persisted state, the waits on
the fleet and the safety rules; a kind only says how its provider creates, switches to and
retires a secret. Every method may be called again after a crash, so each checks first whether
its work is already done.
"""

from __future__ import annotations

import secrets as stdlib_secrets
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from ...secrets import Secret, fingerprint
from ..errors import RotationError, RotationRefused

if TYPE_CHECKING:
    from ..engine import Context

__all__ = ["GeneratedKind", "ProviderKind", "generate_value"]


def generate_value() -> str:
    """A new secret: 256 random bits, URL-safe text (fits any provider's text field)."""
    return stdlib_secrets.token_urlsafe(32)


class ProviderKind(ABC):
    """The provider side of a rotation. ``needs_store``: the new secret reaches the replicas
    through the shared store (False only where the replicas read the provider directly)."""

    name: str = "provider"
    needs_store: bool = True

    def describe(self) -> str:
        return self.name

    # -- before the first step ----------------------------------------------------------------

    def begin(self, ctx: Context) -> None:
        """Record the secrets in use now (``ctx.state.old``); default: every secret the store
        holds that is not past its window."""
        now = ctx.clock()
        held = ctx.store_secrets()
        ctx.state.old = {
            i: fingerprint(s.reveal()) for i, s in held.items() if s.is_valid_at(now, 0.0)
        }
        if not ctx.state.old:
            raise RotationError(f"{ctx.store_name()} holds no secret valid now: nothing to rotate")

    def plan(self, ctx: Context) -> dict[str, str]:
        """What each step will do, for ``--dry-run`` (step name to one line)."""
        return {}

    # -- create and store ---------------------------------------------------------------------

    @abstractmethod
    def create(self, ctx: Context) -> Secret:
        """The new secret (with its id); sets ``ctx.state.new_id``."""

    def recover_new(self, ctx: Context) -> Secret | None:
        """The new secret's value after a crash, when it can be had again (default: from the
        store). None means it is lost: the engine discards it and creates another."""
        held = ctx.store_secrets().get(ctx.state.new_id or "")
        if held is not None and fingerprint(held.reveal()) == ctx.state.new_fingerprint:
            return held
        return None

    def discard_new(self, ctx: Context) -> None:
        """Undo :meth:`create` at the provider (a secret whose value was lost)."""
        return None

    def store(self, ctx: Context, secret: Secret) -> None:
        """Write the new secret next to the old ones (if not there already)."""
        ctx.put(secret)

    def rollback(self, ctx: Context) -> None:
        """Undo create and store, before the switch: nothing changed at the provider after."""
        if ctx.state.new_id is not None:
            ctx.remove_from_store([ctx.state.new_id])
        self.discard_new(ctx)

    # -- switch, retire, remove ---------------------------------------------------------------

    @abstractmethod
    def switch(self, ctx: Context) -> None:
        """Make the provider sign with the new secret (or wait until it does)."""

    def retire(self, ctx: Context) -> None:
        """End the old secrets' windows (default: ``expires_at`` now + grace, in the store)."""
        ctx.require_new_in_store()
        ctx.end_window(ctx.clock() + ctx.settings.grace)

    def remove(self, ctx: Context) -> None:
        """Remove the old secrets from the store (their windows have passed)."""
        ctx.require_new_in_store()
        ctx.remove_from_store(list(ctx.state.old))


class GeneratedKind(ProviderKind):
    """A kind whose new secret is generated here: its id is ``settings.new_id`` or one made
    from the time (``k20260101120000``)."""

    def create(self, ctx: Context) -> Secret:
        secret = Secret(generate_value(), id=ctx.new_id())
        ctx.state.new_id = secret.id
        return secret

    def refuse_if_missing_new(self, ctx: Context) -> Secret:
        secret = self.recover_new(ctx)
        if secret is None:
            raise RotationRefused(
                f"the store no longer holds the new secret {ctx.state.new_id!r}; refusing to "
                "switch the provider to a secret the replicas cannot verify"
            )
        return secret
