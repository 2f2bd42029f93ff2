"""Key policies through boto3: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from kms_helpers import DEFAULT_ACCOUNT, key_arn, kms_error

# AWS's default key policy, byte for byte (KMS-API-NOTES §5), for account 000000000000.
DEFAULT_POLICY = """{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::000000000000:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}"""


@pytest.fixture(scope="module", autouse=True)
def alice(endpoint):
    """The user the custom policies name: AWS requires a key policy's principals to exist."""
    iam = boto3.session.Session().client(
        "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    try:
        iam.create_user(UserName="alice")
    except iam.exceptions.EntityAlreadyExistsException:
        pass


def custom_policy(sid="Custom"):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "custom-policy",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "Users",
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/alice"]},
                    "Action": ["kms:Encrypt", "kms:Decrypt"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"kms:EncryptionContext:app": "x"}},
                },
            ],
        },
        indent=2,
    )


def test_default_policy_is_aws_text(kms, key_id):
    out = kms.get_key_policy(KeyId=key_id, PolicyName="default")
    assert out["Policy"] == DEFAULT_POLICY
    assert out.get("PolicyName", "default") == "default"
    # PolicyName is optional and defaults to "default"; the ARN form works too.
    assert kms.get_key_policy(KeyId=key_arn(key_id))["Policy"] == DEFAULT_POLICY


def test_list_key_policies(kms, key_id):
    out = kms.list_key_policies(KeyId=key_id)
    assert out["PolicyNames"] == ["default"]
    assert out["Truncated"] is False
    names = []
    for page in kms.get_paginator("list_key_policies").paginate(KeyId=key_id, PaginationConfig={"PageSize": 1}):
        names.extend(page["PolicyNames"])
    assert names == ["default"]


def test_put_and_get_key_policy(kms, key_id):
    policy = custom_policy()
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
    got = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert json.loads(got) == json.loads(policy)
    # PolicyName may be omitted; ARN form.
    kms.put_key_policy(KeyId=key_arn(key_id), Policy=custom_policy("Second"))
    assert json.loads(kms.get_key_policy(KeyId=key_id)["Policy"])["Statement"][0]["Sid"] == "Second"


def test_create_key_with_policy(kms):
    policy = custom_policy("AtCreation")
    key_id = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == json.loads(policy)


def test_put_key_policy_in_any_state(kms, key_id):
    kms.disable_key(KeyId=key_id)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=custom_policy("Disabled"))
    kms.enable_key(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=custom_policy("Pending"))
    assert json.loads(kms.get_key_policy(KeyId=key_id)["Policy"])["Statement"][0]["Sid"] == "Pending"


@pytest.mark.parametrize(
    "policy",
    [
        "this is not json",
        '{"Version": "2012-10-17", "Statement": [',
        "[]",
        '{"Version": "2012-10-17", "Statement": []}',
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Perhaps", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}',
    ],
    ids=["text", "truncated", "array", "no-statements", "bad-effect"],
)
def test_malformed_policy(kms, key_id, policy):
    with kms_error("MalformedPolicyDocumentException"):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
    with kms_error("MalformedPolicyDocumentException"):
        kms.create_key(Policy=policy)
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == DEFAULT_POLICY


def test_missing_local_principal_is_invalid(kms, key_id):
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:user/nobody"}, "Action": "kms:*", "Resource": "*"},
            ],
        }
    )
    with kms_error(
        "MalformedPolicyDocumentException",
        message="Policy contains a statement with one or more invalid principals.",
    ):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)


def test_invalid_principal(kms, key_id):
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "not-a-principal"}, "Action": "kms:*", "Resource": "*"}
            ],
        }
    )
    with kms_error(
        "MalformedPolicyDocumentException",
        message="Policy contains a statement with one or more invalid principals.",
    ):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)


def test_policy_size_limit(kms, key_id):
    base = json.loads(custom_policy())
    base["Statement"][0]["Sid"] = "x" * 33_000
    with kms_error("LimitExceededException"):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(base))
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == DEFAULT_POLICY


def test_policy_member_validation(kms, key_id):
    with kms_error("ValidationException", contains="Value null at 'policy'"):
        kms.put_key_policy(KeyId=key_id, PolicyName="default")
    with kms_error("ValidationException", contains="'policy'"):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy="")


def test_unknown_policy_name_fails(kms, key_id):
    with pytest.raises(ClientError):
        kms.get_key_policy(KeyId=key_id, PolicyName="other")


def restrictive_policy(actions, extra_statements=()):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Limited",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"},
                    "Action": actions,
                    "Resource": "*",
                },
                *extra_statements,
            ],
        }
    )


def test_policy_lockout_safety_check(kms, key_id):
    lockout = restrictive_policy(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"])
    message = "The new key policy will not allow you to update the key policy in the future."
    with kms_error("MalformedPolicyDocumentException", message=message):
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=lockout)
    with kms_error("MalformedPolicyDocumentException", message=message):
        kms.create_key(Policy=lockout)
    # The check can be bypassed explicitly.
    kms.create_key(Policy=lockout, BypassPolicyLockoutSafetyCheck=True)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=lockout, BypassPolicyLockoutSafetyCheck=True)


def test_key_policy_explicit_deny_is_enforced(kms):
    deny_encrypt = {
        "Sid": "NoEncrypt",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:Encrypt",
        "Resource": "*",
    }
    key_id = kms.create_key(Policy=restrictive_policy("kms:*", [deny_encrypt]))["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    with kms_error("AccessDeniedException", contains="explicit deny"):
        kms.encrypt(KeyId=key_id, Plaintext=b"denied")


def test_aws_managed_key_through_boto3(kms):
    """DescribeKey on a predefined alias/aws/<service> makes the AWS managed key; its policy
    only lets the account use it through the service, so a direct Encrypt is denied and the
    policy cannot be replaced."""
    meta = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"] == meta["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
    conditions = policy["Statement"][0]["Condition"]["StringEquals"]
    assert conditions["kms:ViaService"] == "secretsmanager.us-east-1.amazonaws.com"
    assert conditions["kms:CallerAccount"] == DEFAULT_ACCOUNT
    with kms_error("AccessDeniedException"):
        kms.encrypt(KeyId="alias/aws/secretsmanager", Plaintext=b"x")
    with kms_error("AccessDeniedException"):
        kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=json.dumps(policy))
