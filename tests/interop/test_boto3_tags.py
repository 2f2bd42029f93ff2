"""Tags through boto3: TagResource, UntagResource, ListResourceTags, and CreateKey's Tags."""

from __future__ import annotations

import pytest

from kms_helpers import key_arn, kms_error


def tags_of(kms, key_id):
    out = []
    for page in kms.get_paginator("list_resource_tags").paginate(KeyId=key_id):
        out.extend(page["Tags"])
    return {t["TagKey"]: t["TagValue"] for t in out}


def tags(**pairs):
    return [{"TagKey": k, "TagValue": v} for k, v in pairs.items()]


def test_tag_untag_round_trip(kms, key_id):
    first = kms.list_resource_tags(KeyId=key_id)
    assert first["Tags"] == [] and first["Truncated"] is False
    kms.tag_resource(KeyId=key_id, Tags=tags(env="test", owner="alice", empty=""))
    assert tags_of(kms, key_id) == {"env": "test", "owner": "alice", "empty": ""}
    # Existing key: value replaced.
    kms.tag_resource(KeyId=key_arn(key_id), Tags=tags(owner="bob"))
    assert tags_of(kms, key_id) == {"env": "test", "owner": "bob", "empty": ""}
    # Unknown tag keys are ignored on untag.
    kms.untag_resource(KeyId=key_id, TagKeys=["owner", "never-set"])
    assert tags_of(kms, key_id) == {"env": "test", "empty": ""}
    kms.untag_resource(KeyId=key_arn(key_id), TagKeys=["env", "empty"])
    assert tags_of(kms, key_id) == {}


def test_tags_are_case_sensitive(kms, key_id):
    kms.tag_resource(KeyId=key_id, Tags=tags(Env="a", env="b"))
    assert tags_of(kms, key_id) == {"Env": "a", "env": "b"}


def test_fifty_tags_allowed_fifty_one_rejected(kms, key_id):
    fifty = [{"TagKey": f"k{i:02d}", "TagValue": f"v{i}"} for i in range(50)]
    kms.tag_resource(KeyId=key_id, Tags=fifty)
    assert len(tags_of(kms, key_id)) == 50
    # Replacing a value keeps the count at 50.
    kms.tag_resource(KeyId=key_id, Tags=tags(k00="changed"))
    with kms_error("TagException", message="Too many tags"):
        kms.tag_resource(KeyId=key_id, Tags=tags(one_more="x"))
    current = tags_of(kms, key_id)
    assert len(current) == 50 and current["k00"] == "changed" and "one_more" not in current


def test_create_key_with_too_many_tags(kms):
    with kms_error("TagException", message="Too many tags"):
        kms.create_key(Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)])


@pytest.mark.parametrize("reserved", ["aws:created-by", "AWS:x", "Aws:y"])
def test_reserved_aws_prefix(kms, key_id, reserved):
    with kms_error("TagException"):
        kms.tag_resource(KeyId=key_id, Tags=tags(**{reserved: "v"}))
    with kms_error("TagException"):
        kms.create_key(Tags=tags(**{reserved: "v"}))
    assert tags_of(kms, key_id) == {}


def test_duplicate_tag_keys(kms, key_id):
    dup = [{"TagKey": "same", "TagValue": "1"}, {"TagKey": "same", "TagValue": "2"}]
    with kms_error("TagException"):
        kms.tag_resource(KeyId=key_id, Tags=dup)
    with kms_error("TagException"):
        kms.create_key(Tags=dup)
    assert tags_of(kms, key_id) == {}


def test_tag_length_limits(kms, key_id):
    kms.tag_resource(KeyId=key_id, Tags=tags(**{"k" * 128: "v" * 256}))
    with kms_error("ValidationException", contains="tagKey"):
        kms.tag_resource(KeyId=key_id, Tags=tags(**{"k" * 129: "v"}))
    with kms_error("ValidationException", contains="tagValue"):
        kms.tag_resource(KeyId=key_id, Tags=tags(key="v" * 257))
    with kms_error("ValidationException", contains="tagKey"):
        kms.tag_resource(KeyId=key_id, Tags=tags(**{"": "v"}))
    with kms_error("ValidationException", contains="Value null at 'tags'"):
        kms.tag_resource(KeyId=key_id)
    with kms_error("ValidationException", contains="Value null at 'tagKeys'"):
        kms.untag_resource(KeyId=key_id)
    assert tags_of(kms, key_id) == {"k" * 128: "v" * 256}


def test_tags_on_pending_deletion_key(kms, key_id):
    kms.tag_resource(KeyId=key_id, Tags=tags(keep="me"))
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with kms_error("KMSInvalidStateException"):
        kms.tag_resource(KeyId=key_id, Tags=tags(more="x"))
    with kms_error("KMSInvalidStateException"):
        kms.untag_resource(KeyId=key_id, TagKeys=["keep"])
    assert tags_of(kms, key_id) == {"keep": "me"}
    kms.cancel_key_deletion(KeyId=key_id)
    kms.untag_resource(KeyId=key_id, TagKeys=["keep"])  # Disabled keys can be untagged
    assert tags_of(kms, key_id) == {}
