"""Faithful local imitations of the four provider APIs (``shared/seeds``), for the tests.

One module per page: :mod:`.retail`, :mod:`.billing`, :mod:`.payments`, :mod:`.integrator`,
each an API object (state, the provider's own changes, and ``route``) served on 127.0.0.1 by
:func:`serving`. ``examples/`` holds the documented example answers, read by :func:`example`.
"""

from __future__ import annotations

from pathlib import Path

from ._server import Answer, ApiServer, Received, json_answer, serving

__all__ = ["EXAMPLES", "Answer", "ApiServer", "Received", "example", "json_answer", "serving"]

EXAMPLES = Path(__file__).resolve().parent / "examples"


def example(name: str) -> bytes:
    """The bytes of ``examples/<name>`` (e.g. ``retail-get-webhook-signatures.200.json``)."""
    return (EXAMPLES / name).read_bytes()
