"""Does this bucket exist? The S3 ``head_bucket`` 404, the old way and by category.

``HeadBucket`` (like every HEAD) has no response body, so botocore cannot tell which modeled
error it was: the code is the bare status ``'404'`` and the exception a plain ``ClientError``.
Code that wants "not found" has to compare strings, and a different check for every service.

With boto_resilience attached, the same call raises an exception that is all of: the plain
``ClientError`` it always was (same code, same message), ``s3.exceptions.NoSuchBucket``, and
``boto_resilience.errors.NotFound``, the one class that also catches a DynamoDB
``ResourceNotFoundException`` or an SQS ``QueueDoesNotExist``.

Runs offline, against moto::

    python examples/s3_head_bucket_404.py
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

import boto_resilience
from boto_resilience import errors


def bucket_exists_the_old_way(s3: Any, bucket: str) -> bool:
    """What people write today: catch everything, then compare the string code."""
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError as e:
        if e.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise  # 403 and friends: not an answer to "does it exist?"


def bucket_exists_by_category(s3: Any, bucket: str) -> bool:
    """The same check, by what the error means."""
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except errors.NotFound:
        return False


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="exists")

        print("old way:     exists ->", bucket_exists_the_old_way(s3, "exists"))
        print("old way:     missing ->", bucket_exists_the_old_way(s3, "missing-bucket"))

        boto_resilience.attach(s3)
        print("by category: exists ->", bucket_exists_by_category(s3, "exists"))
        print("by category: missing ->", bucket_exists_by_category(s3, "missing-bucket"))

        # Existing code keeps working, and the modeled class now matches too.
        try:
            s3.head_bucket(Bucket="missing-bucket")
        except s3.exceptions.NoSuchBucket as e:
            error = e.response["Error"]
            assert isinstance(e, ClientError) and isinstance(e, errors.NotFound)
            print(
                f"caught {type(e).__name__}: Code={error['Code']!r} "
                f"Category={error['Category']!r} Retryable={error['Retryable']!r}"
            )
            print("classify:", boto_resilience.classify(e))


if __name__ == "__main__":
    main()
