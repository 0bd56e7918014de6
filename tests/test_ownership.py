"""Exactly one retry policy runs, in every botocore retry mode and on every activation path.

Against the local fault server: a call that keeps failing with 503 reaches the server exactly
``max_attempts`` times; the user's own ``Config(retries=...)`` is honoured unless our settings
set attempts; undoing restores botocore's own counts. botocore's sleeps are recorded, not slept.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.retries import standard

import boto_resilience
from boto_resilience import plugin

MODES = ["legacy", "standard", "adaptive"]
# botocore's standard-mode default attempts for DynamoDB (4 since 1.4x; 3 before)
DDB_DEFAULT = getattr(standard, "_SERVICE_MAX_ATTEMPTS", {}).get("dynamodb", 3)
FAST = {"base_delay": 0.001, "throttle_base_delay": 0.001, "max_delay": 0.002}


def attempts_for(srv: Any, client: Any, op: str = "get_item") -> int:
    before = srv.stats()["total"]
    with pytest.raises(ClientError) as info:
        if op == "get_item":
            client.get_item(TableName="t", Key={"k": {"S": "1"}})
        else:
            client.list_functions()
    assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
    received: int = srv.stats()["total"] - before
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == received - 1
    return received


@pytest.mark.parametrize("mode", MODES)
def test_register_owns_retries_in_every_mode(srv: Any, sleeps: Any, mode: str) -> None:
    srv.always(503, "ServiceUnavailable")
    session = boto3.Session()
    boto_resilience.register(session, max_attempts=4, **FAST)
    client = session.client("dynamodb", endpoint_url=srv.url, region_name="us-east-1",
                            config=boto3.session.Config(retries={"mode": mode}))
    assert attempts_for(srv, client) == 4
    assert len(sleeps.sleeps) == 3
    assert all(0 <= s <= 0.002 for s in sleeps.sleeps)


@pytest.mark.parametrize("mode", MODES)
def test_attach_owns_retries_in_every_mode(srv: Any, sleeps: Any, mode: str,
                                           client_factory: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    client = client_factory("dynamodb", retries={"mode": mode, "total_max_attempts": 2})
    assert attempts_for(srv, client) == 2  # plain botocore honours the user's 2
    handle = boto_resilience.attach(client, max_attempts=5, **FAST)
    assert attempts_for(srv, client) == 5
    handle.close()
    assert attempts_for(srv, client) == 2  # botocore's own policy is back


@pytest.mark.parametrize("mode", MODES)
def test_install_owns_retries_in_every_mode(srv: Any, sleeps: Any, mode: str) -> None:
    boto_resilience.install(max_attempts=3, **FAST)
    srv.always(503, "ServiceUnavailable")
    client = boto3.Session().client("lambda", endpoint_url=srv.url, region_name="us-east-1",
                                    config=boto3.session.Config(retries={"mode": mode}))
    assert attempts_for(srv, client, "list_functions") == 3
    boto_resilience.uninstall()
    plain = boto3.Session().client("lambda", endpoint_url=srv.url, region_name="us-east-1",
                                   config=boto3.session.Config(retries={"mode": mode}))
    expected = 5 if mode == "legacy" else 3  # botocore's own defaults for Lambda
    assert attempts_for(srv, plain, "list_functions") == expected
    # the client covered while installed got botocore's behaviour back too
    assert attempts_for(srv, client, "list_functions") == expected


@pytest.mark.parametrize("mode", MODES)
def test_user_config_attempts_are_honoured(srv: Any, sleeps: Any, mode: str) -> None:
    srv.always(503, "ServiceUnavailable")
    session = boto3.Session()
    boto_resilience.register(session, **FAST)  # no max_attempts of ours
    legacy_style = session.client("dynamodb", endpoint_url=srv.url, region_name="us-east-1",
                                  config=boto3.session.Config(
                                      retries={"mode": mode, "max_attempts": 1}))
    assert attempts_for(srv, legacy_style) == 2  # max_attempts means retries in botocore
    total = session.client("dynamodb", endpoint_url=srv.url, region_name="us-east-1",
                           config=boto3.session.Config(
                               retries={"mode": mode, "total_max_attempts": 6}))
    assert attempts_for(srv, total) == 6


def test_env_max_attempts_is_user_config(srv: Any, sleeps: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    srv.always(503, "ServiceUnavailable")
    session = boto3.Session()
    boto_resilience.register(session, **FAST)
    client = session.client("lambda", endpoint_url=srv.url, region_name="us-east-1")
    assert attempts_for(srv, client, "list_functions") == 2


def test_default_attempts_follow_botocore_standard_defaults(srv: Any, sleeps: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    session = boto3.Session()
    boto_resilience.register(session, **FAST)
    ddb = session.client("dynamodb", endpoint_url=srv.url, region_name="us-east-1")
    lam = session.client("lambda", endpoint_url=srv.url, region_name="us-east-1")
    assert attempts_for(srv, ddb) == DDB_DEFAULT
    assert attempts_for(srv, lam, "list_functions") == 3


def test_our_setting_beats_user_config(srv: Any, sleeps: Any, client_factory: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    client = client_factory("dynamodb", retries={"total_max_attempts": 7})
    boto_resilience.attach(client, max_attempts=2, **FAST)
    assert attempts_for(srv, client) == 2


def test_per_operation_override(srv: Any, sleeps: Any, client_factory: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    client = client_factory("dynamodb")
    boto_resilience.attach(client, max_attempts=2,
                           overrides={"dynamodb.GetItem": {"max_attempts": 5}}, **FAST)
    assert attempts_for(srv, client) == 5
    before = srv.stats()["total"]
    with pytest.raises(ClientError):
        client.describe_table(TableName="t")
    assert srv.stats()["total"] - before == 2


def test_sdk_request_header_reports_our_max(srv: Any, sleeps: Any, client_factory: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    client = client_factory("dynamodb", retries={"mode": "standard"})
    boto_resilience.attach(client, max_attempts=3, **FAST)
    with pytest.raises(ClientError):
        client.get_item(TableName="t", Key={"k": {"S": "1"}})
    headers = [r["headers"] for r in srv.recent_requests(3)]
    fields = [dict(p.split("=", 1) for p in h["amz-sdk-request"].split("; ")) for h in headers]
    assert [f["attempt"] for f in fields] == ["1", "2", "3"]
    assert all(f["max"] == "3" for f in fields)
    assert len({h["amz-sdk-invocation-id"] for h in headers}) == 1


@pytest.mark.parametrize("path", ["register", "attach", "install"])
def test_twice_changes_nothing(srv: Any, sleeps: Any, path: str) -> None:
    from boto_resilience.testing import RecordingSink

    srv.always(503, "ServiceUnavailable")
    sink = RecordingSink()
    settings = dict(max_attempts=3, metrics=[sink], **FAST)
    session = boto3.Session()
    if path == "register":
        h1 = boto_resilience.register(session, **settings)
        h2 = boto_resilience.register(session, **settings)
        assert h1 is h2
        client = session.client("dynamodb", endpoint_url=srv.url, region_name="us-east-1")
    elif path == "attach":
        client = session.client("dynamodb", endpoint_url=srv.url, region_name="us-east-1")
        boto_resilience.attach(client, **settings)
        boto_resilience.attach(client, **settings)
    else:
        boto_resilience.install(**settings)
        boto_resilience.install(**settings)
        client = boto3.Session().client("dynamodb", endpoint_url=srv.url,
                                        region_name="us-east-1")
        boto_resilience.register(client.meta.events and boto3.Session(), **settings)
    assert attempts_for(srv, client) == 3
    assert len(sink.calls) == 1
    assert sink.calls[0].attempts == 3
    assert len(sink.attempts) == 3
    needs_retry = client.meta.events._emitter._handlers.prefix_search(
        "needs-retry.dynamodb.GetItem")
    assert sum(1 for h in needs_retry if getattr(h, "__self__", None) is not None
               and type(h.__self__).__name__ == "Engine") == 1


def test_close_restores_botocore_exactly(srv: Any, sleeps: Any, client_factory: Any) -> None:
    client = client_factory("dynamodb", retries={"mode": "standard"})

    def snapshot() -> Any:
        emitter = client.meta.events._emitter
        return sorted(emitter._unique_id_handlers)

    before = snapshot()
    handle = boto_resilience.attach(client, **FAST)
    assert getattr(client, plugin._ENGINE_ATTR) is not None
    handle.close()
    assert snapshot() == before
    assert not hasattr(client, plugin._ENGINE_ATTR)
    srv.always(503, "ServiceUnavailable")
    assert attempts_for(srv, client) == DDB_DEFAULT  # botocore's standard default


def test_adaptive_limiter_replaced_and_restored(srv: Any, client_factory: Any) -> None:
    client = client_factory("dynamodb", retries={"mode": "adaptive"})
    assert plugin._adaptive_limiter_handlers(client)
    handle = boto_resilience.attach(client, rate_limit=True)
    assert plugin._adaptive_limiter_handlers(client) == []
    handle.close()
    assert len(plugin._adaptive_limiter_handlers(client)) == 2


def test_session_client_adaptive_limiter_removed_on_first_call(srv: Any) -> None:
    session = boto3.Session()
    boto_resilience.register(session, rate_limit=True)
    client = session.client("dynamodb", endpoint_url=srv.url, region_name="us-east-1",
                            config=boto3.session.Config(retries={"mode": "adaptive"}))
    client.list_tables()
    assert plugin._adaptive_limiter_handlers(client) == []


def test_resource_meta_client(srv: Any, sleeps: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    resource = boto3.Session().resource("dynamodb", endpoint_url=srv.url,
                                        region_name="us-east-1")
    boto_resilience.attach(resource.meta.client, max_attempts=2, **FAST)
    before = srv.stats()["total"]
    with pytest.raises(ClientError):
        resource.Table("t").get_item(Key={"k": "1"})
    assert srv.stats()["total"] - before == 2


def test_install_again_reconfigures_existing_clients(srv: Any, sleeps: Any) -> None:
    srv.always(503, "ServiceUnavailable")
    boto_resilience.install(max_attempts=2, **FAST)
    client = boto3.Session().client("dynamodb", endpoint_url=srv.url, region_name="us-east-1")
    assert attempts_for(srv, client) == 2
    boto_resilience.install(max_attempts=5, **FAST)
    assert attempts_for(srv, client) == 5


def test_install_shares_one_dispatcher_and_holds_sessions_weakly() -> None:
    import gc

    from boto_resilience.testing import RecordingSink

    installation = boto_resilience.install(metrics=["memory", RecordingSink()])
    sessions = [boto3.Session() for _ in range(5)]
    children = installation._children()  # type: ignore[attr-defined]
    assert len(children) == 5
    assert {id(h.dispatcher) for h in children} == {id(installation.dispatcher)}
    del sessions, children
    gc.collect()
    assert installation._children() == []  # type: ignore[attr-defined]


def test_explicit_register_takes_over_from_install(srv: Any, sleeps: Any) -> None:
    boto_resilience.install(max_attempts=2, **FAST)
    session = boto3.Session()
    handle = boto_resilience.register(session, max_attempts=3, **FAST)
    boto_resilience.uninstall()
    assert not handle.closed
    srv.always(503, "ServiceUnavailable")
    client = session.client("dynamodb", endpoint_url=srv.url, region_name="us-east-1")
    assert attempts_for(srv, client) == 3


def test_attach_close_cycles_leave_botocore_as_it_was(client_factory: Any) -> None:
    client = client_factory("dynamodb", retries={"mode": "standard"})
    emitter = client.meta.events._emitter

    def handler_count() -> int:
        return sum(len(list(emitter._handlers.prefix_search(e)))
                   for e in ("after-call.dynamodb.GetItem", "needs-retry.dynamodb.GetItem",
                             "request-created.dynamodb.GetItem", "before-send.dynamodb.GetItem"))

    before = handler_count()
    for _ in range(5):
        boto_resilience.attach(client).close()
    assert handler_count() == before
