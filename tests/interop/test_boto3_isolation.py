"""Isolation: accounts (a server configured with two accounts) and Regions (keys live in the
Region of the request's credential scope)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from kms_helpers import ACCOUNT_A, ACCOUNT_B, alias_arn, key_arn, kms_error, make_client, not_found_message, unique_alias


# --------------------------------------------------------------------------------------------
# Accounts


@pytest.fixture(scope="module")
def client_a(two_account_server):
    return make_client(two_account_server.endpoint, access_key=ACCOUNT_A["access_key"], secret_key=ACCOUNT_A["secret"])


@pytest.fixture(scope="module")
def client_b(two_account_server):
    return make_client(two_account_server.endpoint, access_key=ACCOUNT_B["access_key"], secret_key=ACCOUNT_B["secret"])


@pytest.fixture(scope="module")
def a_key(client_a):
    """A key of account A with an alias, a tag and a ciphertext."""
    key_id = client_a.create_key(Description="account A", Tags=[{"TagKey": "owner", "TagValue": "a"}])["KeyMetadata"][
        "KeyId"
    ]
    alias = unique_alias("a")
    client_a.create_alias(AliasName=alias, TargetKeyId=key_id)
    blob = client_a.encrypt(KeyId=key_id, Plaintext=b"account A secret")["CiphertextBlob"]
    return {"id": key_id, "arn": key_arn(key_id, account=ACCOUNT_A["id"]), "alias": alias, "blob": blob}


def test_accounts_own_their_keys(client_a, client_b, a_key):
    md = client_a.describe_key(KeyId=a_key["id"])["KeyMetadata"]
    assert md["AWSAccountId"] == ACCOUNT_A["id"]
    assert md["Arn"] == a_key["arn"]
    b_key = client_b.create_key()["KeyMetadata"]
    assert b_key["AWSAccountId"] == ACCOUNT_B["id"]
    assert b_key["Arn"] == key_arn(b_key["KeyId"], account=ACCOUNT_B["id"])
    policy = json.loads(client_b.get_key_policy(KeyId=b_key["KeyId"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{ACCOUNT_B['id']}:root"


def test_other_account_cannot_see_key_by_id(client_b, a_key):
    # A bare key id names a key in the caller's own account.
    message = not_found_message(a_key["id"], account=ACCOUNT_B["id"])
    with kms_error("NotFoundException", message=message):
        client_b.describe_key(KeyId=a_key["id"])
    with kms_error("NotFoundException", message=message):
        client_b.encrypt(KeyId=a_key["id"], Plaintext=b"x")


def test_other_account_is_denied_cross_account_operations_by_arn(client_b, a_key):
    # Cross-account capable operations reach the key by ARN; the default key policy
    # (account A's root only) denies them.
    arn = a_key["arn"]
    calls = {
        "DescribeKey": lambda: client_b.describe_key(KeyId=arn),
        "Encrypt": lambda: client_b.encrypt(KeyId=arn, Plaintext=b"x"),
        "GenerateDataKey": lambda: client_b.generate_data_key(KeyId=arn, KeySpec="AES_256"),
        "GetKeyRotationStatus": lambda: client_b.get_key_rotation_status(KeyId=arn),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as info:
            call()
        error = info.value.response["Error"]
        assert error["Code"] == "AccessDeniedException", (name, error)
        assert "because no resource-based policy allows" in error["Message"], (name, error)


def test_other_account_cannot_manage_key_by_arn(client_b, a_key):
    arn = a_key["arn"]
    calls = {
        "DisableKey": lambda: client_b.disable_key(KeyId=arn),
        "ScheduleKeyDeletion": lambda: client_b.schedule_key_deletion(KeyId=arn),
        "TagResource": lambda: client_b.tag_resource(KeyId=arn, Tags=[{"TagKey": "evil", "TagValue": "1"}]),
        "ListResourceTags": lambda: client_b.list_resource_tags(KeyId=arn),
        "GetKeyPolicy": lambda: client_b.get_key_policy(KeyId=arn, PolicyName="default"),
        "RotateKeyOnDemand": lambda: client_b.rotate_key_on_demand(KeyId=arn),
        "CreateAlias": lambda: client_b.create_alias(AliasName=unique_alias("steal"), TargetKeyId=arn),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "NotFoundException", (name, info.value.response["Error"])


def test_other_account_cannot_decrypt(client_b, a_key):
    with pytest.raises(ClientError) as info:
        client_b.decrypt(CiphertextBlob=a_key["blob"])
    assert info.value.response["Error"]["Code"] == "AccessDeniedException", info.value.response["Error"]
    with pytest.raises(ClientError):
        client_b.re_encrypt(CiphertextBlob=a_key["blob"], DestinationKeyId=client_b.create_key()["KeyMetadata"]["KeyId"])


def test_other_account_cannot_see_aliases(client_a, client_b, a_key):
    assert all(a["AliasName"] != a_key["alias"] for a in client_b.list_aliases()["Aliases"])
    with kms_error("NotFoundException"):
        client_b.describe_key(KeyId=a_key["alias"])
    # An alias ARN reaches another account's key (AWS allows it), which the key policy denies.
    with kms_error("AccessDeniedException"):
        client_b.describe_key(KeyId=alias_arn(a_key["alias"], account=ACCOUNT_A["id"]))
    with kms_error("NotFoundException"):
        client_b.delete_alias(AliasName=a_key["alias"])
    # Alias names are per account: B may use the same name for its own key.
    b_key = client_b.create_key()["KeyMetadata"]["KeyId"]
    client_b.create_alias(AliasName=a_key["alias"], TargetKeyId=b_key)
    assert client_b.describe_key(KeyId=a_key["alias"])["KeyMetadata"]["KeyId"] == b_key
    assert client_a.describe_key(KeyId=a_key["alias"])["KeyMetadata"]["KeyId"] == a_key["id"]


def test_list_keys_is_per_account(client_a, client_b, a_key):
    b_ids = {k["KeyId"] for p in client_b.get_paginator("list_keys").paginate() for k in p["Keys"]}
    a_ids = {k["KeyId"] for p in client_a.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert a_key["id"] in a_ids and a_key["id"] not in b_ids
    assert not a_ids & b_ids


def test_account_a_is_unaffected(client_a, a_key):
    md = client_a.describe_key(KeyId=a_key["id"])["KeyMetadata"]
    assert md["KeyState"] == "Enabled"
    tags = client_a.list_resource_tags(KeyId=a_key["id"])["Tags"]
    assert tags == [{"TagKey": "owner", "TagValue": "a"}]
    assert client_a.decrypt(CiphertextBlob=a_key["blob"])["Plaintext"] == b"account A secret"


def test_default_credentials_are_not_valid_with_a_config(two_account_server):
    client = make_client(two_account_server.endpoint)  # test / test
    with kms_error("UnrecognizedClientException"):
        client.list_keys()


def test_wrong_secret_of_configured_account(two_account_server):
    client = make_client(two_account_server.endpoint, access_key=ACCOUNT_A["access_key"], secret_key=ACCOUNT_B["secret"])
    with kms_error("InvalidSignatureException"):
        client.list_keys()


# --------------------------------------------------------------------------------------------
# Regions


@pytest.fixture(scope="module")
def eu(client_factory):
    return client_factory(region="eu-west-1")


def test_key_is_invisible_from_another_region(kms, eu):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with kms_error("NotFoundException", message=not_found_message(key_id, region="eu-west-1")):
        eu.describe_key(KeyId=key_id)
    with kms_error("NotFoundException", message=not_found_message(key_id, region="eu-west-1")):
        eu.encrypt(KeyId=key_id, Plaintext=b"x")
    # The us-east-1 ARN does not name a key in eu-west-1.
    with kms_error("NotFoundException", message="Invalid arn us-east-1"):
        eu.describe_key(KeyId=key_arn(key_id))
    eu_ids = {k["KeyId"] for p in eu.get_paginator("list_keys").paginate() for k in p["Keys"]}
    assert key_id not in eu_ids
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"] == key_arn(key_id)


def test_keys_created_in_a_region_carry_it(eu):
    md = eu.create_key()["KeyMetadata"]
    assert md["Arn"] == key_arn(md["KeyId"], region="eu-west-1")
    out = eu.encrypt(KeyId=md["Arn"], Plaintext=b"eu")
    assert out["KeyId"] == md["Arn"]
    assert eu.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"] == b"eu"


def test_ciphertext_does_not_decrypt_in_another_region(kms, eu, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"us only")["CiphertextBlob"]
    with pytest.raises(ClientError) as info:
        eu.decrypt(CiphertextBlob=blob)
    assert info.value.response["Error"]["Code"] in {
        "NotFoundException",
        "InvalidCiphertextException",
        "AccessDeniedException",
    }, info.value.response["Error"]


def test_aliases_are_per_region(kms, eu, key_id):
    name = unique_alias("regional")
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    with kms_error("NotFoundException", message=f"Alias {alias_arn(name, region='eu-west-1')} is not found."):
        eu.describe_key(KeyId=name)
    assert all(a["AliasName"] != name for p in eu.get_paginator("list_aliases").paginate() for a in p["Aliases"])
    # The same name can exist in both Regions for different keys.
    eu_key = eu.create_key()["KeyMetadata"]["KeyId"]
    eu.create_alias(AliasName=name, TargetKeyId=eu_key)
    assert eu.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == eu_key
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key_id
