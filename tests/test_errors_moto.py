"""Real calls, real errors: ten services under moto, covered by ``boto_resilience.attach``.

For every case the same call is made twice, by a plain client and by a covered one, and:
the covered error is an instance of the category class; it is still caught by
``except ClientError`` and by ``except client.exceptions.<Modeled>``; ``Error.Code`` and
``Error.Message`` are unchanged; ``Error`` gained ``Category`` and ``Retryable``; the class name is
the same (S3 HEAD 404s excepted: those now raise ``NoSuchKey``/``NoSuchBucket`` instead of a bare
``ClientError``, which is the point).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from typing import Any, Callable, Optional

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

import boto_resilience
from boto_resilience import errors, taxonomy
from boto_resilience.taxonomy import Category

REGION = "us-east-1"
C = Category


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def covered(service: str) -> Any:
    client = boto3.client(service, region_name=REGION)
    boto_resilience.attach(client)
    return client


def plain(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def check(
    service: str,
    call: Callable[[Any], Any],
    category: Category,
    code: str,
    modeled: Optional[str],
    *,
    plain_class: Optional[str] = None,
) -> ClientError:
    """Make ``call`` fail with a plain and a covered client; assert everything; return ours."""
    with pytest.raises(ClientError) as before:
        call(plain(service))
    client = covered(service)
    with pytest.raises(errors.class_for(category)) as caught:
        call(client)
    exc = caught.value
    assert isinstance(exc, ClientError)
    assert isinstance(exc, errors.ResilienceError)
    if modeled is not None:
        assert isinstance(exc, getattr(client.exceptions, modeled))
        assert type(exc).__name__ == modeled
    assert type(before.value).__name__ == (plain_class or type(exc).__name__)

    error = exc.response["Error"]
    assert error["Code"] == code == before.value.response["Error"]["Code"]
    assert error.get("Message") == before.value.response["Error"].get("Message")
    assert error["Category"] == category.value
    assert error["Retryable"] is (category in taxonomy.RETRYABLE_CATEGORIES)
    assert {
        k: v for k, v in error.items() if k not in ("Category", "Retryable")
    } == before.value.response["Error"]
    assert str(exc) == str(before.value)

    info = taxonomy.classify(exc)
    assert (info.category, info.code, info.service) == (category, code, service)
    assert info.request_id

    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc) and back.response == exc.response
    return exc


# --- S3 ----------------------------------------------------------------------------------------


def s3_bucket() -> Any:
    s3 = plain("s3")
    s3.create_bucket(Bucket="br-bucket")
    s3.put_object(Bucket="br-bucket", Key="there", Body=b"x")
    return s3


def test_s3_head_object_404_is_no_such_key(aws: None) -> None:
    s3_bucket()
    exc = check(
        "s3",
        lambda c: c.head_object(Bucket="br-bucket", Key="missing"),
        C.NotFound,
        "404",
        "NoSuchKey",
        plain_class="ClientError",
    )
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_s3_head_bucket_404_is_no_such_bucket(aws: None) -> None:
    check(
        "s3",
        lambda c: c.head_bucket(Bucket="br-missing-bucket"),
        C.NotFound,
        "404",
        "NoSuchBucket",
        plain_class="ClientError",
    )


def test_s3_get_object_missing_key(aws: None) -> None:
    s3_bucket()
    check(
        "s3",
        lambda c: c.get_object(Bucket="br-bucket", Key="missing"),
        C.NotFound,
        "NoSuchKey",
        "NoSuchKey",
    )


def test_s3_bucket_not_empty(aws: None) -> None:
    s3_bucket()
    check(
        "s3", lambda c: c.delete_bucket(Bucket="br-bucket"), C.InvalidState, "BucketNotEmpty", None
    )


def test_s3_if_match_precondition(aws: None) -> None:
    s3_bucket()
    check(
        "s3",
        lambda c: c.get_object(Bucket="br-bucket", Key="there", IfMatch='"nope"'),
        C.PreconditionFailed,
        "PreconditionFailed",
        None,
    )


# --- DynamoDB --------------------------------------------------------------------------------

TABLE = {
    "TableName": "t",
    "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}


def test_dynamodb_missing_table(aws: None) -> None:
    check(
        "dynamodb",
        lambda c: c.describe_table(TableName="missing"),
        C.NotFound,
        "ResourceNotFoundException",
        "ResourceNotFoundException",
    )


def test_dynamodb_condition_failed(aws: None) -> None:
    plain("dynamodb").create_table(**TABLE)
    check(
        "dynamodb",
        lambda c: c.put_item(
            TableName="t", Item={"k": {"S": "a"}}, ConditionExpression="attribute_exists(k)"
        ),
        C.PreconditionFailed,
        "ConditionalCheckFailedException",
        "ConditionalCheckFailedException",
    )


def test_dynamodb_transaction_cancelled_by_a_condition(aws: None) -> None:
    plain("dynamodb").create_table(**TABLE)
    item = {
        "TableName": "t",
        "Item": {"k": {"S": "a"}},
        "ConditionExpression": "attribute_exists(k)",
    }
    exc = check(
        "dynamodb",
        lambda c: c.transact_write_items(TransactItems=[{"Put": item}]),
        C.PreconditionFailed,
        "TransactionCanceledException",
        "TransactionCanceledException",
    )
    assert exc.response["CancellationReasons"][0]["Code"] == "ConditionalCheckFailed"


def test_dynamodb_table_in_use(aws: None) -> None:
    plain("dynamodb").create_table(**TABLE)
    check(
        "dynamodb",
        lambda c: c.create_table(**TABLE),
        C.InvalidState,
        "ResourceInUseException",
        "ResourceInUseException",
    )


# --- SQS, SNS, Lambda ------------------------------------------------------------------------


def test_sqs_missing_queue(aws: None) -> None:
    exc = check(
        "sqs",
        lambda c: c.get_queue_url(QueueName="missing"),
        C.NotFound,
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    )
    assert exc.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"


def test_sns_missing_topic(aws: None) -> None:
    arn = f"arn:aws:sns:{REGION}:123456789012:missing"
    check(
        "sns",
        lambda c: c.get_topic_attributes(TopicArn=arn),
        C.NotFound,
        "NotFound",
        "NotFoundException",
    )


def test_lambda_missing_function(aws: None) -> None:
    check(
        "lambda",
        lambda c: c.get_function(FunctionName="missing"),
        C.NotFound,
        "ResourceNotFoundException",
        "ResourceNotFoundException",
    )


# --- IAM, STS --------------------------------------------------------------------------------


def test_iam_missing_role(aws: None) -> None:
    check(
        "iam",
        lambda c: c.get_role(RoleName="missing"),
        C.NotFound,
        "NoSuchEntity",
        "NoSuchEntityException",
    )


def test_iam_user_exists(aws: None) -> None:
    plain("iam").create_user(UserName="u")
    check(
        "iam",
        lambda c: c.create_user(UserName="u"),
        C.Conflict,
        "EntityAlreadyExists",
        "EntityAlreadyExistsException",
    )


def test_sts_unknown_access_key(aws: None) -> None:
    @set_initial_no_auth_action_count(0)  # moto checks credentials from here on
    def run() -> None:
        check(
            "sts", lambda c: c.get_caller_identity(), C.Authentication, "InvalidClientTokenId", None
        )

    run()


def test_access_denied_for_a_user_without_permissions(aws: None) -> None:
    iam = plain("iam")
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    session = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=REGION,
    )

    @set_initial_no_auth_action_count(0)
    def run() -> None:
        client = session.client("sts")
        boto_resilience.attach(client)
        arn = "arn:aws:iam::123456789012:role/admin"
        with pytest.raises(errors.AccessDenied) as info:
            client.assume_role(RoleArn=arn, RoleSessionName="s1")
        assert info.value.response["Error"]["Code"] == "AccessDenied"

    run()


# --- KMS, Secrets Manager, SSM ---------------------------------------------------------------


def test_kms_missing_key(aws: None) -> None:
    check(
        "kms",
        lambda c: c.describe_key(KeyId="alias/missing"),
        C.NotFound,
        "NotFoundException",
        "NotFoundException",
    )


def test_kms_bad_ciphertext(aws: None) -> None:
    plain("kms").create_key()
    check(
        "kms",
        lambda c: c.decrypt(CiphertextBlob=b"x" * 40),
        C.Validation,
        "InvalidCiphertextException",
        "InvalidCiphertextException",
    )


def test_secretsmanager_missing_and_existing_secret(aws: None) -> None:
    check(
        "secretsmanager",
        lambda c: c.get_secret_value(SecretId="missing"),
        C.NotFound,
        "ResourceNotFoundException",
        "ResourceNotFoundException",
    )
    plain("secretsmanager").create_secret(Name="s", SecretString="x")
    check(
        "secretsmanager",
        lambda c: c.create_secret(Name="s", SecretString="x"),
        C.Conflict,
        "ResourceExistsException",
        "ResourceExistsException",
    )


def test_ssm_missing_and_existing_parameter(aws: None) -> None:
    check(
        "ssm",
        lambda c: c.get_parameter(Name="missing"),
        C.NotFound,
        "ParameterNotFound",
        "ParameterNotFound",
    )
    plain("ssm").put_parameter(Name="p", Value="v", Type="String")
    check(
        "ssm",
        lambda c: c.put_parameter(Name="p", Value="v", Type="String"),
        C.Conflict,
        "ParameterAlreadyExists",
        "ParameterAlreadyExists",
    )


# --- one except clause, many services --------------------------------------------------------


def test_one_except_clause_catches_not_found_everywhere(aws: None) -> None:
    s3_bucket()
    s3, ddb, sqs = covered("s3"), covered("dynamodb"), covered("sqs")
    calls: list[Callable[[], Any]] = [
        lambda: s3.head_bucket(Bucket="br-missing-bucket"),
        lambda: s3.head_object(Bucket="br-bucket", Key="missing"),
        lambda: ddb.describe_table(TableName="missing"),
        lambda: sqs.get_queue_url(QueueName="missing"),
    ]
    caught = []
    for call in calls:
        try:
            call()
        except errors.NotFound as exc:
            caught.append(type(exc).__name__)
    assert caught == ["NoSuchBucket", "NoSuchKey", "ResourceNotFoundException", "QueueDoesNotExist"]


def test_closing_the_handle_restores_plain_botocore_errors(aws: None) -> None:
    s3_bucket()
    client = boto3.client("s3", region_name=REGION)
    handle = boto_resilience.attach(client)
    with pytest.raises(errors.NotFound):
        client.head_object(Bucket="br-bucket", Key="missing")
    handle.close()
    with pytest.raises(ClientError) as info:
        client.head_object(Bucket="br-bucket", Key="missing")
    assert not isinstance(info.value, errors.ResilienceError)
    assert "Category" not in info.value.response["Error"]


def test_error_response_is_json_serialisable(aws: None) -> None:
    client = covered("dynamodb")
    with pytest.raises(ClientError) as info:
        client.describe_table(TableName="missing")
    json.dumps(info.value.response["Error"])


@pytest.mark.slow
def test_the_s3_head_bucket_example_runs() -> None:
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "s3_head_bucket_404.py"
    done = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "by category: missing -> False" in done.stdout
    assert "caught NoSuchBucket: Code='404' Category='NotFound'" in done.stdout
