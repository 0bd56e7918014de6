"""Activation without code changes: BOTO_RESILIENCE=1, botocore's experimental plugin variable,
and ``boto-resilience run``, each in a subprocess running an unmodified script."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

SCRIPT = textwrap.dedent("""
    import boto3
    client = boto3.client("dynamodb")
    try:
        client.list_tables()
    except Exception as e:
        print("error", type(e).__name__, e.response["ResponseMetadata"]["RetryAttempts"] + 1)
""")


def run(tmp_path: Path, srv: Any, env_extra: dict[str, str], argv: Any = None) -> str:
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BOTO_RESILIENCE", "BOTOCORE_EXPERIMENTAL"))}
    env.update({"AWS_ENDPOINT_URL": srv.url, "AWS_RETRY_MODE": "standard",
                "AWS_MAX_ATTEMPTS": "3", "AWS_ACCESS_KEY_ID": "x",
                "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
    env.update(env_extra)
    cmd = argv or [sys.executable, str(script)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() + done.stderr


pytestmark = pytest.mark.slow


def test_unmodified_script_plain_botocore(tmp_path: Path, srv: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    out = run(tmp_path, srv, {"BOTO_RESILIENCE_BASE_DELAY": "0.001"})  # not enabled
    assert out.startswith("error ClientError 3")
    assert srv.stats()["total"] == 3


def test_unmodified_script_with_env_flag(tmp_path: Path, srv: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    out = run(tmp_path, srv, {"BOTO_RESILIENCE": "1", "BOTO_RESILIENCE_MAX_ATTEMPTS": "5",
                              "BOTO_RESILIENCE_BASE_DELAY": "0.001"})
    assert out.startswith("error ClientError 5")
    assert srv.stats()["total"] == 5


def test_env_flag_with_bad_value_logs_and_leaves_botocore(tmp_path: Path, srv: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    out = run(tmp_path, srv, {"BOTO_RESILIENCE": "1", "BOTO_RESILIENCE_MAX_ATTEMPTS": "five"})
    assert "error ClientError 3" in out  # botocore's own behaviour
    assert "max_attempts='five'" in out and "accepted values" in out
    assert out.count("max_attempts='five'") == 1


def test_botocore_experimental_plugin(tmp_path: Path, srv: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    out = run(tmp_path, srv, {"BOTOCORE_EXPERIMENTAL__PLUGINS":
                              "resilience=boto_resilience.plugin",
                              "BOTO_RESILIENCE_MAX_ATTEMPTS": "4",
                              "BOTO_RESILIENCE_BASE_DELAY": "0.001"})
    assert out.startswith("error ClientError 4")


def test_cli_run(tmp_path: Path, srv: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    cli = [sys.executable, "-m", "boto_resilience.cli", "run", "--", sys.executable,
           str(tmp_path / "app.py")]
    out = run(tmp_path, srv, {"BOTO_RESILIENCE_MAX_ATTEMPTS": "2",
                              "BOTO_RESILIENCE_BASE_DELAY": "0.001"}, cli)
    assert out.startswith("error ClientError 2")


def test_hook_costs_nothing_when_unset(tmp_path: Path) -> None:
    code = "import sys; print('botocore' in sys.modules, 'boto_resilience' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTO_RESILIENCE")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60).stdout.split()
    assert out == ["False", "False"]
    env["BOTO_RESILIENCE"] = "1"  # enabled, but a program that never imports botocore
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60).stdout.split()
    assert out == ["False", "True"]


def test_hook_after_boto3_import_covers_default_session(tmp_path: Path, srv: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent("""
        import boto3, boto_resilience.plugin as p
        client = boto3.client("dynamodb")
        print(p.installed(), hasattr(client, "_boto_resilience_engine"))
    """))
    env = dict(os.environ, BOTO_RESILIENCE="1", AWS_ENDPOINT_URL=srv.url,
               AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.split() == ["True", "True"], done.stderr
