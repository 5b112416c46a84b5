"""Kinds whose new secret is generated here: the integrator API, and any provider by hand.

- :class:`IntegratorKind` (seed page ``integrator-update-webhook-secret.txt``): the integrator
  signs with exactly one secret, which ``PUT /v1/integrator/webhook-secret`` replaces. The
  switch is that call, made only once every replica verifies with the new secret.
- :class:`ManualKind`: a provider without a secrets API. The new secret is printed once, at the
  switch, for the operator to enter at the provider; the rotation then waits until the fleet
  sees deliveries verified with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...providers.integrator import IntegratorClient
from ._base import GeneratedKind

if TYPE_CHECKING:
    from ..engine import Context

__all__ = ["IntegratorKind", "ManualKind"]


class IntegratorKind(GeneratedKind):
    """Rotate the integrator's one webhook secret (``PUT``) through ``client``."""

    name = "integrator"

    def __init__(self, client: IntegratorClient) -> None:
        self.client = client

    def describe(self) -> str:
        return f"integrator API at {self.client.http.base_url}"

    def plan(self, ctx: Context) -> dict[str, str]:
        return {
            "create": "generate a new secret (256 random bits)",
            "switch": "PUT /v1/integrator/webhook-secret with the new secret",
        }

    def switch(self, ctx: Context) -> None:
        secret = self.refuse_if_missing_new(ctx)
        self.client.set_webhook_secret(secret)  # idempotent: the same value again
        ctx.progress.say(f"  the integrator now signs with {secret.id}")


class ManualKind(GeneratedKind):
    """Rotate at a provider that has no API for it: the operator enters the new secret."""

    name = "manual"

    def __init__(self, provider: str = "the provider") -> None:
        self.provider = provider

    def describe(self) -> str:
        return f"by hand at {self.provider}"

    def plan(self, ctx: Context) -> dict[str, str]:
        return {
            "create": "generate a new secret (256 random bits)",
            "switch": f"print it once for you to enter at {self.provider}, then wait for "
            "deliveries verified with it",
        }

    def switch(self, ctx: Context) -> None:
        secret = self.refuse_if_missing_new(ctx)
        ctx.operator(
            f"enter this new webhook secret ({secret.id}) at {self.provider}; the rotation "
            "goes on once deliveries verify with it"
        )
        ctx.reveal(secret)
        ctx.wait_for_new_traffic(ctx.settings.switch_timeout)
