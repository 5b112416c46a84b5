"""The billing API's rotation (``billing-list-webhook-endpoints.txt``), with no delivery lost.

The listing carries no secret value, only ``rotate_at`` while a rotation is in progress: the
moment the previous secret expires. The provider signs with the new secret from the start of
its rotation, so the new secret must be on every replica *before* the operator starts it:

1. the new secret is generated and stored under the staged id (``next``), which the replicas'
   ``BillingSource(..., staged_id="next")`` verifies with whether or not a rotation is on;
2. once every replica serves it, it is printed once for the operator to enter at the provider;
3. the rotation waits for the endpoint to show ``rotate_at`` (the provider's own switch), then
   relabels the store in one transaction: ``current`` = new, ``previous`` = old until
   ``rotate_at``, no ``next``;
4. after ``rotate_at`` (plus the replicas' leeway) the previous secret leaves the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...providers.billing import BillingClient
from ...secrets import Secret, fingerprint
from ..errors import RotationError, RotationRefused
from ._base import GeneratedKind

if TYPE_CHECKING:
    from ..engine import Context

__all__ = ["BillingKind"]


class BillingKind(GeneratedKind):
    """Rotate the secret of one webhook endpoint (``endpoint_id``) of the billing API; the
    store ids are the replicas' ``BillingSource`` ones."""

    name = "billing"

    def __init__(
        self,
        client: BillingClient,
        *,
        endpoint_id: str,
        current_id: str = "current",
        previous_id: str = "previous",
        staged_id: str = "next",
    ) -> None:
        if len({current_id, previous_id, staged_id}) != 3:
            raise RotationError("billing: current, previous and staged ids must all differ")
        self.client = client
        self.endpoint_id = endpoint_id
        self.current_id = current_id
        self.previous_id = previous_id
        self.staged_id = staged_id

    def describe(self) -> str:
        return f"billing API at {self.client.http.base_url}, endpoint {self.endpoint_id}"

    def plan(self, ctx: Context) -> dict[str, str]:
        return {
            "create": "generate a new secret (256 random bits)",
            "store": f"store it as {self.staged_id!r} (every replica verifies it before switching)",
            "switch": "print it once for you to enter at the provider; wait for the endpoint's "
            f"rotate_at; then {self.current_id!r} = new, {self.previous_id!r} = old till rotate_at",
            "retire": "the provider ends the old secret at rotate_at",
            "remove": f"after rotate_at + leeway, remove {self.previous_id!r} from the store",
        }

    def begin(self, ctx: Context) -> None:
        endpoint = self.client.find_webhook(id=self.endpoint_id)
        if endpoint.rotate_at is not None:
            raise RotationRefused(
                f"endpoint {self.endpoint_id} is already rotating (rotate_at "
                f"{endpoint.rotate_at:.0f}); wait for it to end before starting another"
            )
        current = ctx.store_secrets().get(self.current_id)
        if current is None:
            raise RotationError(f"{ctx.store_name()} holds no {self.current_id!r} secret")
        ctx.state.old = {self.current_id: fingerprint(current.reveal())}

    def create(self, ctx: Context) -> Secret:
        secret = super().create(ctx)
        return Secret(secret.reveal(), id=self.staged_id)

    def store(self, ctx: Context, secret: Secret) -> None:
        ctx.state.new_id = self.staged_id
        ctx.put(secret)

    def switch(self, ctx: Context) -> None:
        held = ctx.store_secrets()
        new_fp = ctx.state.new_fingerprint
        current = held.get(self.current_id)
        if current is not None and fingerprint(current.reveal()) == new_fp:
            return  # relabelled before a crash: the switch is done
        rotate_at = ctx.state.marks.get("rotate_at")
        if rotate_at is None:
            secret = self.refuse_if_missing_new(ctx)
            ctx.operator(
                f"start the secret rotation of webhook endpoint {self.endpoint_id} at the "
                "billing provider with this new secret; the rotation goes on when the endpoint "
                "shows rotate_at"
            )
            ctx.reveal(secret)
            rotate_at = ctx.wait(
                "the endpoint's rotate_at (the provider's switch)",
                self._rotate_at,
                ctx.settings.switch_timeout,
            )
            ctx.state.marks["rotate_at"] = rotate_at
            ctx.save()
        self._relabel(ctx, rotate_at)

    def _rotate_at(self) -> tuple[float | None, str]:
        endpoint = self.client.find_webhook(id=self.endpoint_id)
        if endpoint.rotate_at is None:
            return None, "no rotation in progress at the provider yet"
        return endpoint.rotate_at, ""

    def _relabel(self, ctx: Context, rotate_at: float) -> None:
        old_fp = next(iter(ctx.state.old.values()))
        new_fp = ctx.state.new_fingerprint

        def relabel(held: dict[str, Secret]) -> dict[str, Secret]:
            staged, current = held.get(self.staged_id), held.get(self.current_id)
            if staged is None or fingerprint(staged.reveal()) != new_fp:
                raise RotationRefused(f"the store lost the staged secret {self.staged_id!r}")
            if current is None or fingerprint(current.reveal()) != old_fp:
                raise RotationRefused(f"the store's {self.current_id!r} changed meanwhile")
            rest = {
                i: s
                for i, s in held.items()
                if i not in (self.staged_id, self.current_id, self.previous_id)
            }
            return {
                **rest,
                self.current_id: Secret(staged.reveal(), id=self.current_id),
                self.previous_id: Secret(
                    current.reveal(), id=self.previous_id, expires_at=rotate_at
                ),
            }

        ctx.update_store(relabel, "relabel")
        ctx.state.new_id = self.current_id
        ctx.state.old = {self.previous_id: old_fp}
        ctx.state.marks["window_end"] = rotate_at
        ctx.save()
        ctx.audit("switch", "relabelled", new=self.current_id, old=self.previous_id)

    def retire(self, ctx: Context) -> None:
        ctx.require_new_in_store()  # the provider ends the old secret itself, at rotate_at
