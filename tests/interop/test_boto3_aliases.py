"""Aliases through boto3: CreateAlias, UpdateAlias, DeleteAlias, ListAliases."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from kms_helpers import DEFAULT_ACCOUNT, alias_arn, key_arn, kms_error, unique_alias


def aliases_of(kms, key_id=None):
    paginator = kms.get_paginator("list_aliases")
    params = {"KeyId": key_id} if key_id else {}
    out = []
    for page in paginator.paginate(**params):
        out.extend(page["Aliases"])
    return out


def test_create_alias_and_list(kms, key_id):
    name = unique_alias("list")
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    entries = [a for a in aliases_of(kms) if a["AliasName"] == name]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["AliasArn"] == alias_arn(name)
    assert entry["TargetKeyId"] == key_id  # the key id, not its ARN
    assert entry["CreationDate"] >= before
    assert entry["LastUpdatedDate"] >= entry["CreationDate"]


def test_create_alias_target_by_arn_and_use_everywhere(kms, key_id):
    name = unique_alias("arn")
    kms.create_alias(AliasName=name, TargetKeyId=key_arn(key_id))
    for ident in (name, alias_arn(name)):
        out = kms.encrypt(KeyId=ident, Plaintext=b"via alias")
        assert out["KeyId"] == key_arn(key_id)
        assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=ident)["Plaintext"] == b"via alias"
        assert kms.generate_data_key(KeyId=ident, NumberOfBytes=8)["KeyId"] == key_arn(key_id)


def test_list_aliases_filtered_by_key(kms, key_id, other_key_id):
    mine = {unique_alias("mine") for _ in range(3)}
    for name in mine:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    kms.create_alias(AliasName=unique_alias("theirs"), TargetKeyId=other_key_id)
    listed = aliases_of(kms, key_id)
    assert {a["AliasName"] for a in listed} == mine
    assert all(a["TargetKeyId"] == key_id for a in listed)
    assert {a["AliasName"] for a in aliases_of(kms, key_arn(key_id))} == mine


def test_duplicate_alias_is_already_exists(kms, key_id, other_key_id):
    name = unique_alias("dup")
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    with kms_error("AlreadyExistsException"):
        kms.create_alias(AliasName=name, TargetKeyId=other_key_id)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key_id


@pytest.mark.parametrize("name", ["my-alias", "aliasmy-alias", "ALIAS/upper", "/alias/x"])
def test_alias_without_prefix_is_validation_error(kms, key_id, name):
    with kms_error(
        "ValidationException",
        message='Alias must start with the prefix "alias/". Please see '
        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
    ):
        kms.create_alias(AliasName=name, TargetKeyId=key_id)


def test_reserved_aws_alias_is_invalid_alias_name(kms, key_id):
    with kms_error("InvalidAliasNameException"):
        kms.create_alias(AliasName="alias/aws/s3", TargetKeyId=key_id)
    with kms_error("InvalidAliasNameException"):
        kms.update_alias(AliasName="alias/aws/ebs", TargetKeyId=key_id)


def test_alias_name_constraints(kms, key_id):
    with kms_error("ValidationException", contains="Member must satisfy regular expression pattern"):
        kms.create_alias(AliasName="alias/has space", TargetKeyId=key_id)
    with kms_error("ValidationException", contains="Member must have length less than or equal to 256"):
        kms.create_alias(AliasName="alias/" + "a" * 251, TargetKeyId=key_id)
    with kms_error("ValidationException", contains="Value null at 'aliasName'"):
        kms.create_alias(TargetKeyId=key_id)
    with kms_error("ValidationException", contains="Value null at 'targetKeyId'"):
        kms.create_alias(AliasName=unique_alias())
    # 256 characters is fine.
    name = "alias/" + unique_alias("long")[6:] + "x" * 200
    name = name[:256]
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key_id


def test_update_alias_moves_it(kms, key_id, other_key_id):
    name = unique_alias("move")
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    ciphertext = kms.encrypt(KeyId=name, Plaintext=b"old target")["CiphertextBlob"]
    kms.update_alias(AliasName=name, TargetKeyId=other_key_id)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == other_key_id
    [entry] = [a for a in aliases_of(kms) if a["AliasName"] == name]
    assert entry["TargetKeyId"] == other_key_id
    assert entry["LastUpdatedDate"] >= entry["CreationDate"]
    assert aliases_of(kms, key_id) == []
    # Old ciphertext still decrypts (it names its key), but not when pinned to the alias.
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"old target"
    with kms_error("IncorrectKeyException"):
        kms.decrypt(CiphertextBlob=ciphertext, KeyId=name)
    kms.update_alias(AliasName=name, TargetKeyId=key_arn(key_id))
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key_id


def test_update_alias_errors(kms, key_id, other_key_id):
    missing = unique_alias("missing")
    with kms_error(
        "NotFoundException", message=f"Alias arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:{missing} is not found."
    ):
        kms.update_alias(AliasName=missing, TargetKeyId=key_id)
    name = unique_alias("upd")
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    kms.schedule_key_deletion(KeyId=other_key_id, PendingWindowInDays=7)
    with kms_error("KMSInvalidStateException"):
        kms.update_alias(AliasName=name, TargetKeyId=other_key_id)
    with kms_error("NotFoundException"):
        kms.update_alias(AliasName=name, TargetKeyId="11111111-2222-3333-4444-555555555555")
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key_id


def test_create_alias_for_pending_deletion_key(kms, key_id):
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with kms_error("KMSInvalidStateException"):
        kms.create_alias(AliasName=unique_alias("pd"), TargetKeyId=key_id)


def test_delete_alias(kms, key_id):
    name = unique_alias("del")
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    kms.delete_alias(AliasName=name)
    not_found = f"Alias arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:{name} is not found."
    with kms_error("NotFoundException", message=not_found):
        kms.describe_key(KeyId=name)
    with kms_error("NotFoundException", message=not_found):
        kms.delete_alias(AliasName=name)
    assert all(a["AliasName"] != name for a in aliases_of(kms))
    # The key is untouched and the name can be reused.
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key_id


def test_delete_alias_of_pending_deletion_key(kms, key_id):
    name = unique_alias("del-pd")
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    kms.delete_alias(AliasName=name)  # allowed in any key state
    with kms_error("NotFoundException"):
        kms.describe_key(KeyId=name)


def test_delete_alias_errors(kms):
    with kms_error("ValidationException"):
        kms.delete_alias(AliasName="no-prefix")
    with kms_error("ValidationException", contains="Value null at 'aliasName'"):
        kms.delete_alias()


def test_key_may_have_many_aliases(kms, key_id):
    names = [unique_alias("many") for _ in range(5)]
    for name in names:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    for name in names:
        assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key_id
    assert {a["AliasName"] for a in aliases_of(kms, key_id)} == set(names)


def test_update_alias_away_from_pending_deletion_key(kms, key_id, other_key_id):
    # Footnote 10 of the key-state table: the source key may be pending deletion.
    name = unique_alias("rescue")
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    kms.update_alias(AliasName=name, TargetKeyId=other_key_id)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == other_key_id


def test_alias_target_must_be_a_key_not_an_alias(kms, key_id):
    first = unique_alias("first")
    kms.create_alias(AliasName=first, TargetKeyId=key_id)
    with pytest.raises(ClientError) as info:
        kms.create_alias(AliasName=unique_alias("second"), TargetKeyId=first)
    assert info.value.response["Error"]["Code"] in {"NotFoundException", "InvalidArnException", "ValidationException"}
