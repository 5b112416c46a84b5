"""A source reading one environment variable: a secret, a comma-separated list, or JSON.

``WEBHOOK_SECRET=s3cr3t`` · ``WEBHOOK_SECRET=new,old`` (all active; use JSON when a secret
contains a comma) · ``WEBHOOK_SECRET='[{"id": "k2", "value": "new"},
{"id": "k1", "value": "old", "rotate_at": "2026-05-01T12:00:00Z"}]'``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from ..errors import ConfigurationError
from ..secrets import SecretSet
from ._base import Fetched, SecretSource, SourceError
from ._parse import secret_set_from_document

__all__ = ["EnvSource"]


class EnvSource(SecretSource):
    """Reads ``var`` from ``environ`` (default ``os.environ``) on every fetch, so a process
    whose environment is changed in place (tests, some supervisors) picks the change up."""

    def __init__(
        self, var: str, environ: Mapping[str, str] | None = None, *, name: str | None = None
    ) -> None:
        if not isinstance(var, str) or not var:
            raise ConfigurationError("EnvSource needs the name of an environment variable")
        self.var = var
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.name = name if name is not None else f"env:{var}"

    def fetch(self) -> Fetched:
        raw = self.environ.get(self.var)
        text = "" if raw is None else raw.strip()
        if not text:
            raise SourceError(f"environment variable {self.var} is not set or empty")
        if text[0] in "[{":
            try:
                document = json.loads(text)
            except json.JSONDecodeError as exc:  # position only: the text is the secret
                raise SourceError(
                    f"environment variable {self.var}: not valid JSON "
                    f"(line {exc.lineno}, column {exc.colno})"
                ) from None
            except RecursionError:
                raise SourceError(
                    f"environment variable {self.var}: JSON nested too deeply to read"
                ) from None
            return Fetched(secret_set_from_document(document, f"environment variable {self.var}"))
        values = [part.strip() for part in text.split(",")]
        values = [v for v in values if v]
        if not values:
            raise SourceError(f"environment variable {self.var} holds no secret")
        try:
            return Fetched(SecretSet(values))
        except ConfigurationError:  # the same value twice; say so without the value
            raise SourceError(
                f"environment variable {self.var} lists the same secret twice"
            ) from None

    async def afetch(self) -> Fetched:
        return self.fetch()  # a dict lookup: no thread needed
