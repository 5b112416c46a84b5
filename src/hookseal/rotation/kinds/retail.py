"""The retail API's rotation (``retail-get-webhook-signatures.txt``): read the new key from it.

The retail API lists every signature key of a chain with its value; keys are created, linked
to a webhook and deactivated at the provider (its console, or calls these pages do not
document). So the operator does those three things when asked, and the rotation reads and
checks each one: the new key appears (its value read from the API); every replica serves it
(their ``RetailSource`` reads the API, or the store the rotation writes it to); deliveries
verify with it once the webhook is linked to it; the old key is deactivated or deleted once
nothing verifies with it any more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...providers.retail import RetailClient, WebhookSignature
from ...secrets import Secret, fingerprint
from ..errors import RotationError, RotationRefused
from ._base import ProviderKind

if TYPE_CHECKING:
    from ..engine import Context

__all__ = ["RetailKind"]


class RetailKind(ProviderKind):
    """Rotate the signature key of chain ``chain_id``. ``with_store``: the replicas read a
    shared store that the rotation keeps (default: they read the retail API themselves)."""

    name = "retail"

    def __init__(self, client: RetailClient, *, chain_id: int, with_store: bool = False) -> None:
        self.client = client
        self.chain_id = chain_id
        self.needs_store = with_store

    def describe(self) -> str:
        return f"retail API at {self.client.http.base_url}, chain {self.chain_id}"

    def plan(self, ctx: Context) -> dict[str, str]:
        return {
            "create": "you create a new signature key at the provider; read it from the API",
            "store": "store it next to the old key"
            if self.needs_store
            else "nothing to store: the replicas read the keys from the retail API",
            "switch": "you link the chain's webhook to the new key; wait for deliveries on it",
            "retire": "you deactivate or delete the old key; wait for the API to show it",
        }

    def _keys(self) -> list[WebhookSignature]:
        return self.client.get_webhook_signatures(self.chain_id)

    def begin(self, ctx: Context) -> None:
        keys = self._keys()
        ctx.state.old = {str(k.id): fingerprint(k.secret.reveal()) for k in keys if k.usable}
        ctx.state.facts["known"] = [k.id for k in keys]
        if not ctx.state.old:
            raise RotationError(f"chain {self.chain_id} has no active key: nothing to rotate")

    def create(self, ctx: Context) -> Secret:
        if ctx.settings.new_id is None and self._new_key(ctx)[0] is None:
            ctx.operator(
                f"create a new webhook signature key for chain {self.chain_id} at the retail "
                "provider (add-webhook-signature); the rotation reads it from the API"
            )
        key = ctx.wait(
            "the new signature key", lambda: self._new_key(ctx), ctx.settings.switch_timeout
        )
        return key.secret

    def _new_key(self, ctx: Context) -> tuple[WebhookSignature | None, str]:
        known = set(ctx.state.facts.get("known", []))
        wanted = ctx.settings.new_id
        fresh = [
            k
            for k in self._keys()
            if k.usable and (str(k.id) == wanted if wanted is not None else k.id not in known)
        ]
        if len(fresh) > 1:
            raise RotationError(
                f"several new keys appeared ({', '.join(str(k.id) for k in fresh)}); "
                "name the one to rotate to with --new-id"
            )
        return (fresh[0], "") if fresh else (None, "no new active key listed yet")

    def recover_new(self, ctx: Context) -> Secret | None:
        for key in self._keys():
            same = fingerprint(key.secret.reveal()) == ctx.state.new_fingerprint
            if str(key.id) == ctx.state.new_id and key.usable and same:
                return key.secret
        return None

    def store(self, ctx: Context, secret: Secret) -> None:
        if self.needs_store:
            ctx.put(secret)

    def rollback(self, ctx: Context) -> None:
        if self.needs_store and ctx.state.new_id is not None:
            ctx.remove_from_store([ctx.state.new_id])
        if ctx.state.new_id is not None:
            ctx.operator(f"signature key {ctx.state.new_id} is not in use: delete it if you wish")

    def switch(self, ctx: Context) -> None:
        if self.recover_new(ctx) is None:
            raise RotationRefused(f"key {ctx.state.new_id} is no longer active at the provider")
        ctx.operator(
            f"link the webhook(s) of chain {self.chain_id} to signature key {ctx.state.new_id} "
            "(webhook_signature_id); the rotation goes on once deliveries verify with it"
        )
        ctx.wait_for_new_traffic(ctx.settings.switch_timeout)

    def retire(self, ctx: Context) -> None:
        if self.recover_new(ctx) is None:
            raise RotationRefused(
                f"key {ctx.state.new_id} is no longer active; refusing to retire the old key, "
                "which would leave the chain without a key"
            )
        if self._still_usable(ctx)[0] is None:  # still active: ask for it
            old = ", ".join(ctx.state.old)
            ctx.operator(f"deactivate or delete signature key(s) {old} of chain {self.chain_id}")
        ctx.wait(
            "the old key(s) deactivated",
            lambda: self._still_usable(ctx),
            ctx.settings.switch_timeout,
        )
        ctx.state.marks.setdefault("window_end", ctx.clock())

    def _still_usable(self, ctx: Context) -> tuple[bool | None, str]:
        usable = {str(k.id) for k in self._keys() if k.usable}
        left = sorted(set(ctx.state.old) & usable)
        return (None, f"still active: {', '.join(left)}") if left else (True, "")

    def remove(self, ctx: Context) -> None:
        if self.needs_store:
            super().remove(ctx)
