"""``hookseal rotate``: a provider's secret rotation, run across every replica, resumable.

The procedure (:data:`STEPS`): create the new secret, store it next to the old one, wait until
every live replica serves it (:mod:`hookseal.fleet` heartbeats), switch the provider, confirm
the new secret verifies and the old one went quiet, end the old one's window, remove it. The
state is saved after every step, each step writes one audit line (ids, never values), and a
crash at any step continues with ``resume=True`` (``hookseal rotate --resume``).

    from hookseal.rotation import Rotation, Settings, RedisStore, IntegratorKind
    Rotation(IntegratorKind(client), store=RedisStore(url, key="hookseal:secrets"),
             fleet=RedisFleet(url), state="rotation.json", audit="rotation.log").run()
"""

from __future__ import annotations

from .audit import AuditLog, Progress
from .engine import CRASH_ENV, Context, Rotation, Settings
from .errors import RotationError, RotationRefused, RotationTimeout
from .kinds import BillingKind, IntegratorKind, ManualKind, PaymentsKind, ProviderKind, RetailKind
from .state import STEPS, RotationState, StateFile
from .stores import AwsSecretsManagerStore, FileStore, RedisStore, SecretStore

__all__ = [
    "CRASH_ENV",
    "STEPS",
    "AuditLog",
    "AwsSecretsManagerStore",
    "BillingKind",
    "Context",
    "FileStore",
    "IntegratorKind",
    "ManualKind",
    "PaymentsKind",
    "Progress",
    "ProviderKind",
    "RedisStore",
    "RetailKind",
    "Rotation",
    "RotationError",
    "RotationRefused",
    "RotationState",
    "RotationTimeout",
    "SecretStore",
    "Settings",
    "StateFile",
]
