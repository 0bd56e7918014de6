"""The examples run offline, as the README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_quickstart_runs() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "plugin: succeeded after 3 retries" in done.stdout
