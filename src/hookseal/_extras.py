"""Optional dependencies: import one, or fail at set-up naming the extra that installs it.

Every optional part (a framework integration, a network secret source, the Redis replay guard)
checks its dependency when it is built, so a missing package is a ``ConfigurationError`` at
start-up instead of a vague failure on the first request.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigurationError

__all__ = ["INSTALL_HINT", "MissingExtra", "missing_extra", "require"]

INSTALL_HINT = 'from a clone of hookseal: pip install -e ".[{extra}]"'
"""How to install an extra. hookseal is not on PyPI yet, so the hint names the only way that
works today; once it is published this becomes ``pip install "hookseal[{extra}]"``."""


class MissingExtra(ConfigurationError, ImportError):
    """An optional part was used without the package that its extra installs.

    A :class:`ConfigurationError` (raised at set-up, never on a request) and an ``ImportError``
    (what code guarding an optional import with ``except ImportError`` expects).
    """


def missing_extra(what: str, module: str, extra: str) -> MissingExtra:
    """The error for ``what`` needing ``module``, which ``hookseal[extra]`` installs."""
    error = MissingExtra(
        f"{what} needs {module}, which hookseal's {extra!r} extra installs "
        f"({INSTALL_HINT.format(extra=extra)})"
    )
    error.name = module
    return error


def require(module: str, *, extra: str, what: str) -> ModuleType:
    """Import ``module`` for ``what``, or raise :class:`MissingExtra` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing_extra(what, module, extra) from exc
