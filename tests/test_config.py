"""Configuration: precedence, one name per setting, loud explicit errors, quiet env errors."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

import boto_resilience
from boto_resilience import cli
from boto_resilience import config as config_mod
from boto_resilience.config import ConfigError


def test_defaults() -> None:
    cfg, problems = config_mod.from_environment({})
    assert problems == []
    assert cfg.max_attempts is None and cfg.backoff == "full_jitter" and cfg.deadline is None
    assert all(source == "default" for _, _, source in cfg.describe())


def test_precedence_file_env_argument(tmp_path: Path) -> None:
    path = tmp_path / "resilience.toml"
    path.write_text('max_attempts = 4\nbackoff = "equal_jitter"\ndeadline = 9\n'
                    '[overrides."dynamodb.Query"]\ndeadline = 2.5\n')
    env = {"BOTO_RESILIENCE_CONFIG": str(path), "BOTO_RESILIENCE_BACKOFF": "constant",
           "BOTO_RESILIENCE_MAX_DELAY": "3"}
    cfg, problems = config_mod.from_environment(env)
    assert problems == []
    assert (cfg.max_attempts, cfg.backoff, cfg.max_delay, cfg.deadline) == (4, "constant", 3.0, 9.0)
    assert cfg.sources["max_attempts"] == f"file:{path}"
    assert cfg.sources["backoff"] == "env:BOTO_RESILIENCE_BACKOFF"
    final = config_mod.build(cfg, max_attempts=6)
    assert final.max_attempts == 6 and final.sources["max_attempts"] == "argument"
    assert final.for_operation("dynamodb", "Query").deadline == 2.5
    assert final.for_operation("dynamodb", "GetItem").deadline == 9.0
    assert final.for_operation("dynamodb", "Query") is final.for_operation("dynamodb", "Query")


def test_service_then_operation_overrides() -> None:
    cfg = config_mod.build(None, max_attempts=2, overrides={
        "s3": {"max_attempts": 5, "base_delay": 0.5},
        "s3.GetObject": {"max_attempts": 9}})
    assert cfg.for_operation("s3", "GetObject").max_attempts == 9
    assert cfg.for_operation("s3", "GetObject").base_delay == 0.5
    assert cfg.for_operation("s3", "PutObject").max_attempts == 5
    assert cfg.for_operation("sqs", "SendMessage").max_attempts == 2


@pytest.mark.parametrize("name,value,accepted", [
    ("max_attempts", 0, "whole number from 1 to 100"),
    ("max_attempts", "three", "whole number from 1 to 100"),
    ("backoff", "fibonacci", "full_jitter, equal_jitter"),
    ("base_delay", -1, "seconds >= 0"),
    ("deadline", 0, "seconds > 0, or none"),
    ("metrics", "graphite", "memory, logging, emf"),
    ("scope", "galaxy", "client, session, process"),
    ("rate_limit", "maybe", "true/false"),
])
def test_bad_explicit_value_raises_naming_setting(name: str, value: object,
                                                  accepted: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_mod.build(None, **{name: value})
    assert name in str(info.value) and accepted in str(info.value)
    with pytest.raises(ConfigError):
        boto_resilience.register(**{name: value})


def test_unknown_setting_and_bad_override() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'max_attempt'"):
        config_mod.build(None, max_attempt=3)
    with pytest.raises(ConfigError, match="overridable settings are"):
        config_mod.build(None, overrides={"s3": {"metrics": "emf"}})
    with pytest.raises(ConfigError, match="accepted keys are"):
        config_mod.build(None, overrides={"a.b.c": {}})


def test_bad_env_value_is_reported_not_raised() -> None:
    cfg, problems = config_mod.from_environment({"BOTO_RESILIENCE_MAX_ATTEMPTS": "lots",
                                                 "BOTO_RESILIENCE_MAXATTEMPTS": "3"})
    assert cfg.max_attempts is None
    assert any("BOTO_RESILIENCE_MAX" not in p or "max_attempts='lots'" in p for p in problems)
    assert any("unknown environment variable BOTO_RESILIENCE_MAXATTEMPTS" in p
               for p in problems)


def test_bad_env_leaves_botocore_in_place(monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    from boto_resilience import plugin

    monkeypatch.setattr(plugin, "_env_errors_logged", False)
    monkeypatch.setenv("BOTO_RESILIENCE_BACKOFF", "fibonaci")
    with caplog.at_level(logging.ERROR, logger="boto_resilience"):
        handle = boto_resilience.register()
        boto_resilience.register()
    assert not handle.active
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "backoff='fibonaci'" in errors[0].getMessage()
    assert "full_jitter" in errors[0].getMessage()


def test_bad_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("max_attempts = [")
    _, problems = config_mod.from_environment({"BOTO_RESILIENCE_CONFIG": str(path)})
    assert problems and "BOTO_RESILIENCE_CONFIG" in problems[0]
    _, problems = config_mod.from_environment({"BOTO_RESILIENCE_CONFIG": str(tmp_path / "no")})
    assert problems


def test_config_is_frozen() -> None:
    cfg = config_mod.build(None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.max_attempts = 3  # type: ignore[misc]


def test_cli_config_prints_sources(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BOTO_RESILIENCE_MAX_ATTEMPTS", "7")
    assert cli.main(["config"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("max_attempts"))
    assert "7" in line and "env:BOTO_RESILIENCE_MAX_ATTEMPTS" in line
    assert any(x.startswith("backoff") and "default" in x for x in out.splitlines())
    monkeypatch.setenv("BOTO_RESILIENCE_DEADLINE", "-1")
    assert cli.main(["config"]) == 1


def test_replace_does_not_share_the_operation_cache() -> None:
    base = config_mod.build(None, max_attempts=2)
    assert base.for_operation("s3", "GetObject").max_attempts == 2
    derived = config_mod.build(base, max_attempts=5)
    assert derived.for_operation("s3", "GetObject").max_attempts == 5


def test_higher_layer_setting_beats_lower_layer_override(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('[overrides.dynamodb]\nmax_attempts = 5\ndeadline = 3\n')
    cfg, _ = config_mod.from_environment({"BOTO_RESILIENCE_CONFIG": str(path),
                                          "BOTO_RESILIENCE_MAX_ATTEMPTS": "2"})
    op = cfg.for_operation("dynamodb", "Query")
    assert op.max_attempts == 2 and op.deadline == 3.0
    explicit = config_mod.build(cfg, overrides={"dynamodb": {"max_attempts": 7}})
    assert explicit.for_operation("dynamodb", "Query").max_attempts == 7


def test_cli_classify(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["classify", "LimitExceededException", "--service", "kinesis"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("LimitExceededException: Throttled (retryable: yes)")
    assert "kinesis" in out
    assert cli.main(["classify", "LimitExceededException", "--service", "iam"]) == 0
    assert capsys.readouterr().out.startswith("LimitExceededException: QuotaExceeded")
    assert cli.main(["classify", "404", "--status", "404"]) == 0
    assert "NotFound (retryable: no)" in capsys.readouterr().out


def test_cli_run_needs_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--"]) == 2
    assert "give a command" in capsys.readouterr().err


def test_metrics_accepts_partial_sink_objects() -> None:
    class OnlyCalls:
        def on_call(self, record: object) -> None: ...

    sink = OnlyCalls()
    assert config_mod.build(None, metrics=[sink, "memory"]).metrics == (sink, "memory")
    with pytest.raises(ConfigError, match="sink objects"):
        config_mod.build(None, metrics=[object()])
