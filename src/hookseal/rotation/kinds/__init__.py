"""The provider kinds a rotation knows: how each provider creates, switches and retires."""

from __future__ import annotations

from ._base import GeneratedKind, ProviderKind, generate_value
from .billing import BillingKind
from .generated import IntegratorKind, ManualKind
from .payments import PaymentsKind
from .retail import RetailKind

__all__ = [
    "BillingKind",
    "GeneratedKind",
    "IntegratorKind",
    "ManualKind",
    "PaymentsKind",
    "ProviderKind",
    "RetailKind",
    "generate_value",
]
