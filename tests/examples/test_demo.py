"""The README's demo command must keep working: run the demo end to end in a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def test_demo_accepts_and_refuses_every_delivery_as_expected() -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout
    assert "signed with the new secret k2 (first use)" in done.stdout
    assert "every delivery was accepted or refused as it should be" in done.stdout
    assert "hookseal rotate, with deliveries flowing all along" in done.stdout  # rotation scene
    assert ", 0 refused" in done.stdout
