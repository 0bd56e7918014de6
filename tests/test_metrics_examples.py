"""The metrics examples run offline and show what they promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTO_RESILIENCE")}
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_cloudwatch_example_reads_its_metrics_back() -> None:
    out = run("cloudwatch_metrics.py")
    assert "dropped 0" in out
    assert "calls                 60" in out
    assert "retries" in out and "Throttled" in out


@pytest.mark.slow
def test_prometheus_example_prints_the_exposition() -> None:
    out = run("prometheus_metrics.py")
    assert "# TYPE myapp_calls_total counter" in out
    assert "# TYPE myapp_call_duration_seconds histogram" in out
    assert 'myapp_retries_total{cloud_region="eu-west-1",error_category="Unavailable"' in out
