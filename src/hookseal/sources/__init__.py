"""Where secrets come from: every source returns an immutable SecretSet on ``fetch()``.

Local sources (no extra dependency) are imported here; the network ones import their client
library, so they load on first use: ``from hookseal.sources import HttpSource`` needs the
``http`` extra, ``AwsSecretsManagerSource`` the ``aws`` extra, ``RedisSource`` the ``redis``
extra. The provider API sources (``RetailSource``, ``BillingSource``, ``PaymentsSource``) need
the ``http`` extra; :class:`JoinedSource` joins any store with any provider :class:`Listing`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._base import Fetched, SecretSource, SourceError, Unsubscribe
from .callable import CallableSource
from .composite import CompositeSource
from .env import EnvSource
from .file import FileSource
from .joined import JoinedSource, Listed, Listing
from .static import StaticSource

if TYPE_CHECKING:
    from ._mapping import JsonMapping
    from .aws import AwsSecretsManagerSource
    from .billing import BillingSource
    from .http import HttpSource
    from .payments import PaymentsSource
    from .redis import RedisSource
    from .retail import RetailSource

__all__ = [
    "AwsSecretsManagerSource",
    "BillingSource",
    "CallableSource",
    "CompositeSource",
    "EnvSource",
    "Fetched",
    "FileSource",
    "HttpSource",
    "JoinedSource",
    "JsonMapping",
    "Listed",
    "Listing",
    "PaymentsSource",
    "RedisSource",
    "RetailSource",
    "SecretSource",
    "SourceError",
    "StaticSource",
    "Unsubscribe",
]

_LAZY = {
    "HttpSource": ".http",
    "AwsSecretsManagerSource": ".aws",
    "RedisSource": ".redis",
    "JsonMapping": "._mapping",
    "RetailSource": ".retail",
    "BillingSource": ".billing",
    "PaymentsSource": ".payments",
}


def __getattr__(name: str) -> Any:
    """Import the network sources on first use, so their client libraries stay optional."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
