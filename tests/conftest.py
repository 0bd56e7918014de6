"""Shared fixtures: a clean environment per test, dummy credentials, a fault server, and a
botocore whose own backoff sleeps are recorded instead of slept."""

from __future__ import annotations

import os
import types
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.endpoint
import pytest

from boto_resilience import guards, plugin
from boto_resilience.fault_server import FaultServer


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in list(os.environ):
        if var.startswith("BOTO_RESILIENCE") or var in ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
                                                        "AWS_ENDPOINT_URL",
                                                        "BOTOCORE_EXPERIMENTAL__PLUGINS"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    guards.reset_registries()  # budgets, limiters, breakers are process-wide by default
    yield
    guards.reset_registries()
    plugin.uninstall()
    boto3.DEFAULT_SESSION = None


@pytest.fixture(scope="session")
def server() -> Iterator[FaultServer]:
    with FaultServer(seed=1) as srv:
        yield srv


@pytest.fixture
def srv(server: FaultServer) -> Iterator[FaultServer]:
    server.reset()
    yield server
    server.reset()


class SleepRecorder:
    """Replaces the ``time`` module botocore's endpoint sleeps with: records, never sleeps."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self._real = botocore.endpoint.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> SleepRecorder:
    recorder = SleepRecorder()
    monkeypatch.setattr(botocore.endpoint, "time", recorder)
    return recorder


def make_client(service: str, url: str, session: Any = None, **config: Any) -> Any:
    from botocore.config import Config

    session = session or boto3.Session()
    return session.client(service, endpoint_url=url, region_name="us-east-1",
                          config=Config(**config) if config else None)


@pytest.fixture
def client_factory(srv: FaultServer) -> Any:
    def factory(service: str = "dynamodb", session: Any = None, **config: Any) -> Any:
        return make_client(service, srv.url, session, **config)

    return factory


def ns(**kwargs: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**kwargs)
