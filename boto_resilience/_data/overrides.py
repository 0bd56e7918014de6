"""Curated knowledge that names and HTTP statuses get wrong: the one place to fix a classification.

Two tables, both plain data (category names as strings, so this module imports nothing):

``CODE_OVERRIDES``
    Codes whose meaning is the same in every service that uses them, including codes that no
    botocore model lists (EC2's API error codes, S3's and STS's common errors, the generic errors
    every protocol can return). Consulted for a code that the service's own model does not list,
    and by the generator for every shape with that code unless a service override says otherwise.

``SERVICE_OVERRIDES``
    ``(service, code)`` pairs where one service means something other than what the name or the
    status suggests (rule 1 and rule 2 of TAXONOMY.md: meaning beats the status, the service
    decides what ``LimitExceededException`` means). These beat everything else, at generation
    time and at runtime.

Each entry carries a short note saying why, and where the knowledge comes from: the shape's
``documentation`` string in the botocore model ("doc"), the service's public error reference
("ref"), or botocore's own retry tables ("botocore", ``retries/standard.py``). The generator
copies the category (never the note) into ``error_codes.json``; ``explain_code`` shows the note.
"""

from __future__ import annotations

# code -> (category, note)
CODE_OVERRIDES: dict[str, tuple[str, str]] = {
    # --- throttling: botocore's ThrottledRetryableChecker list, plus the S3/EC2 spellings ---
    "Throttling": ("Throttled", "botocore throttling code"),
    "ThrottlingException": ("Throttled", "botocore throttling code"),
    "ThrottledException": ("Throttled", "botocore throttling code"),
    "RequestThrottledException": ("Throttled", "botocore throttling code"),
    "TooManyRequestsException": ("Throttled", "botocore throttling code"),
    "ProvisionedThroughputExceededException": ("Throttled", "botocore throttling code"),
    "RequestLimitExceeded": ("Throttled", "botocore throttling code; EC2 API request rate"),
    "BandwidthLimitExceeded": ("Throttled", "botocore throttling code"),
    "RequestThrottled": ("Throttled", "botocore throttling code"),
    "SlowDown": ("Throttled", "botocore throttling code; S3 request rate"),
    "PriorRequestNotComplete": ("Throttled", "botocore throttling code; Route 53"),
    "EC2ThrottledException": ("Throttled", "botocore throttling code"),
    "ThrottlingError": ("Throttled", "DynamoDB transaction cancellation reason"),
    # --- transient / server side: botocore's TransientRetryableChecker + common 5xx codes ---
    "RequestTimeout": ("Unavailable", "botocore transient code"),
    "RequestTimeoutException": ("Unavailable", "botocore transient code"),
    "InternalError": ("Unavailable", "ref: common errors, HTTP 500"),
    "InternalFailure": ("Unavailable", "ref: common errors, HTTP 500"),
    "InternalServerError": ("Unavailable", "ref: HTTP 500"),
    "ServiceUnavailable": ("Unavailable", "ref: common errors, HTTP 503"),
    "Unavailable": ("Unavailable", "ref: EC2 API error codes, server overloaded"),
    "InsufficientInstanceCapacity": ("Unavailable", "ref: EC2; AWS-side capacity shortage"),
    "InsufficientHostCapacity": ("Unavailable", "ref: EC2; AWS-side capacity shortage"),
    "InsufficientReservedInstanceCapacity": ("Unavailable", "ref: EC2; AWS-side capacity"),
    "InsufficientCapacity": ("Unavailable", "ref: EC2; AWS-side capacity shortage"),
    "InsufficientAddressCapacity": ("Unavailable", "ref: EC2; AWS-side capacity shortage"),
    "IDPCommunicationError": ("Unavailable", "doc: STS; the IdP could not be reached"),
    "OpenIdIdpCommunicationError": ("Unavailable", "doc: IAM; the OIDC IdP could not be reached"),
    # --- clock skew ---
    "RequestTimeTooSkewed": ("ClockSkew", "ref: S3/common errors"),
    "RequestExpired": ("ClockSkew", "ref: EC2; request time stamp too far in the past"),
    "RequestInTheFuture": ("ClockSkew", "ref: S3; request time stamp in the future"),
    # --- authentication: the caller's identity could not be established ---
    "UnrecognizedClientException": ("Authentication", "ref: common errors; unknown access key"),
    "UnrecognizedClient": ("Authentication", "ref: common errors; unknown access key"),
    "InvalidClientTokenId": ("Authentication", "ref: common errors; unknown access key"),
    "SignatureDoesNotMatch": ("Authentication", "ref: common errors; bad signature"),
    "InvalidSignatureException": ("Authentication", "ref: common errors; bad signature"),
    "IncompleteSignature": ("Authentication", "ref: common errors"),
    "IncompleteSignatureException": ("Authentication", "ref: common errors"),
    "ExpiredToken": ("Authentication", "ref: common errors; session token expired"),
    "ExpiredTokenException": ("Authentication", "ref: common errors; session token expired"),
    "TokenRefreshRequired": ("Authentication", "ref: S3; temporary credentials must be renewed"),
    "AuthFailure": ("Authentication", "ref: EC2; credentials could not be validated"),
    "InvalidAccessKeyId": ("Authentication", "ref: S3; access key not in our records"),
    "MissingAuthenticationToken": ("Authentication", "ref: common errors"),
    "MissingAuthenticationTokenException": ("Authentication", "ref: common errors"),
    "NotSignedUp": ("AccessDenied", "ref: common errors; account not signed up for the service"),
    "AuthMissingFailure": ("Authentication", "ref: EC2"),
    "MissingSecurityHeader": ("Authentication", "ref: S3; required auth header missing"),
    "CredentialsNotSupported": ("Unsupported", "ref: S3; request does not support credentials"),
    # --- authorization ---
    "AccessDenied": ("AccessDenied", "ref: common errors"),
    "AccessDeniedException": ("AccessDenied", "ref: common errors"),
    "UnauthorizedOperation": ("AccessDenied", "ref: EC2"),
    "AuthorizationError": ("AccessDenied", "ref: SNS"),
    "OptInRequired": ("AccessDenied", "ref: common errors; account not subscribed"),
    "AccountProblem": ("AccessDenied", "ref: S3; account problem prevents the operation"),
    "AllAccessDisabled": ("AccessDenied", "ref: S3; all access to this object disabled"),
    "Blocked": ("AccessDenied", "ref: EC2; account blocked"),
    "PendingVerification": ("AccessDenied", "ref: EC2; account pending verification"),
    "SignupRequired": ("AccessDenied", "ref: EC2"),
    "RequestIsNotValidYet": ("ClockSkew", "ref: S3"),
    # --- validation: the request is wrong whatever the state ---
    "ValidationError": ("Validation", "ref: common errors"),
    "ValidationException": ("Validation", "ref: common errors"),
    "InvalidParameterValue": ("Validation", "ref: common errors"),
    "InvalidParameterCombination": ("Validation", "ref: common errors"),
    "InvalidQueryParameter": ("Validation", "ref: common errors"),
    "MalformedQueryString": ("Validation", "ref: common errors"),
    "MissingParameter": ("Validation", "ref: common errors"),
    "MissingAction": ("Validation", "ref: common errors"),
    "InvalidAction": ("Unsupported", "ref: common errors; action or operation is invalid"),
    "UnknownOperationException": ("Unsupported", "ref: JSON protocol; operation unknown"),
    "SerializationException": ("Validation", "ref: JSON protocol; malformed body"),
    "AuthorizationHeaderMalformed": ("Validation", "ref: S3; wrong region in credential scope"),
    "InvalidURI": ("Validation", "ref: S3"),
    "MalformedXML": ("Validation", "ref: S3"),
    "InvalidArgument": ("Validation", "ref: S3"),
    "EntityTooLarge": ("Validation", "ref: S3; upload exceeds the maximum size"),
    "EntityTooSmall": ("Validation", "ref: S3; part smaller than the minimum"),
    "IncompleteBody": ("Validation", "ref: S3"),
    "BadDigest": ("Validation", "ref: S3; Content-MD5 mismatch"),
    "InvalidDigest": ("Validation", "ref: S3"),
    "InvalidPart": ("Validation", "ref: S3; part not found or ETag mismatch"),
    "InvalidPartOrder": ("Validation", "ref: S3"),
    "InvalidRange": ("Validation", "ref: S3; HTTP 416"),
    "KeyTooLongError": ("Validation", "ref: S3"),
    "MetadataTooLarge": ("Validation", "ref: S3"),
    "MaxMessageLengthExceeded": ("Validation", "ref: S3"),
    "InvalidBucketName": ("Validation", "ref: S3"),
    "IllegalLocationConstraintException": ("Validation", "ref: S3; wrong region for bucket"),
    "InvalidLocationConstraint": ("Validation", "ref: S3"),
    "InvalidStorageClass": ("Validation", "ref: S3"),
    "InvalidTag": ("Validation", "ref: S3"),
    "InvalidEncryptionAlgorithmError": ("Validation", "ref: S3"),
    "MissingContentLength": ("Validation", "ref: S3; HTTP 411"),
    "InvalidNextToken": ("Validation", "rule 7: pagination token"),
    "InvalidPaginationToken": ("Validation", "rule 7: pagination token"),
    "DryRunOperation": ("Other", "ref: EC2; dry run would have succeeded"),
    "ClientException": ("Validation", "doc: ECS/EKS/Batch generic client error (bad id, input)"),
    "ServerException": ("Unavailable", "doc: ECS/EKS/Batch generic server-side error"),
    "WAFTagOperationException": (
        "Unavailable",
        "doc (wafv2): an error occurred during the tagging operation; retry your request",
    ),
    "DecryptionFailure": ("InvalidState", "rule 6: the KMS key cannot be used to decrypt"),
    "EncryptionFailure": ("InvalidState", "rule 6: the KMS key cannot be used to encrypt"),
    # --- not found ---
    "NoSuchBucket": ("NotFound", "ref: S3"),
    "NoSuchKey": ("NotFound", "ref: S3"),
    "NoSuchUpload": ("NotFound", "ref: S3"),
    "NoSuchVersion": ("NotFound", "ref: S3"),
    "NoSuchBucketPolicy": ("NotFound", "ref: S3"),
    "NoSuchLifecycleConfiguration": ("NotFound", "ref: S3"),
    "NoSuchCORSConfiguration": ("NotFound", "ref: S3"),
    "NoSuchTagSet": ("NotFound", "ref: S3"),
    "NoSuchWebsiteConfiguration": ("NotFound", "ref: S3"),
    "ServerSideEncryptionConfigurationNotFoundError": ("NotFound", "ref: S3"),
    "NotFound": ("NotFound", "ref: S3 HEAD / generic"),
    # SQS's legacy (query protocol) codes, still sent in Error.Code by the JSON protocol
    "AWS.SimpleQueueService.NonExistentQueue": ("NotFound", "ref: SQS legacy code"),
    "AWS.SimpleQueueService.QueueDeletedRecently": ("InvalidState", "ref: SQS legacy code"),
    "AWS.SimpleQueueService.QueueNameExists": ("Conflict", "ref: SQS legacy code"),
    "AWS.SimpleQueueService.PurgeQueueInProgress": ("InvalidState", "ref: SQS legacy code"),
    "AWS.SimpleQueueService.TooManyEntriesInBatchRequest": ("Validation", "rule 4"),
    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct": ("Validation", "ref: SQS legacy code"),
    "AWS.SimpleQueueService.EmptyBatchRequest": ("Validation", "ref: SQS legacy code"),
    "AWS.SimpleQueueService.InvalidBatchEntryId": ("Validation", "ref: SQS legacy code"),
    "AWS.SimpleQueueService.BatchRequestTooLong": ("Validation", "rule 4"),
    "AWS.SimpleQueueService.MessageNotInflight": ("InvalidState", "ref: SQS legacy code"),
    "AWS.SimpleQueueService.UnsupportedOperation": ("Unsupported", "ref: SQS legacy code"),
    "AWS.SimpleQueueService.NonExistentQueueException": ("NotFound", "ref: SQS legacy code"),
    # --- conflict ---
    "BucketAlreadyExists": ("Conflict", "ref: S3; name taken by another account"),
    "BucketAlreadyOwnedByYou": ("Conflict", "ref: S3; you already own it"),
    "OperationAborted": ("Conflict", "ref: S3; conflicting conditional operation in progress"),
    "IdempotentParameterMismatch": ("Conflict", "ref: EC2; client token reused"),
    "TransactionConflict": ("Conflict", "DynamoDB transaction cancellation reason"),
    # --- precondition ---
    "PreconditionFailed": ("PreconditionFailed", "ref: S3; If-Match etc. false (HTTP 412)"),
    "ConditionalCheckFailed": ("PreconditionFailed", "DynamoDB cancellation reason"),
    "NotModified": ("PreconditionFailed", "ref: S3; If-None-Match matched (HTTP 304)"),
    "ConditionalRequestConflict": ("Conflict", "ref: S3; concurrent conditional write (409)"),
    # --- invalid state ---
    "IncorrectState": ("InvalidState", "ref: EC2"),
    "IncorrectInstanceState": ("InvalidState", "ref: EC2"),
    "DependencyViolation": ("InvalidState", "ref: EC2; resource has dependents"),
    "BucketNotEmpty": ("InvalidState", "ref: S3"),
    "InvalidObjectState": ("InvalidState", "ref: S3; archived object must be restored first"),
    "RestoreAlreadyInProgress": ("InvalidState", "ref: S3"),
    "ResourceInUse": ("InvalidState", "ref: EC2 / common"),
    "ResourceInUseException": ("InvalidState", "ref: common; resource busy or in use"),
    "TooManyBuckets": ("QuotaExceeded", "ref: S3; bucket count quota"),
    # --- unsupported ---
    "NotImplemented": ("Unsupported", "ref: S3; header implies unimplemented functionality"),
    "MethodNotAllowed": ("Unsupported", "ref: S3; HTTP 405"),
    "UnsupportedOperation": ("Unsupported", "ref: EC2 / SQS"),
    "UnsupportedProtocol": ("Unsupported", "ref: common"),
    # --- other: not an error the caller should treat as one of the above ---
    "PermanentRedirect": ("Other", "ref: S3; HTTP 301, wrong endpoint for bucket"),
    "TemporaryRedirect": ("Other", "ref: S3; HTTP 307"),
    "Redirect": ("Other", "ref: S3; HTTP 307"),
    "ObjectAlreadyInActiveTierError": ("InvalidState", "doc: S3 RestoreObject; already active"),
    "ObjectNotInActiveTierError": ("InvalidState", "doc: S3 CopyObject; archived source"),
}

