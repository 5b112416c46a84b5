"""The payments API's own rotation advice, automated (``payments-delete-webhook-secret.txt``).

"Create a new secret; verify with both old and new; deploy; wait for confirmation that the new
secret is working; delete the old." The API signs each delivery with every secret the account
holds, so creating one changes nothing for the receivers; the value is returned once, at
creation, and goes straight into the store under its ``whsec_`` id (the replicas'
:class:`~hookseal.sources.PaymentsSource` joins the store with the listing). The switch ends
the old secret's window in the store so that the replicas verify with the new one, which
confirms it works before anything irreversible happens; the old one is then deleted at the
provider, never while the new one is missing there.

A crash between the creation and the store loses the value (the API never shows it again):
on ``--resume`` the secret whose value was lost is deleted at the provider and another is
created. Which secret is ours: its id, once saved; before that (a crash right after the
create call), a secret neither listed when the rotation began nor held by the store, and
created around the moment the create call was made, recorded before making it. A secret
someone else created meanwhile, in the dashboard, is never deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...providers.payments import PaymentsClient
from ...secrets import Secret, fingerprint
from ..errors import RotationError, RotationRefused
from ._base import ProviderKind

if TYPE_CHECKING:
    from ..engine import Context

__all__ = ["PaymentsKind"]


_CLOCK_MARGIN = 300.0
"""Seconds allowed between this host's clock and the provider's ``created_at``."""


class PaymentsKind(ProviderKind):
    """Rotate the account's webhook signing secret through ``client`` (its secret key's mode,
    or ``livemode``)."""

    name = "payments"

    def __init__(self, client: PaymentsClient, *, livemode: bool | None = None) -> None:
        mode = client.livemode if livemode is None else livemode
        if mode is None:
            raise RotationError("payments: give livemode: the secret key's prefix does not say")
        self.client = client
        self.livemode = mode

    def describe(self) -> str:
        return (
            f"payments API at {self.client.http.base_url} ({'live' if self.livemode else 'test'})"
        )

    def plan(self, ctx: Context) -> dict[str, str]:
        return {
            "create": "POST /webhooks/secrets (the value is returned once; stored at once)",
            "switch": "end the old secrets' window in the store: replicas verify with the new one",
            "retire": "DELETE /webhooks/secrets/{id} for each old secret (irreversible)",
        }

    def _listed(self) -> list[str]:
        infos = self.client.list_webhook_secrets()
        return [info.id for info in infos if info.livemode == self.livemode]

    def begin(self, ctx: Context) -> None:
        listed = self._listed()
        held = ctx.store_secrets()
        ctx.state.old = {i: fingerprint(held[i].reveal()) for i in listed if i in held}
        ctx.state.facts["known"] = listed
        if not ctx.state.old:
            raise RotationError(
                f"no secret is both listed by the payments API ({len(listed)} listed) and held "
                f"by {ctx.store_name()}: nothing to rotate"
            )

    def create(self, ctx: Context) -> Secret:
        self._delete_lost(ctx)
        ctx.state.marks["create_called"] = ctx.clock()
        ctx.save()  # before the call: a resumed rotation knows when its secret was made
        created = self.client.create_webhook_secret()
        ctx.state.new_id = created.id
        ctx.state.new_fingerprint = fingerprint(created.secret.reveal())
        ctx.save()  # before anything else: the id is what a resumed rotation cleans up
        return created.secret

    def _delete_lost(self, ctx: Context) -> None:
        """Secrets created by an earlier, crashed attempt whose value never reached the store:
        not listed at the start, not held, and created around that attempt's call (deleting
        is irreversible: a secret added in the dashboard meanwhile is someone else's)."""
        called = ctx.state.marks.get("create_called")
        if called is None:
            return  # no create call was made: nothing of ours can be lost
        margin = _CLOCK_MARGIN + self.client.http.deadline
        known = set(ctx.state.facts.get("known", []))
        held = ctx.store_secrets()
        for info in self.client.list_webhook_secrets():
            ours = called - _CLOCK_MARGIN <= info.created_at <= called + margin
            if info.livemode == self.livemode and ours and info.id not in known | held.keys():
                self.client.delete_webhook_secret(info.id, missing_ok=True)
                ctx.audit("create", "deleted_lost", secret_id=info.id)

    def discard_new(self, ctx: Context) -> None:
        if ctx.state.new_id is not None:
            self.client.delete_webhook_secret(ctx.state.new_id, missing_ok=True)
            ctx.audit("create", "deleted_at_provider", secret_id=ctx.state.new_id)

    def switch(self, ctx: Context) -> None:
        ctx.require_new_in_store()
        end = ctx.state.marks.get("window_end")
        if end is None:
            end = ctx.clock() + ctx.settings.grace
            ctx.state.marks["window_end"] = end
            ctx.save()
        ctx.end_window(end)

    def retire(self, ctx: Context) -> None:
        ctx.require_new_in_store()
        listed = self._listed()
        if ctx.state.new_id not in listed:
            raise RotationRefused(
                f"the payments API does not list the new secret {ctx.state.new_id!r}; refusing "
                "to delete the old one, which would leave no secret to sign with"
            )
        for secret_id in ctx.state.old:
            if secret_id in listed:
                self.client.delete_webhook_secret(secret_id, missing_ok=True)
            ctx.audit("retire", "deleted_at_provider", secret_id=secret_id)
        ctx.state.marks.setdefault("window_end", ctx.clock())
