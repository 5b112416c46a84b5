"""Fixtures for the provider client tests: the imitated APIs on 127.0.0.1."""

from __future__ import annotations

from _provider_apis.fixtures import (
    billing_server,
    integrator_server,
    payments_server,
    retail_server,
)

__all__ = ["billing_server", "integrator_server", "payments_server", "retail_server"]