# (service, code) -> (category, note). The service is the boto3 client name.
SERVICE_OVERRIDES: dict[tuple[str, str], tuple[str, str]] = {
    # LimitExceeded: "the service decides" (rule 2)
    ("kinesis", "LimitExceededException"): (
        "Throttled",
        "doc: too many concurrent stream requests (or resources); in practice the control-plane "
        "rate limits (e.g. 5 CreateStream/s, 10 DescribeStream/s): clears with time",
    ),
    ("kinesis", "KMSThrottlingException"): ("Throttled", "rule 6: KMS throttled"),
    ("dynamodb", "LimitExceededException"): (
        "Throttled",
        "doc: too many concurrent control-plane operations (up to 500 CREATING/UPDATING/"
        "DELETING tables); clears as they finish",
    ),
    ("dynamodb", "RequestLimitExceeded"): (
        "Throttled",
        "doc: throughput exceeds the account limit; retry with backoff",
    ),
    ("dynamodb", "TransactionInProgressException"): (
        "InvalidState",
        "doc: a transaction with this request token is already in progress",
    ),
    ("dynamodb", "TransactionCanceledException"): (
        "PreconditionFailed",
        "doc: cancelled for one of several reasons, a failed condition first; enrich_error "
        "refines it from CancellationReasons when the response has them",
    ),
    ("kms", "LimitExceededException"): (
        "QuotaExceeded",
        "doc: a quota was exceeded (keys, aliases, grants); request-rate quotas use "
        "ThrottlingException",
    ),
    ("kms", "KMSInvalidSignatureException"): (
        "Other",
        "doc: Verify found the signature invalid: the operation's answer, not a request error",
    ),
    ("kms", "KMSInvalidMacException"): (
        "Other",
        "doc: VerifyMac found the HMAC invalid: the operation's answer, not a request error",
    ),
    ("kms", "DisabledException"): ("InvalidState", "doc: the key is disabled"),
    ("kms", "KeyUnavailableException"): (
        "Unavailable",
        "doc: the key material is temporarily unavailable (HTTP 500); retry",
    ),
    ("kms", "IncorrectKeyException"): (
        "Validation",
        "doc: ciphertext was not encrypted under the key",
    ),
    ("kms", "ExpiredImportTokenException"): (
        "Validation",
        "rule 7: import token, not a credential",
    ),
    ("lambda", "TooManyRequestsException"): (
        "Throttled",
        "doc: request rate or concurrent executions limit; Retry-After given",
    ),
    ("iam", "LimitExceededException"): (
        "QuotaExceeded",
        "doc: created more resources than allowed",
    ),
    ("iam", "ReportGenerationLimitExceeded"): (
        "Throttled",
        "doc: the maximum number of concurrent report requests are already running",
    ),
    ("iam", "CredentialReportNotReadyException"): ("InvalidState", "doc: report being generated"),
    ("iam", "ReportInProgress"): ("InvalidState", "doc: credential report being generated"),
    ("iam", "ReportExpired"): ("NotFound", "doc: credential report expired (HTTP 410)"),
    ("iam", "ReportNotPresent"): ("NotFound", "doc: no credential report exists (HTTP 410)"),
    ("iam", "DeleteConflict"): ("InvalidState", "rule 3: entity still has attached subordinates"),
    ("iam", "EntityTemporarilyUnmodifiable"): ("InvalidState", "doc: entity being modified"),
    ("iam", "FeatureDisabled"): ("InvalidState", "doc: the feature is already disabled"),
    ("iam", "FeatureEnabled"): ("InvalidState", "doc: the feature is already enabled"),
    ("iam", "PolicyEvaluation"): ("Unavailable", "doc: policy evaluation failed (HTTP 500)"),
    ("iam", "InvalidAuthenticationCode"): ("Validation", "doc: the MFA code was not recognized"),
    ("iam", "UnmodifiableEntity"): (
        "AccessDenied",
        "doc: service-linked roles are protected; only the owning service may change them",
    ),
    ("iam", "RoleModified"): ("Conflict", "doc: the role changed concurrently"),
    ("sts", "IDPRejectedClaim"): ("Authentication", "doc: the IdP reported authentication failed"),
    ("sts", "InvalidIdentityToken"): ("Authentication", "doc: web identity token not valid"),
    ("sts", "ExpiredTradeInTokenException"): ("Authentication", "doc: trade-in token expired"),
    ("sts", "RegionDisabledException"): (
        "AccessDenied",
        "doc: STS not activated in the region for the account",
    ),
    ("sts", "InvalidAuthorizationMessageException"): ("Validation", "doc: message is invalid"),
    ("sqs", "OverLimit"): (
        "QuotaExceeded",
        "doc: maximum inflight messages reached, or too many permissions on a queue",
    ),
    ("sqs", "KmsThrottled"): ("Throttled", "rule 6"),
    ("sqs", "QueueDeletedRecently"): ("InvalidState", "doc: wait 60 s after deleting a queue"),
    ("sqs", "InvalidSecurity"): ("Validation", "doc: request was not made over HTTPS or SigV4"),
    ("sns", "KMSThrottlingException"): ("Throttled", "rule 6"),
    ("autoscaling", "ResourceContention"): (
        "InvalidState",
        "doc: a pending update to the resource is already in progress (HTTP 500 notwithstanding)",
    ),
    ("dms", "KMSFault"): ("Unavailable", "rule 6: a KMS error prevents access to KMS"),
    ("fsx", "IncompatibleParameterError"): (
        "Conflict",
        "doc: a second request with the same client token but different parameters",
    ),
    ("lambda", "PolicyLengthExceededException"): (
        "QuotaExceeded",
        "doc: the function's permissions policy (grown by each AddPermission) is too large",
    ),
    ("eks", "ResourcePropagationDelayException"): (
        "Unavailable",
        "doc: required resources are still propagating; try again later",
    ),
    ("s3", "InvalidObjectState"): ("InvalidState", "doc: archived object must be restored first"),
    ("s3", "EncryptionTypeMismatch"): ("Validation", "doc: encryption type differs from existing"),
    ("s3", "InvalidWriteOffset"): (
        "PreconditionFailed",
        "doc: the write offset (the caller's expectation of the object size) does not match",
    ),
    ("s3", "UnsupportedMediaType"): ("Validation", "doc: the payload is not valid UTF-8"),
    ("s3", "InvalidToken"): ("Authentication", "ref: malformed or invalid session token"),
    ("s3", "TooManyParts"): (
        "QuotaExceeded",
        "doc: more than 10,000 parts on this object (a count on the upload, not one request)",
    ),
    ("ec2", "InvalidRequest"): ("Validation", "ref: EC2"),
    ("secretsmanager", "PreconditionNotMetException"): (
        "InvalidState",
        "rule 5: a server-side prerequisite, not a caller-supplied condition",
    ),
    ("ssm", "TooManyUpdates"): (
        "Conflict",
        "doc: concurrent updates to a resource that supports one update at a time",
    ),
    ("ssm", "HierarchyLevelLimitExceededException"): (
        "Validation",
        "doc: at most 15 levels in a parameter name: a property of the request",
    ),
    ("ssm", "InvalidInstanceId"): (
        "InvalidState",
        "doc: the managed node is not running/registered/in a valid state (or not accessible)",
    ),
    ("ssm", "ParameterLimitExceeded"): ("QuotaExceeded", "doc: too many parameters"),
    ("ssm", "ParameterMaxVersionLimitExceeded"): (
        "QuotaExceeded",
        "doc: 100 versions per parameter; delete the oldest",
    ),
    ("cloudwatch", "LimitExceededFault"): ("QuotaExceeded", "doc: the quota has been exceeded"),
    ("logs", "LimitExceededException"): ("QuotaExceeded", "doc: too many log groups etc."),
    ("apigateway", "LimitExceededException"): ("Throttled", "doc: request rate over the limit"),
    ("stepfunctions", "ExecutionLimitExceeded"): (
        "QuotaExceeded",
        "doc: maximum number of running executions",
    ),
    ("cloudformation", "LimitExceededException"): ("QuotaExceeded", "doc: resource quota"),
    ("sns", "OptedOut"): ("InvalidState", "doc: the phone number opted out of SMS"),
    ("sns", "StaleTag"): (
        "Unavailable",
        "doc: tag on a recently deleted resource's ARN; wait a short while and retry",
    ),
    ("sns", "InvalidSecurity"): (
        "Authentication",
        "doc: the credential signature isn't valid (HTTPS and SigV4 required)",
    ),
    ("kms", "CloudHsmClusterInvalidConfigurationException"): (
        "InvalidState",
        "rule 6: the key store's CloudHSM cluster is misconfigured, not the request",
    ),
    ("secretsmanager", "DecryptionFailure"): (
        "InvalidState",
        "rule 6: the KMS key cannot be used (disabled, pending deletion, no grant)",
    ),
    ("secretsmanager", "EncryptionFailure"): (
        "InvalidState",
        "doc: check the KMS key is available, enabled and not in an invalid state",
    ),
    ("secretsmanager", "InvalidRequestException"): (
        "InvalidState",
        "doc: a parameter value is not valid for the current state of the resource (rule 1)",
    ),
    ("secretsmanager", "PublicPolicyException"): (
        "Validation",
        "doc: the supplied resource policy grants broad access while BlockPublicPolicy is set",
    ),
    ("logs", "InvalidSequenceTokenException"): (
        "PreconditionFailed",
        "doc: the sequence token (an optimistic-concurrency expectation) is not the current one",
    ),
    ("stepfunctions", "ActivityWorkerLimitExceeded"): (
        "Throttled",
        "doc: too many workers concurrently polling (concurrent requests)",
    ),
    ("stepfunctions", "TaskTimedOut"): (
        "InvalidState",
        "doc: the task token expired or the task is already closed: not a transient timeout",
    ),
    ("ecs", "MissingVersionException"): (
        "InvalidState",
        "doc: the container agent's version cannot be determined on the instance",
    ),
    ("athena", "MetadataException"): (
        "Other",
        "doc: an error from the customer's own metastore (e.g. their Lambda function)",
    ),
    ("firehose", "InvalidSourceException"): (
        "Unsupported",
        "doc: only CloudWatch Logs sources are supported with decompression enabled",
    ),
    ("firehose", "InvalidKMSResourceException"): (
        "InvalidState",
        "rule 6: KMS reported the key inaccessible, disabled, invalid state or missing",
    ),
    ("events", "PolicyLengthExceededException"): (
        "QuotaExceeded",
        "doc: the event bus policy (grown by each PutPermission) exceeds its size limit",
    ),
    ("organizations", "ConstraintViolationException"): (
        "QuotaExceeded",
        "doc: a minimum or maximum limit on accounts, policies or OUs would be violated",
    ),
    ("codebuild", "OAuthProviderException"): (
        "Unavailable",
        "doc: a problem with the upstream OAuth provider",
    ),
    ("xray", "PolicySizeLimitExceededException"): (
        "Validation",
        "doc: the supplied resource policy document exceeds the maximum size",
    ),
    ("wafv2", "WAFSubscriptionNotFoundException"): (
        "AccessDenied",
        "doc: the account is not subscribed to the managed rule group (opt-in)",
    ),
    ("config", "LimitExceededException"): (
        "Throttled",
        "doc: an evaluation is already in progress or the API was called more than once a "
        "minute (also: too many service-linked recorders)",
    ),
    ("ses", "MessageRejected"): (
        "Other",
        "doc: the message could not be sent: an outcome for this message, not a request error",
    ),
    ("cognito-idp", "NotAuthorizedException"): (
        "Authentication",
        "ref: raised for a wrong user name or password: the end user's identity failed",
    ),
}
