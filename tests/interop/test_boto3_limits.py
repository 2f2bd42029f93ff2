"""Quotas, defaults and input-shape tolerance: default page sizes, aliases per key,
identifier lengths, unknown and null members."""

from __future__ import annotations

import uuid

from kms_helpers import kms_error, not_found_message, signed_post, unique_alias


def test_list_keys_default_page_is_100(client_factory):
    regional = client_factory(region="sa-east-1")
    created = {regional.create_key()["KeyMetadata"]["KeyId"] for _ in range(101)}
    first = regional.list_keys()
    assert len(first["Keys"]) == 100 and first["Truncated"] is True
    rest = regional.list_keys(Marker=first["NextMarker"])
    assert len(rest["Keys"]) == 1 and rest["Truncated"] is False
    assert {k["KeyId"] for k in first["Keys"] + rest["Keys"]} == created


def test_aliases_per_key_limit_and_default_page_of_50(client_factory):
    regional = client_factory(region="af-south-1")
    key_id = regional.create_key()["KeyMetadata"]["KeyId"]
    names = [unique_alias("quota") for _ in range(50)]
    for name in names:
        regional.create_alias(AliasName=name, TargetKeyId=key_id)
    with kms_error("LimitExceededException"):
        regional.create_alias(AliasName=unique_alias("one-too-many"), TargetKeyId=key_id)
    other = regional.create_key()["KeyMetadata"]["KeyId"]
    moved = unique_alias("other")
    regional.create_alias(AliasName=moved, TargetKeyId=other)
    with kms_error("LimitExceededException"):
        regional.update_alias(AliasName=moved, TargetKeyId=key_id)
    # Freeing a slot makes room again.
    regional.update_alias(AliasName=names[0], TargetKeyId=other)
    regional.update_alias(AliasName=moved, TargetKeyId=key_id)
    # ListAliases pages hold 50 by default.
    first = regional.list_aliases()
    assert len(first["Aliases"]) == 50 and first["Truncated"] is True
    rest = regional.list_aliases(Marker=first["NextMarker"])
    assert len(rest["Aliases"]) == 1 and rest["Truncated"] is False


def test_key_id_length_limits(kms):
    long_id = "x" * 2048
    with kms_error("NotFoundException", message=f"Invalid keyId '{long_id}'"):
        kms.describe_key(KeyId=long_id)
    with kms_error("ValidationException", contains="at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048"):
        kms.describe_key(KeyId="x" * 2049)


def test_unknown_members_are_ignored(endpoint, key_id):
    raw = signed_post(endpoint, "TrentService.DescribeKey", {"KeyId": key_id, "SomeFutureMember": {"a": [1, 2]}})
    assert raw.status == 200, raw.body
    assert raw.json()["KeyMetadata"]["KeyId"] == key_id


def test_null_members_are_absent(endpoint, key_id):
    raw = signed_post(
        endpoint,
        "TrentService.Encrypt",
        {"KeyId": key_id, "Plaintext": "aGVsbG8=", "EncryptionContext": None, "GrantTokens": None, "DryRun": None},
    )
    assert raw.status == 200, raw.body
    missing = str(uuid.uuid4())
    raw = signed_post(endpoint, "TrentService.DescribeKey", {"KeyId": missing, "GrantTokens": None})
    assert raw.json() == {"__type": "NotFoundException", "message": not_found_message(missing)}


def test_required_tag_value(kms):
    with kms_error("ValidationException", contains="Value null at 'tags.1.member.tagValue'"):
        kms.create_key(Tags=[{"TagKey": "only-key"}])


def test_unicode_description_round_trip(kms):
    text = "clé 🔑 ключ 鍵"
    key_id = kms.create_key(Description=text)["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == text


def test_grant_tokens_limits(kms, key_id):
    with kms_error("ValidationException", contains="grantTokens"):
        kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=["t"] * 11)
