"""Key lifecycle through boto3: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
UpdateKeyDescription, ScheduleKeyDeletion, CancelKeyDeletion."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from kms_helpers import (
    DEFAULT_ACCOUNT,
    KEY_ID_RE,
    MATERIAL_ID_RE,
    key_arn,
    kms_error,
    not_found_message,
    unique_alias,
)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_create_key_defaults(kms):
    before = now_utc() - dt.timedelta(minutes=5)
    md = kms.create_key()["KeyMetadata"]
    assert KEY_ID_RE.match(md["KeyId"]), md["KeyId"]
    assert md["Arn"] == key_arn(md["KeyId"])
    assert md["AWSAccountId"] == DEFAULT_ACCOUNT
    assert md["Enabled"] is True
    assert md["KeyState"] == "Enabled"
    assert md["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert md["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["Origin"] == "AWS_KMS"
    assert md["KeyManager"] == "CUSTOMER"
    assert md["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert md["MultiRegion"] is False
    assert md["Description"] == ""
    assert MATERIAL_ID_RE.match(md["CurrentKeyMaterialId"])
    assert "DeletionDate" not in md
    assert isinstance(md["CreationDate"], dt.datetime)
    assert before <= md["CreationDate"] <= now_utc() + dt.timedelta(minutes=5)


def test_create_key_with_every_supported_option(kms):
    md = kms.create_key(
        Description="all options",
        KeyUsage="ENCRYPT_DECRYPT",
        KeySpec="SYMMETRIC_DEFAULT",
        Origin="AWS_KMS",
        MultiRegion=False,
        BypassPolicyLockoutSafetyCheck=False,
        Tags=[{"TagKey": "team", "TagValue": "interop"}, {"TagKey": "empty", "TagValue": ""}],
    )["KeyMetadata"]
    assert md["Description"] == "all options"
    tags = kms.list_resource_tags(KeyId=md["KeyId"])["Tags"]
    assert {t["TagKey"]: t["TagValue"] for t in tags} == {"team": "interop", "empty": ""}


def test_create_key_with_deprecated_customer_master_key_spec(kms):
    md = kms.create_key(CustomerMasterKeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
    assert md["KeySpec"] == md["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"


@pytest.mark.parametrize(
    "params",
    [
        {"KeySpec": "SM2", "KeyUsage": "SIGN_VERIFY"},
        {"Origin": "AWS_CLOUDHSM"},
        {"MultiRegion": True, "Origin": "AWS_CLOUDHSM"},
    ],
    ids=["sm2", "cloudhsm", "multi-region-cloudhsm"],
)
def test_create_key_unsupported_kinds(kms, params):
    with kms_error("UnsupportedOperationException"):
        kms.create_key(**params)


def test_create_key_validation_errors(kms):
    with kms_error("ValidationException", contains="Member must satisfy enum value set"):
        kms.create_key(KeySpec="AES_999")
    with kms_error("ValidationException", contains="Member must satisfy enum value set"):
        kms.create_key(KeyUsage="ENCRYPT_ONLY")
    with kms_error(
        "ValidationException",
        message="You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
    ):
        kms.create_key(KeySpec="RSA_2048")
    with kms_error("ValidationException"):
        kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="SIGN_VERIFY")
    with kms_error(
        "ValidationException",
        contains="at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192",
    ):
        kms.create_key(Description="d" * 8193)


def test_describe_key_by_every_identifier_form(kms, key_id):
    alias = unique_alias("describe")
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    for ident in (key_id, key_arn(key_id), alias, f"arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:{alias}"):
        md = kms.describe_key(KeyId=ident)["KeyMetadata"]
        assert md["KeyId"] == key_id, ident
        assert md["Arn"] == key_arn(key_id)


def test_describe_key_not_found_messages(kms):
    missing = str(uuid.uuid4())
    with kms_error("NotFoundException", message=not_found_message(missing)):
        kms.describe_key(KeyId=missing)
    with kms_error("NotFoundException", message=not_found_message(missing)):
        kms.describe_key(KeyId=key_arn(missing))
    with kms_error("NotFoundException", message="Invalid keyId 'not-a-key-id'"):
        kms.describe_key(KeyId="not-a-key-id")
    # 32 hex digits without dashes is not a key id.
    with kms_error("NotFoundException", message=f"Invalid keyId '{missing.replace('-', '')}'"):
        kms.describe_key(KeyId=missing.replace("-", ""))
    with kms_error(
        "NotFoundException",
        message=f"Alias arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:alias/no-such-alias-xyz is not found.",
    ):
        kms.describe_key(KeyId="alias/no-such-alias-xyz")


def test_describe_key_requires_key_id(kms):
    with kms_error(
        "ValidationException",
        message="1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    ):
        kms.describe_key()
    with kms_error(
        "ValidationException",
        message="1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ):
        kms.describe_key(KeyId="")


def test_list_keys_includes_new_keys(kms, key_id, other_key_id):
    keys = []
    for page in kms.get_paginator("list_keys").paginate():
        keys.extend(page["Keys"])
    by_id = {k["KeyId"]: k["KeyArn"] for k in keys}
    assert len(by_id) == len(keys), "ListKeys returned a key twice"
    assert by_id[key_id] == key_arn(key_id)
    assert by_id[other_key_id] == key_arn(other_key_id)


def test_disable_and_enable_key(kms, key_id):
    kms.disable_key(KeyId=key_id)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["Enabled"], md["KeyState"]) == (False, "Disabled")
    kms.disable_key(KeyId=key_arn(key_id))  # idempotent, ARN form
    with kms_error("DisabledException", message=f"{key_arn(key_id)} is disabled."):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    with kms_error("DisabledException", message=f"{key_arn(key_id)} is disabled."):
        kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    kms.enable_key(KeyId=key_id)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["Enabled"], md["KeyState"]) == (True, "Enabled")
    kms.enable_key(KeyId=key_arn(key_id))  # idempotent
    assert kms.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"] == key_arn(key_id)


def test_update_key_description(kms, key_id):
    kms.update_key_description(KeyId=key_id, Description="new description")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "new description"
    kms.update_key_description(KeyId=key_arn(key_id), Description="")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == ""
    with kms_error("ValidationException", contains="Member must have length less than or equal to 8192"):
        kms.update_key_description(KeyId=key_id, Description="d" * 8193)
    with kms_error("ValidationException", contains="Value null at 'description'"):
        kms.update_key_description(KeyId=key_id)


def test_schedule_and_cancel_key_deletion(kms, key_id):
    arn = key_arn(key_id)
    alias = unique_alias("pending")
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    ciphertext = kms.encrypt(KeyId=key_id, Plaintext=b"before deletion")["CiphertextBlob"]

    before = now_utc()
    out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyId"] == arn
    assert out["KeyState"] == "PendingDeletion"
    assert out["PendingWindowInDays"] == 7
    expected = before + dt.timedelta(days=7)
    assert abs(out["DeletionDate"] - expected) < dt.timedelta(hours=1)

    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["Enabled"], md["KeyState"]) == (False, "PendingDeletion")
    assert abs(md["DeletionDate"] - out["DeletionDate"]) < dt.timedelta(seconds=1)
    # The alias still resolves to the key.
    assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyState"] == "PendingDeletion"

    pending = f"{arn} is pending deletion."
    with kms_error("KMSInvalidStateException", message=pending):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    with kms_error("KMSInvalidStateException", message=pending):
        kms.decrypt(CiphertextBlob=ciphertext)
    with kms_error("KMSInvalidStateException", message=pending):
        kms.generate_data_key(KeyId=key_id, NumberOfBytes=16)
    with kms_error("KMSInvalidStateException"):
        kms.schedule_key_deletion(KeyId=key_id)
    for call in (
        lambda: kms.enable_key(KeyId=key_id),
        lambda: kms.disable_key(KeyId=key_id),
        lambda: kms.update_key_description(KeyId=key_id, Description="nope"),
        lambda: kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "b"}]),
        lambda: kms.create_alias(AliasName=unique_alias("late"), TargetKeyId=key_id),
        lambda: kms.enable_key_rotation(KeyId=key_id),
    ):
        with kms_error("KMSInvalidStateException"):
            call()
    # Read-only operations work in every state.
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == []
    assert kms.list_key_policies(KeyId=key_id)["PolicyNames"] == ["default"]

    out = kms.cancel_key_deletion(KeyId=arn)
    assert out["KeyId"] == arn
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (md["Enabled"], md["KeyState"]) == (False, "Disabled")
    assert "DeletionDate" not in md
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"before deletion"


def test_schedule_key_deletion_default_window_is_30_days(kms, key_id):
    before = now_utc()
    out = kms.schedule_key_deletion(KeyId=key_id)
    assert out["PendingWindowInDays"] == 30
    assert abs(out["DeletionDate"] - (before + dt.timedelta(days=30))) < dt.timedelta(hours=1)
    kms.cancel_key_deletion(KeyId=key_id)


@pytest.mark.parametrize("days", [0, 6, 31, 365])
def test_schedule_key_deletion_window_out_of_range(kms, key_id, days):
    with kms_error("ValidationException", contains="pendingWindowInDays"):
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=days)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_cancel_key_deletion_requires_pending_deletion(kms, key_id):
    with kms_error(
        "KMSInvalidStateException",
        message=f"{key_arn(key_id)} is not pending deletion (or pending replica deletion).",
    ):
        kms.cancel_key_deletion(KeyId=key_id)
    kms.disable_key(KeyId=key_id)
    with kms_error("KMSInvalidStateException"):
        kms.cancel_key_deletion(KeyId=key_id)


def test_schedule_key_deletion_of_disabled_key(kms, key_id):
    kms.disable_key(KeyId=key_id)
    assert kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=10)["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


# Every key-taking operation reports an unknown key with AWS's NotFound text.
UNKNOWN_KEY_CALLS = {
    "DescribeKey": lambda k, i: k.describe_key(KeyId=i),
    "EnableKey": lambda k, i: k.enable_key(KeyId=i),
    "DisableKey": lambda k, i: k.disable_key(KeyId=i),
    "UpdateKeyDescription": lambda k, i: k.update_key_description(KeyId=i, Description="x"),
    "ScheduleKeyDeletion": lambda k, i: k.schedule_key_deletion(KeyId=i),
    "CancelKeyDeletion": lambda k, i: k.cancel_key_deletion(KeyId=i),
    "CreateAlias": lambda k, i: k.create_alias(AliasName=unique_alias("nf"), TargetKeyId=i),
    "ListAliases": lambda k, i: k.list_aliases(KeyId=i),
    "TagResource": lambda k, i: k.tag_resource(KeyId=i, Tags=[{"TagKey": "a", "TagValue": "b"}]),
    "UntagResource": lambda k, i: k.untag_resource(KeyId=i, TagKeys=["a"]),
    "ListResourceTags": lambda k, i: k.list_resource_tags(KeyId=i),
    "Encrypt": lambda k, i: k.encrypt(KeyId=i, Plaintext=b"x"),
    "GenerateDataKey": lambda k, i: k.generate_data_key(KeyId=i, KeySpec="AES_256"),
    "GenerateDataKeyWithoutPlaintext": lambda k, i: k.generate_data_key_without_plaintext(
        KeyId=i, KeySpec="AES_256"
    ),
    "EnableKeyRotation": lambda k, i: k.enable_key_rotation(KeyId=i),
    "DisableKeyRotation": lambda k, i: k.disable_key_rotation(KeyId=i),
    "GetKeyRotationStatus": lambda k, i: k.get_key_rotation_status(KeyId=i),
    "RotateKeyOnDemand": lambda k, i: k.rotate_key_on_demand(KeyId=i),
    "ListKeyRotations": lambda k, i: k.list_key_rotations(KeyId=i),
    "GetKeyPolicy": lambda k, i: k.get_key_policy(KeyId=i, PolicyName="default"),
    "PutKeyPolicy": lambda k, i: k.put_key_policy(
        KeyId=i,
        PolicyName="default",
        Policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kms:*","Resource":"*"}]}',
    ),
    "ListKeyPolicies": lambda k, i: k.list_key_policies(KeyId=i),
}


@pytest.mark.parametrize("operation", sorted(UNKNOWN_KEY_CALLS))
def test_unknown_key_is_not_found(kms, operation):
    missing = str(uuid.uuid4())
    with kms_error("NotFoundException", message=not_found_message(missing)):
        UNKNOWN_KEY_CALLS[operation](kms, missing)
