"""Entry point: ``python -m benchmarks`` (run from the repository root)."""

from __future__ import annotations

import sys

from .run import main

if __name__ == "__main__":
    sys.exit(main())
